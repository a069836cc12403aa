"""One command that fails its batch fails alone; the database's own failures answer 503 to all.

The door (core/envelope.py) refuses every value known to break a batch, so these
tests put a bad command past it on purpose (`_past_the_door`), beside honest ones
in the same batch, against a real PostgreSQL that really refuses it.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from dataex.core import state as core_state
from dataex.core.documents.errors import ForbiddenCharacter
from dataex.core.envelope import envelope_from_object, parse_envelope
from dataex.core.state import snapshot
from dataex.store.batch_writes import BatchWrites
from dataex.store.log.entries import stream_audit_lines
from dataex.store.runtime import Runtime
from dataex.store.tables import audit_entries
from dataex.store.writer.isolation import CommandFailed, UnstorableDocument
from dataex.store.writer.loader import load_state
from dataex.store.writer.sequencer import Receipt, Unavailable
from dataex.verify import verify_export
from tests.factories import ADMIT, Actor, encode
from tests.platform_setup import submit, with_operator


def _past_the_door(runtime: Runtime, envelope: dict[str, Any]) -> Any:
    """A command built without the door's checks (as a door gap would let one through)."""
    parsed = envelope_from_object(msgspec.json.decode(encode(envelope)))
    return runtime.sequencer.authenticate(parsed, max_skew=runtime.settings.max_clock_skew)


async def _log_size(runtime: Runtime) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(audit_entries))).scalar())


async def _assert_log_and_state_agree(runtime: Runtime) -> None:
    lines = [line.decode() async for line in stream_audit_lines(runtime.engine, 1)]
    report = verify_export(lines, expected_size=runtime.sequencer.head.seq)
    assert report.ok, report.fault
    async with runtime.engine.connect() as conn:
        committed = await load_state(conn, notice_period=runtime.settings.notice_period)
    assert snapshot(committed)["participants"] == snapshot(runtime.sequencer.state)["participants"]


async def test_the_door_refuses_nul_before_the_sequencer(runtime: Runtime) -> None:
    operator = await with_operator(runtime)
    body = {**Actor.new("x").admission(["trader"]), "display_name": "x\u0000y"}
    with pytest.raises(ForbiddenCharacter):
        parse_envelope(encode(operator.sign(ADMIT, body)), runtime.settings.max_body_bytes)


async def test_a_command_the_database_refuses_fails_alone(runtime: Runtime) -> None:
    operator = await with_operator(runtime)
    honest = [operator.sign(ADMIT, Actor.new(f"h{i}").admission(["trader"])) for i in range(24)]
    poison = operator.sign(ADMIT, {**Actor.new("p").admission(["trader"]),
                                   "display_name": "evil\u0000name"})
    commands = [runtime.sequencer.authenticate(
        parse_envelope(encode(e), runtime.settings.max_body_bytes),
        max_skew=runtime.settings.max_clock_skew) for e in honest]
    commands.insert(11, _past_the_door(runtime, poison))
    reloads = runtime.sequencer.reloads

    outcomes = await asyncio.gather(*(runtime.sequencer.submit(c) for c in commands),
                                    return_exceptions=True)

    refused = outcomes.pop(11)
    assert isinstance(refused, UnstorableDocument) and refused.status == 422
    assert "22021" in str(refused)  # PostgreSQL's "character not in repertoire"
    assert all(isinstance(o, Receipt) for o in outcomes), outcomes
    assert sorted(o.seq for o in outcomes) == list(range(2, 26))  # type: ignore[union-attr]
    assert runtime.sequencer.isolated_commands == 1
    # one back to the committed state, one more after the bad command failed alone
    assert runtime.sequencer.reloads - reloads == 2
    assert await _log_size(runtime) == 25
    await _assert_log_and_state_agree(runtime)


async def test_a_command_that_breaks_apply_fails_alone_with_500(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = await with_operator(runtime)
    admit = core_state.HANDLERS[ADMIT]

    def buggy(state: Any, command: Any, now: Any) -> Any:
        events = admit(state, command, now)  # mutates the state, then fails: the worst case
        if command.parsed.body.display_name == "trips a bug":
            raise KeyError("a bug in a handler")
        return events

    monkeypatch.setitem(core_state.HANDLERS, ADMIT, buggy)
    envelopes = [operator.sign(ADMIT, Actor.new(f"a{i}").admission(["trader"])) for i in range(7)]
    envelopes.insert(3, operator.sign(ADMIT, {**Actor.new("b").admission(["trader"]),
                                              "display_name": "trips a bug"}))
    outcomes = await asyncio.gather(*(submit(runtime, e) for e in envelopes),
                                    return_exceptions=True)
    failed = outcomes.pop(3)
    assert isinstance(failed, CommandFailed) and failed.status == 500
    assert all(isinstance(o, Receipt) for o in outcomes), outcomes
    assert await _log_size(runtime) == 8
    # the half-applied admission is gone from memory too
    assert "trips a bug" not in {p.display_name
                                 for p in runtime.sequencer.state.participants.by_id.values()}
    await _assert_log_and_state_agree(runtime)


async def test_a_database_failure_answers_503_to_the_whole_batch(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = await with_operator(runtime)
    before = copy.deepcopy(snapshot(runtime.sequencer.state))
    flush = BatchWrites.flush

    async def disk_full(self: BatchWrites, conn: Any) -> None:
        await flush(self, conn)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(BatchWrites, "flush", disk_full)
    envelopes = [operator.sign(ADMIT, Actor.new(f"d{i}").admission(["trader"])) for i in range(5)]
    outcomes = await asyncio.gather(*(submit(runtime, e) for e in envelopes),
                                    return_exceptions=True)
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    assert runtime.sequencer.isolated_commands == 0
    assert snapshot(runtime.sequencer.state) == before
    assert await _log_size(runtime) == 1
