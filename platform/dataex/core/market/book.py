"""The order book as the market uses it: order ids "O000123" outside, 123 inside.

The engine (core/market/matching.py) finds an order fastest when its id is an
increasing int: it keeps such orders in a list slot instead of a dict entry,
which is what keeps a book of a million orders near the speed of a small one
(docs/benchmarks.md, matching engine). The market's order ids are strings
with increasing serial numbers, so this subclass hands the engine the number
and turns every id it gives back (events, lookups, snapshots) into the string
again: callers see exactly the ids, events and snapshots they saw before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dataex.core.documents.errors import DomainError
from dataex.core.market.matching import TRADE, Event, OrderBook
from dataex.core.market.records import serial


def order_id_of(number: int) -> str:
    """123 → "O000123", the inverse of `serial` (six digits at least, more when needed)."""
    return f"O{number:06d}"


def _named(events: list[Event]) -> list[Event]:
    """The engine's events with their order ids as strings (a trade names two orders)."""
    out: list[Event] = []
    for event in events:
        if event[0] == TRADE:
            out.append((TRADE, order_id_of(event[1]), order_id_of(event[2]), *event[3:]))
        else:
            out.append((event[0], order_id_of(event[1]), *event[2:]))
    return out


@contextmanager
def _refusals_named(order_id: str, number: int) -> Iterator[None]:
    """Re-raise the engine's refusal with the string id where it named the number.

    The engine's messages name the order first (``order 123 has ...``), so the
    first ``123`` is the id even when a price or quantity is the same number.
    """
    try:
        yield
    except DomainError as exc:
        extra = dict(exc.extra)
        if extra.get("order_id") == number:
            extra["order_id"] = order_id
        raise type(exc)(exc.detail.replace(repr(number), repr(order_id), 1), **extra) from None


class MarketBook(OrderBook):
    """An `OrderBook` keyed by the serial number of the market's order ids."""

    __slots__ = ()

    def submit(  # type: ignore[override]
        self, order_id: str, owner: Any, side: str, order_type: str, price: int, quantity: int,
        stp: str,
    ) -> list[Event]:
        number = serial(order_id)
        with _refusals_named(order_id, number):
            events = super().submit(number, owner, side, order_type, price, quantity, stp)
        return _named(events)

    def cancel(self, order_id: str) -> list[Event]:
        number = serial(order_id)
        with _refusals_named(order_id, number):
            return _named(super().cancel(number))

    def reduce(self, order_id: str, new_quantity: int) -> list[Event]:
        number = serial(order_id)
        with _refusals_named(order_id, number):
            return _named(super().reduce(number, new_quantity))

    def restore(
        self, order_id: str, owner: Any, side: str, price: int, quantity: int
    ) -> None:
        number = serial(order_id)
        with _refusals_named(order_id, number):
            super().restore(number, owner, side, price, quantity)

    def order(self, order_id: str) -> tuple[Any, Any, str, int, int] | None:
        found = super().order(serial(order_id))
        return None if found is None else (order_id, *found[1:])

    def __contains__(self, order_id: object) -> bool:
        return isinstance(order_id, str) and super().__contains__(serial(order_id))

    def snapshot(self) -> dict[str, Any]:
        raw = super().snapshot()
        for side in ("bids", "asks"):
            raw[side] = [(price, qty, count, tuple((order_id_of(o), owner, left)
                                                   for o, owner, left in orders))
                         for price, qty, count, orders in raw[side]]
        return raw
