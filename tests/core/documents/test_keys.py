"""Weak Ed25519 public keys: small-order points and invalid encodings are refused."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.documents.errors import DomainError
from dataex.core.documents.keys import (
    P,
    WeakKey,
    _decode,
    check_public_key,
    is_weak_public_key,
)
from dataex.core.documents.signing import public_key_bytes

IDENTITY = bytes.fromhex("01" + "00" * 31)

# The canonical encodings of the eight points of order dividing 8, as [i]T for a
# generator T of the torsion subgroup. Copied from EIGHT_TORSION in
# novifinancial/ed25519-speccheck src/main.rs (the test vectors of Chalkias,
# Garillot and Nikolaenko, "Taming the many EdDSAs", 2020, ported there from
# curve25519-dalek); the same y values, sign bit masked, are libsodium's
# ge25519_has_small_order() blocklist (src/libsodium/crypto_core/ed25519/ref10/
# ed25519_ref10.c in jedisct1/libsodium).
SMALL_ORDER = {
    "identity (order 1)": IDENTITY,
    "order 8 (1)": bytes.fromhex(
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
    ),
    "order 4 (1)": bytes.fromhex("00" * 31 + "80"),
    "order 8 (2)": bytes.fromhex(
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
    ),
    "order 2": bytes.fromhex("ec" + "ff" * 30 + "7f"),
    "order 8 (3)": bytes.fromhex(
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"
    ),
    "order 4 (2)": bytes.fromhex("00" * 32),
    "order 8 (4)": bytes.fromhex(
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
    ),
}


def _le(n: int) -> bytes:
    return n.to_bytes(32, "little")


SIGN = 1 << 255

# Encodings RFC 8032 section 5.1.3 refuses to decode, several of them spelling a
# small-order point in a second way (libsodium lists y = p and y = p + 1 too).
NON_CANONICAL = {
    "y = p (0 again)": _le(P),
    "y = p, sign set": _le(P | SIGN),
    "y = p + 1 (1 again, the identity)": _le(P + 1),
    "y = p + 1, sign set": _le((P + 1) | SIGN),
    "y = p + 3 (3 is a valid y)": _le(P + 3),
    "y = 2^255 - 1": _le(SIGN - 1),
    "all ones": b"\xff" * 32,
    "identity with the sign bit set (x = 0)": _le(1 | SIGN),
    "order 2 with the sign bit set (x = 0)": _le((P - 1) | SIGN),
    "y = 2 is on no point": _le(2),
}


@pytest.mark.parametrize("raw", SMALL_ORDER.values(), ids=SMALL_ORDER.keys())
def test_the_eight_small_order_points_are_weak(raw: bytes) -> None:
    assert _decode(raw) is not None  # a valid encoding: refused for its order alone
    assert is_weak_public_key(raw)


def test_the_eight_small_order_encodings_are_eight_distinct_points() -> None:
    assert len({_decode(raw) for raw in SMALL_ORDER.values()}) == 8


@pytest.mark.parametrize("raw", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_encodings_rfc_8032_refuses_are_weak(raw: bytes) -> None:
    assert _decode(raw) is None
    assert is_weak_public_key(raw)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_a_key_of_the_wrong_length_is_weak(length: int) -> None:
    assert is_weak_public_key(b"\x58" * length)


def test_real_keys_are_not_weak() -> None:
    for _ in range(200):
        raw = public_key_bytes(Ed25519PrivateKey.generate())
        assert not is_weak_public_key(raw), raw.hex()


def test_the_base_point_is_not_weak() -> None:
    assert not is_weak_public_key(bytes.fromhex("58" + "66" * 31))


def test_why_the_identity_key_must_be_refused() -> None:
    # cryptography (OpenSSL) loads the identity as a public key, and the
    # signature R = identity, S = 0 then verifies for any message: no private
    # key is involved, so anyone can "sign" as whoever was admitted with it.
    key = Ed25519PublicKey.from_public_bytes(IDENTITY)
    forged = IDENTITY + bytes(32)
    for message in (b"", b"transfer everything to mallory", bytes(range(256)) * 9):
        key.verify(forged, message)  # raises InvalidSignature if not accepted
    assert is_weak_public_key(IDENTITY)


@pytest.mark.parametrize("raw", SMALL_ORDER.values(), ids=SMALL_ORDER.keys())
def test_every_small_order_key_accepts_a_forgery_for_some_message(raw: bytes) -> None:
    # Under a key A of order n, R = identity, S = 0 verifies whenever n divides the
    # message hash: one message in n at worst (n <= 8), so a few tries suffice.
    key = Ed25519PublicKey.from_public_bytes(raw)
    forged = IDENTITY + bytes(32)
    accepted = []
    for i in range(64):
        message = f"message {i}".encode()
        try:
            key.verify(forged, message)
        except InvalidSignature:
            continue
        accepted.append(message)
    assert accepted


def test_check_public_key_refuses_with_a_weak_key_problem() -> None:
    with pytest.raises(WeakKey) as caught:
        check_public_key(IDENTITY, "new_public_key")
    error = caught.value
    assert isinstance(error, DomainError)
    assert (error.status, error.slug) == (422, "weak-key")
    assert error.title == "The public key is not a usable Ed25519 key"
    assert "new_public_key" in error.detail


def test_check_public_key_accepts_a_real_key() -> None:
    check_public_key(public_key_bytes(Ed25519PrivateKey.generate()), "public_key")
