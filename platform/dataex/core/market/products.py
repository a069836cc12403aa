"""Products on the market: what is traded, how an order on it must look, and its status.

Why it looks the way it does:

- Data and rules only; the sequencer keeps the products. There is no clock:
  token validity is judged at a ``now`` the caller passes (the command's time,
  recorded in the log), so a replay gives the same answers.
- Every refusal has its own slug, so a client can tell a halted product (come
  back later) from a pending one (not yet), a delisted one (never) and an
  unknown symbol.
- Status: pending --approve (operator)--> listed --halt (operator, regulator)-->
  halted --resume (operator, regulator)--> listed; delist (operator) from any of
  them, and delisted is final. An action must change the status (halting a
  halted product is refused), so every accepted command in the log did something.
- Prices are integers in fen per unit and quantities whole units. The band's
  edges lie on the tick grid. A market order's ``price`` is its worst-price
  protection and obeys the same tick and band rules: no resting order lies
  outside the band, so a protection outside it could never mean anything more.
- Fees are basis points (see ``dataex.core.market.fees`` for the rounding rule).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from dataex.core.documents.errors import DomainError
from dataex.core.documents.timefmt import format_utc
from dataex.core.market.fees import MAX_FEE_BPS
from dataex.core.market.ledger import CASH
from dataex.core.market.licence_templates import (
    DELIVERIES,
    EXCLUSIVITIES,
    LicenceTemplate,
    template_document,
)
from dataex.core.market.matching import BUY, ORDER_TYPES, SELL, InvalidOrder

DATA_LICENCE: Final = "data_licence"
TOKEN: Final = "token"
KINDS: Final = frozenset({DATA_LICENCE, TOKEN})

PENDING: Final = "pending"
LISTED: Final = "listed"
HALTED: Final = "halted"
DELISTED: Final = "delisted"
STATUSES: Final = frozenset({PENDING, LISTED, HALTED, DELISTED})

APPROVE: Final = "approve"
HALT: Final = "halt"
RESUME: Final = "resume"
DELIST: Final = "delist"
# (status, action) -> the status it leads to; anything absent is refused.
TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    (PENDING, APPROVE): LISTED,
    (LISTED, HALT): HALTED,
    (HALTED, RESUME): LISTED,
    (PENDING, DELIST): DELISTED,
    (LISTED, DELIST): DELISTED,
    (HALTED, DELIST): DELISTED,
}
# The roles that may take each action.
ACTION_ROLES: Final[dict[str, frozenset[str]]] = {
    APPROVE: frozenset({"operator"}),
    HALT: frozenset({"operator", "regulator"}),
    RESUME: frozenset({"operator", "regulator"}),
    DELIST: frozenset({"operator"}),
}


SYMBOL_PATTERN: Final = re.compile(r"[A-Z][A-Z0-9._-]{1,31}")


class InvalidProduct(DomainError):
    status = 422
    slug = "invalid-product"
    title = "The product definition is not valid"


class UnknownProduct(DomainError):
    status = 404
    slug = "unknown-product"
    title = "No product has this symbol"


class ProductNotListed(DomainError):
    status = 409
    slug = "product-not-listed"
    title = "The product is awaiting approval and does not trade yet"


class ProductHalted(DomainError):
    status = 409
    slug = "product-halted"
    title = "Trading in the product is halted"


class ProductDelisted(DomainError):
    status = 409
    slug = "product-delisted"
    title = "The product is delisted and trades no more"


class ProductTransitionRefused(DomainError):
    status = 409
    slug = "product-transition-refused"
    title = "The action does not fit the product's status"


class ProductActionForbidden(DomainError):
    status = 403
    slug = "product-action-forbidden"
    title = "The signer's roles may not take this action on a product"


class PriceOffTick(DomainError):
    status = 422
    slug = "price-off-tick"
    title = "The price is not a multiple of the product's tick size"


class QuantityOffLot(DomainError):
    status = 422
    slug = "quantity-off-lot"
    title = "The quantity is not a multiple of the product's lot size"


class PriceOutsideBand(DomainError):
    status = 422
    slug = "price-outside-band"
    title = "The price is outside the product's price band"


class TokenUnitsExpired(DomainError):
    status = 409
    slug = "token-units-expired"
    title = "The token product's validity has ended: its units cannot trade"


class ResaleNotAllowed(DomainError):
    status = 403
    slug = "resale-not-sublicensable"
    title = "The licence is not sublicensable: only its issuer may sell it"


def _text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidProduct(f"{name} must be a non-empty string, got {value!r}")


def _int(name: str, value: object, low: int, high: int | None = None) -> None:
    if type(value) is not int or value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidProduct(f"{name} must be an integer {bound}, got {value!r}")


def _one_of(name: str, value: object, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise InvalidProduct(f"{name} must be one of {sorted(allowed)}, got {value!r}")


def _aware(name: str, value: object) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidProduct(f"{name} must be a datetime with a time zone, got {value!r}")


@dataclass(frozen=True, slots=True)
class TokenDetails:
    """An AI-token product: units of a model's tokens, usable within a validity period."""

    model_id: str
    unit_label: str  # e.g. "1M input tokens"
    valid_from: datetime
    valid_until: datetime  # exclusive: from this instant the units neither trade nor count

    def __post_init__(self) -> None:
        _text("model_id", self.model_id)
        _text("unit_label", self.unit_label)
        _aware("valid_from", self.valid_from)
        _aware("valid_until", self.valid_until)
        if self.valid_from >= self.valid_until:
            raise InvalidProduct("valid_from must be before valid_until")


@dataclass(frozen=True, slots=True)
class LicenceTerms:
    """The terms every licence sold from a data-licence product carries."""

    purpose: str
    scope: str
    duration_days: int
    territory: str
    exclusivity: str  # one of EXCLUSIVITIES
    sublicensable: bool
    delivery: str  # one of DELIVERIES

    def __post_init__(self) -> None:
        _text("purpose", self.purpose)
        _text("scope", self.scope)
        _int("duration_days", self.duration_days, 1)
        _text("territory", self.territory)
        _one_of("exclusivity", self.exclusivity, EXCLUSIVITIES)
        if type(self.sublicensable) is not bool:
            raise InvalidProduct(f"sublicensable must be true or false, got {self.sublicensable!r}")
        _one_of("delivery", self.delivery, DELIVERIES)


@dataclass(frozen=True, slots=True)
class DataLicenceDetails:
    """A data-licence product: licences of a certified data asset, under a template's terms.

    ``template`` is the product's own copy of its licence template, taken when it
    was listed (core/market/licence_templates.py): every licence is rendered from it.
    """

    certificate_number: str
    template: LicenceTemplate
    terms: LicenceTerms

    def __post_init__(self) -> None:
        _text("certificate_number", self.certificate_number)
        if not isinstance(self.template, LicenceTemplate):
            raise InvalidProduct("template must be a LicenceTemplate")
        if not isinstance(self.terms, LicenceTerms):
            raise InvalidProduct("terms must be LicenceTerms")

    @property
    def licence_template_id(self) -> str:
        """The template's id@version."""
        return self.template.ref


@dataclass(frozen=True, slots=True)
class Product:
    """One tradable product. Frozen: a status change makes a new value (``transition``)."""

    symbol: str
    kind: str
    issuer: str  # the participant who defined or listed it; only it mints units
    tick_size: int  # fen
    lot_size: int  # units
    min_price: int  # fen per unit, inclusive
    max_price: int  # fen per unit, inclusive
    maker_fee_bps: int
    taker_fee_bps: int
    details: TokenDetails | DataLicenceDetails = field(repr=False)
    status: str = PENDING

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not SYMBOL_PATTERN.fullmatch(self.symbol):
            raise InvalidProduct(
                f"symbol must be 2-32 of A-Z 0-9 . _ - starting with a letter, got {self.symbol!r}"
            )
        if self.symbol == CASH:
            raise InvalidProduct(f"{CASH} is the cash asset, not a product symbol")
        _one_of("kind", self.kind, KINDS)
        _text("issuer", self.issuer)
        _one_of("status", self.status, STATUSES)
        _int("tick_size", self.tick_size, 1)
        _int("lot_size", self.lot_size, 1)
        _int("min_price", self.min_price, 1)
        _int("max_price", self.max_price, self.min_price)
        if self.min_price % self.tick_size or self.max_price % self.tick_size:
            raise InvalidProduct("the price band's edges must be multiples of the tick size")
        _int("maker_fee_bps", self.maker_fee_bps, 0, MAX_FEE_BPS)
        _int("taker_fee_bps", self.taker_fee_bps, 0, MAX_FEE_BPS)
        wanted = TokenDetails if self.kind == TOKEN else DataLicenceDetails
        if not isinstance(self.details, wanted):
            raise InvalidProduct(f"a {self.kind} product needs {wanted.__name__}")


def transition(product: Product, action: str, roles: Collection[str]) -> Product:
    """The product after ``action`` by a participant holding ``roles``; refused if not allowed."""
    allowed = ACTION_ROLES.get(action)
    if allowed is None:
        raise ProductTransitionRefused(f"unknown product action {action!r}", action=action)
    if not allowed.intersection(roles):
        raise ProductActionForbidden(
            f"{action} needs one of the roles {sorted(allowed)}", action=action
        )
    target = TRANSITIONS.get((product.status, action))
    if target is None:
        raise ProductTransitionRefused(
            f"cannot {action} {product.symbol}: it is {product.status}",
            symbol=product.symbol,
            status=product.status,
            action=action,
        )
    return replace(product, status=target)


def units_tradable(product: Product, now: datetime) -> bool:
    """Whether the product's units may change hands at ``now``.

    Token units trade until their validity ends (also before it starts: buying
    ahead is allowed); expired units never trade. Data licences do not expire as
    units: each licence bought runs from its purchase.
    """
    if isinstance(product.details, TokenDetails):
        return now < product.details.valid_until
    return True


def validate_order(
    product: Product | None,
    side: str,
    price: int,
    quantity: int,
    order_type: str,
    *,
    now: datetime,
) -> None:
    """Refuse an order that cannot go to the book of ``product`` (None: unknown symbol).

    Checked in this order: the product exists and is listed, its units are
    tradable at ``now``, the order is well formed, then tick, lot and band.
    """
    if product is None:
        raise UnknownProduct("no product has this symbol")
    extra: dict[str, Any] = {"symbol": product.symbol}
    if product.status == PENDING:
        raise ProductNotListed(f"{product.symbol} is awaiting approval", **extra)
    if product.status == HALTED:
        raise ProductHalted(f"{product.symbol} is halted", **extra)
    if product.status == DELISTED:
        raise ProductDelisted(f"{product.symbol} is delisted", **extra)
    if not units_tradable(product, now):
        raise TokenUnitsExpired(f"{product.symbol}'s units expired", **extra)
    if side not in (BUY, SELL):
        raise InvalidOrder(f"side must be {BUY!r} or {SELL!r}", **extra)
    if order_type not in ORDER_TYPES:
        raise InvalidOrder(f"unknown order type {order_type!r}", **extra)
    if type(price) is not int or price <= 0:
        raise InvalidOrder("price must be a positive integer (fen per unit)", **extra)
    if type(quantity) is not int or quantity <= 0:
        raise InvalidOrder("quantity must be a positive integer (units)", **extra)
    if price % product.tick_size:
        raise PriceOffTick(
            f"price {price} is not a multiple of the tick size {product.tick_size}",
            tick_size=product.tick_size,
            **extra,
        )
    if quantity % product.lot_size:
        raise QuantityOffLot(
            f"quantity {quantity} is not a multiple of the lot size {product.lot_size}",
            lot_size=product.lot_size,
            **extra,
        )
    if not product.min_price <= price <= product.max_price:
        raise PriceOutsideBand(
            f"price {price} is outside {product.min_price}..{product.max_price}",
            min_price=product.min_price,
            max_price=product.max_price,
            **extra,
        )


def check_may_sell(product: Product, seller: str) -> None:
    """Licences that are not sublicensable are sold by their issuer only, never resold."""
    details = product.details
    if (
        isinstance(details, DataLicenceDetails)
        and not details.terms.sublicensable
        and seller != product.issuer
    ):
        raise ResaleNotAllowed(
            f"licences of {product.symbol} are not sublicensable", symbol=product.symbol
        )


def product_view(product: Product) -> dict[str, Any]:
    """The product as plain JSON types, for audit entries and API answers."""
    view: dict[str, Any] = {
        "symbol": product.symbol,
        "kind": product.kind,
        "issuer": product.issuer,
        "status": product.status,
        "tick_size": product.tick_size,
        "lot_size": product.lot_size,
        "min_price": product.min_price,
        "max_price": product.max_price,
        "maker_fee_bps": product.maker_fee_bps,
        "taker_fee_bps": product.taker_fee_bps,
    }
    details = product.details
    if isinstance(details, TokenDetails):
        view["token"] = {
            "model_id": details.model_id,
            "unit_label": details.unit_label,
            "valid_from": format_utc(details.valid_from),
            "valid_until": format_utc(details.valid_until),
        }
    else:
        t = details.terms
        view["data_licence"] = {
            "certificate_number": details.certificate_number,
            "licence_template_id": details.template.ref,
            "licence_template_hash": details.template.hash,
            "licence_template": template_document(details.template),
            "terms": {
                "purpose": t.purpose,
                "scope": t.scope,
                "duration_days": t.duration_days,
                "territory": t.territory,
                "exclusivity": t.exclusivity,
                "sublicensable": t.sublicensable,
                "delivery": t.delivery,
            },
        }
    return view
