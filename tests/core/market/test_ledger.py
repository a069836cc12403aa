"""The ledger and the fee rule against a naive reference, plus the cases users meet.

The reference keeps a plain dict of available balances and a list of open
orders, and computes every hold and fee from first principles with Fraction
and math.ceil. Held balances are never stored in the reference: they are what
its open orders can still use. So "same balances as the reference" also checks
"held amounts equal what open orders can still use".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from dataex.core.documents.canonical import MAX_SAFE_INTEGER, canonical_json
from dataex.core.documents.errors import DomainError
from dataex.core.market.fees import (
    buy_hold,
    charge,
    fee,
    fill_charges,
    hold_bps,
    max_buy_fee,
)
from dataex.core.market.ledger import (
    BANK,
    CASH,
    FEES,
    ISSUANCE,
    BalanceOutOfRange,
    DuplicateHold,
    HoldExceeded,
    HoldNotFound,
    InsufficientFunds,
    InsufficientUnits,
    InvalidAccount,
    InvalidAmount,
    InvalidPostings,
    InvalidSettlement,
    Ledger,
    Posting,
    hold_mismatches,
    invariant_violations,
    unbalanced_assets,
)

OWNERS = ["P000001", "P000002", "P000003"]
SYMBOLS = ["TOK-A", "LIC-B"]


def ceil_bps(weighted: int) -> int:
    """Fees paid on a weighted notional (Σ notional × bps), the rule written plainly."""
    return math.ceil(Fraction(weighted, 10_000))


def naive_need(limit: int, remaining: int, bps: int, accrued: int) -> int:
    """What an open buy order can still spend: its notional plus the fee it may still owe."""
    return limit * remaining + ceil_bps(accrued + limit * remaining * bps) - ceil_bps(accrued)


def assert_balanced(postings: list[Posting]) -> None:
    assert postings, "an accepted movement posts something"
    assert unbalanced_assets(postings) == {}
    for asset in {p["asset"] for p in postings}:
        assert sum(p["amount"] for p in postings if p["asset"] == asset) == 0
    assert all(type(p["amount"]) is int and p["amount"] != 0 for p in postings)


def refused(ledger: Ledger, error: type[DomainError], call: Any, *args: Any, **kw: Any) -> None:
    """The call raises ``error`` and leaves every balance and hold as it was."""
    before = ledger.snapshot()
    with pytest.raises(error):
        call(*args, **kw)
    assert ledger.snapshot() == before


# --------------------------------------------------------------------------- stateful


@dataclass
class BuyOrder:
    owner: str
    limit: int
    remaining: int
    bps: int  # the hold bps, fixed at acceptance
    accrued: int = 0  # Σ notional × bps over its fills: what the fee rule rounds


@dataclass
class SellOrder:
    owner: str
    symbol: str
    remaining: int
    accrued: int = 0


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger()
        self.available: dict[tuple[str, str], int] = {}
        self.buys: dict[int, BuyOrder] = {}
        self.sells: dict[int, SellOrder] = {}
        self.next_id = 1
        self.maker_bps = 0
        self.taker_bps = 0

    @initialize(
        maker=st.sampled_from([0, 1, 2, 10, 25, 9_999, 10_000]),
        taker=st.sampled_from([0, 1, 3, 10, 30, 10_000]),
        cash=st.integers(1, 2_000_000),
        units=st.integers(1, 300),
    )
    def start(self, maker: int, taker: int, cash: int, units: int) -> None:
        """Fee rates for the run, and every owner funded so that orders can meet."""
        self.maker_bps, self.taker_bps = maker, taker
        for owner in OWNERS:
            self.deposit(owner, cash)
            for symbol in SYMBOLS:
                self.mint(owner, symbol, units)

    # ----------------------------------------------------------- reference helpers

    def add(self, account: str, asset: str, amount: int) -> None:
        self.available[(account, asset)] = self.available.get((account, asset), 0) + amount

    def avail(self, account: str, asset: str) -> int:
        return self.available.get((account, asset), 0)

    def expected_holds(self) -> dict[int, tuple[str, str, int]]:
        holds = {
            oid: (o.owner, CASH, naive_need(o.limit, o.remaining, o.bps, o.accrued))
            for oid, o in self.buys.items()
        }
        holds.update({oid: (o.owner, o.symbol, o.remaining) for oid, o in self.sells.items()})
        return {oid: h for oid, h in holds.items() if h[2]}

    def expected_snapshot(self) -> dict[str, Any]:
        held: dict[tuple[str, str], int] = {}
        for owner, asset, amount in self.expected_holds().values():
            held[(owner, asset)] = held.get((owner, asset), 0) + amount
        balances: dict[str, dict[str, dict[str, int]]] = {}
        for account, asset in sorted(
            {k for k, v in self.available.items() if v} | {k for k, v in held.items() if v}
        ):
            balances.setdefault(account, {})[asset] = {
                "available": self.avail(account, asset),
                "held": held.get((account, asset), 0),
            }
        holds = [
            {"order_id": oid, "account": owner, "asset": asset, "amount": amount}
            for oid, (owner, asset, amount) in sorted(self.expected_holds().items())
        ]
        return {"balances": balances, "holds": holds}

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # ----------------------------------------------------------- cash and units

    def deposit(self, owner: str, amount: int) -> None:
        assert_balanced(self.ledger.deposit(owner, amount))
        self.add(BANK, CASH, -amount)
        self.add(owner, CASH, amount)

    def withdraw(self, owner: str, amount: int) -> None:
        if amount > self.avail(owner, CASH):
            refused(self.ledger, InsufficientFunds, self.ledger.withdraw, owner, amount)
            return
        assert_balanced(self.ledger.withdraw(owner, amount))
        self.add(owner, CASH, -amount)
        self.add(BANK, CASH, amount)

    def mint(self, owner: str, symbol: str, n: int) -> None:
        assert_balanced(self.ledger.mint(owner, symbol, n))
        self.add(ISSUANCE, symbol, -n)
        self.add(owner, symbol, n)

    def burn(self, owner: str, symbol: str, n: int) -> None:
        if n > self.avail(owner, symbol):
            refused(self.ledger, InsufficientUnits, self.ledger.burn, owner, symbol, n)
            return
        assert_balanced(self.ledger.burn(owner, symbol, n))
        self.add(owner, symbol, -n)
        self.add(ISSUANCE, symbol, n)

    @rule(owner=st.sampled_from(OWNERS), amount=st.integers(1, 1_000_000), out=st.booleans())
    def cash(self, owner: str, amount: int, out: bool) -> None:
        """A deposit, or a withdrawal (refused beyond the available cash)."""
        (self.withdraw if out else self.deposit)(owner, amount)

    @rule(
        owner=st.sampled_from(OWNERS),
        symbol=st.sampled_from(SYMBOLS),
        n=st.integers(1, 300),
        out=st.booleans(),
    )
    def units(self, owner: str, symbol: str, n: int, out: bool) -> None:
        """A mint, or a burn (refused beyond the available units)."""
        if out:
            self.burn(owner, symbol, n)
        else:
            self.mint(owner, symbol, n)

    # ----------------------------------------------------------- orders and holds

    @rule(
        owner=st.sampled_from(OWNERS),
        buy=st.booleans(),
        symbol=st.sampled_from(SYMBOLS),
        limit=st.integers(1, 3_000),
        qty=st.integers(1, 60),
    )
    def place(self, owner: str, buy: bool, symbol: str, limit: int, qty: int) -> None:
        """A new order holds what it could spend, or is refused and holds nothing."""
        oid = self.new_id()
        if not buy:
            if qty > self.avail(owner, symbol):
                refused(self.ledger, InsufficientUnits, self.ledger.hold, oid, owner, symbol, qty)
                return
            assert_balanced(self.ledger.hold(oid, owner, symbol, qty))
            self.add(owner, symbol, -qty)
            self.sells[oid] = SellOrder(owner, symbol, qty)
            return
        bps = max(self.maker_bps, self.taker_bps)
        need = limit * qty + ceil_bps(limit * qty * bps)
        assert buy_hold(limit, qty, hold_bps(self.maker_bps, self.taker_bps)) == need
        if need > self.avail(owner, CASH):
            refused(self.ledger, InsufficientFunds, self.ledger.hold, oid, owner, CASH, need)
            return
        assert_balanced(self.ledger.hold(oid, owner, CASH, need))
        self.add(owner, CASH, -need)
        self.buys[oid] = BuyOrder(owner, limit, qty, bps)

    @precondition(lambda self: self.buys or self.sells)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        """Cancel or expiry: the whole hold comes back."""
        oid = data.draw(st.sampled_from(sorted(self.buys.keys() | self.sells.keys())))
        owner, asset, amount = self.expected_holds()[oid]
        assert_balanced(self.ledger.release(oid))
        self.add(owner, asset, amount)
        self.buys.pop(oid, None)
        self.sells.pop(oid, None)

    def reducible(self) -> list[int]:
        orders: dict[int, BuyOrder | SellOrder] = {**self.buys, **self.sells}
        return sorted(oid for oid, o in orders.items() if o.remaining > 1)

    @precondition(lambda self: self.reducible())
    @rule(data=st.data())
    def reduce(self, data: st.DataObject) -> None:
        """A partial release: the order's quantity drops, its hold drops to match."""
        orders: dict[int, BuyOrder | SellOrder] = {**self.buys, **self.sells}
        oid = data.draw(st.sampled_from(self.reducible()))
        order = orders[oid]
        new_remaining = data.draw(st.integers(1, order.remaining - 1))
        owner, asset, before = self.expected_holds()[oid]
        order.remaining = new_remaining
        after = self.expected_holds().get(oid, (owner, asset, 0))[2]
        assert_balanced(self.ledger.release(oid, before - after))
        self.add(owner, asset, before - after)

    @precondition(lambda self: self.buys or self.sells)
    @rule(data=st.data())
    def over_release(self, data: st.DataObject) -> None:
        oid = data.draw(st.sampled_from(sorted(self.buys.keys() | self.sells.keys())))
        held = self.expected_holds()[oid][2]
        refused(self.ledger, HoldExceeded, self.ledger.release, oid, held + 1)

    @precondition(lambda self: self.buys and self.sells)
    @rule(data=st.data(), buyer_is_taker=st.booleans())
    def settle(self, data: st.DataObject, buyer_is_taker: bool) -> None:
        buy_id = data.draw(st.sampled_from(sorted(self.buys)))
        sell_id = data.draw(st.sampled_from(sorted(self.sells)))
        buy, sell = self.buys[buy_id], self.sells[sell_id]
        qty = data.draw(st.integers(1, min(buy.remaining, sell.remaining)))
        price = data.draw(st.integers(1, buy.limit))
        buyer_bps = self.taker_bps if buyer_is_taker else self.maker_bps
        seller_bps = self.maker_bps if buyer_is_taker else self.taker_bps

        # The reference, from first principles.
        amount = price * qty
        held_before = naive_need(buy.limit, buy.remaining, buy.bps, buy.accrued)
        buyer_accrued = buy.accrued + amount * min(buyer_bps, buy.bps)
        seller_accrued = sell.accrued + amount * seller_bps
        buyer_fee = ceil_bps(buyer_accrued) - ceil_bps(buy.accrued)
        seller_fee = ceil_bps(seller_accrued) - ceil_bps(sell.accrued)
        held_after = naive_need(buy.limit, buy.remaining - qty, buy.bps, buyer_accrued)
        release = held_before - amount - buyer_fee - held_after
        assert release >= 0, "a fill never needs more than the buy order held"
        assert 0 <= seller_fee <= amount

        # The fee module must agree; its credits are the accrued remainders.
        charges = fill_charges(
            price=price,
            quantity=qty,
            buyer_limit=buy.limit,
            buyer_remaining=buy.remaining,
            buyer_hold_bps=buy.bps,
            buyer_bps=buyer_bps,
            buyer_credit=-buy.accrued % 10_000,
            seller_bps=seller_bps,
            seller_credit=-sell.accrued % 10_000,
        )
        assert (charges.notional, charges.buyer_fee, charges.seller_fee) == (
            amount,
            buyer_fee,
            seller_fee,
        )
        assert charges.buyer_release == release
        assert charges.buyer_credit == -buyer_accrued % 10_000
        assert charges.seller_credit == -seller_accrued % 10_000

        if data.draw(st.booleans(), label="overdraw first"):
            refused(
                self.ledger,
                HoldExceeded,
                self.ledger.settle,
                buy_order_id=buy_id,
                sell_order_id=sell_id,
                price=price,
                quantity=qty,
                buyer_fee=buyer_fee,
                seller_fee=seller_fee,
                buyer_release=release + held_after + 1,
            )
        postings = self.ledger.settle(
            buy_order_id=buy_id,
            sell_order_id=sell_id,
            price=price,
            quantity=qty,
            buyer_fee=charges.buyer_fee,
            seller_fee=charges.seller_fee,
            buyer_release=charges.buyer_release,
        )
        assert_balanced(postings)
        self.add(sell.owner, CASH, amount - seller_fee)
        self.add(FEES, CASH, buyer_fee + seller_fee)
        self.add(buy.owner, CASH, release)
        self.add(buy.owner, sell.symbol, qty)
        buy.remaining -= qty
        buy.accrued = buyer_accrued
        sell.remaining -= qty
        sell.accrued = seller_accrued
        if buy.remaining == 0:
            del self.buys[buy_id]
        if sell.remaining == 0:
            del self.sells[sell_id]

    # ----------------------------------------------------------- after every step

    @invariant()
    def same_as_reference(self) -> None:
        assert self.ledger.snapshot() == self.expected_snapshot()

    @invariant()
    def restores_from_its_balances(self) -> None:
        """Start-up's path: current balances and holds give back the same ledger."""
        rows = (self.ledger.balance_rows(), self.ledger.hold_rows())
        assert Ledger.restore(*rows).snapshot() == self.ledger.snapshot()

    @invariant()
    def invariants_hold(self) -> None:
        assert invariant_violations(self.ledger) == []
        assert hold_mismatches(self.ledger, self.expected_holds()) == []
        for (account, _asset), value in self.ledger.available_balances().items():
            assert value >= 0 or account in (BANK, ISSUANCE)
        assert all(h.amount > 0 for h in self.ledger.holds().values())


LedgerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=100, deadline=None)
TestLedgerAgainstReference = LedgerMachine.TestCase


# --------------------------------------------------------------------------- fee rule


def test_fee_rounds_up_in_the_platforms_favour() -> None:
    assert fee(1, 1) == 1  # 0.0001 fen is charged as a whole fen, never as 0
    assert fee(9_999, 1) == 1
    assert fee(10_000, 1) == 1
    assert fee(10_001, 1) == 2
    assert fee(2_970, 25) == 8  # 7.425 fen
    assert fee(3_000, 25) == 8  # 7.5 fen
    assert fee(4_000, 25) == 10  # exact: no rounding
    assert fee(12_345, 0) == 0
    assert fee(0, 30) == 0
    assert fee(777, 10_000) == 777


def test_rounding_happens_once_per_order_not_once_per_fill() -> None:
    """A hundred 1-fen fills at 1 bps cost 1 fen in all, not 100."""
    credit, paid = 0, []
    for _ in range(100):
        f, credit = charge(1, 1, credit)
        paid.append(f)
    assert paid[0] == 1 and sum(paid) == 1
    assert credit == 10_000 - 100
    # ...and the 10 000th such fill is the first to need a fen more.
    for _ in range(9_900):
        f, credit = charge(1, 1, credit)
        assert f == 0
    assert charge(1, 1, credit) == (1, 9_999)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 100_000),
    fills=st.lists(st.tuples(st.integers(1, 50), st.integers(0, 100_000)), min_size=1, max_size=30),
    maker=st.integers(0, 10_000),
    taker=st.integers(0, 10_000),
    roles=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_a_buy_hold_always_covers_its_fills_and_ends_at_zero(
    limit: int, fills: list[tuple[int, int]], maker: int, taker: int, roles: list[bool]
) -> None:
    """However a buy is split, by price and role, its fees total ceil(Σ n·bps / 10 000)."""
    quantity = sum(q for q, _ in fills)
    bps = hold_bps(maker, taker)
    held = buy_hold(limit, quantity, bps)
    assert held == limit * quantity + ceil_bps(limit * quantity * bps)
    assert max_buy_fee(limit, quantity, bps) == fee(limit * quantity, bps)
    remaining, credit, weighted, fees_paid, spent = quantity, 0, 0, 0, 0
    for (qty, improvement), taker_role in zip(fills, roles, strict=False):
        price = max(1, limit - improvement)
        rate = taker if taker_role else maker
        c = fill_charges(
            price=price,
            quantity=qty,
            buyer_limit=limit,
            buyer_remaining=remaining,
            buyer_hold_bps=bps,
            buyer_bps=rate,
            buyer_credit=credit,
            seller_bps=0,
            seller_credit=0,
        )
        assert c.buyer_release >= 0
        remaining -= qty
        credit = c.buyer_credit
        weighted += price * qty * rate
        fees_paid += c.buyer_fee
        spent += c.notional + c.buyer_fee + c.buyer_release
        assert held - spent == buy_hold(limit, remaining, bps, credit)
        assert fees_paid == ceil_bps(weighted)
    assert remaining == 0 and spent == held


def test_a_buyer_is_charged_no_more_than_the_rate_it_held_for() -> None:
    """The operator raised the taker fee after the order rested: the hold still covers it."""
    c = fill_charges(
        price=100,
        quantity=10,
        buyer_limit=100,
        buyer_remaining=10,
        buyer_hold_bps=10,
        buyer_bps=50,
        buyer_credit=0,
        seller_bps=0,
        seller_credit=0,
    )
    assert c.buyer_fee == fee(1_000, 10) == 1
    assert c.buyer_release == 0


def test_fill_charges_refuses_fills_the_order_cannot_have() -> None:
    base: dict[str, int] = dict(
        price=100,
        quantity=1,
        buyer_limit=100,
        buyer_remaining=1,
        buyer_hold_bps=0,
        buyer_bps=0,
        buyer_credit=0,
        seller_bps=0,
        seller_credit=0,
    )
    fill_charges(**base)
    for bad in (
        {"price": 101},
        {"quantity": 2},
        {"buyer_credit": 10_000},
        {"seller_bps": 10_001},
        {"buyer_bps": -1},
    ):
        with pytest.raises(ValueError):
            fill_charges(**{**base, **bad})


# --------------------------------------------------------------------------- explicit cases


def funded(cash: dict[str, int] | None = None, units: dict[str, int] | None = None) -> Ledger:
    ledger = Ledger()
    for owner, amount in (cash or {}).items():
        ledger.deposit(owner, amount)
    for owner, amount in (units or {}).items():
        ledger.mint(owner, "TOK-A", amount)
    return ledger


def test_a_hold_beyond_the_available_balance_is_refused_and_changes_nothing() -> None:
    ledger = funded(cash={"P1": 1_000}, units={"P2": 5})
    refused(ledger, InsufficientFunds, ledger.hold, 1, "P1", CASH, 1_001)
    refused(ledger, InsufficientUnits, ledger.hold, 2, "P2", "TOK-A", 6)
    refused(ledger, InsufficientFunds, ledger.hold, 3, "P9", CASH, 1)
    ledger.hold(1, "P1", CASH, 600)
    # Held cash is not available again: a second hold sees only the remaining 400.
    refused(ledger, InsufficientFunds, ledger.hold, 4, "P1", CASH, 401)
    refused(ledger, InsufficientFunds, ledger.withdraw, "P1", 401)
    refused(ledger, DuplicateHold, ledger.hold, 1, "P1", CASH, 1)
    assert ledger.available("P1", CASH) == 400 and ledger.held("P1", CASH) == 600
    with pytest.raises(InsufficientFunds) as caught:
        ledger.hold(5, "P1", CASH, 500)
    assert caught.value.status == 409 and caught.value.slug == "insufficient-funds"
    assert caught.value.extra == {
        "account": "P1",
        "asset": CASH,
        "available": 400,
        "needed": 500,
    }


def test_settle_with_fees_is_exact_to_the_fen() -> None:
    """3 units, buyer limit 10.00 CNY, trade at 9.90 CNY; taker 25 bps, maker 10 bps."""
    ledger = funded(cash={"BUYER": 10_000}, units={"SELLER": 3})
    hold = buy_hold(1_000, 3, hold_bps(10, 25))
    assert hold == 3_000 + 8  # 7.5 fen of fee, rounded up
    ledger.hold("b1", "BUYER", CASH, hold)
    ledger.hold("s1", "SELLER", "TOK-A", 3)
    c = fill_charges(
        price=990,
        quantity=3,
        buyer_limit=1_000,
        buyer_remaining=3,
        buyer_hold_bps=25,
        buyer_bps=25,  # the buyer took
        buyer_credit=0,
        seller_bps=10,  # the seller's order rested
        seller_credit=0,
    )
    assert (c.notional, c.buyer_fee, c.seller_fee, c.buyer_release) == (2_970, 8, 3, 30)
    postings = ledger.settle(
        buy_order_id="b1",
        sell_order_id="s1",
        price=990,
        quantity=3,
        buyer_fee=c.buyer_fee,
        seller_fee=c.seller_fee,
        buyer_release=c.buyer_release,
    )
    assert postings == [
        {"account": "BUYER", "asset": CASH, "bucket": "held", "order_id": "b1", "amount": -3_008},
        {
            "account": "SELLER",
            "asset": CASH,
            "bucket": "available",
            "order_id": None,
            "amount": 2_967,
        },
        {"account": FEES, "asset": CASH, "bucket": "available", "order_id": None, "amount": 11},
        {"account": "BUYER", "asset": CASH, "bucket": "available", "order_id": None, "amount": 30},
        {"account": "SELLER", "asset": "TOK-A", "bucket": "held", "order_id": "s1", "amount": -3},
        {
            "account": "BUYER",
            "asset": "TOK-A",
            "bucket": "available",
            "order_id": None,
            "amount": 3,
        },
    ]
    canonical_json(postings)  # audit-log ready: plain JSON, integers only
    assert ledger.snapshot() == {
        "balances": {
            BANK: {CASH: {"available": -10_000, "held": 0}},
            "BUYER": {
                CASH: {"available": 10_000 - 2_970 - 8, "held": 0},
                "TOK-A": {"available": 3, "held": 0},
            },
            FEES: {CASH: {"available": 11, "held": 0}},
            ISSUANCE: {"TOK-A": {"available": -3, "held": 0}},
            "SELLER": {CASH: {"available": 2_967, "held": 0}},
        },
        "holds": [],
    }
    assert invariant_violations(ledger) == []


def test_release_after_a_partial_fill_returns_exactly_the_remainder() -> None:
    """Buy 10 at 1.00 CNY (25 bps taker); 4 fill at 0.97 CNY; the rest is cancelled."""
    ledger = funded(cash={"B": 5_000}, units={"S": 4})
    hold = buy_hold(100, 10, 25)
    assert hold == 1_000 + 3
    ledger.hold(7, "B", CASH, hold)
    ledger.hold(8, "S", "TOK-A", 4)
    c = fill_charges(
        price=97,
        quantity=4,
        buyer_limit=100,
        buyer_remaining=10,
        buyer_hold_bps=25,
        buyer_bps=25,
        buyer_credit=0,
        seller_bps=0,
        seller_credit=0,
    )
    assert c.buyer_fee == 1  # 0.97 fen
    assert c.buyer_credit == 300  # 0.03 fen paid ahead
    ledger.settle(
        buy_order_id=7,
        sell_order_id=8,
        price=97,
        quantity=4,
        buyer_fee=c.buyer_fee,
        buyer_release=c.buyer_release,
    )
    left = buy_hold(100, 6, 25, c.buyer_credit)
    assert left == 600 + 2  # 1.5 fen less the 0.03 already paid, rounded up
    hold_left = ledger.hold_of(7)
    assert hold_left is not None and hold_left.amount == left
    assert hold_mismatches(ledger, {7: ("B", CASH, left)}) == []
    assert ledger.hold_of(8) is None  # fully delivered, nothing left held
    postings = ledger.release(7)
    assert [p["amount"] for p in postings] == [-left, left]
    assert ledger.available("B", CASH) == 5_000 - 4 * 97 - 1
    assert ledger.held("B", CASH) == 0 and ledger.holds() == {}
    refused(ledger, HoldNotFound, ledger.release, 7)


def test_partial_release_and_over_release() -> None:
    ledger = funded(units={"S": 10})
    ledger.hold("s", "S", "TOK-A", 10)
    refused(ledger, HoldExceeded, ledger.release, "s", 11)
    ledger.release("s", 4)
    assert (ledger.available("S", "TOK-A"), ledger.held("S", "TOK-A")) == (4, 6)
    refused(ledger, InvalidAmount, ledger.release, "s", 0)


def test_withdraw_and_burn_only_from_available() -> None:
    ledger = funded(cash={"P": 100}, units={"P": 10})
    ledger.hold(1, "P", CASH, 60)
    ledger.hold(2, "P", "TOK-A", 7)
    refused(ledger, InsufficientFunds, ledger.withdraw, "P", 41)
    refused(ledger, InsufficientUnits, ledger.burn, "P", "TOK-A", 4)
    assert ledger.withdraw("P", 40) == [
        {"account": "P", "asset": CASH, "bucket": "available", "order_id": None, "amount": -40},
        {"account": BANK, "asset": CASH, "bucket": "available", "order_id": None, "amount": 40},
    ]
    ledger.burn("P", "TOK-A", 3)
    assert ledger.snapshot()["balances"]["P"] == {
        CASH: {"available": 0, "held": 60},
        "TOK-A": {"available": 0, "held": 7},
    }
    assert ledger.available(ISSUANCE, "TOK-A") == -7


def test_settlement_refuses_figures_that_do_not_fit() -> None:
    ledger = funded(cash={"B": 1_000}, units={"S": 5})
    ledger.hold("b", "B", CASH, 500)
    ledger.hold("s", "S", "TOK-A", 5)
    kw: dict[str, Any] = dict(buy_order_id="b", sell_order_id="s", price=100, quantity=5)
    refused(ledger, HoldExceeded, ledger.settle, **{**kw, "buyer_fee": 1})
    refused(ledger, HoldExceeded, ledger.settle, **{**kw, "quantity": 6, "price": 10})
    refused(ledger, InvalidSettlement, ledger.settle, **{**kw, "seller_fee": 501})
    refused(ledger, InvalidSettlement, ledger.settle, **{**kw, "buy_order_id": "s"})
    refused(ledger, InvalidSettlement, ledger.settle, **{**kw, "sell_order_id": "b"})
    refused(ledger, HoldNotFound, ledger.settle, **{**kw, "buy_order_id": "x"})
    refused(ledger, InvalidAmount, ledger.settle, **{**kw, "price": 0})
    refused(ledger, InvalidAmount, ledger.settle, **{**kw, "buyer_fee": -1})
    ledger.settle(**kw, seller_fee=500)  # a 100 % fee: the seller gets nothing, still balanced
    assert ledger.available(FEES, CASH) == 500 and ledger.available("S", CASH) == 0


@pytest.mark.parametrize("amount", [0, -5, True, 1.5, "10", MAX_SAFE_INTEGER + 1])
def test_amounts_are_positive_safe_integers(amount: Any) -> None:
    ledger = funded(cash={"P": 10})
    refused(ledger, InvalidAmount, ledger.deposit, "P", amount)


def test_balances_stay_within_safe_integers() -> None:
    ledger = funded(cash={"P": MAX_SAFE_INTEGER})
    refused(ledger, BalanceOutOfRange, ledger.deposit, "Q", 1)  # the bank would pass -(2^53)


def test_accounts_and_assets_are_checked() -> None:
    ledger = Ledger()
    refused(ledger, InvalidAccount, ledger.deposit, FEES, 10)
    refused(ledger, InvalidAccount, ledger.deposit, "", 10)
    refused(ledger, InvalidAccount, ledger.mint, "P", CASH, 10)
    refused(ledger, InvalidAccount, ledger.hold, True, "P", CASH, 10)
    refused(ledger, InvalidAccount, ledger.hold, 1, BANK, CASH, 10)


def test_restore_refuses_balances_no_ledger_could_reach() -> None:
    live = Ledger()
    live.deposit("B", 10_000)
    live.hold(1, "B", CASH, 4_000)
    balances, holds = live.balance_rows(), live.hold_rows()
    assert Ledger.restore(balances, holds).snapshot() == live.snapshot()
    bent = [
        # cash from nowhere: CNY no longer sums to zero
        ([(a, s, v + (a == "B"), h) for a, s, v, h in balances], holds),
        # held total that its orders' holds do not add up to
        (balances, [(o, a, s, n - 1) for o, a, s, n in holds]),
        # an overdrawn participant, balanced by the bank
        ([(a, s, {"B": -1, BANK: -3_999}.get(a, v), h) for a, s, v, h in balances], holds),
        # a hold of nothing, and the same balance twice
        ([*balances, ("C", CASH, 0, 0)], [*holds, (2, "C", CASH, 0)]),
        ([*balances, balances[0]], holds),
        ([(a, s, float(v), h) for a, s, v, h in balances], holds),
    ]
    for rows in bent:
        with pytest.raises(InvalidPostings):
            Ledger.restore(*rows)


def test_replaying_the_postings_rebuilds_the_same_ledger() -> None:
    live = Ledger()
    journal = [
        live.deposit("B", 10_000),
        live.mint("S", "TOK-A", 50),
        live.hold(1, "B", CASH, buy_hold(120, 20, 25)),
        live.hold(2, "S", "TOK-A", 30),
    ]
    c = fill_charges(
        price=110,
        quantity=12,
        buyer_limit=120,
        buyer_remaining=20,
        buyer_hold_bps=25,
        buyer_bps=10,
        buyer_credit=0,
        seller_bps=25,
        seller_credit=0,
    )
    journal.append(
        live.settle(
            buy_order_id=1,
            sell_order_id=2,
            price=110,
            quantity=12,
            buyer_fee=c.buyer_fee,
            seller_fee=c.seller_fee,
            buyer_release=c.buyer_release,
        )
    )
    journal += [live.release(2, 10), live.burn("B", "TOK-A", 2)]
    rebuilt = Ledger()
    for postings in journal:
        rebuilt.apply(postings)
    assert rebuilt.snapshot() == live.snapshot()
    assert live.snapshot()["holds"] == [
        {
            "order_id": 1,
            "account": "B",
            "asset": CASH,
            "amount": buy_hold(120, 8, 25, c.buyer_credit),
        },
        {"order_id": 2, "account": "S", "asset": "TOK-A", "amount": 8},
    ]


def test_apply_refuses_unbalanced_or_malformed_postings() -> None:
    ledger = funded(cash={"P": 100})
    good = ledger.deposit("P", 1)
    bad_sets: list[list[dict[str, Any]]] = [
        [],
        [{**good[0]}],  # one leg only
        [{**good[0], "amount": -2}, good[1]],
        [{**good[0], "bucket": "held"}, good[1]],  # held without an order id
        [{**good[0], "account": "platform:other"}, good[1]],
        [{**good[0], "extra": 1}, good[1]],
        [{**good[0], "amount": 0}, {**good[1], "amount": 0}],
        [
            {"account": BANK, "asset": CASH, "bucket": "held", "order_id": 1, "amount": -1},
            good[1],
        ],
    ]
    for postings in bad_sets:
        refused(ledger, InvalidPostings, ledger.apply, postings)
    # Balanced but overdrawing: refused whole, the credit leg is not applied either.
    refused(
        ledger,
        InsufficientFunds,
        ledger.apply,
        [
            {
                "account": "P",
                "asset": CASH,
                "bucket": "available",
                "order_id": None,
                "amount": -500,
            },
            {"account": "Q", "asset": CASH, "bucket": "available", "order_id": None, "amount": 500},
        ],
    )


def test_the_invariant_checks_can_fail() -> None:
    """The checks see real corruption: they are not vacuous."""
    ledger = funded(cash={"P": 100})
    ledger.hold(1, "P", CASH, 40)
    assert invariant_violations(ledger) == []
    assert hold_mismatches(ledger, {1: ("P", CASH, 40), 2: ("P", CASH, 0)}) == []
    assert hold_mismatches(ledger, {1: ("P", CASH, 39)}) != []
    assert hold_mismatches(ledger, {}) != []
    assert hold_mismatches(ledger, {1: ("P", CASH, 40), 3: ("Q", CASH, 5)}) != []
    assert unbalanced_assets([{"asset": CASH, "amount": 5}, {"asset": "X", "amount": 0}]) == {
        CASH: 5
    }

    ledger._available[("P", CASH)] = -1  # corrupt it behind the ledger's back
    problems = invariant_violations(ledger)
    assert any("P has -1 CNY available" in p for p in problems)
    assert any("CNY balances sum to -61" in p for p in problems)

    other = funded(cash={"P": 100})
    other.hold(1, "P", CASH, 40)
    other._held_totals[("P", CASH)] = 41
    assert any("held CNY disagrees" in p for p in invariant_violations(other))
