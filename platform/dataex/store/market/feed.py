"""The live market feed: committed trades and book changes fanned out to subscribers (SSE).

The sequencer publishes each batch's messages after its commit, so a client
never sees a change that could still be rolled back. Two numbers let a client
stay in step:

- ``stream_seq`` counts this server's messages one by one: a gap means the
  client missed some (it was too slow and its queue overflowed, or it
  reconnected) and must resynchronise;
- ``seq`` is the log entry of the change. Resynchronising is: fetch the depth
  snapshot (GET /v1/market/products/{symbol}/depth, which carries the ``seq``
  it was read at), then apply only messages with a larger ``seq``.

A ``book`` message gives the new total of each price level the batch changed
(quantity 0: the level is gone), not a delta, so applying one twice is harmless.
A subscriber whose queue fills is dropped (its stream ends) rather than
slowing the sequencer. Every stream ends when the sequencer's state jumps
without messages (`close`: a failover, a standby catching up); clients
reconnect and resynchronise.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from dataex.core.market.matching import BUY, SELL
from dataex.core.market.state import Market

Message = dict[str, Any]
QUEUE_LIMIT = 10_000


class MarketFeed:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Message | None]] = set()
        self._stream_seq = itertools.count(1)

    @property
    def listening(self) -> bool:
        return bool(self._subscribers)

    def subscribe(self) -> asyncio.Queue[Message | None]:
        queue: asyncio.Queue[Message | None] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Message | None]) -> None:
        self._subscribers.discard(queue)

    def publish(self, messages: list[Message]) -> None:
        for message in messages:
            message["stream_seq"] = next(self._stream_seq)
            for queue in list(self._subscribers):
                if queue.qsize() >= QUEUE_LIMIT - 1:
                    self._subscribers.discard(queue)  # too slow: end its stream
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(None)
                else:
                    queue.put_nowait(message)

    def close(self) -> None:
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._subscribers.clear()


def batch_messages(
    market: Market, batch: list[tuple[list[dict[str, Any]], int]], time: str
) -> list[Message]:
    """Trades in log order, then one ``book`` message per symbol the batch changed."""
    messages: list[Message] = []
    touched: dict[str, tuple[int, set[tuple[str, int]]]] = {}

    def touch(symbol: str, seq: int, side: str, price: int) -> None:
        _, levels = touched.get(symbol, (seq, set()))
        levels.add((side, price))
        touched[symbol] = (seq, levels)

    for events, seq in batch:
        for e in events:
            kind = e["type"]
            if kind == "trade":
                messages.append({
                    "type": "trade", "seq": seq, "time": time, "symbol": e["symbol"],
                    "trade_id": e["trade_id"], "price": e["price"], "quantity": e["quantity"],
                    "taker_side": e["taker_side"],
                })
                maker_side = SELL if e["taker_side"] == BUY else BUY
                touch(e["symbol"], seq, maker_side, e["price"])
            elif kind in ("order.rested", "order.cancelled", "order.expired"):
                touch(e["symbol"], seq, e["side"], e["price"])
            elif kind == "order.reduced":
                order = market.orders.get(e["order_id"])
                if order is not None:
                    touch(e["symbol"], seq, order.side, order.price)
            elif kind.startswith("product."):
                messages.append({"type": "product", "seq": seq, "time": time,
                                 "symbol": e["symbol"], "event": kind,
                                 "status": market.products[e["symbol"]].status})
    for symbol, (seq, levels) in sorted(touched.items()):
        book = market.books[symbol]
        changes = {BUY: [], SELL: []}  # type: dict[str, list[dict[str, int]]]
        for side, price in sorted(levels):
            quantity, count = book.level(side, price)
            changes[side].append({"price": price, "quantity": quantity, "orders": count})
        messages.append({"type": "book", "seq": seq, "time": time, "symbol": symbol,
                         "bids": changes[BUY], "asks": changes[SELL]})
    return messages
