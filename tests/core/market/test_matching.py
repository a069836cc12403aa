"""The matching engine against a naive reference book, plus the edge cases users meet.

The reference keeps every resting order in one list in arrival order and, for
each incoming order, sorts the crossing opposite orders by (best price, arrival).
It is slow and obviously right; the engine must give the same events, the same
refusals and the same remaining book after every command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dataex.core.documents.errors import DomainError
from dataex.core.market import matching
from dataex.core.market.matching import (
    BUY,
    CANCEL_BOTH,
    CANCEL_NEWEST,
    CANCEL_OLDEST,
    FOK,
    IOC,
    LIMIT,
    MARKET,
    POST_ONLY,
    SELL,
    DuplicateOrderId,
    Event,
    InvalidOrder,
    MarketHalted,
    OrderBook,
    OrderNotFound,
    PostOnlyWouldCross,
    ReduceNotLower,
    event_to_dict,
)

# --------------------------------------------------------------------------- reference


@dataclass
class RefOrder:
    seq: int
    order_id: int
    owner: str
    side: str
    price: int
    qty: int


class ReferenceBook:
    """A list of resting orders and a sort per command: the specification, executable."""

    def __init__(self) -> None:
        self.orders: list[RefOrder] = []
        self.seq = 0
        self.halted = False

    def find(self, order_id: int) -> RefOrder | None:
        return next((o for o in self.orders if o.order_id == order_id), None)

    def submit(
        self, oid: int, owner: str, side: str, typ: str, price: Any, qty: Any, stp: str
    ) -> list[Event]:
        if self.halted:
            raise MarketHalted("halted")
        if not (isinstance(price, int) and not isinstance(price, bool) and price > 0):
            raise InvalidOrder("price")
        if not (isinstance(qty, int) and not isinstance(qty, bool) and qty > 0):
            raise InvalidOrder("qty")
        if typ not in (LIMIT, IOC, FOK, POST_ONLY, MARKET):
            raise InvalidOrder("type")
        if stp not in (CANCEL_NEWEST, CANCEL_OLDEST, CANCEL_BOTH):
            raise InvalidOrder("stp")
        if self.find(oid) is not None:
            raise DuplicateOrderId("dup")
        if side not in (BUY, SELL):
            raise InvalidOrder("side")

        def crosses(o: RefOrder) -> bool:
            return o.side != side and (o.price <= price if side == BUY else o.price >= price)

        def priority(o: RefOrder) -> tuple[int, int]:
            return (o.price if side == BUY else -o.price, o.seq)

        book = sorted((o for o in self.orders if crosses(o)), key=priority)
        if book and typ == POST_ONLY:
            raise PostOnlyWouldCross("cross")
        events: list[Event] = [("accepted", oid, owner, side, typ, price, qty, stp)]
        if typ == FOK:
            available = 0
            for o in book:
                if o.owner == owner:
                    if stp != CANCEL_OLDEST:
                        break
                    continue
                available += o.qty
            if available < qty:
                events.append(("expired", oid, owner, side, price, qty, "fok_unfillable"))
                return events
        remaining = qty
        for o in book:
            if remaining == 0:
                break
            if o.owner == owner:
                if stp in (CANCEL_OLDEST, CANCEL_BOTH):
                    events.append(
                        (
                            "cancelled",
                            o.order_id,
                            o.owner,
                            o.side,
                            o.price,
                            o.qty,
                            "self_trade_prevention",
                        )
                    )
                    self.orders.remove(o)
                if stp in (CANCEL_NEWEST, CANCEL_BOTH):
                    events.append(
                        ("cancelled", oid, owner, side, price, remaining, "self_trade_prevention")
                    )
                    return events
                continue
            fill = min(o.qty, remaining)
            events.append(("trade", o.order_id, oid, o.price, fill, o.owner, owner, side))
            o.qty -= fill
            remaining -= fill
            if o.qty == 0:
                self.orders.remove(o)
        if remaining:
            if typ in (LIMIT, POST_ONLY):
                self.seq += 1
                self.orders.append(RefOrder(self.seq, oid, owner, side, price, remaining))
                events.append(("rested", oid, owner, side, price, remaining))
            else:
                reason = {IOC: "ioc_remainder", MARKET: "market_remainder"}.get(
                    typ, "fok_unfillable"
                )
                events.append(("expired", oid, owner, side, price, remaining, reason))
        return events

    def cancel(self, oid: int) -> list[Event]:
        o = self.find(oid)
        if o is None:
            raise OrderNotFound("none")
        self.orders.remove(o)
        return [("cancelled", oid, o.owner, o.side, o.price, o.qty, "requested")]

    def reduce(self, oid: int, new_qty: int) -> list[Event]:
        if new_qty < 0:
            raise InvalidOrder("negative")
        o = self.find(oid)
        if o is None:
            raise OrderNotFound("none")
        if new_qty >= o.qty:
            raise ReduceNotLower("not lower")
        if new_qty == 0:
            self.orders.remove(o)
            return [("cancelled", oid, o.owner, o.side, o.price, o.qty, "reduced_to_zero")]
        old, o.qty = o.qty, new_qty
        return [("reduced", oid, o.owner, o.side, o.price, new_qty, old)]

    def snapshot(self) -> dict[str, Any]:
        def side_levels(side: str) -> list[Any]:
            mine = [o for o in self.orders if o.side == side]
            prices = sorted({o.price for o in mine}, reverse=(side == BUY))
            out = []
            for p in prices:
                at = sorted((o for o in mine if o.price == p), key=lambda o: o.seq)
                out.append(
                    (
                        p,
                        sum(o.qty for o in at),
                        len(at),
                        tuple((o.order_id, o.owner, o.qty) for o in at),
                    )
                )
            return out

        return {"halted": self.halted, "bids": side_levels(BUY), "asks": side_levels(SELL)}


def outcome(call: Any, *args: Any) -> Any:
    """Events, or the refusal's class: what a client would see."""
    try:
        return call(*args)
    except DomainError as exc:
        return type(exc)


# --------------------------------------------------------------------------- stateful test

OWNERS = st.sampled_from(["alice", "bob"])
TYPES = st.sampled_from([LIMIT, LIMIT, LIMIT, IOC, FOK, POST_ONLY, MARKET])
SIDES = st.sampled_from([BUY, SELL])
STPS = st.sampled_from([CANCEL_NEWEST, CANCEL_OLDEST, CANCEL_BOTH])
PRICES = st.integers(min_value=95, max_value=105)
QTYS = st.integers(min_value=1, max_value=12)


class EngineMatchesReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = OrderBook()
        self.ref = ReferenceBook()
        self.next_id = 1
        self.used: list[Any] = []  # every id placed so far, to reuse after it has gone

    def check(self, got: Any, want: Any) -> None:
        assert got == want

    def place(
        self, owner: str, side: str, typ: str, price: int, qty: int, stp: str, oid: Any = None
    ) -> None:
        if oid is None:
            oid = self.next_id
            self.next_id += 1
        self.used.append(oid)
        args = (oid, owner, side, typ, price, qty, stp)
        self.check(outcome(self.engine.submit, *args), outcome(self.ref.submit, *args))

    @rule(data=st.data(), owner=OWNERS, side=SIDES, price=PRICES, qty=QTYS)
    def place_unusual_id(
        self, data: st.DataObject, owner: str, side: str, price: int, qty: int
    ) -> None:
        """Ids off the increasing-int path: the engine indexes those differently."""
        kind = data.draw(st.sampled_from(["reuse", "jump", "lower", "str", "alias"]))
        if kind == "reuse":  # an id seen before: resting (refused) or gone (accepted)
            oid = data.draw(st.sampled_from(self.used)) if self.used else self.next_id
        elif kind == "jump":  # far past the newest id
            self.next_id += data.draw(st.sampled_from([2, 5, 70, 5000]))
            oid = self.next_id
        elif kind == "lower":  # below every id so far
            oid = -data.draw(st.integers(min_value=0, max_value=30))
        elif kind == "str":
            oid = f"S{data.draw(st.integers(min_value=0, max_value=30))}"
        else:  # equal to an int id as a dict key, but not an int
            oid = data.draw(st.sampled_from([float(self.next_id - 1), True, 2.0, 3.5]))
        typ = data.draw(st.sampled_from([LIMIT, LIMIT, POST_ONLY, IOC]))
        self.place(owner, side, typ, price, qty, CANCEL_NEWEST, oid)

    @precondition(lambda self: bool(self.ref.orders))
    @rule(data=st.data())
    def cancel_by_alias(self, data: st.DataObject) -> None:
        """A float or bool equal to a resting int id finds it, as a dict key would."""
        oid = data.draw(st.sampled_from(self.ref.orders)).order_id
        alias = float(oid) if type(oid) is int and oid != 1 else True if oid == 1 else oid
        self.check(outcome(self.engine.cancel, alias), outcome(self.ref.cancel, alias))

    @rule(owner=OWNERS, side=SIDES, price=PRICES, qty=QTYS)
    def place_limit(self, owner: str, side: str, price: int, qty: int) -> None:
        """Builds depth, so that takers find levels, queues and own orders to meet."""
        self.place(owner, side, LIMIT, price, qty, CANCEL_NEWEST)

    @rule(owner=OWNERS, side=SIDES, typ=TYPES, price=PRICES, qty=QTYS, stp=STPS)
    def place_any(self, owner: str, side: str, typ: str, price: int, qty: int, stp: str) -> None:
        self.place(owner, side, typ, price, qty, stp)

    @rule(
        owner=OWNERS,
        side=SIDES,
        typ=st.sampled_from([IOC, FOK, MARKET, LIMIT]),
        price=PRICES,
        qty=st.integers(min_value=5, max_value=40),
        stp=STPS,
    )
    def sweep(self, owner: str, side: str, typ: str, price: int, qty: int, stp: str) -> None:
        """Large takers: multi-level fills, FOK on the edge, self-trades deep in the book."""
        self.place(owner, side, typ, price, qty, stp)

    @rule(data=st.data())
    def submit_bad(self, data: st.DataObject) -> None:
        """Refusals: each must leave both books as they were (the invariant checks it)."""
        resting = [o.order_id for o in self.ref.orders]
        oid = data.draw(st.sampled_from(resting)) if resting else self.next_id
        if not resting:
            self.next_id += 1
        args = (
            oid,
            "alice",
            data.draw(st.sampled_from([BUY, SELL, "hold"])),
            data.draw(st.sampled_from([LIMIT, "stop"])),
            data.draw(st.sampled_from([0, -5, 100, True])),
            data.draw(st.sampled_from([0, 3, -1])),
            data.draw(st.sampled_from([CANCEL_NEWEST, "none"])),
        )
        # mostly refused (the same refusal, checked in the same order); a valid draw must match
        self.check(outcome(self.engine.submit, *args), outcome(self.ref.submit, *args))

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        resting = sorted((o.order_id for o in self.ref.orders), key=repr)
        oid = data.draw(st.sampled_from([*resting, -1]))  # -1: never an order
        self.check(outcome(self.engine.cancel, oid), outcome(self.ref.cancel, oid))

    @precondition(lambda self: bool(self.ref.orders))
    @rule(data=st.data())
    def reduce(self, data: st.DataObject) -> None:
        o = data.draw(st.sampled_from(self.ref.orders))
        new_qty = data.draw(st.integers(min_value=-1, max_value=o.qty + 1))
        oid = o.order_id
        self.check(
            outcome(self.engine.reduce, oid, new_qty), outcome(self.ref.reduce, oid, new_qty)
        )

    @rule()
    def halt_or_resume(self) -> None:
        if self.ref.halted:
            self.ref.halted = False
            assert self.engine.resume() == [("resumed",)]
            assert self.engine.resume() == []
        else:
            self.ref.halted = True
            assert self.engine.halt() == [("halted",)]
            assert self.engine.halt() == []

    @invariant()
    def same_book(self) -> None:
        snap = self.engine.snapshot()
        assert snap == self.ref.snapshot()
        assert len(self.engine) == len(self.ref.orders)
        bids, asks = snap["bids"], snap["asks"]
        if bids and asks:
            assert bids[0][0] < asks[0][0], "the book is crossed"
        assert self.engine.depth() == {
            "bids": [lvl[:3] for lvl in bids],
            "asks": [lvl[:3] for lvl in asks],
        }


EngineMatchesReference.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineMatchesReference = EngineMatchesReference.TestCase


class EngineWithTinyIdListMatchesReference(EngineMatchesReference):
    """The same, with the id list tidied every few orders: moved orders, cut slots."""

    def __init__(self) -> None:
        self.saved = matching._TIDY_MIN
        matching._TIDY_MIN = 2  # type: ignore[misc]
        super().__init__()

    def teardown(self) -> None:
        matching._TIDY_MIN = self.saved  # type: ignore[misc]


EngineWithTinyIdListMatchesReference.TestCase.settings = EngineMatchesReference.TestCase.settings
TestEngineWithTinyIdListMatchesReference = EngineWithTinyIdListMatchesReference.TestCase


# --------------------------------------------------------------------------- edge cases


def kinds(events: list[Event]) -> list[str]:
    return [e[0] for e in events]


def trades(events: list[Event]) -> list[tuple[int, int, int, int]]:
    """(maker id, taker id, price, quantity) of each trade."""
    return [(e[1], e[2], e[3], e[4]) for e in events if e[0] == "trade"]


@pytest.fixture
def book() -> OrderBook:
    return OrderBook()


def test_equal_price_crossing_trades_at_that_price(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    events = book.submit(2, "b", BUY, LIMIT, 100, 5)
    assert events == [
        ("accepted", 2, "b", BUY, LIMIT, 100, 5, CANCEL_NEWEST),
        ("trade", 1, 2, 100, 5, "s", "b", BUY),
    ]
    assert book.snapshot() == {"halted": False, "bids": [], "asks": []}
    assert len(book) == 0


def test_trade_executes_at_resting_price(book: OrderBook) -> None:
    book.submit(1, "b", BUY, LIMIT, 105, 3)
    events = book.submit(2, "s", SELL, LIMIT, 90, 3)
    assert trades(events) == [(1, 2, 105, 3)]


def test_cancelling_a_resting_ask(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    book.submit(2, "s", SELL, LIMIT, 101, 5)
    assert book.cancel(1) == [("cancelled", 1, "s", SELL, 100, 5, "requested")]
    assert book.best_ask() == 101
    assert 1 not in book
    # a buy at 100 no longer finds anything to trade with
    events = book.submit(3, "b", BUY, LIMIT, 100, 5)
    assert trades(events) == []
    assert book.depth() == {"bids": [(100, 5, 1)], "asks": [(101, 5, 1)]}
    with pytest.raises(OrderNotFound):
        book.cancel(1)


def test_partial_fills_across_levels(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    book.submit(2, "s", SELL, LIMIT, 101, 5)
    book.submit(3, "s", SELL, LIMIT, 102, 5)
    book.submit(4, "s", SELL, LIMIT, 103, 5)
    events = book.submit(5, "b", BUY, LIMIT, 102, 12)
    assert trades(events) == [(1, 5, 100, 5), (2, 5, 101, 5), (3, 5, 102, 2)]
    assert book.snapshot()["asks"] == [
        (102, 3, 1, ((3, "s", 3),)),
        (103, 5, 1, ((4, "s", 5),)),
    ]
    assert book.best_bid() is None  # the taker was filled completely


def test_limit_remainder_rests_after_sweeping(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 2)
    events = book.submit(2, "b", BUY, LIMIT, 101, 5)
    assert kinds(events) == ["accepted", "trade", "rested"]
    assert events[-1] == ("rested", 2, "b", BUY, 101, 3)
    assert book.depth() == {"bids": [(101, 3, 1)], "asks": []}


def test_fok_that_cannot_fill_leaves_nothing(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    book.submit(2, "s", SELL, LIMIT, 102, 5)
    before = book.snapshot()
    events = book.submit(3, "b", BUY, FOK, 101, 6)  # only 5 available at or below 101
    assert events == [
        ("accepted", 3, "b", BUY, FOK, 101, 6, CANCEL_NEWEST),
        ("expired", 3, "b", BUY, 101, 6, "fok_unfillable"),
    ]
    assert book.snapshot() == before
    assert 3 not in book


def test_fok_that_can_fill_fills_completely(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    book.submit(2, "s", SELL, LIMIT, 101, 5)
    events = book.submit(3, "b", BUY, FOK, 101, 7)
    assert trades(events) == [(1, 3, 100, 5), (2, 3, 101, 2)]
    assert kinds(events) == ["accepted", "trade", "trade"]


@pytest.mark.parametrize("stp", [CANCEL_NEWEST, CANCEL_BOTH])
def test_fok_blocked_by_own_order_has_no_effect(book: OrderBook, stp: str) -> None:
    book.submit(1, "b", SELL, LIMIT, 100, 5)
    book.submit(2, "s", SELL, LIMIT, 100, 5)
    before = book.snapshot()
    # the own order stops the fill under these modes: the FOK is killed and cancels nothing
    events = book.submit(3, "b", BUY, FOK, 100, 5, stp)
    assert events[1:] == [("expired", 3, "b", BUY, 100, 5, "fok_unfillable")]
    assert book.snapshot() == before


def test_fok_under_cancel_oldest_skips_own_orders(book: OrderBook) -> None:
    book.submit(1, "b", SELL, LIMIT, 100, 5)
    book.submit(2, "s", SELL, LIMIT, 100, 5)
    events = book.submit(4, "b", BUY, FOK, 100, 5, CANCEL_OLDEST)
    assert events[1:] == [
        ("cancelled", 1, "b", SELL, 100, 5, "self_trade_prevention"),
        ("trade", 2, 4, 100, 5, "s", "b", BUY),
    ]
    assert len(book) == 0


def test_market_order_against_empty_book_expires(book: OrderBook) -> None:
    events = book.submit(1, "b", BUY, MARKET, 200, 10)
    assert events == [
        ("accepted", 1, "b", BUY, MARKET, 200, 10, CANCEL_NEWEST),
        ("expired", 1, "b", BUY, 200, 10, "market_remainder"),
    ]
    assert len(book) == 0
    assert book.snapshot() == {"halted": False, "bids": [], "asks": []}


def test_market_order_stops_at_its_protection_price(book: OrderBook) -> None:
    book.submit(1, "b1", BUY, LIMIT, 100, 4)
    book.submit(2, "b2", BUY, LIMIT, 95, 4)
    events = book.submit(3, "s", SELL, MARKET, 98, 10)
    assert trades(events) == [(1, 3, 100, 4)]
    assert events[-1] == ("expired", 3, "s", SELL, 98, 6, "market_remainder")
    assert book.depth() == {"bids": [(95, 4, 1)], "asks": []}  # never rests


def test_ioc_remainder_expires(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 3)
    events = book.submit(2, "b", BUY, IOC, 100, 5)
    assert trades(events) == [(1, 2, 100, 3)]
    assert events[-1] == ("expired", 2, "b", BUY, 100, 2, "ioc_remainder")
    assert len(book) == 0


def test_post_only_that_would_cross_is_refused_and_changes_nothing(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 3)
    before = book.snapshot()
    with pytest.raises(PostOnlyWouldCross) as err:
        book.submit(2, "b", BUY, POST_ONLY, 100, 1)
    assert err.value.status == 409 and err.value.slug == "post-only-would-cross"
    assert book.snapshot() == before
    assert book.submit(3, "b", BUY, POST_ONLY, 99, 1)[-1] == ("rested", 3, "b", BUY, 99, 1)


def test_price_time_priority_within_a_level(book: OrderBook) -> None:
    book.submit(1, "s1", SELL, LIMIT, 100, 2)
    book.submit(2, "s2", SELL, LIMIT, 100, 2)
    book.submit(3, "s3", SELL, LIMIT, 99, 1)  # better price beats earlier time
    book.submit(4, "s4", SELL, LIMIT, 100, 2)
    events = book.submit(5, "b", BUY, LIMIT, 100, 6)
    assert trades(events) == [(3, 5, 99, 1), (1, 5, 100, 2), (2, 5, 100, 2), (4, 5, 100, 1)]
    assert book.snapshot()["asks"] == [(100, 1, 1, ((4, "s4", 1),))]


def test_partially_filled_maker_keeps_its_place(book: OrderBook) -> None:
    book.submit(1, "s1", SELL, LIMIT, 100, 5)
    book.submit(2, "s2", SELL, LIMIT, 100, 5)
    book.submit(3, "b", BUY, LIMIT, 100, 2)
    events = book.submit(4, "b", BUY, LIMIT, 100, 4)
    assert trades(events) == [(1, 4, 100, 3), (2, 4, 100, 1)]


def test_self_trade_cancel_newest_is_the_default(book: OrderBook) -> None:
    book.submit(1, "x", SELL, LIMIT, 100, 2)
    book.submit(2, "me", SELL, LIMIT, 101, 5)
    book.submit(3, "y", SELL, LIMIT, 102, 5)
    events = book.submit(4, "me", BUY, LIMIT, 102, 10)
    assert events == [
        ("accepted", 4, "me", BUY, LIMIT, 102, 10, CANCEL_NEWEST),
        ("trade", 1, 4, 100, 2, "x", "me", BUY),
        ("cancelled", 4, "me", BUY, 102, 8, "self_trade_prevention"),
    ]
    # the resting own order and everything behind it are untouched; nothing of the taker rests
    assert book.depth() == {"bids": [], "asks": [(101, 5, 1), (102, 5, 1)]}


def test_self_trade_cancel_oldest_removes_own_resting_orders_and_goes_on(book: OrderBook) -> None:
    book.submit(1, "me", SELL, LIMIT, 100, 5)
    book.submit(2, "x", SELL, LIMIT, 100, 3)
    book.submit(3, "me", SELL, LIMIT, 101, 5)
    book.submit(4, "y", SELL, LIMIT, 101, 5)
    events = book.submit(5, "me", BUY, LIMIT, 101, 6, CANCEL_OLDEST)
    assert events == [
        ("accepted", 5, "me", BUY, LIMIT, 101, 6, CANCEL_OLDEST),
        ("cancelled", 1, "me", SELL, 100, 5, "self_trade_prevention"),
        ("trade", 2, 5, 100, 3, "x", "me", BUY),
        ("cancelled", 3, "me", SELL, 101, 5, "self_trade_prevention"),
        ("trade", 4, 5, 101, 3, "y", "me", BUY),
    ]
    assert book.snapshot()["asks"] == [(101, 2, 1, ((4, "y", 2),))]


def test_self_trade_cancel_both(book: OrderBook) -> None:
    book.submit(1, "x", SELL, LIMIT, 100, 1)
    book.submit(2, "me", SELL, LIMIT, 100, 5)
    book.submit(3, "y", SELL, LIMIT, 100, 5)
    events = book.submit(4, "me", BUY, LIMIT, 100, 6, CANCEL_BOTH)
    assert events == [
        ("accepted", 4, "me", BUY, LIMIT, 100, 6, CANCEL_BOTH),
        ("trade", 1, 4, 100, 1, "x", "me", BUY),
        ("cancelled", 2, "me", SELL, 100, 5, "self_trade_prevention"),
        ("cancelled", 4, "me", BUY, 100, 5, "self_trade_prevention"),
    ]
    assert book.snapshot()["asks"] == [(100, 5, 1, ((3, "y", 5),))]


def test_orders_of_one_owner_that_do_not_cross_both_rest(book: OrderBook) -> None:
    book.submit(1, "me", SELL, LIMIT, 101, 1)
    assert book.submit(2, "me", BUY, LIMIT, 100, 1)[-1][0] == "rested"


def test_halt_refuses_new_orders_but_allows_cancel_and_reduce(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    book.submit(2, "s", SELL, LIMIT, 101, 5)
    assert book.halt() == [("halted",)]
    assert book.halt() == []
    before = book.snapshot()
    with pytest.raises(MarketHalted) as err:
        book.submit(3, "b", BUY, LIMIT, 100, 5)
    assert err.value.status == 409
    assert book.snapshot() == before  # nothing matched while halted
    assert kinds(book.cancel(1)) == ["cancelled"]
    assert kinds(book.reduce(2, 1)) == ["reduced"]
    assert book.snapshot()["halted"] is True
    assert book.resume() == [("resumed",)]
    assert trades(book.submit(3, "b", BUY, LIMIT, 101, 5)) == [(2, 3, 101, 1)]


def test_reduce_to_zero_cancels(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    assert book.reduce(1, 0) == [("cancelled", 1, "s", SELL, 100, 5, "reduced_to_zero")]
    assert len(book) == 0
    assert book.depth() == {"bids": [], "asks": []}


def test_reduce_keeps_time_priority(book: OrderBook) -> None:
    book.submit(1, "s1", SELL, LIMIT, 100, 10)
    book.submit(2, "s2", SELL, LIMIT, 100, 10)
    assert book.reduce(1, 3) == [("reduced", 1, "s1", SELL, 100, 3, 10)]
    assert book.depth()["asks"] == [(100, 13, 2)]
    events = book.submit(3, "b", BUY, LIMIT, 100, 5)
    assert trades(events) == [(1, 3, 100, 3), (2, 3, 100, 2)]


def test_reduce_must_lower_the_quantity(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    with pytest.raises(ReduceNotLower):
        book.reduce(1, 5)
    with pytest.raises(InvalidOrder):
        book.reduce(1, -1)
    with pytest.raises(OrderNotFound):
        book.reduce(99, 1)
    assert book.order(1) == (1, "s", SELL, 100, 5)


@pytest.mark.parametrize(
    ("side", "typ", "price", "qty", "stp", "error"),
    [
        (BUY, LIMIT, 0, 1, CANCEL_NEWEST, InvalidOrder),
        (BUY, LIMIT, 100, 0, CANCEL_NEWEST, InvalidOrder),
        (BUY, LIMIT, 100.0, 1, CANCEL_NEWEST, InvalidOrder),  # no floats, ever
        (BUY, LIMIT, 100, True, CANCEL_NEWEST, InvalidOrder),
        ("hold", LIMIT, 100, 1, CANCEL_NEWEST, InvalidOrder),
        (BUY, "stop", 100, 1, CANCEL_NEWEST, InvalidOrder),
        (BUY, LIMIT, 100, 1, "none", InvalidOrder),
        (SELL, LIMIT, 100, 1, CANCEL_NEWEST, DuplicateOrderId),
    ],
)
def test_bad_orders_are_refused_and_change_nothing(
    book: OrderBook, side: str, typ: str, price: Any, qty: Any, stp: str, error: type
) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    before = book.snapshot()
    with pytest.raises(error):
        book.submit(1 if error is DuplicateOrderId else 2, "b", side, typ, price, qty, stp)
    assert book.snapshot() == before


def test_same_commands_give_same_events() -> None:
    def run() -> list[Event]:
        b = OrderBook()
        out: list[Event] = []
        for i in range(300):
            side = BUY if (i * 7) % 3 else SELL
            out += b.submit(
                i,
                f"o{i % 4}",
                side,
                LIMIT,
                90 + (i * 13) % 21,
                1 + i % 9,
                (CANCEL_NEWEST, CANCEL_OLDEST, CANCEL_BOTH)[i % 3],
            )
            if i % 5 == 0 and (i - 3) in b:
                out += b.cancel(i - 3)
        return out

    assert run() == run()


def test_restore_rebuilds_the_same_book(book: OrderBook) -> None:
    for i, (side, price) in enumerate([(BUY, 99), (BUY, 98), (SELL, 101), (BUY, 99), (SELL, 103)]):
        book.submit(i, f"o{i}", side, LIMIT, price, 1 + i)
    snap = book.snapshot()
    rebuilt = OrderBook()
    for side_name, side in (("bids", BUY), ("asks", SELL)):
        for price, _qty, _count, orders in snap[side_name]:
            for oid, owner, qty in orders:
                rebuilt.restore(oid, owner, side, price, qty)
    assert rebuilt.snapshot() == snap
    with pytest.raises(InvalidOrder):
        rebuilt.restore(99, "x", BUY, 101, 1)  # would cross: a live book never holds that


def test_event_to_dict_names_every_field(book: OrderBook) -> None:
    book.submit(1, "s", SELL, LIMIT, 100, 5)
    events = book.submit(2, "b", BUY, IOC, 100, 7)
    assert [event_to_dict(e) for e in events] == [
        {
            "type": "accepted",
            "order_id": 2,
            "owner": "b",
            "side": BUY,
            "order_type": IOC,
            "price": 100,
            "quantity": 7,
            "stp": CANCEL_NEWEST,
        },
        {
            "type": "trade",
            "maker_order_id": 1,
            "taker_order_id": 2,
            "price": 100,
            "quantity": 5,
            "maker_owner": "s",
            "taker_owner": "b",
            "taker_side": BUY,
        },
        {
            "type": "expired",
            "order_id": 2,
            "owner": "b",
            "side": BUY,
            "price": 100,
            "quantity": 2,
            "reason": "ioc_remainder",
        },
    ]


def test_many_cancels_in_one_level_keep_priority_and_bounded_memory(book: OrderBook) -> None:
    for i in range(300):
        book.submit(i, f"s{i % 7}", SELL, LIMIT, 100, 1 + i % 5)
    survivors = [i for i in range(300) if i % 3 == 0]
    for i in range(300):
        if i % 3:
            book.cancel(i)
    # cancelled orders are dropped lazily, but never pile up beyond the live ones
    queued = len(book._asks.levels[-100].orders)
    assert queued <= 2 * len(survivors) + 32
    assert book.snapshot()["asks"] == [
        (
            100,
            sum(1 + i % 5 for i in survivors),
            len(survivors),
            tuple((i, f"s{i % 7}", 1 + i % 5) for i in survivors),
        )
    ]
    events = book.submit(1000, "b", BUY, IOC, 100, 10**6)
    assert [t[0] for t in trades(events)] == survivors
    assert len(book) == 0 and book.depth() == {"bids": [], "asks": []}


def test_id_list_stays_bounded_behind_a_long_lived_order(book: OrderBook) -> None:
    book.submit(1, "old", BUY, LIMIT, 100, 1)
    for i in range(2, 20_000):  # ids keep increasing; each order is cancelled at once
        book.submit(i, "s", SELL, LIMIT, 200, 1)
        book.cancel(i)
    # the empty front of the id list was dropped; order 1 moved out of it and still works
    assert len(book._slots) < 5_000
    assert book.order(1) == (1, "old", BUY, 100, 1)
    assert 1 in book and 1.0 in book and len(book) == 1
    events = book.submit(20_000, "t", SELL, IOC, 100, 2)
    assert trades(events) == [(1, 20_000, 100, 1)]
    assert len(book) == 0 and 1 not in book
