"""C2SP signed notes, checkpoints and cosignature/v1: known vectors, round trips, tampering.

Vector sources (attributed where used):
- golang.org/x/mod/sumdb/note, note_test.go (github.com/golang/mod at
  fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db): the PeterNeumann and EnochRoot keys,
  signatures and malformed notes.
- c2sp.org/signed-note (github.com/C2SP/C2SP signed-note.md at
  5ba5ee830903e91240fc6f9f3a7a9293d49e69c9): the example.com/foo example.
- github.com/transparency-dev/formats, note/note_cosigv1_test.go: verifier keys
  of types 0x01 and 0x04.
- github.com/florolf/tlog-scales, tests/test_signing.py: a real checkpoint of the
  arche2025h1 staging CT log with witness cosignatures, and its log and
  remora.n621.de witness keys.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from dataex.core.documents.errors import BadSignature, DomainError, UnknownSigner
from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    MalformedNote,
    NoteVerifier,
    cosign,
    cosignature_message,
    format_checkpoint,
    format_vkey,
    key_hash,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_vkey,
    sign_note,
    verify_cosignature,
)
from dataex.core.log.merkle import leaf_hash, root

# --- golang.org/x/mod/sumdb/note, note_test.go ---

PETER_SKEY_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngot"
    "pRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)

# --- c2sp.org/signed-note example ---

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmR"
    "KuwHjG1Yu72IneyaQM=\n"
)

# --- transparency-dev/formats, note/note_cosigv1_test.go ---

PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"  # '+' inside the key
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"  # type 0x04

# --- florolf/tlog-scales, tests/test_signing.py (TestCheckpointVerification) ---

ARCHE_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
ARCHE_BODY = (
    "arche2025h1.staging.ct.transparency.dev\n"
    "1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n"
)
ARCHE_SIGNATURES = (
    "— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGRE"
    "PMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n"
    "— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzb"
    "C3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n"
    "— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzw"
    "Z2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n"
    "— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iE"
    "cxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==\n"
    "— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9s"
    "XTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
    "— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJ"
    "mIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==\n"
)
ARCHE_NOTE = ARCHE_BODY + "\n" + ARCHE_SIGNATURES
REMORA_LINE = ARCHE_SIGNATURES.splitlines(keepends=True)[4]
REMORA_TIME = 1779573024  # 0x6a122120, the 8 bytes after remora's key hash


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


LOG_NAME = "dataex.example/log"
LOG_KEY = _key(1)
WITNESS_NAME = "regulator.example/witness"
WITNESS_KEY = _key(2)
ROOT5 = root([leaf_hash(bytes([i])) for i in range(5)])


def _log_verifier() -> NoteVerifier:
    return NoteVerifier(LOG_NAME, SIG_TYPE_ED25519, public_key_bytes(LOG_KEY))


def _witness_verifier() -> NoteVerifier:
    return NoteVerifier(WITNESS_NAME, SIG_TYPE_COSIGNATURE_V1, public_key_bytes(WITNESS_KEY))


# --- Checkpoint bodies ---


def test_format_checkpoint_layout() -> None:
    root_hash = bytes(range(32))
    body = format_checkpoint("example.com/log", 20852163, root_hash)
    expected_root = base64.b64encode(root_hash).decode()
    assert body == f"example.com/log\n20852163\n{expected_root}\n"
    assert format_checkpoint("o", 0, root_hash, ["ext one", "ext2"]).endswith(
        f"{expected_root}\next one\next2\n"
    )


def test_checkpoint_round_trip() -> None:
    body = format_checkpoint(LOG_NAME, 5, ROOT5, ("x-extension",))
    parsed = parse_checkpoint(body)
    assert parsed == Checkpoint(LOG_NAME, 5, ROOT5, ("x-extension",))
    origin, size, root_hash, extensions = parsed
    assert (origin, size, root_hash, extensions) == (LOG_NAME, 5, ROOT5, ("x-extension",))
    assert parsed.body() == body


def test_parse_real_checkpoint() -> None:
    parsed = parse_checkpoint(ARCHE_BODY)
    assert parsed.origin == "arche2025h1.staging.ct.transparency.dev"
    assert parsed.size == 1432088532
    assert parsed.root == base64.b64decode("U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=")
    assert parsed.extensions == ()


@settings(max_examples=100, deadline=None)
@given(
    origin=st.text(
        alphabet=st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1
    ),
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
)
def test_checkpoint_round_trip_property(origin: str, size: int, root_hash: bytes) -> None:
    assert parse_checkpoint(format_checkpoint(origin, size, root_hash)) == (
        origin,
        size,
        root_hash,
        (),
    )


GOOD_ROOT = base64.b64encode(ROOT5).decode()
URLSAFE_ROOT = base64.urlsafe_b64encode(bytes([0xFB]) * 32).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"origin\n5\n{GOOD_ROOT}",  # no final newline
        f"origin\n5\n{GOOD_ROOT}\n\n",  # empty extension line
        f"\n5\n{GOOD_ROOT}\n",  # empty origin
        "origin\n5\n",  # no root line
        f"origin\n05\n{GOOD_ROOT}\n",  # leading zero
        f"origin\n+5\n{GOOD_ROOT}\n",
        f"origin\n-5\n{GOOD_ROOT}\n",
        f"origin\n 5\n{GOOD_ROOT}\n",
        f"origin\n5.0\n{GOOD_ROOT}\n",
        f"origin\n{2**64}\n{GOOD_ROOT}\n",  # beyond uint64
        f"origin\n٥\n{GOOD_ROOT}\n",  # a non-ASCII digit int() would accept
        f"origin\n5\n{GOOD_ROOT.rstrip('=')}\n",  # unpadded
        f"origin\n5\n{URLSAFE_ROOT}\n",  # base64url alphabet
        f"origin\n5\n{base64.b64encode(ROOT5[:31]).decode()}\n",  # 31 bytes
        f"origin\n5\n{base64.b64encode(ROOT5 + b'x').decode()}\n",  # 33 bytes
        f"origin\n5\n{GOOD_ROOT[:-2]}B=\n",  # non-zero trailing bits
        f"origin\r\n5\n{GOOD_ROOT}\n",  # control character
    ],
)
def test_parse_checkpoint_refuses_malformed(body: str) -> None:
    with pytest.raises(MalformedNote):
        parse_checkpoint(body)


def test_format_checkpoint_refuses_bad_fields() -> None:
    with pytest.raises(MalformedNote):
        format_checkpoint("", 1, ROOT5)
    with pytest.raises(MalformedNote):
        format_checkpoint("two\nlines", 1, ROOT5)
    with pytest.raises(MalformedNote):
        format_checkpoint("o", -1, ROOT5)
    with pytest.raises(MalformedNote):
        format_checkpoint("o", 1, ROOT5[:16])
    with pytest.raises(MalformedNote):
        format_checkpoint("o", 1, ROOT5, [""])
    with pytest.raises(MalformedNote):
        format_checkpoint("o\t", 1, ROOT5)


def test_malformed_note_is_a_domain_error() -> None:
    assert issubclass(MalformedNote, DomainError)
    assert MalformedNote.status == 400
    assert MalformedNote.slug == "malformed-note"


# --- Keys and vkeys ---


def test_go_vector_keys() -> None:
    """The Go note package's signer key derives the published verifier key."""
    peter = Ed25519PrivateKey.from_private_bytes(PETER_SKEY_SEED)
    assert format_vkey("PeterNeumann", public_key_bytes(peter)) == PETER_VKEY
    verifier = parse_vkey(PETER_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.sig_type == SIG_TYPE_ED25519
    assert verifier.key_hash == bytes.fromhex("c74f20a3")
    assert verifier.vkey == PETER_VKEY


def test_c2sp_and_formats_vkeys_parse() -> None:
    assert parse_vkey(C2SP_VKEY).public_key == bytes.fromhex(
        "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    )
    plus = parse_vkey(PLUS_VKEY)
    assert plus.name == "TEST"
    assert plus.vkey == PLUS_VKEY
    remora = parse_vkey(REMORA_VKEY)
    assert remora.sig_type == SIG_TYPE_COSIGNATURE_V1
    assert remora.key_hash == bytes.fromhex("da77ade7")
    assert format_vkey(remora.name, remora.public_key, SIG_TYPE_COSIGNATURE_V1) == REMORA_VKEY


def test_key_hash_definition() -> None:
    pub = public_key_bytes(LOG_KEY)
    assert key_hash("n", 1, pub) == hashlib.sha256(b"n\n\x01" + pub).digest()[:4]
    assert key_hash("n", 4, pub) == hashlib.sha256(b"n\n\x04" + pub).digest()[:4]
    # The signature type separates a note key from a cosigner key on the same key pair.
    assert key_hash("n", 1, pub) != key_hash("n", 4, pub)


def test_every_mangled_go_vkey_is_refused() -> None:
    """TestNewVerifier in note_test.go: every proper substring and every one-byte change."""
    for i, j in itertools.combinations(range(len(PETER_VKEY) + 1), 2):
        if (i, j) != (0, len(PETER_VKEY)):
            with pytest.raises(MalformedNote):
                parse_vkey(PETER_VKEY[i:j])
    for i, c in enumerate(PETER_VKEY):
        mangled = PETER_VKEY[:i] + chr(ord(c) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(MalformedNote):
            parse_vkey(mangled)
    wrong_length = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
    unknown_type = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    for vkey in (wrong_length, unknown_type):
        with pytest.raises(MalformedNote):
            parse_vkey(vkey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\u2003b", "a\nb"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(MalformedNote):
        format_vkey(name, public_key_bytes(LOG_KEY))
    with pytest.raises(MalformedNote):
        sign_note("text\n", name, LOG_KEY)


# --- Signed notes: known vectors ---


def test_sign_matches_go_vector() -> None:
    """TestSign in note_test.go: Ed25519 is deterministic, so the note is byte-exact."""
    peter = Ed25519PrivateKey.from_private_bytes(PETER_SKEY_SEED)
    assert sign_note(GO_TEXT, "PeterNeumann", peter) == GO_TEXT + "\n" + PETER_SIG


def test_open_go_vector_with_one_known_key() -> None:
    """TestOpen: Enoch's signature is unknown to a Peter-only verifier list and kept unverified."""
    opened = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [parse_vkey(PETER_VKEY)])
    assert opened.text == GO_TEXT
    assert [v.signature.name for v in opened.verified] == ["PeterNeumann"]
    assert opened.verified[0].timestamp is None
    assert opened.verified[0].signature.line == PETER_SIG
    assert [s.name for s in opened.unverified] == ["EnochRoot"]
    assert opened.unverified[0].key_hash == bytes.fromhex("af0cfe78")


def test_open_go_vector_with_both_keys() -> None:
    verifiers = [parse_vkey(PETER_VKEY), parse_vkey(ENOCH_VKEY)]
    opened = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, verifiers)
    assert [v.verifier.name for v in opened.verified] == ["PeterNeumann", "EnochRoot"]
    assert opened.unverified == ()


def test_open_go_vector_without_known_keys_fails() -> None:
    with pytest.raises(UnknownSigner):
        open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


def test_open_go_vector_with_a_corrupted_known_signature_fails() -> None:
    corrupted = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(BadSignature):
        open_note(GO_TEXT + "\n" + corrupted, [parse_vkey(PETER_VKEY)])
    # The same corruption on a signature nobody trusts is ignored.
    enoch_corrupted = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    opened = open_note(GO_TEXT + "\n" + PETER_SIG + enoch_corrupted, [parse_vkey(PETER_VKEY)])
    assert [s.name for s in opened.unverified] == ["EnochRoot"]


def test_open_drops_repeated_signatures() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG
    opened = open_note(note, [parse_vkey(PETER_VKEY)])
    assert len(opened.verified) == 1
    assert len(opened.unverified) == 1


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + "— Bad Name " + PETER_SIG.split(" ")[2],
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
        GO_TEXT + "\n" + PETER_SIG.replace("—", "-"),  # hyphen, not em dash
        GO_TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),  # unpadded base64
        GO_TEXT + "\n" + "— PeterNeumann x08g\n",  # only a key hash
    ],
)
def test_open_refuses_malformed_notes(note: str) -> None:
    """The badMsgs of TestOpen in note_test.go, and a few more."""
    with pytest.raises(MalformedNote):
        open_note(note, [parse_vkey(PETER_VKEY)])


def test_open_refuses_invalid_utf8() -> None:
    with pytest.raises(MalformedNote):
        open_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(), [parse_vkey(PETER_VKEY)])
    opened = open_note((GO_TEXT + "\n" + PETER_SIG).encode(), [parse_vkey(PETER_VKEY)])
    assert opened.text == GO_TEXT


def test_open_c2sp_example() -> None:
    opened = open_note(C2SP_NOTE, [parse_vkey(C2SP_VKEY)])
    assert opened.text == "This is an example message.\n"


def test_duplicate_verifiers_are_harmless() -> None:
    opened = open_note(GO_TEXT + "\n" + PETER_SIG, [parse_vkey(PETER_VKEY), parse_vkey(PETER_VKEY)])
    assert len(opened.verified) == 1


# --- A real cosigned checkpoint ---


def test_real_cosigned_checkpoint() -> None:
    """Log signature (0x01) and remora's cosignature (0x04) verify; others are unknown."""
    opened = open_note(ARCHE_NOTE, [parse_vkey(ARCHE_VKEY), parse_vkey(REMORA_VKEY)])
    assert opened.text == ARCHE_BODY
    by_name = {v.verifier.name: v for v in opened.verified}
    assert set(by_name) == {"arche2025h1.staging.ct.transparency.dev", "remora.n621.de"}
    assert by_name["arche2025h1.staging.ct.transparency.dev"].timestamp is None
    assert by_name["remora.n621.de"].timestamp == REMORA_TIME
    # The RFC 6962 (type 0x05) signature under the log's name has another key hash.
    assert len(opened.unverified) == 4
    assert (
        verify_cosignature(
            ARCHE_BODY, REMORA_LINE, "remora.n621.de", parse_vkey(REMORA_VKEY).public_key
        )
        == REMORA_TIME
    )


def test_real_cosigned_checkpoint_tampered() -> None:
    tampered = ARCHE_NOTE.replace("1432088532", "1432088533")
    for vkey in (ARCHE_VKEY, REMORA_VKEY):
        with pytest.raises(BadSignature):
            open_note(tampered, [parse_vkey(vkey)])
    with pytest.raises(BadSignature):
        verify_cosignature(
            tampered.split("\n\n")[0] + "\n",
            REMORA_LINE,
            "remora.n621.de",
            parse_vkey(REMORA_VKEY).public_key,
        )


def test_a_note_key_cannot_verify_a_cosignature() -> None:
    """remora's key registered as a plain note key (type 0x01) has another key hash."""
    remora = parse_vkey(REMORA_VKEY)
    as_note_key = NoteVerifier(remora.name, SIG_TYPE_ED25519, remora.public_key)
    with pytest.raises(UnknownSigner):
        open_note(ARCHE_NOTE, [as_note_key])


# --- Our own notes: round trips and tampering ---


def _signed_checkpoint(size: int = 5, root_hash: bytes = ROOT5) -> tuple[str, str]:
    body = format_checkpoint(LOG_NAME, size, root_hash)
    return body, sign_note(body, LOG_NAME, LOG_KEY)


def test_sign_and_open_round_trip() -> None:
    body, note = _signed_checkpoint()
    assert note.startswith(body + "\n— " + LOG_NAME + " ")
    text, signatures = parse_note(note)
    assert text == body
    assert signatures[0].key_hash == _log_verifier().key_hash
    assert len(signatures[0].signature) == 64
    opened = open_note(note, [_log_verifier()])
    assert opened.text == body
    assert parse_checkpoint(opened.text) == (LOG_NAME, 5, ROOT5, ())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda n: n.replace("\n5\n", "\n6\n", 1),
        lambda n: n.replace(LOG_NAME + "\n", LOG_NAME + "x\n", 1),
        lambda n: n.replace(
            base64.b64encode(ROOT5).decode(), base64.b64encode(b"\0" * 32).decode()
        ),
        lambda n: n.replace("\n\n", "\nextension\n\n", 1),
    ],
)
def test_tampered_note_fails(tamper: Callable[[str], str]) -> None:
    _, note = _signed_checkpoint()
    tampered = tamper(note)
    assert tampered != note
    with pytest.raises(BadSignature):
        open_note(tampered, [_log_verifier()])


def test_signature_bits_are_checked() -> None:
    _, note = _signed_checkpoint()
    text, (sig,) = parse_note(note)
    for i in range(0, 64, 7):
        bad = bytearray(sig.signature)
        bad[i] ^= 0x01
        line = type(sig)(sig.name, sig.key_hash, bytes(bad)).line
        with pytest.raises(BadSignature):
            open_note(text + "\n" + line, [_log_verifier()])


def test_unknown_key_is_ignored_but_one_trusted_signature_is_needed() -> None:
    body, note = _signed_checkpoint()
    stranger = sign_note(body, "stranger.example", _key(9)).split("\n\n")[1]
    opened = open_note(note + stranger, [_log_verifier()])
    assert [v.verifier.name for v in opened.verified] == [LOG_NAME]
    assert [s.name for s in opened.unverified] == ["stranger.example"]
    with pytest.raises(UnknownSigner):
        open_note(body + "\n" + stranger, [_log_verifier()])
    # Same name as the log, but another key: still just unknown.
    impostor = sign_note(body, LOG_NAME, _key(9)).split("\n\n")[1]
    opened = open_note(note + impostor, [_log_verifier()])
    assert len(opened.unverified) == 1
    with pytest.raises(UnknownSigner):
        open_note(body + "\n" + impostor, [_log_verifier()])


def test_sign_note_needs_final_newline_and_clean_text() -> None:
    with pytest.raises(MalformedNote):
        sign_note("abc", LOG_NAME, LOG_KEY)
    with pytest.raises(MalformedNote):
        sign_note("a\tb\n", LOG_NAME, LOG_KEY)


def test_text_with_blank_lines_round_trips() -> None:
    """The text ends at the last blank line, so blank lines inside it are fine."""
    text = "para one\n\npara two\n"
    opened = open_note(sign_note(text, LOG_NAME, LOG_KEY), [_log_verifier()])
    assert opened.text == text


# --- Cosignatures ---


def test_cosignature_message_layout() -> None:
    body, _ = _signed_checkpoint()
    assert cosignature_message(body, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + body.encode()
    )
    with pytest.raises(MalformedNote):
        cosignature_message(body, -1)
    with pytest.raises(MalformedNote):
        cosignature_message(body, 2**63)


def test_cosign_line_layout() -> None:
    body, _ = _signed_checkpoint()
    line = cosign(body, WITNESS_NAME, WITNESS_KEY, 1700000000)
    prefix, name, b64 = line.rstrip("\n").split(" ")
    assert line.endswith("\n")
    assert (prefix, name) == ("—", WITNESS_NAME)
    raw = base64.b64decode(b64)
    assert len(raw) == 4 + 8 + 64
    expected_hash = hashlib.sha256(
        WITNESS_NAME.encode() + b"\n\x04" + public_key_bytes(WITNESS_KEY)
    ).digest()[:4]
    assert raw[:4] == expected_hash
    assert int.from_bytes(raw[4:12], "big") == 1700000000
    WITNESS_KEY.public_key().verify(raw[12:], cosignature_message(body, 1700000000))


def test_cosignature_round_trip() -> None:
    body, note = _signed_checkpoint()
    line = cosign(body, WITNESS_NAME, WITNESS_KEY, 1700000000)
    pub = public_key_bytes(WITNESS_KEY)
    assert verify_cosignature(body, line, WITNESS_NAME, pub) == 1700000000
    assert verify_cosignature(body, line.rstrip("\n"), WITNESS_NAME, pub) == 1700000000
    opened = open_note(note + line, [_log_verifier(), _witness_verifier()])
    by_name = {v.verifier.name: v.timestamp for v in opened.verified}
    assert by_name == {LOG_NAME: None, WITNESS_NAME: 1700000000}
    # A witness alone can open the note too; policy (log key + k witnesses) is the caller's.
    assert open_note(note + line, [_witness_verifier()]).verified[0].timestamp == 1700000000


def test_cosignature_tampering_fails() -> None:
    body, _ = _signed_checkpoint()
    line = cosign(body, WITNESS_NAME, WITNESS_KEY, 1700000000)
    pub = public_key_bytes(WITNESS_KEY)
    other_body = format_checkpoint(LOG_NAME, 6, ROOT5)
    with pytest.raises(BadSignature):
        verify_cosignature(other_body, line, WITNESS_NAME, pub)
    # Moving the timestamp invalidates the signature.
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 0x01
    moved = f"— {WITNESS_NAME} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(BadSignature):
        verify_cosignature(body, moved, WITNESS_NAME, pub)
    # A line by another witness, or under another name, is not this witness's.
    with pytest.raises(UnknownSigner):
        verify_cosignature(body, line, WITNESS_NAME, public_key_bytes(_key(3)))
    with pytest.raises(UnknownSigner):
        verify_cosignature(body, line.replace(WITNESS_NAME, "other.example"), WITNESS_NAME, pub)


def test_cosignature_covers_extension_lines() -> None:
    """TestSigCoversExtensionLines in transparency-dev/formats."""
    body = format_checkpoint(LOG_NAME, 5, ROOT5, ["Extendo"])
    line = cosign(body, WITNESS_NAME, WITNESS_KEY, 1)
    with pytest.raises(BadSignature):
        verify_cosignature(
            body.replace("Extendo", "Extend@"), line, WITNESS_NAME, public_key_bytes(WITNESS_KEY)
        )


def test_cosignature_is_not_a_plain_note_signature() -> None:
    """Domain separation: a cosignature never passes as the log's own signature, and back."""
    body, note = _signed_checkpoint()
    line = cosign(body, LOG_NAME, LOG_KEY, 1700000000)  # same key pair as the log
    with pytest.raises(UnknownSigner):
        open_note(body + "\n" + line, [_log_verifier()])
    as_cosigner = NoteVerifier(LOG_NAME, SIG_TYPE_COSIGNATURE_V1, public_key_bytes(LOG_KEY))
    with pytest.raises(UnknownSigner):
        open_note(note, [as_cosigner])


def test_cosign_needs_a_checkpoint_and_a_valid_time() -> None:
    with pytest.raises(MalformedNote):
        cosign("not a checkpoint\n", WITNESS_NAME, WITNESS_KEY, 1)
    body, _ = _signed_checkpoint()
    with pytest.raises(MalformedNote):
        cosign(body, WITNESS_NAME, WITNESS_KEY, -1)
    assert (
        verify_cosignature(
            body,
            cosign(body, WITNESS_NAME, WITNESS_KEY, 2**63 - 1),
            WITNESS_NAME,
            public_key_bytes(WITNESS_KEY),
        )
        == 2**63 - 1
    )


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    timestamp=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_cosignature_round_trip_property(size: int, root_hash: bytes, timestamp: int) -> None:
    body = format_checkpoint(LOG_NAME, size, root_hash)
    line = cosign(body, WITNESS_NAME, WITNESS_KEY, timestamp)
    assert verify_cosignature(body, line, WITNESS_NAME, public_key_bytes(WITNESS_KEY)) == timestamp
