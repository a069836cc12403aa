"""The verification of a whole log, streamed once, from seq 1.

For each entry, in the main process: its seq and hash and the chain; the
RFC 9162 tree grown with core.merkle.CompactRange, whose root must equal every
checkpoint's root at its size (which is also what proves the checkpoints
consistent with each other: one leaf stream gives them all) and that of a
trusted checkpoint seen before; and the replay through core/. Each entry's
document signature goes to a process pool (signatures.py). The first fault by
seq wins; a signature fault is found in a worker and may come after the main
process has moved on, so the run waits for every earlier chunk before it
names the first discrepancy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import DomainError
from dataex.core.log.chain import GENESIS_PREV_HASH, ChainFault, LoggedEntry, entry_hash
from dataex.core.log.merkle import CompactRange
from dataex.verify.lines import CheckpointLine, read_lines
from dataex.verify.replay import Replay
from dataex.verify.signatures import SignatureChecker
from dataex.verify.trust import CheckedNote, TrustedKeys, check_note

PROGRESS_EVERY = 500


@dataclass
class Report:
    verified: int = 0
    last_seq: int = 0
    head_hash: str | None = None
    root: str | None = None
    checkpoints_verified: int = 0
    last_checkpoint_size: int = 0
    cosignatures: dict[str, int] = field(default_factory=dict)
    signatures_checked: int = 0
    fault: ChainFault | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault is None


@dataclass
class _Run:
    keys: TrustedKeys | None
    trusted: list[CheckedNote]
    report: Report = field(default_factory=Report)
    tree: CompactRange = field(default_factory=CompactRange)
    pending: list[CheckpointLine] = field(default_factory=list)  # sizes not reached yet

    def checkpoint(self, line: CheckpointLine) -> ChainFault | None:
        size = self.tree.size
        if line.size > size:  # ahead of the entries: checked when they arrive
            self.pending.append(line)
            self.pending.sort()
            return None
        if line.size < size:
            return ChainFault(line.size, f"the checkpoint for {line.size} entries comes after "
                              f"entry {size}, out of place")
        if self.keys is None:
            self.report.notes.append("checkpoint lines present but no keys asked for")
            return None
        try:
            checked = check_note(line.note, self.keys)
        except DomainError as exc:
            return ChainFault(line.size, f"checkpoint at size {line.size}: {exc.detail}")
        if checked.checkpoint.size != line.size:
            return ChainFault(line.size, f"the checkpoint line says size {line.size}, "
                              f"its note {checked.checkpoint.size}")
        if checked.checkpoint.root != self.tree.root():
            return ChainFault(line.size, f"checkpoint at size {line.size}: its signed root "
                              "differs from the root of the entries 1..size served")
        if line.size < self.report.last_checkpoint_size:
            return ChainFault(line.size, "checkpoints go backwards")
        self.report.checkpoints_verified += 1
        self.report.last_checkpoint_size = line.size
        for witness in checked.cosigned_by:
            self.report.cosignatures[witness] = self.report.cosignatures.get(witness, 0) + 1
        return None

    def trusted_at(self, size: int) -> ChainFault | None:
        for note in self.trusted:
            if note.checkpoint.size == size and note.checkpoint.root != self.tree.root():
                return ChainFault(size, f"the log served is not the one of the trusted "
                                  f"checkpoint at size {size}: the entries 1..{size} served "
                                  "hash to another root (a fork; it diverges at or before "
                                  f"entry {size})")
        return None


def _link(logged: LoggedEntry, expected_seq: int, prev_hash: str) -> str:
    """The entry's hash if it is the next link of the chain; raise ValueError naming why not."""
    if logged.seq != expected_seq or logged.entry.get("seq") != expected_seq:
        raise ValueError(f"expected entry {expected_seq}, found {logged.seq}")
    actual = entry_hash(canonical_json(logged.entry))
    if actual != logged.entry_hash:
        raise ValueError("entry content does not match its entry_hash")
    if logged.entry.get("prev_hash") != prev_hash:
        raise ValueError("prev_hash does not match the previous entry's hash")
    return actual


def verify_stream(
    lines: Iterable[str | bytes],
    *,
    keys: TrustedKeys | None = None,
    trusted_checkpoints: Iterable[str] = (),
    expected_size: int | None = None,
    workers: int | None = 0,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verify an export (entries from seq 1 and checkpoint lines); stop at the first fault.

    keys: trusted log and witness keys; None skips the checkpoint lines (and
    says so in the notes). trusted_checkpoints: signed notes seen before
    (e.g. witness-cosigned) that the log served must agree with.
    expected_size: how many entries the log has (a server's latest
    checkpoint), to catch an export that stops early. workers: processes for
    the signatures (None: one per core; 0: inline).
    """
    run = _Run(keys, [])
    report = run.report
    for note in trusted_checkpoints:
        try:
            run.trusted.append(check_note(note, keys or TrustedKeys()))
        except DomainError as exc:
            report.fault = ChainFault(0, f"the trusted checkpoint does not verify: {exc.detail}")
            return report
    replay = Replay()
    prev_hash = GENESIS_PREV_HASH
    fault: ChainFault | None = None
    with SignatureChecker(workers) as signatures:
        for item in read_lines(lines):
            if isinstance(item, ChainFault):
                fault = item
                break
            if isinstance(item, CheckpointLine):
                fault = run.checkpoint(item)
                if fault is not None:
                    break
                continue
            seq = report.last_seq + 1
            try:
                digest = _link(item, seq, prev_hash)
            except ValueError as exc:
                fault = ChainFault(seq, str(exc))
                break
            run.tree.append(bytes.fromhex(digest))
            fault = run.trusted_at(seq) if run.trusted else None
            while fault is None and run.pending and run.pending[0].size == seq:
                fault = run.checkpoint(run.pending.pop(0))
            if fault is not None:
                break
            problem, job = replay.check(item.entry)
            if job is not None:
                signatures.add(job)
            if problem is not None:
                fault = ChainFault(seq, problem)
                break
            prev_hash = digest
            report.verified += 1
            report.last_seq = seq
            if seq % PROGRESS_EVERY == 0:
                if progress is not None:
                    progress(seq)
                if signatures.first_failure is not None:
                    break
        failure = signatures.finish()
        report.signatures_checked = signatures.checked
    if failure is not None and (fault is None or failure[0] <= fault.seq):
        fault = ChainFault(*failure)
    if fault is None:
        fault = _missing(run, expected_size)
    if fault is not None:
        report.fault = fault
        report.verified = min(report.verified, fault.seq - 1)
        report.last_seq = report.verified
    report.head_hash = prev_hash if report.fault is None and report.verified else None
    report.root = run.tree.root().hex()
    if progress is not None:
        progress(report.last_seq)
    return report


def _missing(run: _Run, expected_size: int | None) -> ChainFault | None:
    """An export that ends before what it (or the server, or a trusted checkpoint) promised."""
    end = run.report.last_seq
    claims = [(line.size, "a checkpoint line in the export") for line in run.pending]
    claims += [(n.checkpoint.size, "the trusted checkpoint") for n in run.trusted]
    if expected_size is not None:
        claims.append((expected_size, "the server's log"))
    short = [(size, who) for size, who in claims if size > end]
    if not short:
        return None
    size, who = max(short)
    return ChainFault(end + 1, f"the export is truncated: it ends at entry {end} but "
                      f"{who} covers {size} entries")


def verify_export(
    lines: Iterable[str | bytes],
    *,
    progress: Callable[[int], None] | None = None,
    expected_size: int | None = None,
    keys: TrustedKeys | None = None,
) -> Report:
    """Verify a whole export from seq 1, inline (no worker processes): tests and small logs."""
    return verify_stream(lines, keys=keys, expected_size=expected_size, progress=progress,
                         workers=0)
