"""The market through the sequencer against a real PostgreSQL: settlement, restart, races."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from dataex.config.settings import Settings
from dataex.core.documents.errors import DomainError
from dataex.core.market.ledger import BANK, CASH, FEES
from dataex.core.state import snapshot
from dataex.store.database.engine import create_engine
from dataex.store.market.ledger_check import check_ledger
from dataex.store.runtime import Runtime, open_runtime
from dataex.store.tables import ledger_postings, licences, orders, products, trades
from tests.market_setup import (
    APPROVE,
    CANCEL,
    ISSUE_LICENCES,
    LIST_LICENCE,
    REDUCE,
    TOKEN,
    Floor,
    floor,
    licence_body,
    order,
)
from tests.platform_setup import submit
from tests.registry_setup import initial, through


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data",
                    notice_period_seconds=0)


def _cash(runtime: Runtime, who: Any) -> tuple[int, int]:
    ledger = runtime.sequencer.state.market.ledger
    pid = who if isinstance(who, str) else who.participant_id
    return ledger.available(pid, CASH), ledger.held(pid, CASH)


def _units(runtime: Runtime, who: Any, symbol: str = TOKEN) -> tuple[int, int]:
    ledger = runtime.sequencer.state.market.ledger
    return ledger.available(who.participant_id, symbol), ledger.held(who.participant_id, symbol)


async def _sound(runtime: Runtime) -> None:
    """Every invariant, in memory and on the committed rows."""
    assert runtime.sequencer.state.market.invariants() == []
    report = await check_ledger(runtime.engine)
    assert report.problems == []


async def test_crossing_orders_settle_delivery_versus_payment_and_a_cancel_releases(
    runtime: Runtime,
) -> None:
    f = await floor(runtime)
    await f.token(minted=1000)
    await f.deposit(f.alice, 1_000_000)
    await f.deposit(f.bob, 10_000)

    resting = await f.place(f.issuer, TOKEN, "sell", 500, 100)
    assert [e["type"] for e in resting] == ["order.accepted", "order.rested"]
    sell_id = resting[0]["order_id"]
    assert _units(runtime, f.issuer) == (900, 100)

    # alice's limit 505 meets the resting 500: 60 units at the maker's price.
    # Hold: 505 × 60 + ceil(30 300 × 10 bps) = 30 331; spent: 30 000 + taker fee 30.
    events = await f.place(f.alice, TOKEN, "buy", 505, 60)
    assert events[0]["held"] == 30_331
    trade = next(e for e in events if e["type"] == "trade")
    assert (trade["price"], trade["quantity"], trade["notional"]) == (500, 60, 30_000)
    assert (trade["buyer_fee"], trade["seller_fee"]) == (30, 15)
    assert _cash(runtime, f.alice) == (1_000_000 - 30_030, 0)
    assert _units(runtime, f.alice) == (60, 0)
    assert _cash(runtime, f.issuer) == (29_985, 0)
    assert _units(runtime, f.issuer) == (900, 40)
    assert _cash(runtime, FEES) == (45, 0)

    # bob's bid rests and holds 499 × 10 + ceil(4.99) = 4 995; cancelling frees all of it.
    bid = await f.place(f.bob, TOKEN, "buy", 499, 10)
    assert _cash(runtime, f.bob) == (10_000 - 4_995, 4_995)
    cancelled = await f.act(f.bob, CANCEL, {"order_id": bid[0]["order_id"]})
    assert cancelled[0]["type"] == "order.cancelled" and cancelled[0]["released"] == 4_995
    assert _cash(runtime, f.bob) == (10_000, 0)

    # The committed rows say the same.
    async with runtime.engine.connect() as conn:
        rows = {r.order_id: r for r in await conn.execute(select(orders))}
        (trade_row,) = list(await conn.execute(select(trades)))
        cash = dict(
            (r.account, r.total)
            for r in await conn.execute(text(
                "SELECT account, sum(amount) AS total FROM ledger_postings "
                "WHERE asset = 'CNY' GROUP BY account"))
        )
        (product_status,) = (await conn.execute(select(products.c.status))).scalars()
    assert rows[sell_id].status == "open" and rows[sell_id].remaining == 40
    assert rows[events[0]["order_id"]].status == "filled"
    assert rows[bid[0]["order_id"]].status == "cancelled"
    assert (trade_row.buyer, trade_row.seller, trade_row.price) == (
        f.alice.participant_id, f.issuer.participant_id, 500)
    assert cash[FEES] == 45 and cash[BANK] == -1_010_000
    assert cash[f.bob.participant_id] == 10_000
    assert product_status == "listed"
    await _sound(runtime)


async def _busy_market(f: Floor) -> None:
    """Resting orders on both sides, a partial fill with a fee credit, licences, a halt."""
    await f.token(minted=1000)
    await f.deposit(f.alice, 500_000)
    await f.deposit(f.bob, 500_000)
    await f.place(f.issuer, TOKEN, "sell", 500, 100)
    await f.place(f.alice, TOKEN, "buy", 505, 60)
    bid = await f.place(f.bob, TOKEN, "buy", 498, 30)
    await f.place(f.alice, TOKEN, "sell", 497, 10)  # bob's bid fills 10 as maker: 2.49 → 3 fen
    await f.place(f.issuer, TOKEN, "sell", 520, 5)
    await f.place(f.alice, TOKEN, "buy", 450, 7)
    await f.act(f.bob, REDUCE, {"order_id": bid[0]["order_id"], "new_quantity": 15})


async def test_books_balances_and_holds_survive_a_restart(settings: Settings) -> None:
    runtime = await open_runtime(settings)
    f = await floor(runtime)
    await _busy_market(f)
    resting = runtime.sequencer.state.market.orders
    assert any(o.fee_credit for o in resting.values()), "the scenario leaves a fee credit"
    before = copy.deepcopy(snapshot(runtime.sequencer.state))
    head = runtime.sequencer.head
    await _sound(runtime)
    await runtime.close()

    restarted = await open_runtime(settings)
    try:
        after = snapshot(restarted.sequencer.state)
        assert after["market"]["books"] == before["market"]["books"]
        assert after["market"]["ledger"] == before["market"]["ledger"]
        assert after == before
        assert restarted.sequencer.head == head
        # And it goes on where it stopped: the next ids follow on, the book still matches.
        f.runtime = restarted
        events = await f.place(f.alice, TOKEN, "sell", 498, 15)
        assert events[0]["order_id"] == f"O{before['market']['counters']['orders'] + 1:06d}"
        trade = next(e for e in events if e["type"] == "trade")
        assert trade["trade_id"] == f"T{before['market']['counters']['trades'] + 1:06d}"
        assert trade["buyer"] == f.bob.participant_id
        await _sound(restarted)
    finally:
        await restarted.close()


async def test_start_up_after_a_long_history_restores_the_same_books_and_balances(
    settings: Settings,
) -> None:
    """Start-up reads the maintained balances (0007), not the postings: same result."""
    runtime = await open_runtime(settings)
    f = await floor(runtime)
    await f.token(minted=100_000)
    for who in (f.alice, f.bob):
        await f.deposit(who, 50_000_000)
    for round_ in range(16):  # concurrent, so batches touch one account many times
        placed = await asyncio.gather(
            *[f.place(f.issuer, TOKEN, "sell", 500 + i % 7, 5) for i in range(10)],
            *[f.place(f.alice, TOKEN, "buy", 496 + i % 7, 3) for i in range(10)],
            *[f.place(f.bob, TOKEN, "buy", 494 + i % 5, 2) for i in range(5)],
            f.deposit(f.bob, 1_000 + round_),
        )
        await asyncio.gather(*[
            f.act(f.bob, CANCEL, {"order_id": events[0]["order_id"]})
            for events in placed[20:25:2] if events[-1]["type"] == "order.rested"
        ])
    async with runtime.engine.connect() as conn:
        postings = (await conn.execute(select(func.count()).select_from(ledger_postings)))
        assert postings.scalar_one() > 1_000
    await _sound(runtime)
    before = copy.deepcopy(snapshot(runtime.sequencer.state))
    assert before["market"]["ledger"]["holds"], "the history leaves open orders holding"
    await runtime.close()

    restarted = await open_runtime(settings)
    try:
        after = snapshot(restarted.sequencer.state)
        assert after["market"]["ledger"] == before["market"]["ledger"]
        assert after["market"]["books"] == before["market"]["books"]
        assert after == before
        await _sound(restarted)
    finally:
        await restarted.close()


async def test_fifty_clients_racing_on_the_same_accounts_never_overdraw(
    runtime: Runtime,
) -> None:
    f = await floor(runtime)
    await f.token(minted=400)
    # alice can afford about 25 of the 50 bids below; the issuer's 400 units cover 40 asks.
    await f.deposit(f.alice, 25 * (600 * 10 + 6))
    await f.deposit(f.bob, 1_000_000)

    def bid(i: int) -> dict[str, Any]:
        return f.alice.sign("dataex.market.order.place.v1",
                            order(TOKEN, "buy", 600 - (i % 5) * 10, 10))

    def ask(i: int) -> dict[str, Any]:
        return f.issuer.sign("dataex.market.order.place.v1",
                             order(TOKEN, "sell", 560 + (i % 5) * 10, 10))

    def bob_buy(i: int) -> dict[str, Any]:
        return f.bob.sign("dataex.market.order.place.v1",
                          order(TOKEN, "buy", 600, 10, "ioc"))

    envelopes = [maker(i) for i in range(50) for maker in (bid, ask, bob_buy)]
    outcomes = await asyncio.gather(
        *(submit(runtime, e) for e in envelopes), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, DomainError) for o in refused), refused
    slugs = {o.slug for o in refused if isinstance(o, DomainError)}
    assert slugs <= {"insufficient-funds", "insufficient-units"}
    assert "insufficient-funds" in slugs and "insufficient-units" in slugs
    market = runtime.sequencer.state.market
    assert market.trade_seq > 0
    for (account, _asset), value in market.ledger.available_balances().items():
        assert value >= 0 or account.startswith("platform:")
    # Exactly the cash that came in is still there, spread over accounts and fees.
    assert sum(v for (a, asset), v in market.ledger.available_balances().items()
               if asset == CASH and a != BANK) + sum(
        v for (_, asset), v in market.ledger.held_balances().items() if asset == CASH
    ) == 25 * 6006 + 1_000_000
    await _sound(runtime)
    async with runtime.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one()
        placed = (await conn.execute(text("SELECT count(*) FROM orders"))).scalar_one()
    accepted = len(outcomes) - len(refused)
    assert placed == accepted and count >= accepted


async def test_licences_sold_on_the_market_are_signed_stored_and_restored(
    settings: Settings,
) -> None:
    from dataex.core.documents.signing import key_id, public_key_bytes
    from dataex.core.market.licence_signing import licence_signature_valid
    from dataex.keys.files import new_key
    from dataex.keys.locations import KeyPaths

    log_key = new_key(KeyPaths.of(settings).log)
    runtime = await open_runtime(settings)
    f = await floor(runtime)
    registrar = await _registrar(f)
    number = await through(runtime, f.issuer, registrar, initial())
    await f.act(f.issuer, LIST_LICENCE, licence_body("TRAFFIC-LIC", number))
    await f.act(f.operator, APPROVE, {"symbol": "TRAFFIC-LIC"})
    await f.act(f.issuer, ISSUE_LICENCES, {"symbol": "TRAFFIC-LIC", "quantity": 3})
    await f.deposit(f.alice, 1_000_000)
    await f.place(f.issuer, "TRAFFIC-LIC", "sell", 50_000, 3)
    events = await f.place(f.alice, "TRAFFIC-LIC", "buy", 50_000, 2)
    granted = [e for e in events if e["type"] == "licence.granted"]
    assert len(granted) == 2
    assert {g["document"]["licensee"] for g in granted} == {f.alice.participant_id}
    async with runtime.engine.connect() as conn:
        rows = {r.licence_id: r for r in await conn.execute(select(licences))}
        postings = (await conn.execute(
            select(ledger_postings.c.amount).where(ledger_postings.c.asset == "TRAFFIC-LIC")
        )).scalars().all()
    assert set(rows) == {g["document"]["licence_id"] for g in granted}
    for g in granted:
        row = rows[g["document"]["licence_id"]]
        assert row.document_hash == g["document_hash"] and row.status == "active"
        assert row.platform_key_id == key_id(public_key_bytes(log_key))
        assert licence_signature_valid(g["document"], row.platform_signature,
                                       public_key_bytes(log_key))
        forged = {**g["document"], "price": 1}
        assert not licence_signature_valid(forged, row.platform_signature,
                                           public_key_bytes(log_key))
    assert sum(postings) == 0
    before = copy.deepcopy(snapshot(runtime.sequencer.state))
    await _sound(runtime)
    await runtime.close()
    restarted = await open_runtime(settings)
    try:
        assert snapshot(restarted.sequencer.state) == before
    finally:
        await restarted.close()


async def _registrar(f: Floor) -> Any:
    from tests.platform_setup import admit

    return await admit(f.runtime, f.operator, "registrar", ["registrar"])


async def _ledger_check_cli(url: str) -> tuple[int, str]:
    import os
    import sys

    dataex = Path(sys.executable).with_name("dataex")
    process = await asyncio.create_subprocess_exec(
        str(dataex), "ledger", "check",
        env={**os.environ, "DATAEX_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_ledger_check_passes_a_sound_ledger_and_names_every_fault(
    runtime: Runtime, database_url: str
) -> None:
    f = await floor(runtime)
    await f.token(minted=100)
    await f.deposit(f.alice, 10_000)
    bid = await f.place(f.alice, TOKEN, "buy", 500, 10)
    await f.place(f.issuer, TOKEN, "sell", 500, 4)
    code, out = await _ledger_check_cli(database_url)
    assert code == 0, out
    assert "ok: every asset sums to zero" in out and "1 open orders, 1 holds" in out

    # Rows no sequencer would write: cash from nowhere overdrawn, and a hold that is
    # larger than the open order can use (the check trusts nothing in memory).
    alice, order_id = f.alice.participant_id, bid[0]["order_id"]
    async with runtime.engine.begin() as conn:
        await conn.execute(ledger_postings.insert(), [
            {"seq": 10_000, "movement": 0, "position": 0, "account": alice, "asset": CASH,
             "bucket": "available", "order_id": None, "amount": -20_000},
            {"seq": 10_000, "movement": 0, "position": 1, "account": alice, "asset": CASH,
             "bucket": "held", "order_id": order_id, "amount": 7},
        ])
    report = await check_ledger(runtime.engine)
    assert report.problems == [
        "CNY postings sum to -19993, not 0",
        f"{alice} has -15004 CNY available",
        f"order {order_id} holds ('{alice}', 'CNY', 3010), its open order can use "
        f"('{alice}', 'CNY', 3003)",
        # and the maintained rows start-up reads no longer match the postings either
        f"{alice}'s maintained CNY balance (available, held) is (4996, 3003), "
        "its postings sum to (-15004, 3010)",
        f"order {order_id}'s maintained hold is ('{alice}', 'CNY', 3003), "
        f"its postings sum to ('{alice}', 'CNY', 3010)",
    ]
    code, out = await _ledger_check_cli(database_url)
    assert code == 2
    assert f"FAULT: {alice} has -15004 CNY available" in out


async def test_ledger_check_flags_a_maintained_balance_that_differs_from_the_postings(
    runtime: Runtime, database_url: str
) -> None:
    f = await floor(runtime)
    await f.token(minted=100)
    await f.deposit(f.alice, 10_000)
    bid = await f.place(f.alice, TOKEN, "buy", 500, 10)
    assert (await check_ledger(runtime.engine)).problems == []

    # As the superuser (not the service's role): rows start-up would trust, bent.
    alice, order_id = f.alice.participant_id, bid[0]["order_id"]
    superuser = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with superuser.begin() as conn:
            await conn.execute(text(
                "UPDATE ledger_balances SET available = available + 100 "
                "WHERE account = :a AND asset = 'CNY'"), {"a": alice})
            await conn.execute(text(
                "UPDATE ledger_holds SET amount = amount - 1 WHERE order_id = :o"),
                {"o": order_id})
    finally:
        await superuser.dispose()
    report = await check_ledger(runtime.engine)
    assert report.problems == [
        f"{alice}'s maintained CNY balance (available, held) is (5095, 5005), "
        "its postings sum to (4995, 5005)",
        f"order {order_id}'s maintained hold is ('{alice}', 'CNY', 5004), "
        f"its postings sum to ('{alice}', 'CNY', 5005)",
    ]
    code, out = await _ledger_check_cli(database_url)
    assert code == 2
    assert f"FAULT: {alice}'s maintained CNY balance" in out


async def test_the_feed_carries_committed_trades_and_level_totals_in_order(
    runtime: Runtime,
) -> None:
    f = await floor(runtime)
    await f.token(minted=100)
    await f.deposit(f.alice, 100_000)
    queue = runtime.sequencer.feed.subscribe()
    await f.place(f.issuer, TOKEN, "sell", 500, 30)
    await f.place(f.issuer, TOKEN, "sell", 500, 20)
    taken = await f.place(f.alice, TOKEN, "buy", 500, 35)
    bid = await f.place(f.alice, TOKEN, "buy", 490, 5)
    await f.act(f.alice, CANCEL, {"order_id": bid[0]["order_id"]})
    messages = []
    while not queue.empty():
        message = queue.get_nowait()
        assert message is not None
        messages.append(message)
    assert [m["stream_seq"] for m in messages] == list(
        range(messages[0]["stream_seq"], messages[0]["stream_seq"] + len(messages)))
    books = [(m["asks"], m["bids"]) for m in messages if m["type"] == "book"]
    assert books == [
        ([{"price": 500, "quantity": 30, "orders": 1}], []),
        ([{"price": 500, "quantity": 50, "orders": 2}], []),
        ([{"price": 500, "quantity": 15, "orders": 1}], []),  # 35 taken, one order gone
        ([], [{"price": 490, "quantity": 5, "orders": 1}]),
        ([], [{"price": 490, "quantity": 0, "orders": 0}]),  # the cancel empties the level
    ]
    # alice's buy is one log entry: both fills and the level it changed carry its seq.
    third_book = [m for m in messages if m["type"] == "book"][2]
    trades_seen = [(m["price"], m["quantity"], m["seq"]) for m in messages
                   if m["type"] == "trade"]
    assert trades_seen == [(500, 30, third_book["seq"]), (500, 5, third_book["seq"])]
    assert [m["trade_id"] for m in messages if m["type"] == "trade"] == [
        e["trade_id"] for e in taken if e["type"] == "trade"]
    assert messages[-1]["seq"] == runtime.sequencer.head.seq


async def test_a_failed_commit_leaves_no_market_change(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dataex.store.market import projection as market_projection
    from dataex.store.writer.sequencer import Unavailable

    f = await floor(runtime)
    await f.token(minted=100)
    await f.deposit(f.alice, 100_000)
    await f.place(f.issuer, TOKEN, "sell", 500, 30)
    before = copy.deepcopy(snapshot(runtime.sequencer.state))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(5, "I/O error: disk on fire")

    monkeypatch.setattr("dataex.store.writer.sequencer.queue_market_writes", broken)
    with pytest.raises(Unavailable):
        await f.place(f.alice, TOKEN, "buy", 500, 10)
    assert snapshot(runtime.sequencer.state) == before
    await _sound(runtime)
    monkeypatch.setattr("dataex.store.writer.sequencer.queue_market_writes",
                        market_projection.queue_market_writes)
    events = await f.place(f.alice, TOKEN, "buy", 500, 10)
    assert events[0]["order_id"] == "O000002"  # the refused batch used no id
    await _sound(runtime)


async def test_postings_and_trades_are_append_only(runtime: Runtime) -> None:
    f = await floor(runtime)
    await f.token(minted=100)
    await f.deposit(f.alice, 100_000)
    await f.place(f.issuer, TOKEN, "sell", 500, 30)
    await f.place(f.alice, TOKEN, "buy", 500, 10)
    async with runtime.engine.connect() as conn:
        for statement in ("UPDATE ledger_postings SET amount = 1", "DELETE FROM trades",
                          "TRUNCATE ledger_postings", "UPDATE trades SET price = 1"):
            with pytest.raises(Exception, match=r"permission denied|append-only"):
                async with conn.begin_nested():
                    await conn.execute(text(statement))
