"""Offline verification of an exported log: no database, no trust in the server.

Reads JSON Lines {seq, entry_hash, entry} and checks, entry by entry: the seq
order, that the entry hashes to its entry_hash, the hash chain, and the Ed25519
signature of every signed document under the key the log itself admitted for
its signer. It stops at the first fault and names its seq.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from dataex.core.audit import ChainFault, LoggedEntry, verify_chain
from dataex.core.encoding import b64url_decode
from dataex.core.errors import DomainError


@dataclass
class Report:
    verified: int = 0
    last_seq: int = 0
    head_hash: str | None = None
    fault: ChainFault | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault is None


class _KeyDirectory:
    """Public keys as the log's own events admitted and rotated them."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}

    def learn(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            if e.get("type") == "participant.admitted":
                self.keys[e["key_id"]] = b64url_decode(e["public_key"])
            elif e.get("type") == "key.rotated":
                self.keys[e["new_key_id"]] = b64url_decode(e["new_public_key"])

    def check(self, entry: dict[str, Any]) -> str | None:
        from dataex.core.signing import verify_signature

        envelope = entry["envelope"]
        signer = envelope["document"]["signer"]
        public_key = self.keys.get(signer)
        if public_key is None:
            events = entry.get("events") or []
            own = [e for e in events if e.get("type") == "participant.admitted"
                   and e.get("key_id") == signer]
            if entry["seq"] != 1 or not own:
                return f"signer {signer} was never admitted before this entry"
            public_key = b64url_decode(own[0]["public_key"])  # the genesis self-admission
        try:
            verify_signature(envelope["document"], envelope["signature"], public_key)
        except DomainError as exc:
            return f"document signature does not verify: {exc.detail}"
        return None


def parse_lines(lines: Iterable[str | bytes]) -> Iterator[LoggedEntry | ChainFault]:
    expected = 1
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = msgspec.json.decode(line)
            logged = LoggedEntry(int(obj["seq"]), obj["entry"], str(obj["entry_hash"]))
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            yield ChainFault(expected, "export line is not {seq, entry_hash, entry} JSON")
            return
        expected = logged.seq + 1
        yield logged


def verify_export(
    lines: Iterable[str | bytes],
    *,
    progress: Callable[[int], None] | None = None,
    expected_size: int | None = None,
) -> Report:
    """Verify a whole export from seq 1; `expected_size` catches a truncated export."""
    report = Report()
    keys = _KeyDirectory()
    by_seq: dict[int, LoggedEntry] = {}

    def entries() -> Iterator[LoggedEntry]:
        for item in parse_lines(lines):
            if isinstance(item, ChainFault):
                report.fault = item
                return
            by_seq[item.seq] = item
            yield item

    for outcome in verify_chain(entries()):
        if isinstance(outcome, ChainFault):
            report.fault = outcome
            break
        logged = by_seq.pop(outcome)
        problem = keys.check(logged.entry)
        if problem is not None:
            report.fault = ChainFault(outcome, problem)
            break
        keys.learn(logged.entry.get("events") or [])
        report.verified += 1
        report.last_seq = outcome
        report.head_hash = logged.entry_hash
        if progress is not None:
            progress(outcome)
    if report.fault is None and expected_size is not None and report.last_seq < expected_size:
        report.fault = ChainFault(
            report.last_seq + 1,
            f"export ends at entry {report.last_seq} but the log has {expected_size} entries",
        )
    return report
