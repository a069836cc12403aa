"""The market through its handlers: cash, products, orders, settlement, licences, invariants.

Bodies are built with msgspec.convert from plain dicts, the way a wire
document is decoded. Every refusal also checks that the market's snapshot is
unchanged and its invariants hold. Certificates come from the registry's own
handlers (the Desk of test_registry). A Hypothesis state machine runs random
command sequences and checks the invariants and the conservation of cash and
units after every command, and that replaying the commands gives the same events.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dataex.config.licence_catalogue import load_catalogue
from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import DomainError, NotFound
from dataex.core.market.commands import apply_market
from dataex.core.market.contracts import (
    APPROVE,
    CANCEL,
    CONSUME,
    DEFINE_TOKEN,
    DELIST,
    DEPOSIT,
    HALT,
    ISSUE_LICENCES,
    LIST_LICENCE,
    MARKET_CONTRACTS,
    MINT,
    PLACE,
    REDUCE,
    RESUME,
    WITHDRAW,
)
from dataex.core.market.errors import (
    CertificateNotTradable,
    ExclusiveLicenceLimit,
    LicencesExpired,
    ListingRefused,
    NotOrderOwner,
    NotProductIssuer,
    SymbolTaken,
    UnknownParticipant,
    WrongProductKind,
)
from dataex.core.market.ledger import (
    BANK,
    CASH,
    FEES,
    ISSUANCE,
    InsufficientFunds,
    InsufficientUnits,
)
from dataex.core.market.matching import OrderNotFound, PostOnlyWouldCross, ReduceNotLower
from dataex.core.market.products import (
    InvalidProduct,
    PriceOffTick,
    PriceOutsideBand,
    ProductActionForbidden,
    ProductDelisted,
    ProductHalted,
    ProductNotListed,
    ProductTransitionRefused,
    QuantityOffLot,
    ResaleNotAllowed,
    TokenUnitsExpired,
    UnknownProduct,
    product_view,
)
from dataex.core.market.records import licence_document, licence_view, order_view
from dataex.core.market.state import Market
from tests.core.registry.test_lifecycle import BANK as PLEDGEE
from tests.core.registry.test_lifecycle import (
    NOW,
    OTHER,
    OWNER,
    ROOT_B,
    WEEK,
    Desk,
    initial,
    register,
)

OPERATOR, ISSUER, ALICE, BOB, CAROL = "P000010", "P000011", "P000012", "P000013", "P000014"
REGULATOR, ISSUER2 = "P000015", "P000016"
ROLES_OF: dict[str, frozenset[str]] = {
    OPERATOR: frozenset({"operator"}),
    ISSUER: frozenset({"issuer", "trader"}),
    ISSUER2: frozenset({"issuer"}),
    ALICE: frozenset({"trader"}),
    BOB: frozenset({"trader"}),
    CAROL: frozenset({"trader"}),
    REGULATOR: frozenset({"regulator"}),
    OWNER: frozenset({"trader"}),
    OTHER: frozenset({"trader"}),
    PLEDGEE: frozenset({"trader"}),
}
ADMITTED = set(ROLES_OF)
CONTRACT_BODIES = {c.name: c.body for c in MARKET_CONTRACTS}

TOKEN = "QWEN-IN-1M"
LICENCE = "TRAFFIC-2025"
VALID_UNTIL = datetime(2027, 1, 1, tzinfo=UTC)
Events = list[dict[str, Any]]


def token_body(symbol: str = TOKEN, **changes: Any) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "model_id": "qwen-max",
        "unit_label": "1M input tokens",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z",
        "tick_size": 5,
        "lot_size": 10,
        "min_price": 100,
        "max_price": 10_000,
        "maker_fee_bps": 10,
        "taker_fee_bps": 25,
        **changes,
    }


def terms(**changes: Any) -> dict[str, Any]:
    return {
        "purpose": "model training",
        "scope": "the whole dataset, read only",
        "duration_days": 365,
        "territory": "CN",
        "exclusivity": "non_exclusive",
        "sublicensable": False,
        "delivery": "compute_in_place",
        **changes,
    }


def licence_body(certificate: str, symbol: str = LICENCE, **changes: Any) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "certificate_number": certificate,
        "licence_template_id": "standard@1",
        "terms": terms(),
        "tick_size": 100,
        "lot_size": 1,
        "min_price": 10_000,
        "max_price": 1_000_000,
        **changes,
    }


class Floor:
    """A market, a registry (for certificates) and one clock, with a method per action."""

    def __init__(self) -> None:
        self.desk = Desk()
        self.market = Market(licence_templates=load_catalogue())
        self.events: Events = []

    @property
    def now(self) -> datetime:
        return self.desk.now

    @now.setter
    def now(self, moment: datetime) -> None:
        self.desk.now = moment

    def run(self, who: str, contract: str, **body: Any) -> Events:
        typed = msgspec.convert(body, CONTRACT_BODIES[contract])
        events = apply_market(
            self.market,
            contract,
            who,
            ROLES_OF[who],
            typed,
            self.now,
            self.desk.registry,
            admitted=ADMITTED,
        )
        self.events += events
        assert self.market.invariants() == []
        return events

    def refused(
        self, error: type[DomainError], who: str, contract: str, **body: Any
    ) -> DomainError:
        """Run a command that must be refused and prove it changed nothing."""
        before = copy.deepcopy(self.market.snapshot())
        with pytest.raises(error) as info:
            self.run(who, contract, **body)
        assert self.market.snapshot() == before
        assert self.market.invariants() == []
        return info.value

    # ---- shortcuts ---------------------------------------------------------------------

    def deposit(self, who: str, amount: int) -> Events:
        return self.run(OPERATOR, DEPOSIT, participant_id=who, amount=amount)

    def token(self, symbol: str = TOKEN, **changes: Any) -> str:
        self.run(ISSUER, DEFINE_TOKEN, **token_body(symbol, **changes))
        self.run(OPERATOR, APPROVE, symbol=symbol)
        return symbol

    def certificate(self, **changes: Any) -> str:
        return self.desk.through(OWNER, initial(**changes))

    def licence(self, symbol: str = LICENCE, units: int = 5, **term_changes: Any) -> str:
        """OWNER lists a licence product over a fresh certificate and issues ``units``."""
        cert = self.certificate(fingerprint_root=hashlib.sha256(symbol.encode()).hexdigest())
        self.run(OWNER, LIST_LICENCE, **licence_body(cert, symbol, terms=terms(**term_changes)))
        self.run(OPERATOR, APPROVE, symbol=symbol)
        if units:
            self.run(OWNER, ISSUE_LICENCES, symbol=symbol, quantity=units)
        return symbol

    def place(
        self,
        who: str,
        side: str,
        price: int,
        quantity: int,
        order_type: str = "limit",
        symbol: str = TOKEN,
        **extra: Any,
    ) -> Events:
        body: dict[str, Any] = {"client_order_ref": "c1", "symbol": symbol, "side": side}
        body |= {"order_type": order_type, "price": price, "quantity": quantity, **extra}
        return self.run(who, PLACE, **body)

    def cash(self, who: str) -> tuple[int, int]:
        ledger = self.market.ledger
        return ledger.available(who, CASH), ledger.held(who, CASH)

    def units(self, who: str, symbol: str = TOKEN) -> tuple[int, int]:
        ledger = self.market.ledger
        return ledger.available(who, symbol), ledger.held(who, symbol)


def kinds(events: Events) -> list[str]:
    return [e["type"] for e in events]


def posting(account: str, asset: str, amount: int, order_id: str | None = None) -> dict[str, Any]:
    bucket = "available" if order_id is None else "held"
    return {
        "account": account,
        "asset": asset,
        "bucket": bucket,
        "order_id": order_id,
        "amount": amount,
    }


@pytest.fixture
def floor() -> Floor:
    """A listed token product, 1,000 units minted to ISSUER, ALICE and BOB funded."""
    f = Floor()
    f.token()
    f.run(ISSUER, MINT, symbol=TOKEN, quantity=1000)
    f.deposit(ALICE, 1_000_000)
    f.deposit(BOB, 1_000_000)
    return f


# ---- cash ------------------------------------------------------------------------------


def test_deposit_and_withdraw_move_cash_through_the_bank_account() -> None:
    f = Floor()
    (event,) = f.deposit(ALICE, 5_000)
    assert event == {
        "type": "cash.deposited",
        "participant_id": ALICE,
        "amount": 5_000,
        "bank_reference": None,
        "postings": [posting(BANK, CASH, -5_000), posting(ALICE, CASH, 5_000)],
    }
    f.run(OPERATOR, WITHDRAW, participant_id=ALICE, amount=2_000, bank_reference="wire 7")
    assert f.cash(ALICE) == (3_000, 0)
    assert f.market.ledger.available(BANK, CASH) == -3_000
    f.refused(InsufficientFunds, OPERATOR, WITHDRAW, participant_id=ALICE, amount=3_001)
    f.refused(UnknownParticipant, OPERATOR, DEPOSIT, participant_id="P000999", amount=1)


def test_held_cash_cannot_be_withdrawn(floor: Floor) -> None:
    floor.place(ALICE, "buy", 500, 100)  # holds 50,000 + 125 fee headroom
    assert floor.cash(ALICE) == (1_000_000 - 50_125, 50_125)
    floor.refused(InsufficientFunds, OPERATOR, WITHDRAW, participant_id=ALICE, amount=1_000_000)


# ---- products --------------------------------------------------------------------------


def test_a_token_product_waits_for_approval_and_takes_default_fees_when_none_given() -> None:
    f = Floor()
    body = token_body(maker_fee_bps=None, taker_fee_bps=None)
    (event,) = f.run(ISSUER, DEFINE_TOKEN, **body)
    assert event["type"] == "product.defined"
    assert (event["status"], event["issuer"]) == ("pending", ISSUER)
    assert (event["maker_fee_bps"], event["taker_fee_bps"]) == (5, 10)  # the settings' defaults
    assert event["token"]["valid_until"] == "2027-01-01T00:00:00.000000Z"
    assert f.market.books[TOKEN].halted  # a pending product's book matches nothing
    f.run(ISSUER, MINT, symbol=TOKEN, quantity=100)  # minting ahead of approval is fine
    f.refused(ProductNotListed, ISSUER, PLACE, **order_body("sell", 500, 10))
    f.refused(SymbolTaken, ISSUER, DEFINE_TOKEN, **body)

    (approved,) = f.run(OPERATOR, APPROVE, symbol=TOKEN, taker_fee_bps=30)
    assert (approved["status"], approved["maker_fee_bps"], approved["taker_fee_bps"]) == (
        "listed",
        5,
        30,
    )
    assert not f.market.books[TOKEN].halted
    f.refused(ProductTransitionRefused, OPERATOR, APPROVE, symbol=TOKEN)
    f.refused(UnknownProduct, OPERATOR, APPROVE, symbol="NOPE")


def test_a_product_must_be_well_formed() -> None:
    f = Floor()
    f.refused(InvalidProduct, ISSUER, DEFINE_TOKEN, **token_body(min_price=102))  # off tick
    f.refused(InvalidProduct, ISSUER, DEFINE_TOKEN, **token_body(max_price=50))
    f.refused(InvalidProduct, ISSUER, DEFINE_TOKEN, **token_body(symbol="CNY"))
    f.refused(InvalidProduct, ISSUER, DEFINE_TOKEN, **token_body(valid_from="2027-02-01T00:00:00Z"))
    f.now = VALID_UNTIL
    f.refused(InvalidProduct, ISSUER, DEFINE_TOKEN, **token_body())  # already over


def order_body(side: str, price: int, quantity: int, **extra: Any) -> dict[str, Any]:
    return {
        "client_order_ref": "c1",
        "symbol": TOKEN,
        "side": side,
        "order_type": "limit",
        "price": price,
        "quantity": quantity,
        **extra,
    }


# ---- settlement ------------------------------------------------------------------------


def test_crossing_orders_settle_delivery_versus_payment_to_the_fen(floor: Floor) -> None:
    (accepted, rested) = floor.place(ISSUER, "sell", 500, 100)
    assert (accepted["type"], accepted["order_id"], accepted["held"]) == (
        "order.accepted",
        "O000001",
        100,
    )
    assert accepted["postings"] == [
        posting(ISSUER, TOKEN, -100),
        posting(ISSUER, TOKEN, 100, "O000001"),
    ]
    assert rested["type"] == "order.rested"

    # Buy 60 at 505: holds 505 × 60 = 30,300 + ceil(30,300 × 25 bps) = 76 → 30,376.
    events = floor.place(ALICE, "buy", 505, 60)
    assert kinds(events) == ["order.accepted", "trade"]
    assert events[0]["held"] == 30_376
    trade = events[1]
    # At the maker's price: notional 30,000; taker (buyer) 25 bps = 75, maker 10 bps = 30.
    assert {k: trade[k] for k in ("trade_id", "price", "quantity", "notional")} == {
        "trade_id": "T000001",
        "price": 500,
        "quantity": 60,
        "notional": 30_000,
    }
    assert (trade["buyer"], trade["seller"], trade["maker_order_id"]) == (ALICE, ISSUER, "O000001")
    assert (trade["buyer_fee"], trade["seller_fee"], trade["buyer_release"]) == (75, 30, 301)
    assert trade["postings"] == [
        posting(ALICE, CASH, -30_376, "O000002"),
        posting(ISSUER, CASH, 29_970),
        posting(FEES, CASH, 105),
        posting(ALICE, CASH, 301),
        posting(ISSUER, TOKEN, -60, "O000001"),
        posting(ALICE, TOKEN, 60),
    ]
    assert floor.cash(ALICE) == (1_000_000 - 30_075, 0)
    assert floor.cash(ISSUER) == (29_970, 0)
    assert floor.market.ledger.available(FEES, CASH) == 105
    assert floor.units(ALICE) == (60, 0)
    assert floor.units(ISSUER) == (900, 40)
    assert list(floor.market.orders) == ["O000001"]
    assert floor.market.orders["O000001"].remaining == 40


def test_fee_rounding_runs_per_order_not_per_fill(floor: Floor) -> None:
    floor.place(ALICE, "buy", 505, 30)  # resting: ALICE is the maker (10 bps)
    for _ in range(3):
        floor.place(ISSUER, "sell", 505, 10, "ioc")
    trades = [e for e in floor.events if e["type"] == "trade"]
    # Each fill's maker fee is 5.05 fen: per order 16 = ceil(15.15) in all, not 3 × 6.
    assert [t["buyer_fee"] for t in trades] == [6, 5, 5]
    assert [t["seller_fee"] for t in trades] == [13, 13, 13]  # three orders: ceil(12.625) each
    assert floor.cash(ALICE) == (1_000_000 - 15_150 - 16, 0)
    assert floor.market.ledger.available(FEES, CASH) == 16 + 39
    assert floor.market.orders == {}


def test_partial_fills_across_levels_trade_at_each_makers_price(floor: Floor) -> None:
    floor.place(ISSUER, "sell", 500, 10)
    floor.place(ISSUER, "sell", 510, 10)
    events = floor.place(ALICE, "buy", 520, 30)
    assert kinds(events) == ["order.accepted", "trade", "trade", "order.rested"]
    assert [(t["price"], t["quantity"]) for t in events[1:3]] == [(500, 10), (510, 10)]
    assert events[3]["remaining"] == 10
    order = floor.market.orders["O000003"]
    assert floor.cash(ALICE)[1] == order.needs() == 520 * 10 + 13


# ---- cancels, expiry and self-trade prevention release holds ---------------------------


def test_cancel_releases_the_whole_hold(floor: Floor) -> None:
    floor.place(ALICE, "buy", 500, 100)
    floor.place(ISSUER, "sell", 600, 50)
    (event,) = floor.run(ALICE, CANCEL, order_id="O000001")
    assert (event["type"], event["reason"], event["released"]) == (
        "order.cancelled",
        "requested",
        50_125,
    )
    assert event["postings"] == [
        posting(ALICE, CASH, -50_125, "O000001"),
        posting(ALICE, CASH, 50_125),
    ]
    assert floor.cash(ALICE) == (1_000_000, 0)
    floor.run(ISSUER, CANCEL, order_id="O000002")
    assert floor.units(ISSUER) == (1000, 0)
    assert floor.market.orders == {}


def test_cancel_of_someone_elses_or_an_unknown_order_is_refused(floor: Floor) -> None:
    floor.place(ALICE, "buy", 500, 100)
    floor.refused(NotOrderOwner, BOB, CANCEL, order_id="O000001")
    floor.refused(NotOrderOwner, BOB, REDUCE, order_id="O000001", new_quantity=10)
    floor.refused(OrderNotFound, ALICE, CANCEL, order_id="O000999")
    floor.run(ALICE, CANCEL, order_id="O000001")
    floor.refused(OrderNotFound, ALICE, CANCEL, order_id="O000001")


def test_ioc_fok_and_market_remainders_expire_and_release(floor: Floor) -> None:
    floor.place(ISSUER, "sell", 500, 30)
    events = floor.place(ALICE, "buy", 500, 50, "fok")
    assert kinds(events) == ["order.accepted", "order.expired"]
    assert (events[1]["reason"], events[1]["released"]) == ("fok_unfillable", 25_063)
    assert floor.cash(ALICE) == (1_000_000, 0)

    events = floor.place(ALICE, "buy", 500, 50, "ioc")
    assert kinds(events) == ["order.accepted", "trade", "order.expired"]
    assert (events[2]["reason"], events[2]["quantity"]) == ("ioc_remainder", 20)
    assert floor.cash(ALICE)[1] == 0

    floor.place(ISSUER, "sell", 505, 10)
    events = floor.place(BOB, "buy", 500, 20, "market")  # 500 is the worst price accepted
    assert kinds(events) == ["order.accepted", "order.expired"]
    assert events[1]["reason"] == "market_remainder"
    events = floor.place(BOB, "buy", 510, 20, "market")
    assert kinds(events) == ["order.accepted", "trade", "order.expired"]
    assert floor.cash(BOB)[1] == 0
    assert floor.market.orders == {}


def test_a_market_order_against_an_empty_book_expires_whole(floor: Floor) -> None:
    events = floor.place(ALICE, "buy", 10_000, 10, "market")
    assert kinds(events) == ["order.accepted", "order.expired"]
    assert floor.cash(ALICE) == (1_000_000, 0)


def test_post_only_that_would_cross_is_refused_and_its_hold_undone(floor: Floor) -> None:
    floor.place(ISSUER, "sell", 500, 10)
    floor.refused(
        PostOnlyWouldCross, ALICE, PLACE, **order_body("buy", 500, 10, order_type="post_only")
    )
    assert floor.cash(ALICE) == (1_000_000, 0)
    events = floor.place(ALICE, "buy", 495, 10, "post_only")
    assert kinds(events) == ["order.accepted", "order.rested"]
    assert events[0]["order_id"] == "O000002"  # the refused order used no id


@pytest.fixture
def both_sides(floor: Floor) -> Floor:
    """ISSUER holds cash too, so it can rest a buy and meet itself with a sell."""
    floor.deposit(ISSUER, 100_000)
    return floor


def test_self_trade_cancel_newest_releases_the_takers_hold(both_sides: Floor) -> None:
    f = both_sides
    f.place(ISSUER, "buy", 500, 10)
    events = f.place(ISSUER, "sell", 500, 10)  # the default mode
    assert kinds(events) == ["order.accepted", "order.cancelled"]
    assert (events[1]["order_id"], events[1]["reason"]) == ("O000002", "self_trade_prevention")
    assert (events[1]["asset"], events[1]["released"]) == (TOKEN, 10)
    assert f.units(ISSUER) == (1000, 0)
    assert list(f.market.orders) == ["O000001"]


def test_self_trade_cancel_oldest_cancels_the_resting_order_and_goes_on(both_sides: Floor) -> None:
    f = both_sides
    f.place(ISSUER, "buy", 500, 10)
    f.place(ALICE, "buy", 495, 10)
    events = f.place(ISSUER, "sell", 495, 20, stp="cancel_oldest")
    assert kinds(events) == ["order.accepted", "order.cancelled", "trade", "order.rested"]
    assert (events[1]["order_id"], events[1]["released"]) == ("O000001", 5_013)
    assert events[2]["buyer"] == ALICE
    # The buy hold is back; the proceeds less the taker fee, ceil(4,950 × 25 bps) = 13.
    assert f.cash(ISSUER) == (100_000 + 4_950 - 13, 0)
    assert list(f.market.orders) == ["O000003"]


def test_self_trade_cancel_both_releases_both_holds(both_sides: Floor) -> None:
    f = both_sides
    f.place(ISSUER, "buy", 500, 10)
    events = f.place(ISSUER, "sell", 500, 10, stp="cancel_both")
    assert kinds(events) == ["order.accepted", "order.cancelled", "order.cancelled"]
    assert [e["order_id"] for e in events[1:]] == ["O000001", "O000002"]
    assert f.cash(ISSUER) == (100_000, 0)
    assert f.units(ISSUER) == (1000, 0)
    assert f.market.orders == {}


def test_reduce_keeps_priority_and_releases_the_difference(floor: Floor) -> None:
    floor.place(ALICE, "buy", 500, 40)  # 20,000 + 50
    floor.place(BOB, "buy", 500, 10)
    (event,) = floor.run(ALICE, REDUCE, order_id="O000001", new_quantity=10)
    assert (event["type"], event["previous_quantity"], event["remaining"]) == (
        "order.reduced",
        40,
        10,
    )
    assert event["released"] == 20_050 - 5_013
    assert floor.cash(ALICE)[1] == 5_013
    floor.refused(QuantityOffLot, ALICE, REDUCE, order_id="O000001", new_quantity=5)
    floor.refused(ReduceNotLower, ALICE, REDUCE, order_id="O000001", new_quantity=10)
    trade = floor.place(ISSUER, "sell", 500, 10)[1]
    assert trade["buyer"] == ALICE  # still first in time
    floor.place(BOB, "buy", 500, 20)
    (event,) = floor.run(BOB, REDUCE, order_id="O000004", new_quantity=0)
    assert (event["type"], event["reason"], event["released"]) == (
        "order.cancelled",
        "reduced_to_zero",
        10_025,
    )


# ---- halt, delist, refusals ------------------------------------------------------------


def test_halt_refuses_orders_but_allows_cancel_and_reduce(floor: Floor) -> None:
    floor.place(ALICE, "buy", 500, 30)
    floor.place(ALICE, "buy", 495, 30)
    floor.refused(ProductActionForbidden, ALICE, HALT, symbol=TOKEN, reason="No.")
    (event,) = floor.run(REGULATOR, HALT, symbol=TOKEN, reason="Suspicious activity.")
    assert event == {
        "type": "product.halted",
        "symbol": TOKEN,
        "by": REGULATOR,
        "reason": "Suspicious activity.",
    }
    assert floor.market.books[TOKEN].halted
    floor.refused(ProductHalted, ISSUER, PLACE, **order_body("sell", 500, 10))
    floor.refused(ProductTransitionRefused, OPERATOR, HALT, symbol=TOKEN, reason="Again.")
    floor.run(ALICE, CANCEL, order_id="O000001")
    floor.run(ALICE, REDUCE, order_id="O000002", new_quantity=10)
    floor.run(OPERATOR, RESUME, symbol=TOKEN)
    assert kinds(floor.place(ISSUER, "sell", 495, 10)) == ["order.accepted", "trade"]


def test_delisting_ends_every_open_order_and_every_order_after_it(floor: Floor) -> None:
    floor.place(ALICE, "buy", 495, 30)
    floor.place(ISSUER, "sell", 500, 40)
    events = floor.run(OPERATOR, DELIST, symbol=TOKEN, reason="Model retired.")
    assert kinds(events) == ["product.delisted", "order.cancelled", "order.cancelled"]
    assert [(e["order_id"], e["reason"]) for e in events[1:]] == [
        ("O000001", "product_delisted"),
        ("O000002", "product_delisted"),
    ]
    assert floor.cash(ALICE) == (1_000_000, 0)
    assert floor.units(ISSUER) == (1000, 0)
    floor.refused(ProductDelisted, ALICE, PLACE, **order_body("buy", 500, 10))
    floor.refused(ProductDelisted, ISSUER, MINT, symbol=TOKEN, quantity=10)
    floor.refused(ProductTransitionRefused, OPERATOR, RESUME, symbol=TOKEN)
    floor.refused(UnknownProduct, ALICE, PLACE, **order_body("buy", 500, 10, symbol="NOPE"))


@pytest.mark.parametrize(
    ("side", "price", "quantity", "error"),
    [
        ("buy", 502, 10, PriceOffTick),
        ("buy", 500, 15, QuantityOffLot),
        ("buy", 95, 10, PriceOutsideBand),
        ("sell", 10_005, 10, PriceOutsideBand),
        ("buy", 10_000, 1_000, InsufficientFunds),  # 10,025,000 > 1,000,000
        ("sell", 500, 10, InsufficientUnits),  # ALICE holds none
    ],
)
def test_bad_orders_are_refused_and_change_nothing(
    floor: Floor, side: str, price: int, quantity: int, error: type[DomainError]
) -> None:
    floor.refused(error, ALICE, PLACE, **order_body(side, price, quantity))


def test_expired_token_units_cannot_trade_or_be_minted_but_usage_still_burns(
    floor: Floor,
) -> None:
    floor.place(ISSUER, "sell", 500, 60)
    floor.place(ALICE, "buy", 500, 50)
    floor.place(ALICE, "sell", 600, 20)  # resting when the units expire
    floor.now = VALID_UNTIL
    floor.refused(TokenUnitsExpired, BOB, PLACE, **order_body("buy", 600, 10))
    floor.refused(TokenUnitsExpired, ISSUER, MINT, symbol=TOKEN, quantity=10)
    floor.run(ALICE, CANCEL, order_id="O000003")  # cancelling still works
    (event,) = floor.run(ISSUER, CONSUME, symbol=TOKEN, holder=ALICE, units=50)
    assert event["postings"] == [posting(ALICE, TOKEN, -50), posting(ISSUANCE, TOKEN, 50)]
    assert floor.units(ALICE) == (0, 0)


def test_consumption_burns_only_available_units_and_only_by_the_issuer(floor: Floor) -> None:
    floor.place(ISSUER, "sell", 500, 60)
    floor.place(ALICE, "buy", 500, 60)
    floor.place(ALICE, "sell", 600, 40)
    (event,) = floor.run(
        ISSUER, CONSUME, symbol=TOKEN, holder=ALICE, units=15, usage_reference="jan"
    )
    assert {k: event[k] for k in ("type", "holder", "quantity", "reported_by")} == {
        "type": "units.consumed",
        "holder": ALICE,
        "quantity": 15,
        "reported_by": ISSUER,
    }
    assert floor.units(ALICE) == (5, 40)
    assert floor.market.ledger.available(ISSUANCE, TOKEN) == -1000 + 15
    floor.refused(InsufficientUnits, ISSUER, CONSUME, symbol=TOKEN, holder=ALICE, units=6)
    floor.refused(NotProductIssuer, ISSUER2, CONSUME, symbol=TOKEN, holder=ALICE, units=1)
    floor.refused(NotProductIssuer, ISSUER2, MINT, symbol=TOKEN, quantity=1)
    floor.refused(UnknownParticipant, ISSUER, CONSUME, symbol=TOKEN, holder="P000999", units=1)


# ---- data licences ---------------------------------------------------------------------


def test_listing_a_licence_product_needs_a_listable_certificate_with_the_right() -> None:
    f = Floor()
    cert = f.certificate()
    f.refused(ListingRefused, OWNER, LIST_LICENCE, **licence_body("DX-2026-000404"))
    error = f.refused(ListingRefused, OTHER, LIST_LICENCE, **licence_body(cert))
    assert "does not hold" in error.detail
    held_only = f.certificate(fingerprint_root=ROOT_B, rights=["holding"])
    error = f.refused(ListingRefused, OWNER, LIST_LICENCE, **licence_body(held_only))
    assert "product_operation" in error.detail

    # Under an open objection: refused; once it is dismissed, listable again.
    f.desk.notice = WEEK
    licence_app = register(
        "licence", certificate_number=cert, counterparty=OTHER, rights=["processing_use"]
    )
    rid = f.desk.submit(OWNER, licence_app)
    f.desk.review(rid)
    oid = f.desk.object(PLEDGEE, rid)
    error = f.refused(ListingRefused, OWNER, LIST_LICENCE, **licence_body(cert))
    assert "open objection" in error.detail
    f.desk.decide_objection(oid, "dismiss")
    (event,) = f.run(OWNER, LIST_LICENCE, **licence_body(cert))
    assert event["data_licence"]["certificate_number"] == cert
    assert event["data_licence"]["terms"] == terms()


def test_a_pledged_certificate_can_be_neither_listed_nor_traded() -> None:
    f = Floor()
    f.licence()
    f.deposit(ALICE, 1_000_000)
    cert = f.market.products[LICENCE].details.certificate_number  # type: ignore[union-attr]
    f.desk.through(
        OWNER, register("pledge", certificate_number=cert, counterparty=PLEDGEE, secured_amount=1)
    )
    f.refused(ListingRefused, OWNER, LIST_LICENCE, **licence_body(cert, "TRAFFIC-B"))
    f.refused(CertificateNotTradable, OWNER, ISSUE_LICENCES, symbol=LICENCE, quantity=1)
    f.refused(
        CertificateNotTradable,
        ALICE,
        PLACE,
        **order_body("buy", 50_000, 1, symbol=LICENCE),
    )


# standard@1 as committed in contracts/licences/. Editing a published template changes
# this hash: publish a new version instead (products keep the copy they were listed with).
STANDARD_1_HASH = "231c282ee42f76d4373c7a12b2bf43d0ca9694965e81ccc166d0e59f7993de8a"

# The contract text of L000001 below, written out by hand from the template.
EXPECTED_L000001_TEXT = f"""DATA LICENCE L000001

Template standard@1, sha256 {STANDARD_1_HASH}
Registry record R000002 on certificate DX-2026-000001

1. Parties. {OWNER} (the Licensor) grants {ALICE} (the Licensee) a
   licence of the data asset certified by registry certificate DX-2026-000001,
   as traded in product {LICENCE}.
2. Consideration. Trade T000001, unit 1 of 2, at 500.00 CNY per unit.
3. Rights. The Licensee may exercise the processing_use right(s) over the data for
   the purpose: model training
4. Scope. the whole dataset, read only
5. Term. From 2026-11-27T12:00:00.000000Z until 2027-11-27T12:00:00.000000Z (365 days from
   the purchase, or the end of the licence it was sublicensed from if earlier).
6. Territory. CN.
7. Exclusivity. non-exclusive.
8. Sublicensing. Sublicensable: no.
9. Delivery. compute-in-place.

Signed for the exchange by its log key; the document hash is SHA-256 of the
RFC 8785 canonical JSON of this licence document."""


def test_licence_units_bought_become_rendered_licences_recorded_in_the_registry() -> None:
    f = Floor()
    f.licence(units=5)
    f.deposit(ALICE, 1_000_000)
    f.place(OWNER, "sell", 50_000, 3, symbol=LICENCE)
    events = f.place(ALICE, "buy", 50_000, 2, symbol=LICENCE)
    assert kinds(events) == [
        "order.accepted", "trade",
        "licence.granted", "registration.licence_recorded",
        "licence.granted", "registration.licence_recorded",
    ]
    cert = f.market.products[LICENCE].details.certificate_number  # type: ignore[union-attr]
    assert cert == "DX-2026-000001"
    granted = events[2]
    document = granted["document"]
    assert document == {
        "type": "dataex-licence-v1",
        "licence_id": "L000001",
        "symbol": LICENCE,
        "certificate_number": cert,
        "registration_id": "R000002",
        "licence_template_id": "standard@1",
        "licence_template_hash": STANDARD_1_HASH,
        "terms": terms(),
        "rights": ["processing_use"],
        "licensor": OWNER,
        "licensee": ALICE,
        "trade_id": "T000001",
        "unit": 1,
        "quantity": 2,
        "price": 50_000,
        "granted_at": "2026-11-27T12:00:00.000000Z",
        "valid_until": "2027-11-27T12:00:00.000000Z",
        "parent_licence_id": None,
        "text": EXPECTED_L000001_TEXT,
    }
    digest = hashlib.sha256(canonical_json(document)).hexdigest()
    assert granted["document_hash"] == digest
    assert (granted["status"], events[4]["document"]["licence_id"]) == ("active", "L000002")
    assert events[4]["document"]["unit"] == 2
    assert events[4]["document"]["registration_id"] == "R000003"
    assert f.units(ALICE, LICENCE) == (2, 0)
    lic = f.market.licences.by_id["L000001"]
    assert licence_document(lic) == document
    # The registry holds a registered licence registration on the certificate, linked
    # to the licence, the trade and the buyer, and it joined the certificate's history.
    assert events[3] == {
        "type": "registration.licence_recorded",
        "registration_id": "R000002",
        "kind": "licence",
        "certificate_number": cert,
        "applicant": OWNER,
        "counterparty": ALICE,
        "rights": ["processing_use"],
        "market": {
            "licence_id": "L000001",
            "symbol": LICENCE,
            "trade_id": "T000001",
            "document_hash": digest,
            "parent_licence_id": None,
            "valid_until": "2027-11-27T12:00:00.000000Z",
            "status": "active",
            "ended_by_trade": None,
        },
    }
    registry = f.desk.registry
    record = registry.registration_record("R000002")
    assert (record["kind"], record["status"]) == ("licence", "registered")
    assert record["applicant"] == OWNER
    assert record["application"]["counterparty"] == ALICE
    assert record["decision"]["decided_by"] == "platform:market"
    assert record["market"]["licence_id"] == "L000001"
    assert registry.certificates.by_number[cert].history[-2:] == ["R000002", "R000003"]


def test_licences_that_are_not_sublicensable_cannot_be_resold() -> None:
    f = Floor()
    f.licence()
    f.deposit(ALICE, 1_000_000)
    f.place(OWNER, "sell", 50_000, 1, symbol=LICENCE)
    f.place(ALICE, "buy", 50_000, 1, symbol=LICENCE)
    f.refused(ResaleNotAllowed, ALICE, PLACE, **order_body("sell", 60_000, 1, symbol=LICENCE))


def test_a_sublicensable_licence_resold_becomes_a_sublicence_that_never_outlasts_it() -> None:
    f = Floor()
    f.licence(units=5, sublicensable=True, duration_days=30)
    for who in (ALICE, BOB):
        f.deposit(who, 1_000_000)
    f.place(OWNER, "sell", 50_000, 2, symbol=LICENCE)
    f.place(ALICE, "buy", 50_000, 2, symbol=LICENCE)  # L000001, L000002
    f.now = NOW + timedelta(days=10)
    f.place(ALICE, "sell", 60_000, 1, symbol=LICENCE)
    events = f.place(BOB, "buy", 60_000, 1, symbol=LICENCE)
    assert kinds(events) == [
        "order.accepted", "trade", "licence.ended", "registration.licence_ended",
        "licence.granted", "registration.licence_recorded",
    ]
    assert (events[2]["licence_id"], events[2]["status"]) == ("L000001", "resold")
    # The parent's registry record says it ended, and by which trade.
    assert events[3] == {
        "type": "registration.licence_ended",
        "registration_id": "R000002",
        "certificate_number": "DX-2026-000001",
        "licence_id": "L000001",
        "status": "resold",
        "trade_id": "T000002",
    }
    parent_record = f.desk.registry.registration_record("R000002")["market"]
    assert (parent_record["status"], parent_record["ended_by_trade"]) == ("resold", "T000002")
    sub = events[4]["document"]
    assert (sub["licensor"], sub["licensee"], sub["parent_licence_id"]) == (ALICE, BOB, "L000001")
    assert sub["valid_until"] == "2026-12-27T12:00:00.000000Z"  # the parent's end, not +30 days
    assert "This is a sublicence of L000001." in sub["text"]
    # The sublicence is recorded too, by the reseller, naming its parent.
    assert (events[5]["applicant"], events[5]["counterparty"]) == (ALICE, BOB)
    assert events[5]["market"]["parent_licence_id"] == "L000001"

    # Sold back to the product's issuer: the licence ends and no new one is made.
    f.place(OWNER, "buy", 50_000, 1, symbol=LICENCE)
    f.deposit(OWNER, 100_000)
    events = f.place(OWNER, "buy", 50_000, 1, symbol=LICENCE)
    events = f.place(ALICE, "sell", 50_000, 1, "ioc", symbol=LICENCE)
    assert kinds(events) == [
        "order.accepted", "trade", "licence.ended", "registration.licence_ended",
    ]
    assert events[2] == {
        "type": "licence.ended",
        "licence_id": "L000002",
        "status": "returned",
        "trade_id": "T000003",
    }


def test_expired_licences_cannot_be_offered_for_resale() -> None:
    f = Floor()
    f.licence(units=5, sublicensable=True, duration_days=30)
    f.deposit(ALICE, 1_000_000)
    f.place(OWNER, "sell", 50_000, 2, symbol=LICENCE)
    f.place(ALICE, "buy", 50_000, 1, symbol=LICENCE)  # runs to day 30
    f.now = NOW + timedelta(days=10)
    f.place(ALICE, "buy", 50_000, 1, symbol=LICENCE)  # runs to day 40
    f.now = NOW + timedelta(days=29)
    f.place(ALICE, "sell", 70_000, 1, symbol=LICENCE)  # O000004, backed by either
    f.now = NOW + timedelta(days=30)
    error = f.refused(
        LicencesExpired, ALICE, PLACE, **order_body("sell", 60_000, 1, symbol=LICENCE)
    )
    assert error.extra == {"symbol": LICENCE, "unexpired": 1, "on_offer": 1}
    f.run(ALICE, CANCEL, order_id="O000004")
    f.place(ALICE, "sell", 60_000, 1, symbol=LICENCE)  # the licence running to day 40 backs it
    f.run(ALICE, CANCEL, order_id="O000005")
    f.now = NOW + timedelta(days=40)
    f.refused(LicencesExpired, ALICE, PLACE, **order_body("sell", 60_000, 1, symbol=LICENCE))


def test_only_the_lister_issues_licence_units_and_exclusive_ones_only_once() -> None:
    f = Floor()
    f.token()
    f.licence(units=0, exclusivity="exclusive")
    f.refused(NotProductIssuer, OTHER, ISSUE_LICENCES, symbol=LICENCE, quantity=1)
    f.refused(WrongProductKind, OWNER, ISSUE_LICENCES, symbol=TOKEN, quantity=1)
    f.refused(WrongProductKind, ISSUER, MINT, symbol=LICENCE, quantity=1)
    f.refused(ExclusiveLicenceLimit, OWNER, ISSUE_LICENCES, symbol=LICENCE, quantity=2)
    (event,) = f.run(OWNER, ISSUE_LICENCES, symbol=LICENCE, quantity=1)
    assert event["postings"] == [posting(ISSUANCE, LICENCE, -1), posting(OWNER, LICENCE, 1)]
    f.refused(ExclusiveLicenceLimit, OWNER, ISSUE_LICENCES, symbol=LICENCE, quantity=1)


# ---- dispatch, roles, restore ----------------------------------------------------------

# Who may sign each contract, written out (not derived from the definitions).
COLUMNS = ("operator", "registrar", "issuer", "trader", "regulator")
ROLE_TABLE: dict[str, tuple[bool, ...]] = {
    DEPOSIT: (True, False, False, False, False),
    WITHDRAW: (True, False, False, False, False),
    DEFINE_TOKEN: (False, False, True, False, False),
    LIST_LICENCE: (True, True, True, True, True),
    APPROVE: (True, False, False, False, False),
    HALT: (True, False, False, False, True),
    RESUME: (True, False, False, False, True),
    DELIST: (True, False, False, False, False),
    MINT: (False, False, True, False, False),
    ISSUE_LICENCES: (True, True, True, True, True),
    CONSUME: (False, False, True, False, False),
    PLACE: (False, False, False, True, False),
    CANCEL: (False, False, False, True, False),
    REDUCE: (False, False, False, True, False),
}
# One valid body per contract (for schema tests once the contracts are wired).
MARKET_SAMPLE_BODIES: dict[str, dict[str, Any]] = {
    DEPOSIT: {"participant_id": ALICE, "amount": 100_000},
    WITHDRAW: {"participant_id": ALICE, "amount": 100_000},
    DEFINE_TOKEN: token_body(),
    LIST_LICENCE: licence_body("DX-2026-000001"),
    APPROVE: {"symbol": TOKEN},
    HALT: {"symbol": TOKEN, "reason": "Investigation."},
    RESUME: {"symbol": TOKEN},
    DELIST: {"symbol": TOKEN, "reason": "Retired."},
    MINT: {"symbol": TOKEN, "quantity": 1000},
    ISSUE_LICENCES: {"symbol": LICENCE, "quantity": 5},
    CONSUME: {"symbol": TOKEN, "holder": ALICE, "units": 10},
    PLACE: order_body("buy", 500, 10),
    CANCEL: {"order_id": "O000001"},
    REDUCE: {"order_id": "O000001", "new_quantity": 0},
}


def test_role_table_and_sample_bodies_cover_exactly_the_market_contracts() -> None:
    assert set(ROLE_TABLE) == set(CONTRACT_BODIES) == set(MARKET_SAMPLE_BODIES)
    for contract in MARKET_CONTRACTS:
        assert contract.name.startswith("dataex.market.") and contract.name.endswith(".v1")
        allowed = {role for role, ok in zip(COLUMNS, ROLE_TABLE[contract.name], strict=True) if ok}
        assert (contract.roles or set(COLUMNS)) == allowed, contract.name
        msgspec.convert(MARKET_SAMPLE_BODIES[contract.name], contract.body)


@pytest.mark.parametrize(
    ("contract", "body"),
    [
        (PLACE, order_body("buy", 0, 10)),
        (PLACE, order_body("buy", 500, 10, order_type="stop")),
        (PLACE, order_body("buy", 500, 10, stp="cancel_all")),
        (PLACE, order_body("hold", 500, 10)),
        (PLACE, {**order_body("buy", 500, 10), "extra": 1}),
        (DEPOSIT, {"participant_id": ALICE, "amount": 2**53}),
        (DEPOSIT, {"participant_id": "platform:bank", "amount": 1}),
        (DEFINE_TOKEN, token_body(symbol="qwen")),
        (DEFINE_TOKEN, token_body(maker_fee_bps=10_001)),
        (CANCEL, {"order_id": "T000001"}),
        (LIST_LICENCE, licence_body("DX-2026-000001", terms=terms(exclusivity="shared"))),
    ],
)
def test_the_schema_refuses_malformed_bodies(contract: str, body: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(body, CONTRACT_BODIES[contract])


def test_apply_market_refuses_a_contract_it_does_not_know() -> None:
    with pytest.raises(NotFound):
        apply_market(Market(), "dataex.registry.take.v1", ALICE, {"trader"}, None, NOW)


def test_the_market_rebuilds_from_its_stored_records_and_events_are_canonical(
    both_sides: Floor,
) -> None:
    f = both_sides
    f.licence(units=5, sublicensable=True)
    f.place(ISSUER, "sell", 500, 100)
    f.place(ALICE, "buy", 505, 60)
    f.place(BOB, "buy", 495, 30)
    f.place(ALICE, "buy", 495, 20)
    f.run(BOB, REDUCE, order_id="O000003", new_quantity=20)
    f.place(OWNER, "sell", 50_000, 3, symbol=LICENCE)
    f.place(ALICE, "buy", 50_000, 2, symbol=LICENCE)
    f.place(ALICE, "sell", 60_000, 1, symbol=LICENCE)
    f.run(OPERATOR, HALT, symbol=TOKEN, reason="Pause.")
    canonical_json(f.events)  # every event is plain JSON the log can hash

    market = f.market
    rebuilt = Market.restore(
        products=[product_view(p) for p in market.products.values()],
        balances=market.ledger.balance_rows(),
        holds=market.ledger.hold_rows(),
        orders=[order_view(o) for o in reversed(market.orders.values())],
        licences=[licence_view(lic) for lic in market.licences.by_id.values()],
        counters=market.snapshot()["counters"],
    )
    assert rebuilt.snapshot() == market.snapshot()
    assert rebuilt.invariants() == []
    # And it goes on exactly as the original would.
    for who, contract, body in [
        (OPERATOR, RESUME, {"symbol": TOKEN}),
        (ISSUER, PLACE, order_body("sell", 495, 50)),
    ]:
        typed = msgspec.convert(body, CONTRACT_BODIES[contract])
        expected = f.run(who, contract, **body)
        got = apply_market(rebuilt, contract, who, ROLES_OF[who], typed, f.now, f.desk.registry)
        assert got == expected


# ---- random command sequences ----------------------------------------------------------

TRADERS = (ALICE, BOB, CAROL, ISSUER, OWNER)
FUNDING = 5_000_000
SYMBOLS = (TOKEN, LICENCE)
# Narrow price grids, so that orders cross often: (lowest, tick, steps).
GRID = {TOKEN: (100, 5, 8), LICENCE: (10_000, 100, 8)}
LOTS = {TOKEN: 10, LICENCE: 1}


class MarketMachine(RuleBasedStateMachine):
    """Random commands; the invariants and conservation of cash and units after each one."""

    def __init__(self) -> None:
        super().__init__()
        self.floor = f = Floor()
        self.commands: list[tuple[str, str, dict[str, Any], datetime]] = []
        self.deposited = 0
        self.minted = {TOKEN: 0, LICENCE: 0}
        self.burnt = 0
        f.token(tick_size=5, lot_size=10, min_price=100, max_price=1_000)
        f.licence(units=0, sublicensable=True, duration_days=20)
        self.setup_events = len(f.events)
        self.act(ISSUER, MINT, symbol=TOKEN, quantity=2_000)
        self.act(OWNER, ISSUE_LICENCES, symbol=LICENCE, quantity=40)
        for who in TRADERS:
            self.act(OPERATOR, DEPOSIT, participant_id=who, amount=FUNDING)
        # Everyone starts with some units of both, so that sells are not mostly refused.
        self.act(ISSUER, PLACE, **order_body("sell", 100, 600, client_order_ref="seed"))
        self.act(OWNER, PLACE, **order_body("sell", 10_000, 12, symbol=LICENCE))
        for who in (ALICE, BOB, CAROL):
            self.act(who, PLACE, **order_body("buy", 100, 200, order_type="ioc"))
            self.act(who, PLACE, **order_body("buy", 10_000, 4, order_type="ioc", symbol=LICENCE))
        # And a few resting orders on both sides to trade against.
        self.act(ISSUER, PLACE, **order_body("sell", 125, 200))
        self.act(ISSUER, PLACE, **order_body("sell", 135, 200))
        self.act(ALICE, PLACE, **order_body("buy", 110, 100))
        self.act(OWNER, PLACE, **order_body("sell", 10_500, 10, symbol=LICENCE))
        self.act(BOB, PLACE, **order_body("buy", 10_200, 2, symbol=LICENCE))

    def act(self, who: str, contract: str, **body: Any) -> Events | None:
        """Run a command; a refusal must change nothing. Keep every command for the replay."""
        self.commands.append((who, contract, body, self.floor.now))
        before = self.floor.market.snapshot()
        try:
            events = self.floor.run(who, contract, **body)
        except DomainError:
            assert self.floor.market.snapshot() == before
            return None
        for event in events:
            if event["type"] == "cash.deposited":
                self.deposited += event["amount"]
            elif event["type"] == "cash.withdrawn":
                self.deposited -= event["amount"]
            elif event["type"] in ("units.minted", "licences.issued"):
                self.minted[event["symbol"]] += event["quantity"]
            elif event["type"] == "units.consumed":
                self.burnt += event["quantity"]
        return events

    def _open(self, data: st.DataObject) -> str | None:
        orders = sorted(self.floor.market.orders)
        return data.draw(st.sampled_from(orders)) if orders else None

    @rule(
        who=st.sampled_from(TRADERS),
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from(("buy", "sell")),
        order_type=st.sampled_from(("limit", "limit", "market", "ioc", "fok", "post_only")),
        step=st.integers(0, 8),
        lots=st.integers(1, 6),
        stp=st.sampled_from((None, "cancel_newest", "cancel_oldest", "cancel_both")),
    )
    def place(
        self,
        who: str,
        symbol: str,
        side: str,
        order_type: str,
        step: int,
        lots: int,
        stp: str | None,
    ) -> None:
        low, tick, _ = GRID[symbol]
        self.act(
            who,
            PLACE,
            client_order_ref=f"r{len(self.commands)}",
            symbol=symbol,
            side=side,
            order_type=order_type,
            price=low + step * tick,
            quantity=lots * LOTS[symbol],
            stp=stp,
        )

    @rule(
        who=st.sampled_from(TRADERS),
        symbol=st.sampled_from(SYMBOLS),
        order_type=st.sampled_from(("limit", "market", "ioc", "fok")),
        lots=st.integers(1, 8),
        stp=st.sampled_from((None, "cancel_newest", "cancel_oldest", "cancel_both")),
        beyond=st.integers(0, 2),
        buy=st.booleans(),
    )
    def take(
        self,
        who: str,
        symbol: str,
        order_type: str,
        lots: int,
        stp: str | None,
        beyond: int,
        buy: bool,
    ) -> None:
        """An order at (or past) the best opposite price: it trades unless something stops it."""
        book = self.floor.market.books[symbol]
        low, tick, _ = GRID[symbol]
        bid, ask = book.best_bid(), book.best_ask()
        if ask is not None and (bid is None or buy):
            side, price = "buy", ask + beyond * tick
        elif bid is not None:
            side, price = "sell", max(low, bid - beyond * tick)
        else:
            return
        self.act(
            who,
            PLACE,
            client_order_ref="take",
            symbol=symbol,
            side=side,
            order_type=order_type,
            price=price,
            quantity=lots * LOTS[symbol],
            stp=stp,
        )

    @rule(data=st.data(), by_owner=st.booleans())
    def cancel(self, data: st.DataObject, by_owner: bool) -> None:
        order_id = self._open(data)
        if order_id is not None:
            owner = self.floor.market.orders[order_id].owner
            who = owner if by_owner else data.draw(st.sampled_from(TRADERS))
            events = self.act(who, CANCEL, order_id=order_id)
            assert (events is not None) == (who == owner)

    @rule(data=st.data())
    def reduce(self, data: st.DataObject) -> None:
        order_id = self._open(data)
        if order_id is not None:
            order = self.floor.market.orders[order_id]
            lot = LOTS[order.symbol]
            new = data.draw(st.integers(0, order.remaining // lot)) * lot
            self.act(order.owner, REDUCE, order_id=order_id, new_quantity=new)

    @rule(who=st.sampled_from(TRADERS), amount=st.integers(1, 300_000), out=st.booleans())
    def move_cash(self, who: str, amount: int, out: bool) -> None:
        self.act(OPERATOR, WITHDRAW if out else DEPOSIT, participant_id=who, amount=amount)

    @rule(holder=st.sampled_from(TRADERS), units=st.integers(1, 10))
    def consume(self, holder: str, units: int) -> None:
        self.act(ISSUER, CONSUME, symbol=TOKEN, holder=holder, units=units)

    @rule(
        symbol=st.sampled_from(SYMBOLS),
        who=st.sampled_from((OPERATOR, REGULATOR)),
        dice=st.integers(0, 3),
    )
    def halt_or_resume(self, symbol: str, who: str, dice: int) -> None:
        """Halts are rarer than resumes, so that the books are mostly open."""
        if self.floor.market.products[symbol].status == "halted":
            self.act(who, RESUME, symbol=symbol)
        elif dice == 0:
            self.act(who, HALT, symbol=symbol, reason="Volatility.")

    @rule(hours=st.integers(1, 96))
    def time_passes(self, hours: int) -> None:
        self.floor.now += timedelta(hours=hours)

    @invariant()
    def sound_and_conserved(self) -> None:
        market = self.floor.market
        assert market.invariants() == []
        ledger = market.ledger

        def inside(asset: str) -> int:
            """All of ``asset`` in participants' accounts (available and held) and in fees."""
            balances = [ledger.available_balances(), ledger.held_balances()]
            return sum(
                amount
                for buckets in balances
                for (account, name), amount in buckets.items()
                if name == asset and account not in (BANK, ISSUANCE)
            )

        # Cash only enters and leaves through the bank: trades and fees move it around.
        assert inside(CASH) == self.deposited
        assert ledger.available(FEES, CASH) >= 0
        assert inside(TOKEN) == self.minted[TOKEN] - self.burnt
        assert inside(LICENCE) == self.minted[LICENCE]

    def teardown(self) -> None:
        """The same commands at the same times give the same events, byte for byte."""
        replay = Floor()
        replay.token(tick_size=5, lot_size=10, min_price=100, max_price=1_000)
        replay.licence(units=0, sublicensable=True, duration_days=20)
        replay.events = []
        for who, contract, body, moment in self.commands:
            replay.now = moment
            with contextlib.suppress(DomainError):
                replay.run(who, contract, **body)
        original = self.floor.events[self.setup_events :]
        assert canonical_json(replay.events) == canonical_json(original)
        assert replay.market.snapshot() == self.floor.market.snapshot()


MarketMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMarketMachine = MarketMachine.TestCase
