"""The market's state: products, one order book each, the ledger, open orders, licences.

Why it looks the way it does:

- One handler per market contract (commands.py dispatches); each returns
  plain-dict events or raises a DomainError having changed nothing, so the
  sequencer can apply a batch and a refused command costs nothing to undo.
  Listings live in listings.py, orders in orders.py, licences in licences.py;
  this module holds the state, cash and units, the shared checks, the views
  and the invariants.
- Deterministic: ids come from counters (O000001 orders, T000001 trades,
  L000001 licences), time from the command (``now``), and nothing iterates an
  unordered collection into an event. The verifier replays the log through
  ``apply_market`` and must get the same events byte for byte.
- Every ledger movement's postings are inside the event that caused it
  (``postings``), so the store writes them with the entry and a verifier can
  re-add them without the engine.
- A book matches only while its product is listed (see listings.py):
  ``invariants`` checks the book's halted flag agrees with the status.
- Settings (the default fees) are fields, like the registry's notice period:
  the store sets them at start; every product records the fees it got.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dataex.core.market.book import MarketBook
from dataex.core.market.contracts import (
    DepositCash,
    IssueLicences,
    MintTokens,
    ReportConsumption,
    WithdrawCash,
)
from dataex.core.market.errors import (
    CertificateNotTradable,
    ExclusiveLicenceLimit,
    NotProductIssuer,
    UnknownParticipant,
    WrongProductKind,
)
from dataex.core.market.ledger import ISSUANCE, Ledger, hold_mismatches, invariant_violations
from dataex.core.market.licence_templates import LicenceTemplate
from dataex.core.market.licences import LicenceBook
from dataex.core.market.products import (
    DATA_LICENCE,
    DELISTED,
    LISTED,
    TOKEN,
    DataLicenceDetails,
    Product,
    ProductDelisted,
    TokenUnitsExpired,
    UnknownProduct,
    product_view,
    units_tradable,
)
from dataex.core.market.records import (
    OpenOrder,
    order_from_view,
    order_view,
    product_from_view,
    serial,
)
from dataex.core.registry.lifecycle import Registry

Event = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """Who acts, when, and the registry that vouches for certificates."""

    participant_id: str
    roles: frozenset[str]
    now: datetime
    registry: Registry | None = None
    admitted: Container[str] | None = None

    def require_registry(self) -> Registry:
        if self.registry is None:
            raise ValueError("data-licence actions need the registry")
        return self.registry


@dataclass
class Market:
    products: dict[str, Product] = field(default_factory=dict)
    books: dict[str, MarketBook] = field(default_factory=dict)
    ledger: Ledger = field(default_factory=Ledger)
    orders: dict[str, OpenOrder] = field(default_factory=dict)  # resting orders only
    licences: LicenceBook = field(default_factory=LicenceBook)
    order_seq: int = 0
    trade_seq: int = 0
    # Settings, not history: the store sets them from DATAEX_MAKER/TAKER_FEE_BPS.
    default_maker_fee_bps: int = 5
    default_taker_fee_bps: int = 10
    # A setting too: the licence templates a listing may name, {id@version: template}
    # (dataex.config.licence_catalogue loads contracts/licences/). Products keep their own copy.
    licence_templates: dict[str, LicenceTemplate] = field(default_factory=dict)

    # ---- cash ----------------------------------------------------------------------

    def deposit(self, actor: Actor, body: DepositCash) -> list[Event]:
        _admitted(actor, body.participant_id)
        postings = self.ledger.deposit(body.participant_id, body.amount)
        return [_cash_event("cash.deposited", body.participant_id, body.amount, body, postings)]

    def withdraw(self, actor: Actor, body: WithdrawCash) -> list[Event]:
        _admitted(actor, body.participant_id)
        postings = self.ledger.withdraw(body.participant_id, body.amount)
        return [_cash_event("cash.withdrawn", body.participant_id, body.amount, body, postings)]

    # ---- units ---------------------------------------------------------------------

    def mint(self, actor: Actor, body: MintTokens) -> list[Event]:
        product = self._issuers_product(actor, body.symbol, TOKEN)
        if not units_tradable(product, actor.now):
            raise TokenUnitsExpired(f"{product.symbol}'s validity has ended", symbol=body.symbol)
        postings = self.ledger.mint(actor.participant_id, body.symbol, body.quantity)
        return [_units_event("units.minted", actor.participant_id, body.symbol, body, postings)]

    def issue_licences(self, actor: Actor, body: IssueLicences) -> list[Event]:
        product = self._issuers_product(actor, body.symbol, DATA_LICENCE)
        self.check_certificate(product, actor)
        assert isinstance(product.details, DataLicenceDetails)
        issued = -self.ledger.available(ISSUANCE, body.symbol)
        if product.details.terms.exclusivity != "non_exclusive" and issued + body.quantity > 1:
            raise ExclusiveLicenceLimit(
                f"{body.symbol} is {product.details.terms.exclusivity}; {issued} issued already",
                symbol=body.symbol,
                issued=issued,
            )
        postings = self.ledger.mint(actor.participant_id, body.symbol, body.quantity)
        return [_units_event("licences.issued", actor.participant_id, body.symbol, body, postings)]

    def consume(self, actor: Actor, body: ReportConsumption) -> list[Event]:
        """Usage is reported after the fact, so it burns units even past their validity."""
        self._issuers_product(actor, body.symbol, TOKEN, allow_delisted=True)
        _admitted(actor, body.holder)
        postings = self.ledger.burn(body.holder, body.symbol, body.units)
        return [
            {
                "type": "units.consumed",
                "symbol": body.symbol,
                "holder": body.holder,
                "quantity": body.units,
                "reported_by": actor.participant_id,
                "usage_reference": body.usage_reference,
                "postings": postings,
            }
        ]

    # ---- checks shared with orders.py ------------------------------------------

    def check_certificate(self, product: Product, actor: Actor) -> None:
        """A data-licence product trades and issues only while its certificate allows listing."""
        assert isinstance(product.details, DataLicenceDetails)
        registry = actor.require_registry()
        why = registry.why_not_listable(product.details.certificate_number, actor.now)
        if why is not None:
            raise CertificateNotTradable(why, symbol=product.symbol)

    # ---- views and invariants ------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A plain, comparable picture of everything the market holds."""
        return {
            "products": {s: product_view(p) for s, p in sorted(self.products.items())},
            "books": {s: b.snapshot() for s, b in sorted(self.books.items())},
            "ledger": self.ledger.snapshot(),
            "orders": {o: order_view(self.orders[o]) for o in sorted(self.orders, key=serial)},
            "licences": self.licences.snapshot(),
            "counters": {
                "orders": self.order_seq,
                "trades": self.trade_seq,
                "licences": self.licences.seq,
            },
        }

    def invariants(self) -> list[str]:
        """Every broken market invariant, in words; empty when the market is sound."""
        problems = invariant_violations(self.ledger)
        needs = {o.order_id: (o.owner, o.asset, o.needs()) for o in self.orders.values()}
        problems += hold_mismatches(self.ledger, needs)
        for symbol, book in sorted(self.books.items()):
            if book.halted != (self.products[symbol].status != LISTED):
                problems.append(f"{symbol}'s book halted={book.halted} but it is not in step")
            resting = [o for o in self.orders.values() if o.symbol == symbol]
            if len(book) != len(resting):
                problems.append(
                    f"{symbol}'s book rests {len(book)} orders, the market {len(resting)}"
                )
            for o in resting:
                if book.order(o.order_id) != (o.order_id, o.owner, o.side, o.price, o.remaining):
                    problems.append(f"order {o.order_id} differs between book and market")
        for _, product in sorted(self.products.items()):
            if product.kind == DATA_LICENCE:
                problems += self._licence_mismatches(product)
        return problems

    @classmethod
    def restore(
        cls,
        products: list[dict[str, Any]],
        balances: Iterable[tuple[str, str, int, int]],
        holds: Iterable[tuple[Any, str, str, int]],
        orders: list[dict[str, Any]],
        licences: list[dict[str, Any]],
        counters: dict[str, int],
        default_maker_fee_bps: int = 5,
        default_taker_fee_bps: int = 10,
        licence_templates: dict[str, LicenceTemplate] | None = None,
    ) -> Market:
        """Rebuild from stored records: product views, the ledger's current balances and
        holds (``Ledger.restore``: never its history, so start-up does not grow with it),
        open order views, licence views and the id counters (snapshot()["counters"])."""
        market = cls(
            ledger=Ledger.restore(balances, holds),
            order_seq=counters["orders"],
            trade_seq=counters["trades"],
            default_maker_fee_bps=default_maker_fee_bps,
            default_taker_fee_bps=default_taker_fee_bps,
            licence_templates=dict(licence_templates or {}),
        )
        market.licences = LicenceBook.restore(licences, counters["licences"])
        for view in products:
            product = product_from_view(view)
            market.products[product.symbol] = product
            market.books[product.symbol] = book = MarketBook()
            book.halted = product.status != LISTED
        for view in sorted(orders, key=lambda v: serial(v["order_id"])):  # time priority
            order = order_from_view(view)
            market.orders[order.order_id] = order
            market.books[order.symbol].restore(
                order.order_id, order.owner, order.side, order.price, order.remaining
            )
        return market

    # ---- helpers -------------------------------------------------------------------

    def product(self, symbol: str) -> Product:
        product = self.products.get(symbol)
        if product is None:
            raise UnknownProduct(f"no product {symbol}", symbol=symbol)
        return product

    def _issuers_product(
        self, actor: Actor, symbol: str, kind: str, *, allow_delisted: bool = False
    ) -> Product:
        product = self.product(symbol)
        if product.kind != kind:
            raise WrongProductKind(f"{symbol} is a {product.kind} product", symbol=symbol)
        if product.issuer != actor.participant_id:
            raise NotProductIssuer(f"{symbol} is {product.issuer}'s product", symbol=symbol)
        if product.status == DELISTED and not allow_delisted:
            raise ProductDelisted(f"{symbol} is delisted", symbol=symbol)
        return product

    def _licence_mismatches(self, product: Product) -> list[str]:
        """Outside the issuer, licence units held equal active licences (licences.py)."""
        symbol = product.symbol
        units: dict[str, int] = {}
        for (account, asset), amount in self.ledger.available_balances().items():
            if asset == symbol:
                units[account] = units.get(account, 0) + amount
        for (account, asset), amount in self.ledger.held_balances().items():
            if asset == symbol:
                units[account] = units.get(account, 0) + amount
        holders = {h for (s, h) in self.licences.active if s == symbol} | set(units)
        problems = []
        for holder in sorted(holders - {product.issuer, ISSUANCE}):
            count = self.licences.active_count(symbol, holder)
            if units.get(holder, 0) != count:
                problems.append(
                    f"{holder} holds {units.get(holder, 0)} {symbol} units but {count} licences"
                )
        return problems


def _admitted(actor: Actor, participant_id: str) -> None:
    if actor.admitted is not None and participant_id not in actor.admitted:
        raise UnknownParticipant(f"{participant_id} is not an admitted participant")


def _cash_event(
    kind: str, owner: str, amount: int, body: DepositCash | WithdrawCash, postings: list[Any]
) -> Event:
    return {
        "type": kind,
        "participant_id": owner,
        "amount": amount,
        "bank_reference": body.bank_reference,
        "postings": postings,
    }


def _units_event(
    kind: str, owner: str, symbol: str, body: MintTokens | IssueLicences, postings: list[Any]
) -> Event:
    return {
        "type": kind,
        "symbol": symbol,
        "issuer": owner,
        "quantity": body.quantity,
        "postings": postings,
    }
