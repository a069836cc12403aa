"""Checkpoints of the audit log as C2SP signed notes, and witness cosignatures.

Formats, byte for byte as golang.org/x/mod/sumdb/note and
github.com/transparency-dev/formats/note implement them, so that any C2SP
tooling (witnesses, monitors) can read our log and we can read theirs:

- c2sp.org/signed-note: text ending in a newline, a blank line, then lines
  "— <key name> <base64(4-byte key hash || signature)>". Ed25519 keys have
  type 0x01 and sign the note text itself.
- c2sp.org/tlog-checkpoint: the note text "<origin>\\n<size>\\n<base64 root>\\n"
  plus optional extension lines.
- c2sp.org/tlog-cosignature, cosignature/v1: type 0x04; the witness signs
  "cosignature/v1\\ntime <t>\\n" + the checkpoint text and the signature is
  8-byte big-endian t || Ed25519 signature.

Times come in as arguments (core has no clock). Base64 here is the standard
alphabet with padding (RFC 4648 section 4), unlike the base64url of the API.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.documents.errors import BadSignature, DomainError, UnknownSigner
from dataex.core.documents.signing import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, public_key_bytes
from dataex.core.log.merkle import HASH_SIZE

__all__ = [
    "COSIGNATURE_HEADER",
    "MAX_SIGNATURES",
    "SIG_TYPE_COSIGNATURE_V1",
    "SIG_TYPE_ED25519",
    "Checkpoint",
    "MalformedNote",
    "NoteSignature",
    "NoteVerifier",
    "OpenedNote",
    "VerifiedSignature",
    "cosign",
    "cosignature_message",
    "format_checkpoint",
    "format_vkey",
    "key_hash",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "parse_vkey",
    "sign_note",
    "verify_cosignature",
]

SIG_TYPE_ED25519 = 0x01
SIG_TYPE_COSIGNATURE_V1 = 0x04
KEY_HASH_BYTES = 4
TIMESTAMP_BYTES = 8
COSIGNATURE_HEADER = "cosignature/v1\n"
# tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1.
MAX_TIMESTAMP = 2**63 - 1
# signed-note: verifiers must accept at least 16; the Go reference stops at 100.
MAX_SIGNATURES = 100

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_SIGNATURE_BYTES_BY_TYPE = {
    SIG_TYPE_ED25519: SIGNATURE_BYTES,
    SIG_TYPE_COSIGNATURE_V1: TIMESTAMP_BYTES + SIGNATURE_BYTES,
}
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class MalformedNote(DomainError):
    """A signed note, checkpoint or verifier key that does not follow its C2SP format."""

    status = 400
    slug = "malformed-note"
    title = "The signed note or checkpoint is malformed"


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Decode standard padded base64, refusing anything but its one canonical spelling."""
    if not _B64.fullmatch(text) or len(text) % 4:
        raise MalformedNote(f"{what} is not standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedNote(f"{what} is not standard base64") from exc
    if _b64encode(raw) != text:
        raise MalformedNote(f"{what} is not canonical base64")
    return raw


def _check_text(text: str, what: str) -> None:
    """Notes are UTF-8 with no control characters but newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedNote(f"{what} is not valid UTF-8") from exc
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise MalformedNote(f"{what} contains a control character")


def _valid_name(name: str) -> bool:
    """Key names are non-empty, with no Unicode space and no '+' (they delimit vkeys)."""
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() or ord(c) < 0x20 for c in name)
        and _encodable(name)
    )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_name(name: str) -> None:
    if not _valid_name(name):
        raise MalformedNote(f"{name!r} is not a valid key name")


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------


class Checkpoint(NamedTuple):
    """A parsed tlog-checkpoint body."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root, self.extensions)


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """The note text of a checkpoint: origin, decimal size, base64 root, extension lines."""
    if not origin or "\n" in origin:
        raise MalformedNote("a checkpoint origin must be one non-empty line")
    if not 0 <= size < 2**64:
        raise MalformedNote("a checkpoint size must fit in 64 bits")
    if len(root) != HASH_SIZE:
        raise MalformedNote(f"a checkpoint root hash must be {HASH_SIZE} bytes")
    for line in extensions:
        if not line or "\n" in line:
            raise MalformedNote("checkpoint extension lines must be non-empty single lines")
    text = "".join(f"{line}\n" for line in (origin, str(size), _b64encode(root), *extensions))
    _check_text(text, "checkpoint")
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (no signatures); refuse every non-canonical form."""
    _check_text(text, "checkpoint")
    if not text.endswith("\n"):
        raise MalformedNote("a checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedNote("a checkpoint needs origin, size and root hash lines")
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise MalformedNote("the checkpoint origin is empty")
    if not _DECIMAL.fullmatch(size_line) or int(size_line) >= 2**64:
        raise MalformedNote("the checkpoint size is not a decimal without leading zeros")
    root = _b64decode(root_line, "the checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise MalformedNote(f"the checkpoint root hash must be {HASH_SIZE} bytes")
    if any(not line for line in extensions):
        raise MalformedNote("checkpoint extension lines must be non-empty")
    return Checkpoint(origin, int(size_line), root, tuple(extensions))


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def key_hash(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4]: names the key and its signature type."""
    material = name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(material).digest()[:KEY_HASH_BYTES]


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted key: an Ed25519 note key (type 0x01) or a cosignature/v1 witness key (0x04)."""

    name: str
    sig_type: int
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.sig_type not in _SIGNATURE_BYTES_BY_TYPE:
            raise MalformedNote(f"signature type {self.sig_type:#04x} is not supported")
        if len(self.public_key) != PUBLIC_KEY_BYTES:
            raise MalformedNote(f"an Ed25519 public key must be {PUBLIC_KEY_BYTES} bytes")

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.public_key, self.sig_type)


def format_vkey(name: str, public_key: bytes, sig_type: int = SIG_TYPE_ED25519) -> str:
    """<name>+<hex key hash>+<base64(type || public key)>, the text form of a verifier key."""
    _check_name(name)
    return (
        f"{name}+{key_hash(name, sig_type, public_key).hex()}"
        f"+{_b64encode(bytes([sig_type]) + public_key)}"
    )


def parse_vkey(vkey: str) -> NoteVerifier:
    """Parse a vkey, checking its key hash against its name, type and key."""
    name, _, rest = vkey.partition("+")
    hash_hex, _, key_b64 = rest.partition("+")
    if not _valid_name(name) or not _HEX8.fullmatch(hash_hex) or not key_b64:
        raise MalformedNote("a verifier key is <name>+<8 hex digits>+<base64 key>")
    key = _b64decode(key_b64, "the verifier key")
    if not key:
        raise MalformedNote("the verifier key is empty")
    verifier = NoteVerifier(name, key[0], key[1:])
    if verifier.key_hash != bytes.fromhex(hash_hex):
        raise MalformedNote("the verifier key hash does not match its name and key")
    return verifier


# ---------------------------------------------------------------------------
# Signed notes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key hash, and the signature after the key hash."""

    name: str
    key_hash: bytes
    signature: bytes

    @property
    def line(self) -> str:
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_hash + self.signature)}\n"


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that verified, by which key, and for a cosignature the time it claims."""

    verifier: NoteVerifier
    signature: NoteSignature
    timestamp: int | None = None


@dataclass(frozen=True)
class OpenedNote:
    """A note whose known signatures all verified; unknown ones are kept but unverified."""

    text: str
    verified: tuple[VerifiedSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise MalformedNote("a signature line must start with an em dash and a space")
    name, sep, b64 = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not _valid_name(name) or not b64:
        raise MalformedNote("a signature line is '— <key name> <base64 signature>'")
    raw = _b64decode(b64, "a note signature")
    if len(raw) <= KEY_HASH_BYTES:
        raise MalformedNote("a note signature is shorter than its key hash")
    return NoteSignature(name, raw[:KEY_HASH_BYTES], raw[KEY_HASH_BYTES:])


def parse_note(signed_note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines, verifying nothing."""
    if isinstance(signed_note, bytes):
        try:
            signed_note = signed_note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNote("a signed note must be UTF-8") from exc
    _check_text(signed_note, "signed note")
    split = signed_note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("a signed note needs a blank line before its signatures")
    text, block = signed_note[: split + 1], signed_note[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNote("a signed note must end with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"a signed note may carry at most {MAX_SIGNATURES} signatures")
    return text, [_parse_signature_line(line) for line in lines]


def _sign_line(name: str, hash_: bytes, signature: bytes) -> str:
    return NoteSignature(name, hash_, signature).line


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign note text with an Ed25519 note key (type 0x01): text, blank line, signature line."""
    _check_name(name)
    _check_text(text, "note text")
    if not text.endswith("\n"):
        raise MalformedNote("note text must end with a newline")
    signature = private_key.sign(text.encode("utf-8"))
    hash_ = key_hash(name, SIG_TYPE_ED25519, public_key_bytes(private_key))
    return f"{text}\n{_sign_line(name, hash_, signature)}"


def cosignature_message(checkpoint_body: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header line, time line, then the whole checkpoint text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedNote("a cosignature timestamp must be between 0 and 2^63 - 1")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_body}".encode()


def _check_ed25519(verifier: NoteVerifier, signature: bytes, message: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(signature, message)
    except InvalidSignature as exc:
        raise BadSignature(
            f"the signature by {verifier.name}+{verifier.key_hash.hex()} does not verify"
        ) from exc


def _verify(verifier: NoteVerifier, text: str, signature: bytes) -> int | None:
    """Verify one signature by a known key; return the cosignature time, raise if it fails."""
    if len(signature) != _SIGNATURE_BYTES_BY_TYPE[verifier.sig_type]:
        raise BadSignature(
            f"the signature by {verifier.name}+{verifier.key_hash.hex()} has the wrong length"
        )
    if verifier.sig_type == SIG_TYPE_COSIGNATURE_V1:
        return _verify_cosignature(verifier, text, signature)
    _check_ed25519(verifier, signature, text.encode("utf-8"))
    return None


def _verify_cosignature(verifier: NoteVerifier, text: str, signature: bytes) -> int:
    """Check timestamp || Ed25519 signature over the cosignature/v1 message; return the time."""
    if len(signature) != TIMESTAMP_BYTES + SIGNATURE_BYTES:
        raise BadSignature(
            f"the cosignature by {verifier.name}+{verifier.key_hash.hex()} has the wrong length"
        )
    timestamp = int.from_bytes(signature[:TIMESTAMP_BYTES], "big")
    if timestamp > MAX_TIMESTAMP:
        raise BadSignature(
            f"the cosignature by {verifier.name}+{verifier.key_hash.hex()} has a timestamp "
            "beyond 2^63 - 1"
        )
    _check_ed25519(verifier, signature[TIMESTAMP_BYTES:], cosignature_message(text, timestamp))
    return timestamp


def open_note(signed_note: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Verify a signed note against trusted keys.

    Signatures whose (name, key hash) is not a trusted key are ignored, as the
    signed-note spec requires (that is how witnesses and key rotation coexist).
    A trusted key's signature that fails makes the whole note fail
    (BadSignature), and so does a note with no trusted signature at all
    (UnknownSigner). Repeats of a key's signature are checked but kept once.
    """
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_hash)
        if known.setdefault(slot, verifier) != verifier:
            raise ValueError(f"two different trusted keys share {verifier.name}+{slot[1].hex()}")
    text, signatures = parse_note(signed_note)
    verified: dict[tuple[str, bytes], VerifiedSignature] = {}
    unverified: list[NoteSignature] = []
    for sig in signatures:
        slot = (sig.name, sig.key_hash)
        match = known.get(slot)
        if match is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        timestamp = _verify(match, text, sig.signature)
        verified.setdefault(slot, VerifiedSignature(match, sig, timestamp))
    if not verified:
        raise UnknownSigner("the note carries no signature from a trusted key")
    return OpenedNote(text, tuple(verified.values()), tuple(unverified))


# ---------------------------------------------------------------------------
# Witness cosignatures (tlog-cosignature, cosignature/v1)
# ---------------------------------------------------------------------------


def cosign(checkpoint_body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """A witness's cosignature/v1 signature line (ending in a newline) for a checkpoint."""
    _check_name(name)
    parse_checkpoint(checkpoint_body)
    signature = private_key.sign(cosignature_message(checkpoint_body, timestamp))
    hash_ = key_hash(name, SIG_TYPE_COSIGNATURE_V1, public_key_bytes(private_key))
    return _sign_line(name, hash_, timestamp.to_bytes(TIMESTAMP_BYTES, "big") + signature)


def verify_cosignature(
    checkpoint_body: str, signature_line: str, name: str, public_key: bytes
) -> int:
    """Check one cosignature line from the witness (name, public key); return its timestamp.

    The caller judges the timestamp (freshness), since core has no clock.
    Raises UnknownSigner if the line is not by that witness's key and
    BadSignature if it is but does not verify.
    """
    parse_checkpoint(checkpoint_body)
    verifier = NoteVerifier(name, SIG_TYPE_COSIGNATURE_V1, public_key)
    sig = _parse_signature_line(signature_line.removesuffix("\n"))
    if (sig.name, sig.key_hash) != (verifier.name, verifier.key_hash):
        raise UnknownSigner(f"the cosignature is not by {name}+{verifier.key_hash.hex()}")
    return _verify_cosignature(verifier, checkpoint_body, sig.signature)
