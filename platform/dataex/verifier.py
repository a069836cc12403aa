"""Offline verification of an exported log: no database, no trust in the server.

Reads JSON Lines {seq, entry_hash, entry} and checks, entry by entry: the seq
order, that the entry hashes to its entry_hash, the hash chain, the Ed25519
signature of every signed document under the key the log itself admitted for
its signer, and a deterministic replay of the command through core/ that must
give exactly the logged events. It stops at the first fault and names its seq.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from dataex.core.audit import ChainFault, LoggedEntry, verify_chain
from dataex.core.canonical import canonical_json
from dataex.core.envelope import authenticate_signer, parse_envelope
from dataex.core.errors import DomainError
from dataex.core.licence_templates import template_from_json
from dataex.core.state import PlatformState, apply
from dataex.core.timefmt import parse_utc


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


class _Replay:
    """Re-execute every logged command through core/ and compare the events.

    This checks far more than signatures: that each signer was admitted and
    active with the right role at that point of the log, and that the
    platform's recorded outcome (participant ids, certificates, rejections)
    is exactly what the rules give. Each entry's `time` is its `now`.
    """

    def __init__(self) -> None:
        self.state = PlatformState()

    def check(self, entry: dict[str, Any]) -> str | None:
        try:
            parsed = parse_envelope(canonical_json(entry["envelope"]), max_bytes=1 << 30)
            command = authenticate_signer(
                parsed, self.state.participants, allow_genesis=entry["seq"] == 1
            )
        except DomainError as exc:
            return f"the signed document does not authenticate: {exc.detail}"
        if command.participant_id != entry.get("participant_id") and not command.genesis:
            return f"entry names participant {entry.get('participant_id')}, " \
                f"the signer is {command.participant_id}"
        self._adopt_settings(entry)
        try:
            events = apply(self.state, command, parse_utc(entry["time"]))
        except DomainError as exc:
            return f"replay refuses the command: {exc.detail}"
        if canonical_json(events) != canonical_json(entry.get("events")):
            return "replayed events differ from the logged events"
        return None

    def _adopt_settings(self, entry: dict[str, Any]) -> None:
        """Take the platform settings a command used from the effects the log recorded.

        The notice period, the default fees and the licence templates are
        settings, not history; the log records their effect (notice_ends_at; a
        new product's fees and its copy of its template), which is where a
        replay learns them. Everything else is recomputed.
        """
        for event in entry.get("events") or []:
            kind = event.get("type")
            if kind == "registration.notice_opened":
                self.state.notice_period = parse_utc(event["notice_ends_at"]) - parse_utc(
                    event["notice_opened_at"]
                )
            elif kind == "product.defined":
                self.state.market.default_maker_fee_bps = event["maker_fee_bps"]
                self.state.market.default_taker_fee_bps = event["taker_fee_bps"]
                if "data_licence" in event:  # the template the listing used, as it was then
                    template = template_from_json(event["data_licence"]["licence_template"])
                    self.state.market.licence_templates[template.ref] = template


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
    replay = _Replay()
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
        problem = replay.check(logged.entry)
        if problem is not None:
            report.fault = ChainFault(outcome, problem)
            break
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
