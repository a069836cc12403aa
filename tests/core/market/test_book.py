"""MarketBook gives the engine serial numbers but answers exactly as a book keyed by strings."""

from __future__ import annotations

import random
from typing import Any

import pytest

from dataex.core.documents.errors import DomainError
from dataex.core.market.book import MarketBook, order_id_of
from dataex.core.market.matching import OrderBook

TYPES = ("limit", "limit", "limit", "ioc", "fok", "post_only", "market")
STP = ("cancel_newest", "cancel_oldest", "cancel_both")


def _both(book: Any, call: str, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", getattr(book, call)(*args)
    except DomainError as exc:
        return type(exc).__name__, (exc.detail, exc.extra)


@pytest.mark.parametrize("seed", range(5))
def test_the_same_commands_give_the_same_events_refusals_and_book(seed: int) -> None:
    rng = random.Random(seed)
    by_string, by_serial = OrderBook(), MarketBook()
    placed: list[str] = []
    for n in range(1, 1500):
        roll = rng.random()
        if roll < 0.6 or not placed:
            order_id = order_id_of(n)
            placed.append(order_id)
            args: tuple[Any, ...] = (
                order_id, f"P{rng.randint(1, 4)}", rng.choice(("buy", "sell")), rng.choice(TYPES),
                rng.randint(95, 105), rng.randint(1, 5), rng.choice(STP))
            call = "submit"
        elif roll < 0.85:
            call, args = "cancel", (rng.choice(placed),)
        elif roll < 0.97:
            call, args = "reduce", (rng.choice(placed), rng.randint(0, 4))
        else:
            call, args = ("halt" if not by_string.halted else "resume"), ()
        assert _both(by_serial, call, *args) == _both(by_string, call, *args), (n, call, args)
        assert by_serial.snapshot() == by_string.snapshot()
    for order_id in placed:
        assert (order_id in by_serial) == (order_id in by_string)
        assert by_serial.order(order_id) == by_string.order(order_id)
    assert len(by_serial) == len(by_string) > 0


def test_a_refusal_names_the_market_id_even_when_a_price_is_the_same_number() -> None:
    book = MarketBook()
    book.submit("O000100", "P1", "sell", "limit", 100, 1, "cancel_newest")
    with pytest.raises(DomainError) as refused:
        book.submit("O000101", "P2", "buy", "post_only", 101, 1, "cancel_newest")
    assert refused.value.extra["order_id"] == "O000101"
    assert "'O000101'" in refused.value.detail and "at 101" in refused.value.detail
