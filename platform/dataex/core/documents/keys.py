"""Refuse Ed25519 public keys that do not bind a signature to a private key.

`cryptography`'s Ed25519 verify (OpenSSL) accepts any public key that decodes,
including the eight points of small order. Under such a key A, [k]A takes at
most eight values whatever the message hash k is, so signatures exist that no
private key made: with the identity 01 00..00, R = identity and S = 0 verify
for EVERY message. A participant admitted (or rotated) to such a key could deny
anything it signed, and anyone could sign for it. So dataex checks keys when
they enter the registry, and refuses those that are

- not a valid encoding under RFC 8032 section 5.1.3 (y >= p, no x for y,
  or x = 0 with the sign bit set), or
- of small order, i.e. [8]A is the identity: the eight canonical encodings
  libsodium's ge25519_has_small_order() lists and all their variants.

Pure integer arithmetic, variable time: public keys are public. This is not a
full subgroup check ([L]A == identity); a key with a torsion component only
lets its own holder make ambiguous signatures, which it could do anyway.
"""

from __future__ import annotations

from dataex.core.documents.errors import DomainError

P = 2**255 - 19  # the field prime
D = -121665 * pow(121666, -1, P) % P  # the curve constant d of -x^2 + y^2 = 1 + d x^2 y^2
SQRT_M1 = pow(2, (P - 1) // 4, P)  # a square root of -1 mod p

KEY_BYTES = 32

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, xy = T/Z


class WeakKey(DomainError):
    status = 422
    slug = "weak-key"
    title = "The public key is not a usable Ed25519 key"


def _decode(raw: bytes) -> Point | None:
    """RFC 8032 section 5.1.3 point decoding; None where the RFC says decoding fails."""
    n = int.from_bytes(raw, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    if v * x * x % P != u:
        return None  # y^2 - 1 / (d y^2 + 1) is not a square: no point has this y
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def _double(pt: Point) -> Point:
    """RFC 8032 section 5.1.4 point doubling (dbl-2008-hwcd)."""
    x1, y1, z1, _ = pt
    a, b, c = x1 * x1 % P, y1 * y1 % P, 2 * z1 * z1 % P
    h = (a + b) % P
    e = (h - (x1 + y1) ** 2) % P
    g = (a - b) % P
    f = (c + g) % P
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def is_weak_public_key(raw: bytes) -> bool:
    """True unless `raw` is the RFC 8032 encoding of a point whose order exceeds 8."""
    if len(raw) != KEY_BYTES:
        return True
    point = _decode(raw)
    if point is None:
        return True
    for _ in range(3):
        point = _double(point)
    x, y, z, _ = point
    return x == 0 and y == z  # [8]A is the identity (0, 1)


def check_public_key(raw: bytes, field: str) -> None:
    """Raise WeakKey unless `raw` is a usable Ed25519 public key."""
    if is_weak_public_key(raw):
        raise WeakKey(f"{field} is not a valid Ed25519 point of large order")
