"""Placing, cancelling and reducing orders: the book, the ledger and licences in one step.

A command either returns all its events or raises having changed nothing. The
steps are ordered so that every fallible one runs before anything changes, or
is undone if it fails:

1. every rule is checked (validate_order, resale, certificate, licence cover);
2. ``ledger.hold`` reserves what the order could spend (refused if short);
3. ``book.submit`` matches; if it refuses (post-only would cross) the hold is
   released again, which restores the ledger exactly;
4. the engine's events are settled one by one. Nothing here can fail: a fill
   spends at most what the buy order holds (core/market/fees.py), the seller's held
   units cover its remaining quantity, and no balance can leave ±(2^53 − 1)
   because the bank and issuance counter-accounts, which mirror all cash and
   units in circulation, are kept inside that range by the ledger.

Every movement's postings travel in its event, so the store persists them and
a verifier can add them up again without the engine.
"""

from __future__ import annotations

from typing import Any

from dataex.core.documents.errors import DomainError
from dataex.core.documents.timefmt import format_utc
from dataex.core.market import fees
from dataex.core.market.contracts import CancelOrder, PlaceOrder, ReduceOrder
from dataex.core.market.errors import NotOrderOwner
from dataex.core.market.matching import (
    BUY,
    CANCELLED,
    DEFAULT_STP,
    EXPIRED,
    RESTED,
    SELL,
    TRADE,
    OrderNotFound,
)
from dataex.core.market.matching import Event as EngineEvent
from dataex.core.market.products import (
    DataLicenceDetails,
    Product,
    QuantityOffLot,
    check_may_sell,
    validate_order,
)
from dataex.core.market.records import OpenOrder, serial
from dataex.core.market.state import Actor, Market

Event = dict[str, Any]


def place(market: Market, actor: Actor, body: PlaceOrder) -> list[Event]:
    product = market.products.get(body.symbol)
    validate_order(product, body.side, body.price, body.quantity, body.order_type, now=actor.now)
    assert product is not None
    owner = actor.participant_id
    if isinstance(product.details, DataLicenceDetails):
        market.check_certificate(product, actor)
    if body.side == SELL:
        check_may_sell(product, owner)
        units = (
            market.ledger.available(owner, product.symbol),
            market.ledger.held(owner, product.symbol),
        )
        market.licences.check_resale_cover(product, owner, units, body.quantity, actor.now)

    order_id = f"O{market.order_seq + 1:06d}"
    buy = body.side == BUY
    bps = fees.hold_bps(product.maker_fee_bps, product.taker_fee_bps) if buy else 0
    order = OpenOrder(
        order_id=order_id,
        owner=owner,
        symbol=product.symbol,
        side=body.side,
        order_type=body.order_type,
        price=body.price,
        quantity=body.quantity,
        remaining=body.quantity,
        hold_bps=bps,
        fee_credit=0,
        stp=body.stp or DEFAULT_STP,
        client_order_ref=body.client_order_ref,
        placed_at=actor.now,
    )
    held_amount = order.needs()
    hold_postings = market.ledger.hold(order_id, owner, order.asset, held_amount)
    try:
        engine_events = market.books[product.symbol].submit(
            order_id, owner, body.side, body.order_type, body.price, body.quantity, order.stp
        )
    except DomainError:
        market.ledger.release(order_id)
        raise
    market.order_seq += 1

    events: list[Event] = [
        {
            "type": "order.accepted",
            **_order_fields(order),
            "asset": order.asset,
            "held": held_amount,
            "postings": hold_postings,
        }
    ]
    for event in engine_events[1:]:  # [0] is the engine's own "accepted"
        kind = event[0]
        if kind == TRADE:
            events += _settle(market, product, order, event, actor)
        elif kind == RESTED:
            market.orders[order_id] = order
            events.append(
                {
                    "type": "order.rested",
                    "order_id": order_id,
                    "symbol": product.symbol,
                    "side": body.side,
                    "price": body.price,
                    "remaining": event[5],
                }
            )
        elif kind in (CANCELLED, EXPIRED):
            ended = "order.cancelled" if kind == CANCELLED else "order.expired"
            events.append(end_order(market, product.symbol, event, ended))
    return events


def cancel(market: Market, actor: Actor, body: CancelOrder) -> list[Event]:
    order = _own_order(market, actor, body.order_id)
    (event,) = market.books[order.symbol].cancel(order.order_id)
    return [end_order(market, order.symbol, event, "order.cancelled")]



def cancel_all_of(market: Market, owner: str, reason: str) -> list[Event]:
    """Every resting order of ``owner`` ends, oldest first, its hold released (a freeze)."""
    ids = sorted((o for o, x in market.orders.items() if x.owner == owner), key=serial)
    events = []
    for order_id in ids:
        symbol = market.orders[order_id].symbol
        (event,) = market.books[symbol].cancel(order_id)
        events.append(end_order(market, symbol, event, "order.cancelled", reason))
    return events

def reduce(market: Market, actor: Actor, body: ReduceOrder) -> list[Event]:
    """Lower a resting order's quantity in place and release what it no longer needs."""
    order = _own_order(market, actor, body.order_id)
    product = market.products[order.symbol]
    if body.new_quantity % product.lot_size:
        raise QuantityOffLot(
            f"quantity {body.new_quantity} is not a multiple of the lot size {product.lot_size}",
            lot_size=product.lot_size,
            symbol=product.symbol,
        )
    (event,) = market.books[order.symbol].reduce(order.order_id, body.new_quantity)
    if event[0] == CANCELLED:  # reduced to zero
        return [end_order(market, order.symbol, event, "order.cancelled")]
    before = order.needs()
    previous, order.remaining = order.remaining, body.new_quantity
    released = before - order.needs()
    return [
        {
            "type": "order.reduced",
            "order_id": order.order_id,
            "owner": order.owner,
            "symbol": order.symbol,
            "previous_quantity": previous,
            "remaining": order.remaining,
            "released": released,
            "postings": market.ledger.release(order.order_id, released),
        }
    ]


# ---------------------------------------------------------------------- internals


def _own_order(market: Market, actor: Actor, order_id: str) -> OpenOrder:
    order = market.orders.get(order_id)
    if order is None:
        raise OrderNotFound(f"order {order_id} is not resting in any book", order_id=order_id)
    if order.owner != actor.participant_id:
        raise NotOrderOwner(f"order {order_id} is not {actor.participant_id}'s", order_id=order_id)
    return order


def _order_fields(order: OpenOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "owner": order.owner,
        "symbol": order.symbol,
        "side": order.side,
        "order_type": order.order_type,
        "price": order.price,
        "quantity": order.quantity,
        "stp": order.stp,
        "hold_bps": order.hold_bps,
        "client_order_ref": order.client_order_ref,
        "placed_at": format_utc(order.placed_at),
    }


def end_order(
    market: Market, symbol: str, event: EngineEvent, kind: str, reason: str | None = None
) -> Event:
    """An order's remainder leaves (cancel, self-trade prevention, expiry): free its hold.

    ``reason`` overrides the engine's (a delisting). A remainder always holds
    something (a buy its limit × quantity at least, a sell its units), so the
    release is never empty.
    """
    _, order_id, owner, side, price, quantity, engine_reason = event
    released = market.ledger.hold_of(order_id)
    assert released is not None
    market.orders.pop(order_id, None)
    return {
        "type": kind,
        "order_id": order_id,
        "owner": owner,
        "symbol": symbol,
        "side": side,
        "price": price,
        "quantity": quantity,
        "reason": reason or engine_reason,
        "asset": released.asset,
        "released": released.amount,
        "postings": market.ledger.release(order_id),
    }


def _settle(
    market: Market, product: Product, taker: OpenOrder, event: EngineEvent, actor: Actor
) -> list[Event]:
    """One fill, delivery versus payment: fees, cash, units and licences move together."""
    _, maker_id, taker_id, price, quantity, _, _, taker_side = event
    maker = market.orders[maker_id]
    if taker_side == BUY:
        buy, sell = taker, maker
        buyer_bps, seller_bps = product.taker_fee_bps, product.maker_fee_bps
    else:
        buy, sell = maker, taker
        buyer_bps, seller_bps = product.maker_fee_bps, product.taker_fee_bps
    charges = fees.fill_charges(
        price=price,
        quantity=quantity,
        buyer_limit=buy.price,
        buyer_remaining=buy.remaining,
        buyer_hold_bps=buy.hold_bps,
        buyer_bps=buyer_bps,
        buyer_credit=buy.fee_credit,
        seller_bps=seller_bps,
        seller_credit=sell.fee_credit,
    )
    postings = market.ledger.settle(
        buy_order_id=buy.order_id,
        sell_order_id=sell.order_id,
        price=price,
        quantity=quantity,
        buyer_fee=charges.buyer_fee,
        seller_fee=charges.seller_fee,
        buyer_release=charges.buyer_release,
    )
    buy.remaining -= quantity
    sell.remaining -= quantity
    buy.fee_credit, sell.fee_credit = charges.buyer_credit, charges.seller_credit
    if not maker.remaining:
        del market.orders[maker_id]
    market.trade_seq += 1
    trade_id = f"T{market.trade_seq:06d}"
    events: list[Event] = [
        {
            "type": "trade",
            "trade_id": trade_id,
            "symbol": product.symbol,
            "price": price,
            "quantity": quantity,
            "notional": charges.notional,
            "maker_order_id": maker_id,
            "taker_order_id": taker_id,
            "taker_side": taker_side,
            "buy_order_id": buy.order_id,
            "sell_order_id": sell.order_id,
            "buyer": buy.owner,
            "seller": sell.owner,
            "buyer_fee": charges.buyer_fee,
            "seller_fee": charges.seller_fee,
            "buyer_release": charges.buyer_release,
            "buy_remaining": buy.remaining,
            "sell_remaining": sell.remaining,
            "postings": postings,
        }
    ]
    if isinstance(product.details, DataLicenceDetails):
        events += market.licences.grant(
            product,
            trade_id,
            price,
            quantity,
            buy.owner,
            sell.owner,
            actor.now,
            actor.require_registry(),
        )
    return events
