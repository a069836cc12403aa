"""A participant's check of its own log entries: each is in a checkpoint signed by the log.

A participant may not read the whole log, only the entries it signed or that
name it (contracts/SPEC.md section 12). Its export is the latest signed
checkpoint, then each of those entries with an RFC 9162 inclusion proof in
that checkpoint's tree. This checks, with no server: the checkpoint's log
signature (and cosignatures by known witnesses), each entry's hash over its
canonical bytes, and each inclusion proof against the checkpoint's root. A
witness that saw the same checkpoint vouches that everyone was shown the same
log; the entries of others stay unread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import DomainError
from dataex.core.log.chain import entry_hash
from dataex.core.log.merkle import verify_inclusion
from dataex.verify.trust import CheckedNote, TrustedKeys, check_note


@dataclass
class OwnReport:
    checkpoint: CheckedNote | None = None
    verified: list[int] = field(default_factory=list)
    fault: str | None = None
    fault_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None and self.checkpoint is not None


def verify_own_entries(lines: Iterable[str | bytes], keys: TrustedKeys,
                       participant_id: str | None = None) -> OwnReport:
    """Check an own-entries export line by line; stop at the first fault."""
    report = OwnReport()
    for raw in lines:
        if not raw.strip():
            continue
        line = msgspec.json.decode(raw)
        if "checkpoint" in line:
            if report.checkpoint is not None:
                return _fault(report, None, "a second checkpoint line: not an own-entries export")
            try:
                report.checkpoint = check_note(line["checkpoint"], keys)
            except DomainError as exc:
                return _fault(report, None, f"the checkpoint does not verify: {exc.detail}")
            continue
        seq = line.get("seq")
        if report.checkpoint is None:
            return _fault(report, seq, "an entry before any signed checkpoint")
        fault = _check_entry(line, report.checkpoint, participant_id)
        if fault is not None:
            return _fault(report, seq, fault)
        report.verified.append(seq)
    if report.checkpoint is None:
        report.fault = "no signed checkpoint in the export"
    return report


def _check_entry(line: dict[str, object], note: CheckedNote,
                 participant_id: str | None) -> str | None:
    seq, entry, inclusion = line.get("seq"), line.get("entry"), line.get("inclusion")
    if not isinstance(seq, int) or not isinstance(entry, dict) or not isinstance(inclusion, dict):
        return "not an entry line with seq, entry and inclusion"
    digest = entry_hash(canonical_json(entry))
    if digest != line.get("entry_hash"):
        return "the entry does not hash to its entry_hash"
    size = note.checkpoint.size
    if inclusion.get("tree_size") != size:
        return (f"its proof is for tree size {inclusion.get('tree_size')}, "
                f"not the checkpoint's {size}")
    hashes = inclusion.get("proof")
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        return "its inclusion proof is not a list of hex hashes"
    try:
        proof = [bytes.fromhex(h) for h in hashes]
    except ValueError:
        return "its inclusion proof is not a list of hex hashes"
    if not verify_inclusion(bytes.fromhex(digest), seq - 1, size, proof, note.checkpoint.root):
        return f"its inclusion proof does not lead to the checkpoint's root (size {size})"
    if participant_id is not None and f'"{participant_id}"' not in canonical_json(entry).decode():
        return f"the entry does not name {participant_id}"
    return None


def _fault(report: OwnReport, seq: object, reason: str) -> OwnReport:
    report.fault = reason
    report.fault_seq = seq if isinstance(seq, int) else None
    return report
