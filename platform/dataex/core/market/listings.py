"""Defining, listing, approving, halting, resuming and delisting products.

Status rules and who may take each action live in core/market/products.py
(``transition``); here they meet the market: a book is created halted with its
product and matches only while the product is listed, so the engine itself
refuses to trade a pending, halted or delisted product. A data-licence product
is listed only by the holder of a listable certificate (valid, not pledged or
expired, under no open objection) that carries the product_operation right.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec

from dataex.core.documents.timefmt import parse_utc
from dataex.core.market import orders, products
from dataex.core.market.book import MarketBook
from dataex.core.market.contracts import (
    ApproveProduct,
    DefineTokenProduct,
    DelistProduct,
    HaltProduct,
    ListLicenceProduct,
    ResumeProduct,
)
from dataex.core.market.errors import ListingRefused, SymbolTaken
from dataex.core.market.licence_templates import (
    LicenceTemplateChanged,
    check_terms_fit,
    find_template,
)
from dataex.core.market.products import (
    DATA_LICENCE,
    PENDING,
    TOKEN,
    DataLicenceDetails,
    InvalidProduct,
    LicenceTerms,
    Product,
    TokenDetails,
    product_view,
    transition,
)
from dataex.core.market.records import serial
from dataex.core.market.state import Actor, Market

Event = dict[str, Any]
PRODUCT_OPERATION = "product_operation"


def define_token(market: Market, actor: Actor, body: DefineTokenProduct) -> list[Event]:
    details = TokenDetails(
        body.model_id, body.unit_label, parse_utc(body.valid_from), parse_utc(body.valid_until)
    )
    if details.valid_until <= actor.now:
        raise InvalidProduct("the product's validity has already ended")
    return _add(market, actor, body, TOKEN, details, body.maker_fee_bps, body.taker_fee_bps)


def list_licence(market: Market, actor: Actor, body: ListLicenceProduct) -> list[Event]:
    """Fees are the platform's defaults; the operator may set others when approving.

    The template must be in the platform's catalogue (and, when the listing pins
    ``licence_template_hash``, still have that hash); the terms must fit it, and
    the certificate must carry the rights its licences grant. The product keeps
    a copy of the template: its licences are rendered from that copy.
    """
    template = find_template(market.licence_templates, body.licence_template_id)
    if body.licence_template_hash is not None and body.licence_template_hash != template.hash:
        raise LicenceTemplateChanged(
            f"{template.ref} now has hash {template.hash}, not {body.licence_template_hash}",
            template=template.ref,
            hash=template.hash,
        )
    terms = LicenceTerms(**msgspec.structs.asdict(body.terms))
    check_terms_fit(template, terms)
    _check_listing(actor, body.certificate_number, template.rights)
    details = DataLicenceDetails(body.certificate_number, template, terms)
    return _add(market, actor, body, DATA_LICENCE, details, None, None)


def approve(market: Market, actor: Actor, body: ApproveProduct) -> list[Event]:
    product = transition(market.product(body.symbol), products.APPROVE, actor.roles)
    product = replace(
        product,
        maker_fee_bps=_pick(body.maker_fee_bps, product.maker_fee_bps),
        taker_fee_bps=_pick(body.taker_fee_bps, product.taker_fee_bps),
    )
    market.products[body.symbol] = product
    market.books[body.symbol].resume()
    return [{"type": "product.approved", "by": actor.participant_id, **product_view(product)}]


def halt(market: Market, actor: Actor, body: HaltProduct) -> list[Event]:
    product = transition(market.product(body.symbol), products.HALT, actor.roles)
    market.products[body.symbol] = product
    market.books[body.symbol].halt()
    return [_status_event("product.halted", actor, body.symbol, body.reason)]


def resume(market: Market, actor: Actor, body: ResumeProduct) -> list[Event]:
    product = transition(market.product(body.symbol), products.RESUME, actor.roles)
    market.products[body.symbol] = product
    market.books[body.symbol].resume()
    return [_status_event("product.resumed", actor, body.symbol, None)]


def delist(market: Market, actor: Actor, body: DelistProduct) -> list[Event]:
    """Final. Every open order ends (reason ``product_delisted``) and frees its hold."""
    product = transition(market.product(body.symbol), products.DELIST, actor.roles)
    market.products[body.symbol] = product
    book = market.books[body.symbol]
    book.halt()
    events = [_status_event("product.delisted", actor, body.symbol, body.reason)]
    ids = sorted((o for o, x in market.orders.items() if x.symbol == body.symbol), key=serial)
    for order_id in ids:
        (event,) = book.cancel(order_id)
        events.append(
            orders.end_order(
                market, body.symbol, event, "order.cancelled", "product_delisted"
            )
        )
    return events


def _check_listing(actor: Actor, number: str, granted: tuple[str, ...]) -> None:
    registry = actor.require_registry()
    why = registry.why_not_listable(number, actor.now)
    if why is not None:
        raise ListingRefused(why, certificate=number)
    cert = registry.certificates.by_number[number]
    if cert.holder != actor.participant_id:
        raise ListingRefused(f"{actor.participant_id} does not hold {number}", certificate=number)
    if PRODUCT_OPERATION not in cert.rights:
        raise ListingRefused(
            f"{number} does not carry the {PRODUCT_OPERATION} right", certificate=number
        )
    missing = sorted(set(granted) - set(cert.rights))
    if missing:
        raise ListingRefused(
            f"the template's licences grant {sorted(granted)}; {number} does not carry {missing}",
            certificate=number,
        )


def _add(
    market: Market,
    actor: Actor,
    body: DefineTokenProduct | ListLicenceProduct,
    kind: str,
    details: TokenDetails | DataLicenceDetails,
    maker_fee_bps: int | None,
    taker_fee_bps: int | None,
) -> list[Event]:
    if body.symbol in market.products:
        raise SymbolTaken(f"{body.symbol} is taken", symbol=body.symbol)
    product = Product(
        symbol=body.symbol,
        kind=kind,
        issuer=actor.participant_id,
        tick_size=body.tick_size,
        lot_size=body.lot_size,
        min_price=body.min_price,
        max_price=body.max_price,
        maker_fee_bps=_pick(maker_fee_bps, market.default_maker_fee_bps),
        taker_fee_bps=_pick(taker_fee_bps, market.default_taker_fee_bps),
        details=details,
        status=PENDING,
    )
    book = MarketBook()
    book.halt()
    market.products[body.symbol] = product
    market.books[body.symbol] = book
    return [{"type": "product.defined", **product_view(product)}]


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def _status_event(kind: str, actor: Actor, symbol: str, reason: str | None) -> Event:
    return {"type": kind, "symbol": symbol, "by": actor.participant_id, "reason": reason}
