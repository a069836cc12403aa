"""Write the market's tables in the batch's transaction.

Per event: every movement's postings (ledger_postings) and every trade (trades)
are appended, both insert-only like the log. Per batch: the rows of products,
orders and licences that the batch's events named are written once, from the
in-memory market as it stands after the whole batch (as the registry's records
are, registry_projection.py): a row new in this batch is inserted whole, an
older one updated. All through BatchWrites, so a batch of hundreds of orders
costs a few statements per table.

An order's row is written even when it never rested (an IOC that filled, a FOK
that could not): every accepted order has one, which gives the order counter
back on start (store/writer/loader.py) and a participant the history of its orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.signing import key_id, public_key_bytes
from dataex.core.documents.timefmt import parse_utc
from dataex.core.market.licence_signing import sign_licence
from dataex.core.market.products import product_view
from dataex.core.market.records import licence_view, order_view
from dataex.core.market.state import Market
from dataex.store.batch_writes import BatchWrites
from dataex.store.market.ledger import queue_ledger_writes
from dataex.store.tables import ledger_postings, licences, orders, products, trades

Event = dict[str, Any]

OPEN = "open"
FILLED = "filled"
CANCELLED = "cancelled"
EXPIRED = "expired"

MARKET_EVENT_TYPES = frozenset(
    {
        "cash.deposited",
        "cash.withdrawn",
        "units.minted",
        "licences.issued",
        "units.consumed",
        "product.defined",
        "product.approved",
        "product.halted",
        "product.resumed",
        "product.delisted",
        "order.accepted",
        "order.rested",
        "order.cancelled",
        "order.expired",
        "order.reduced",
        "trade",
        "licence.granted",
        "licence.ended",
    }
)


# Every order of a batch is placed at the batch's time: parse that string once.
_placed_at = lru_cache(maxsize=64)(parse_utc)


def is_market_event(event: Event) -> bool:
    return event["type"] in MARKET_EVENT_TYPES


class _Touched:
    """What one batch changed, keyed by id: new rows and changed older ones."""

    def __init__(self) -> None:
        self.new_orders: dict[str, dict[str, Any]] = {}
        self.changed_orders: dict[str, dict[str, Any]] = {}
        self.new_products: dict[str, int] = {}
        self.changed_products: dict[str, int] = {}
        self.new_licences: dict[str, int] = {}
        self.changed_licences: dict[str, int] = {}

    def order(self, order_id: str, seq: int, **values: Any) -> None:
        row = self.new_orders.get(order_id)
        if row is None:
            row = self.changed_orders.setdefault(order_id, {})
        row.update(values, updated_seq=seq)


def queue_market_writes(
    writes: BatchWrites,
    market: Market,
    batch: Iterable[tuple[list[Event], int]],
    now: datetime,
    licence_key: Ed25519PrivateKey | None = None,
) -> None:
    """``licence_key`` (the platform's log key) signs each new licence's document."""
    touched = _Touched()
    batch = list(batch)
    for events, seq in batch:
        for position, event in enumerate(events):
            if is_market_event(event):
                _one(writes, touched, event, seq, position, now)
    _write_rows(writes, market, touched, licence_key)
    queue_ledger_writes(writes, market.ledger, batch)  # balances for start-up (0007)


def _one(
    writes: BatchWrites, t: _Touched, e: Event, seq: int, position: int, now: datetime
) -> None:
    kind = e["type"]
    postings = e.get("postings")
    if postings:
        rows = []
        for i, p in enumerate(postings):  # a copy and three stores: cheaper than {**p}
            row = p.copy()
            row["seq"], row["movement"], row["position"] = seq, position, i
            rows.append(row)
        writes.insert_many(ledger_postings, rows)
    if kind == "product.defined":
        t.new_products[e["symbol"]] = seq
    elif kind.startswith("product."):
        t.changed_products[e["symbol"]] = seq
    elif kind == "order.accepted":
        t.new_orders[e["order_id"]] = {
            "order_id": e["order_id"],
            "owner": e["owner"],
            "symbol": e["symbol"],
            "side": e["side"],
            "order_type": e["order_type"],
            "price": e["price"],
            "quantity": e["quantity"],
            "remaining": e["quantity"],
            "hold_bps": e["hold_bps"],
            "fee_credit": 0,
            "stp": e["stp"],
            "client_order_ref": e["client_order_ref"],
            "placed_at": _placed_at(e["placed_at"]),
            "placed_seq": seq,
            "status": OPEN,
            "updated_seq": seq,
        }
    elif kind == "trade":
        writes.insert(
            trades,
            {
                "trade_id": e["trade_id"],
                "seq": seq,
                "time": now,
                **{
                    k: e[k]
                    for k in (
                        "symbol", "price", "quantity", "notional", "taker_side",
                        "maker_order_id", "taker_order_id", "buyer", "seller",
                        "buyer_fee", "seller_fee",
                    )
                },
            },
        )
        for order_id, left in (
            (e["buy_order_id"], e["buy_remaining"]),
            (e["sell_order_id"], e["sell_remaining"]),
        ):
            t.order(order_id, seq, remaining=left, status=OPEN if left else FILLED)
    elif kind in ("order.cancelled", "order.expired"):
        t.order(e["order_id"], seq, status=CANCELLED if kind == "order.cancelled" else EXPIRED)
    elif kind == "order.reduced":
        t.order(e["order_id"], seq, remaining=e["remaining"])
    elif kind == "licence.granted":
        t.new_licences[e["document"]["licence_id"]] = seq
    elif kind == "licence.ended":
        t.changed_licences[e["licence_id"]] = seq


def _write_rows(
    writes: BatchWrites, market: Market, t: _Touched, licence_key: Ed25519PrivateKey | None
) -> None:
    for symbol, seq in t.new_products.items():
        view = product_view(market.products[symbol])
        writes.insert(
            products,
            {
                "symbol": symbol,
                "kind": view["kind"],
                "issuer": view["issuer"],
                "status": view["status"],
                "defined_seq": seq,
                "updated_seq": max(seq, t.changed_products.get(symbol, seq)),
                "view": view,
            },
        )
    for symbol, seq in t.changed_products.items():
        if symbol not in t.new_products:
            view = product_view(market.products[symbol])
            writes.update(
                products, "symbol", symbol, status=view["status"], view=view, updated_seq=seq
            )
    for order_id, row in t.new_orders.items():
        resting = market.orders.get(order_id)
        if resting is not None:
            view = order_view(resting)
            row.update(remaining=view["remaining"], fee_credit=view["fee_credit"], status=OPEN)
        writes.insert(orders, row)
    for order_id, values in t.changed_orders.items():
        resting = market.orders.get(order_id)
        if resting is not None:  # what a resting order can use is the market's, exactly
            values.update(remaining=resting.remaining, fee_credit=resting.fee_credit, status=OPEN)
        writes.update(orders, "order_id", order_id, **values)
    for licence_id, seq in t.new_licences.items():
        view = licence_view(market.licences.by_id[licence_id])
        row = _licence_row(view, seq, t.changed_licences.get(licence_id, seq))
        if licence_key is not None:
            row["platform_key_id"] = key_id(public_key_bytes(licence_key))
            row["platform_signature"] = sign_licence(view["document"], licence_key)
        writes.insert(licences, row)
    for licence_id, seq in t.changed_licences.items():
        if licence_id not in t.new_licences:
            view = licence_view(market.licences.by_id[licence_id])
            writes.update(
                licences, "licence_id", licence_id, status=view["status"], view=view,
                updated_seq=seq,
            )


def _licence_row(view: dict[str, Any], granted_seq: int, updated_seq: int) -> dict[str, Any]:
    d = view["document"]
    return {
        "licence_id": d["licence_id"],
        "symbol": d["symbol"],
        "licensee": d["licensee"],
        "licensor": d["licensor"],
        "certificate_number": d["certificate_number"],
        "trade_id": d["trade_id"],
        "status": view["status"],
        "valid_until": parse_utc(d["valid_until"]),
        "document_hash": view["document_hash"],
        "platform_key_id": None,
        "platform_signature": None,
        "granted_seq": granted_seq,
        "updated_seq": updated_seq,
        "view": view,
    }
