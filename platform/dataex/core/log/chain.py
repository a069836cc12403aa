"""Audit log entries: their canonical form, their hash and the chain between them.

entry_hash = SHA-256(0x00 || canonical entry bytes), which is also the RFC 9162
leaf hash of the entry, so the chain and the Merkle tree hash the same thing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dataex.core.documents.canonical import canonical_json, canonical_json_spliced

LEAF_PREFIX = b"\x00"
GENESIS_PREV_HASH = "00" * 32


def entry_hash(canonical_entry: bytes) -> str:
    digest = hashlib.sha256(LEAF_PREFIX)
    digest.update(canonical_entry)
    return digest.hexdigest()


def build_entry(
    *,
    seq: int,
    time: str,
    kind: str,
    signer: str,
    participant_id: str | None,
    envelope: dict[str, Any],
    events: list[dict[str, Any]],
    prev_hash: str,
    canonical_envelope: bytes | None = None,
) -> tuple[dict[str, Any], bytes, str]:
    """Return the entry, its canonical bytes and its hash.

    ``canonical_envelope``, if given, must be `canonical_json(envelope)`: the
    entry's bytes are then built around it instead of encoding it again (same
    bytes either way).
    """
    entry = {
        "seq": seq,
        "time": time,
        "kind": kind,
        "signer": signer,
        "participant_id": participant_id,
        "envelope": envelope,
        "events": events,
        "prev_hash": prev_hash,
    }
    canonical = None
    if canonical_envelope is not None:
        canonical = canonical_json_spliced(entry, {"envelope": canonical_envelope})
    if canonical is None:
        canonical = canonical_json(entry)
    return entry, canonical, entry_hash(canonical)


@dataclass(frozen=True)
class ChainFault:
    seq: int
    reason: str


@dataclass(frozen=True)
class LoggedEntry:
    """One entry as a log or an export presents it: the entry and the hash claimed for it."""

    seq: int
    entry: dict[str, Any]
    entry_hash: str


def verify_chain(
    entries: Iterable[LoggedEntry],
    *,
    prev_hash: str = GENESIS_PREV_HASH,
    first_seq: int = 1,
) -> Iterator[ChainFault | int]:
    """Walk entries in order, yielding each verified seq, or the first fault and stop.

    An entry must carry the next seq, hash to the hash claimed for it (so an
    edited entry is named itself, not its successor) and point at the hash of
    the entry before it.
    """
    expected_seq = first_seq
    for logged in entries:
        if logged.seq != expected_seq or logged.entry.get("seq") != expected_seq:
            yield ChainFault(expected_seq, f"expected entry {expected_seq}, found {logged.seq}")
            return
        try:
            actual = entry_hash(canonical_json(logged.entry))
        except ValueError as exc:
            yield ChainFault(expected_seq, f"entry is not canonical JSON: {exc}")
            return
        if actual != logged.entry_hash:
            yield ChainFault(expected_seq, "entry content does not match its entry_hash")
            return
        if logged.entry.get("prev_hash") != prev_hash:
            yield ChainFault(expected_seq, "prev_hash does not match the previous entry's hash")
            return
        prev_hash = actual
        expected_seq += 1
        yield logged.seq
