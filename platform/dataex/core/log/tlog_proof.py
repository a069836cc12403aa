"""c2sp.org/tlog-proof@v1: one entry's inclusion proof and its signed checkpoint, in one file.

    c2sp.org/tlog-proof@v1
    [extra <base64>]
    index <zero-based leaf index>
    <base64 proof hash, leaf's sibling first>...
    <empty line>
    <the checkpoint note, with the log's signatures and any cosignatures>

Verifying needs no server: the leaf hash (for dataex, the exported entry's
entry_hash, leaf index = seq - 1), the log's verifier key(s), then the note's
signature and the inclusion proof against the checkpoint root.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dataex.core.documents.errors import DomainError
from dataex.core.log.checkpoint import Checkpoint, MalformedNote, NoteVerifier, open_note
from dataex.core.log.checkpoint import parse_checkpoint as _parse_checkpoint
from dataex.core.log.merkle import HASH_SIZE, verify_inclusion

__all__ = ["HEADER", "TlogProof", "WrongProof", "format_tlog_proof", "parse_tlog_proof",
           "verify_tlog_proof"]

HEADER = "c2sp.org/tlog-proof@v1"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class WrongProof(DomainError):
    status = 422
    slug = "proof-does-not-verify"
    title = "The proof does not verify"


@dataclass(frozen=True)
class TlogProof:
    index: int
    proof: tuple[bytes, ...]
    note: str
    extra: bytes | None = None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedNote(f"{what} is not standard base64") from exc
    if _b64(raw) != text:
        raise MalformedNote(f"{what} is not canonical base64")
    return raw


def format_tlog_proof(
    index: int, proof: Sequence[bytes], note: str, extra: bytes | None = None
) -> str:
    lines = [HEADER]
    if extra is not None:
        lines.append(f"extra {_b64(extra)}")
    lines.append(f"index {index}")
    lines.extend(_b64(h) for h in proof)
    return "\n".join(lines) + "\n\n" + note


def parse_tlog_proof(text: str) -> TlogProof:
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise MalformedNote("a tlog-proof needs an empty line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise MalformedNote(f"a tlog-proof starts with the line {HEADER!r}")
    position = 1
    extra = None
    if len(lines) > position and lines[position].startswith("extra "):
        extra = _unb64(lines[position].removeprefix("extra "), "the extra data")
        position += 1
    if len(lines) <= position or not lines[position].startswith("index "):
        raise MalformedNote("a tlog-proof needs an 'index <n>' line")
    index_text = lines[position].removeprefix("index ")
    if not _DECIMAL.fullmatch(index_text):
        raise MalformedNote("the tlog-proof index is not a decimal without leading zeros")
    proof = []
    for line in lines[position + 1 :]:
        raw = _unb64(line, "a proof hash")
        if len(raw) != HASH_SIZE:
            raise MalformedNote(f"a proof hash must be {HASH_SIZE} bytes")
        proof.append(raw)
    return TlogProof(int(index_text), tuple(proof), note, extra)


def verify_tlog_proof(
    text: str, leaf_hash: bytes, log_keys: Iterable[NoteVerifier]
) -> tuple[TlogProof, Checkpoint]:
    """Check the note's log signature and the inclusion of `leaf_hash`; raise if either fails.

    The checkpoint's origin must be the name of the log key that signed it
    (dataex names its log key after the origin). Cosignatures by keys not
    given are ignored here; a witness policy is the caller's to apply.
    """
    parsed = parse_tlog_proof(text)
    keys = list(log_keys)
    opened = open_note(parsed.note, keys)
    checkpoint = _parse_checkpoint(opened.text)
    signers = {v.verifier.name for v in opened.verified}
    if checkpoint.origin not in signers:
        raise WrongProof(f"the checkpoint origin {checkpoint.origin!r} is not the signing key's")
    if not verify_inclusion(
        leaf_hash, parsed.index, checkpoint.size, parsed.proof, checkpoint.root
    ):
        raise WrongProof(
            f"leaf {parsed.index} with hash {leaf_hash.hex()} is not in the tree of size "
            f"{checkpoint.size} with root {checkpoint.root.hex()}"
        )
    return parsed, checkpoint
