"""A regulator freezes and unfreezes participants and declares links, through the sequencer.

A frozen participant's documents are all refused, its resting orders leave the
book with their holds released in the freeze's own log entry, its money stays;
unfreezing lets it act again. Everything survives a restart and replays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dataex.config.settings import Settings
from dataex.core.documents.errors import DomainError
from dataex.core.market.ledger import CASH
from dataex.core.state import snapshot
from dataex.core.supervision.contracts import FREEZE, LINK, UNFREEZE, UNLINK
from dataex.store.log.entries import stream_audit_lines
from dataex.store.market.ledger_check import check_ledger
from dataex.store.runtime import Runtime, open_runtime
from dataex.store.tables import orders, participant_links, participants
from dataex.verify import verify_export
from tests.market_setup import CANCEL, HALT, PLACE, RESUME, WITHDRAW, order
from tests.platform_setup import submit
from tests.registry_setup import REGISTER, initial
from tests.regulator_setup import Supervised, supervised


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data",
                    notice_period_seconds=0)


async def _sound(runtime: Runtime) -> None:
    assert runtime.sequencer.state.market.invariants() == []
    assert (await check_ledger(runtime.engine)).problems == []


async def _refused(runtime: Runtime, envelope: dict[str, Any]) -> DomainError:
    size = runtime.sequencer.head.seq
    with pytest.raises(DomainError) as caught:
        await submit(runtime, envelope)
    assert runtime.sequencer.head.seq == size  # nothing logged
    return caught.value


async def _resting_market(s: Supervised) -> tuple[str, list[str]]:
    f = s.f
    symbol = await f.token()
    await f.deposit(f.alice, 1_000_000)
    placed = [
        (await f.place(f.alice, symbol, "buy", 400, 10))[0]["order_id"],
        (await f.place(f.alice, symbol, "buy", 450, 5))[0]["order_id"],
    ]
    await f.place(f.issuer, symbol, "sell", 900, 20)
    return symbol, placed


async def test_a_freeze_cancels_open_orders_keeps_funds_and_stops_every_document(
    runtime: Runtime,
) -> None:
    s = await supervised(runtime)
    f = s.f
    symbol, placed = await _resting_market(s)
    ledger = runtime.sequencer.state.market.ledger
    total = ledger.available(f.alice.participant_id, CASH) + ledger.held(
        f.alice.participant_id, CASH)
    assert ledger.held(f.alice.participant_id, CASH) > 0

    queue = runtime.sequencer.feed.subscribe()
    receipt = await submit(runtime, s.regulator.sign(
        FREEZE, {"participant_id": f.alice.participant_id, "reason": "Suspected manipulation."}))
    (message,) = [queue.get_nowait() for _ in range(queue.qsize())]
    assert message is not None and message["type"] == "book" and message["seq"] == receipt.seq
    assert message["bids"] == [{"price": 400, "quantity": 0, "orders": 0},
                               {"price": 450, "quantity": 0, "orders": 0}]
    runtime.sequencer.feed.unsubscribe(queue)
    kinds = [(e["type"], e.get("order_id"), e.get("reason")) for e in receipt.events]
    assert kinds == [("participant.frozen", None, "Suspected manipulation."),
                     *[("order.cancelled", o, "participant_frozen") for o in placed]]

    # funds kept, nothing held, the book holds only the issuer's ask
    assert ledger.held(f.alice.participant_id, CASH) == 0
    assert ledger.available(f.alice.participant_id, CASH) == total
    book = runtime.sequencer.state.market.books[symbol]
    assert [book.order(o) for o in placed] == [None, None]
    assert book.level("buy", 400) == book.level("buy", 450) == (0, 0)
    assert book.level("sell", 900) == (20, 1)
    await _sound(runtime)
    async with runtime.engine.connect() as conn:
        statuses = {r.order_id: r.status for r in await conn.execute(
            select(orders.c.order_id, orders.c.status).where(orders.c.order_id.in_(placed)))}
        status = (await conn.execute(select(participants.c.status).where(
            participants.c.participant_id == f.alice.participant_id))).scalar_one()
    assert statuses == {o: "cancelled" for o in placed}
    assert status == "frozen"

    # every document it signs is refused with participant-frozen, nothing logged
    for envelope in (
        f.alice.sign(PLACE, order(symbol, "buy", 500, 1)),
        f.alice.sign(CANCEL, {"order_id": placed[0]}),
        f.alice.sign(REGISTER, {"application": initial()}),
    ):
        error = await _refused(runtime, envelope)
        assert (error.status, error.slug) == (403, "participant-frozen")

    # its cash stays on the platform; others may still act towards it
    error = await _refused(runtime, f.operator.sign(
        WITHDRAW, {"participant_id": f.alice.participant_id, "amount": 1}))
    assert (error.status, error.slug) == (409, "frozen-funds")
    await f.deposit(f.alice, 1)
    assert ledger.available(f.alice.participant_id, CASH) == total + 1

    await submit(runtime, s.regulator.sign(
        UNFREEZE, {"participant_id": f.alice.participant_id, "reason": "Inquiry closed."}))
    events = await f.place(f.alice, symbol, "buy", 500, 2)
    assert events[0]["type"] == "order.accepted"
    await f.act(f.operator, WITHDRAW, {"participant_id": f.alice.participant_id, "amount": 1})
    await _sound(runtime)


async def test_only_a_regulator_freezes_and_refusals_log_nothing(runtime: Runtime) -> None:
    s = await supervised(runtime)
    f = s.f
    body = {"participant_id": f.alice.participant_id, "reason": "No."}
    for actor in (f.operator, f.bob):
        error = await _refused(runtime, actor.sign(FREEZE, body))
        assert (error.status, error.slug) == (403, "role-not-allowed")
    error = await _refused(runtime, s.regulator.sign(
        FREEZE, {"participant_id": s.regulator.participant_id, "reason": "Me."}))
    assert (error.status, error.slug) == (409, "cannot-freeze-self")
    error = await _refused(runtime, s.regulator.sign(
        FREEZE, {"participant_id": "P999999", "reason": "Who?"}))
    assert (error.status, error.slug) == (404, "unknown-participant")
    error = await _refused(runtime, s.regulator.sign(UNFREEZE, body))
    assert (error.status, error.slug) == (409, "invalid-state")
    await submit(runtime, s.regulator.sign(FREEZE, body))
    error = await _refused(runtime, s.regulator.sign(FREEZE, body))
    assert (error.status, error.slug) == (409, "invalid-state")


async def test_freeze_and_links_survive_a_restart_and_replay(settings: Settings) -> None:
    runtime = await open_runtime(settings)
    try:
        s = await supervised(runtime)
        f = s.f
        await _resting_market(s)
        a, b = f.alice.participant_id, f.bob.participant_id
        await submit(runtime, s.regulator.sign(
            LINK, {"participant_id": b, "linked_participant_id": a, "basis": "Same owner."}))
        error = await _refused(runtime, s.regulator.sign(
            LINK, {"participant_id": a, "linked_participant_id": b, "basis": "Again."}))
        assert error.slug == "conflict"
        await submit(runtime, s.regulator.sign(
            UNLINK, {"participant_id": a, "linked_participant_id": b, "reason": "Sold."}))
        await submit(runtime, s.regulator.sign(
            LINK, {"participant_id": a, "linked_participant_id": b, "basis": "Bought back."}))
        await submit(runtime, s.regulator.sign(FREEZE, {"participant_id": b, "reason": "X."}))
        await submit(runtime, s.regulator.sign(FREEZE, {"participant_id": a, "reason": "Y."}))
        await submit(runtime, s.regulator.sign(UNFREEZE, {"participant_id": b, "reason": "Z."}))
        before = snapshot(runtime.sequencer.state)
        assert before["participants"][a]["status"] == "frozen"
        assert before["links"] == {f"{a}~{b}": {"basis": "Bought back.", "active": True}}
        lines = [line.decode() async for line in stream_audit_lines(runtime.engine, 1)]
        size = runtime.sequencer.head.seq
    finally:
        await runtime.close()
    report = verify_export(lines, expected_size=size)
    assert report.ok, report.fault
    runtime = await open_runtime(settings)
    try:
        assert snapshot(runtime.sequencer.state) == before
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(select(participant_links))).mappings().all()
        assert [(r["link_id"], r["status"]) for r in rows] == [(f"{a}~{b}", "active")]
        await _sound(runtime)
    finally:
        await runtime.close()


async def test_a_freeze_cancels_orders_in_a_halted_product_too(runtime: Runtime) -> None:
    s = await supervised(runtime)
    f = s.f
    symbol, placed = await _resting_market(s)
    await f.act(s.regulator, HALT, {"symbol": symbol, "reason": "Inquiry."})
    receipt = await submit(runtime, s.regulator.sign(
        FREEZE, {"participant_id": f.alice.participant_id, "reason": "Inquiry."}))
    assert [e.get("order_id") for e in receipt.events[1:]] == placed
    await f.act(s.regulator, RESUME, {"symbol": symbol})
    assert runtime.sequencer.state.market.books[symbol].level("buy", 400) == (0, 0)
    await _sound(runtime)
