"""Order book and matching engine for one product: price-time priority, integers only.

Why it looks the way it does:

- Pure and deterministic. The sequencer calls it live and the offline verifier
  calls it again over the exported log, so the same commands must give the same
  events, byte for byte. There is no clock, no randomness and no iteration over
  anything unordered; order ids come from the caller (the sequencer).
- Fast and small. Each side keeps an ascending list of price keys (bids keyed by
  price, asks by minus price, so the best level is always the last element and
  leaves the list with an O(1) ``pop``), a dict key -> level, and each level a
  deque of ``__slots__`` orders in time priority. An id -> order index finds an
  order in O(1). No order carries its price: it points at its level, which does.
- Cancels are lazy. A cancelled order is marked dead (quantity 0) and left in
  its deque; matching drops dead orders when they reach the front, and a level
  whose dead orders outnumber its live ones is compacted. So a cancel touches
  one order and its level and never its neighbours: in a book of a million
  orders every touch of a cold object is a cache miss, and misses, not Python
  bytecode, set the speed there. A level is dropped as soon as it has no live
  order (an O(log levels) bisect, O(1) at the best price).
- Events are plain tuples whose first element names the kind (see ``EVENT_FIELDS``
  for the layouts and ``event_to_dict`` for the audit-log form). Tuples cost a
  fifth of a dict to build, and the engine builds one or more per order.
- Refusals raise ``DomainError`` subclasses *before* anything changes, so a
  refused command leaves the book exactly as it was.

Order types (``order_type``):

- ``limit``: good till cancelled; the remainder rests.
- ``ioc``: immediate or cancel; the remainder expires.
- ``fok``: fill or kill; fills completely at once or expires with no effect at
  all (no trades, no self-trade cancellations).
- ``post_only``: rests without taking; refused (``PostOnlyWouldCross``) if it
  would cross the opposite best price, even if only the owner's own orders sit there.
- ``market``: an ``ioc`` whose ``price`` is the required worst-price protection:
  it never trades beyond it. There is no unprotected market order.

Trades execute at the resting (maker) order's price.

Self-trade prevention (``stp``), judged by the ``owner`` of the orders and
applied by the incoming (taker) order's mode, because only a taker ever meets
an order of its own owner (a resting order never becomes a taker again, so its
mode would never be read and is not stored):

- ``cancel_newest`` (default): the taker's remaining quantity is cancelled; the
  resting order stays. It is the default because its effects stay inside the
  command that caused them: a new order never removes an order that is already
  in the book, others may be relying on, and holds time priority earned earlier.
  The submitter learns of it at once, in the answer to its own command.
- ``cancel_oldest``: each own resting order met is cancelled and matching goes on.
- ``cancel_both``: the own resting order met and the taker's remainder are cancelled.

Trades made before the self-match stand. While ``halted`` the book accepts no
new orders; cancels and reductions (which only lower exposure) still work.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from typing import Any, Final

from dataex.core.errors import DomainError

BUY: Final = "buy"
SELL: Final = "sell"

LIMIT: Final = "limit"
IOC: Final = "ioc"
FOK: Final = "fok"
POST_ONLY: Final = "post_only"
MARKET: Final = "market"
ORDER_TYPES: Final = frozenset({LIMIT, IOC, FOK, POST_ONLY, MARKET})

CANCEL_NEWEST: Final = "cancel_newest"
CANCEL_OLDEST: Final = "cancel_oldest"
CANCEL_BOTH: Final = "cancel_both"
STP_MODES: Final = frozenset({CANCEL_NEWEST, CANCEL_OLDEST, CANCEL_BOTH})
DEFAULT_STP: Final = CANCEL_NEWEST

# Event kinds.
ACCEPTED: Final = "accepted"
TRADE: Final = "trade"
RESTED: Final = "rested"
CANCELLED: Final = "cancelled"
EXPIRED: Final = "expired"
REDUCED: Final = "reduced"
HALTED: Final = "halted"
RESUMED: Final = "resumed"

# Cancel and expiry reasons.
REQUESTED: Final = "requested"
REDUCED_TO_ZERO: Final = "reduced_to_zero"
SELF_TRADE: Final = "self_trade_prevention"
IOC_REMAINDER: Final = "ioc_remainder"
MARKET_REMAINDER: Final = "market_remainder"
FOK_UNFILLABLE: Final = "fok_unfillable"

# The layout of every event tuple: element 0 is the kind, the rest are these fields.
EVENT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    ACCEPTED: ("order_id", "owner", "side", "order_type", "price", "quantity", "stp"),
    TRADE: (
        "maker_order_id",
        "taker_order_id",
        "price",
        "quantity",
        "maker_owner",
        "taker_owner",
        "taker_side",
    ),
    # The order's remainder entered the book (a limit or post-only order).
    RESTED: ("order_id", "owner", "side", "price", "quantity"),
    CANCELLED: ("order_id", "owner", "side", "price", "quantity", "reason"),
    # An ioc, market or fok order's quantity that found nothing to trade with.
    EXPIRED: ("order_id", "owner", "side", "price", "quantity", "reason"),
    REDUCED: ("order_id", "owner", "side", "price", "quantity", "previous_quantity"),
    HALTED: (),
    RESUMED: (),
}

Event = tuple[Any, ...]


def event_to_dict(event: Event) -> dict[str, Any]:
    """The named form of an event, for audit entries and JSON answers."""
    return {"type": event[0], **dict(zip(EVENT_FIELDS[event[0]], event[1:], strict=True))}


class MarketHalted(DomainError):
    status = 409
    slug = "market-halted"
    title = "The product is halted: no new orders are accepted"


class InvalidOrder(DomainError):
    status = 422
    slug = "invalid-order"
    title = "The order is not well formed"


class DuplicateOrderId(DomainError):
    status = 409
    slug = "duplicate-order-id"
    title = "An order with this id is already in the book"


class PostOnlyWouldCross(DomainError):
    status = 409
    slug = "post-only-would-cross"
    title = "The post-only order would trade on arrival"


class OrderNotFound(DomainError):
    status = 404
    slug = "order-not-found"
    title = "No such order is resting in the book"


class ReduceNotLower(DomainError):
    status = 409
    slug = "reduce-not-lower"
    title = "A reduction must lower the order's remaining quantity"


class _Order:
    """A resting order. Its price lives on its level, which it points at."""

    __slots__ = ("level", "order_id", "owner", "qty")

    def __init__(self, order_id: Any, owner: Any, qty: int, level: _Level) -> None:
        self.order_id = order_id
        self.owner = owner
        self.qty = qty  # 0 marks a cancelled order still sitting in its level's deque
        self.level = level


class _Level:
    """One price on one side: a FIFO of orders (time priority) and its totals."""

    __slots__ = ("count", "key", "orders", "price", "qty", "side")

    def __init__(self, side: _Side, key: int, price: int) -> None:
        self.side = side
        self.key = key
        self.price = price
        self.orders: deque[_Order] = deque()
        self.qty = 0
        self.count = 0


class _Side:
    """One side of the book. ``keys`` ascends and its last element is the best level."""

    __slots__ = ("keys", "levels", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.keys: list[int] = []
        self.levels: dict[int, _Level] = {}


class OrderBook:
    """The book of one product. Every method either returns events or raises and changes nothing."""

    __slots__ = ("_asks", "_bids", "_index", "halted")

    def __init__(self) -> None:
        self._bids = _Side(BUY)
        self._asks = _Side(SELL)
        self._index: dict[Any, _Order] = {}
        self.halted = False

    # ------------------------------------------------------------------ commands

    def submit(
        self,
        order_id: Any,
        owner: Any,
        side: str,
        order_type: str,
        price: int,
        quantity: int,
        stp: str = DEFAULT_STP,
    ) -> list[Event]:
        """Match a new order, then rest, expire or cancel what is left of it.

        ``price`` is the limit (for ``market``, the worst-price protection) in minor
        units per unit; ``quantity`` is in whole units.
        """
        if self.halted:
            raise MarketHalted("the product is halted", order_id=order_id)
        if type(price) is not int or price <= 0:
            raise InvalidOrder("price must be a positive integer", order_id=order_id)
        if type(quantity) is not int or quantity <= 0:
            raise InvalidOrder("quantity must be a positive integer", order_id=order_id)
        if order_type not in ORDER_TYPES:
            raise InvalidOrder(f"unknown order type {order_type!r}", order_id=order_id)
        if stp not in STP_MODES:
            raise InvalidOrder(f"unknown self-trade prevention mode {stp!r}", order_id=order_id)
        if order_id in self._index:
            raise DuplicateOrderId(f"order {order_id!r} is already in the book")
        if side == BUY:
            mine, other, key, limit_key = self._bids, self._asks, price, -price
        elif side == SELL:
            mine, other, key, limit_key = self._asks, self._bids, -price, price
        else:
            raise InvalidOrder(f"side must be {BUY!r} or {SELL!r}", order_id=order_id)

        okeys = other.keys
        crosses = bool(okeys) and okeys[-1] >= limit_key
        if crosses and order_type == POST_ONLY:
            raise PostOnlyWouldCross(
                f"post-only order {order_id!r} at {price} would cross", order_id=order_id
            )
        events: list[Event] = [(ACCEPTED, order_id, owner, side, order_type, price, quantity, stp)]
        remaining = quantity
        if crosses:
            if order_type == FOK and not _can_fill(other, limit_key, owner, quantity, stp):
                events.append((EXPIRED, order_id, owner, side, price, quantity, FOK_UNFILLABLE))
                return events
            remaining = self._take(
                other, limit_key, order_id, owner, side, price, quantity, stp, events
            )
            if remaining < 0:  # self-trade prevention cancelled the taker's remainder
                return events
        if remaining:
            if order_type in (LIMIT, POST_ONLY):
                levels = mine.levels
                level = levels.get(key)
                if level is None:
                    level = levels[key] = _Level(mine, key, price)
                    insort(mine.keys, key)
                order = _Order(order_id, owner, remaining, level)
                level.orders.append(order)
                level.qty += remaining
                level.count += 1
                self._index[order_id] = order
                events.append((RESTED, order_id, owner, side, price, remaining))
            else:
                reason = (
                    IOC_REMAINDER
                    if order_type == IOC
                    else MARKET_REMAINDER
                    if order_type == MARKET
                    else FOK_UNFILLABLE
                )
                events.append((EXPIRED, order_id, owner, side, price, remaining, reason))
        return events

    def cancel(self, order_id: Any) -> list[Event]:
        """Remove a resting order. Allowed while halted."""
        order = self._index.pop(order_id, None)
        if order is None:
            raise OrderNotFound(f"order {order_id!r} is not resting in the book")
        level = order.level
        qty = order.qty
        order.qty = 0  # dead: skipped and dropped when it reaches the front
        level.qty -= qty
        count = level.count - 1
        level.count = count
        if not count:
            _drop(level)
        elif len(level.orders) > 2 * count + 32:
            _compact(level)
        return [(CANCELLED, order_id, order.owner, level.side.name, level.price, qty, REQUESTED)]

    def reduce(self, order_id: Any, new_quantity: int) -> list[Event]:
        """Lower a resting order's remaining quantity in place, keeping its time priority.

        Only a decrease keeps priority, so anything not lower than the remaining
        quantity is refused; zero cancels the order. Allowed while halted.
        """
        if type(new_quantity) is not int or new_quantity < 0:
            raise InvalidOrder("new quantity must be a non-negative integer", order_id=order_id)
        order = self._index.get(order_id)
        if order is None:
            raise OrderNotFound(f"order {order_id!r} is not resting in the book")
        old = order.qty
        if new_quantity >= old:
            raise ReduceNotLower(
                f"order {order_id!r} has {old} remaining; cannot reduce to {new_quantity}",
                order_id=order_id,
                remaining=old,
            )
        level = order.level
        if new_quantity == 0:
            del self._index[order_id]
            _kill(order)
            return [
                (
                    CANCELLED,
                    order_id,
                    order.owner,
                    level.side.name,
                    level.price,
                    old,
                    REDUCED_TO_ZERO,
                )
            ]
        order.qty = new_quantity
        level.qty -= old - new_quantity
        return [(REDUCED, order_id, order.owner, level.side.name, level.price, new_quantity, old)]

    def halt(self) -> list[Event]:
        """Stop accepting new orders (cancels still work). Halting twice is a no-op."""
        if self.halted:
            return []
        self.halted = True
        return [(HALTED,)]

    def resume(self) -> list[Event]:
        """Accept new orders again. Resuming a running book is a no-op."""
        if not self.halted:
            return []
        self.halted = False
        return [(RESUMED,)]

    def restore(self, order_id: Any, owner: Any, side: str, price: int, quantity: int) -> None:
        """Put back a resting order at the end of its level, without matching or events.

        For rebuilding a book from the database on start: call it in the orders'
        original time priority. Works while halted; refuses what a live book
        could never hold (a crossing price, a duplicate id, non-positive numbers).
        """
        if type(price) is not int or price <= 0 or type(quantity) is not int or quantity <= 0:
            raise InvalidOrder("price and quantity must be positive integers", order_id=order_id)
        if order_id in self._index:
            raise DuplicateOrderId(f"order {order_id!r} is already in the book")
        if side == BUY:
            mine, other, key, limit_key = self._bids, self._asks, price, -price
        elif side == SELL:
            mine, other, key, limit_key = self._asks, self._bids, -price, price
        else:
            raise InvalidOrder(f"side must be {BUY!r} or {SELL!r}", order_id=order_id)
        if other.keys and other.keys[-1] >= limit_key:
            raise InvalidOrder(f"order {order_id!r} at {price} would cross the book")
        level = mine.levels.get(key)
        if level is None:
            level = mine.levels[key] = _Level(mine, key, price)
            insort(mine.keys, key)
        order = _Order(order_id, owner, quantity, level)
        level.orders.append(order)
        level.qty += quantity
        level.count += 1
        self._index[order_id] = order

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        """The number of resting orders."""
        return len(self._index)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._index

    def order(self, order_id: Any) -> tuple[Any, Any, str, int, int] | None:
        """(order_id, owner, side, price, remaining quantity) of a resting order, or None."""
        o = self._index.get(order_id)
        if o is None:
            return None
        return (o.order_id, o.owner, o.level.side.name, o.level.price, o.qty)

    def level(self, side: str, price: int) -> tuple[int, int]:
        """(total quantity, order count) resting at ``price`` on ``side``; (0, 0) if none."""
        found = (self._bids if side == BUY else self._asks).levels.get(
            price if side == BUY else -price
        )
        return (found.qty, found.count) if found is not None else (0, 0)

    def best_bid(self) -> int | None:
        keys = self._bids.keys
        return keys[-1] if keys else None

    def best_ask(self) -> int | None:
        keys = self._asks.keys
        return -keys[-1] if keys else None

    def depth(self, levels: int | None = None) -> dict[str, list[tuple[int, int, int]]]:
        """(price, total quantity, order count) per level, best first, for market data."""
        return {
            "bids": _depth(self._bids, levels),
            "asks": _depth(self._asks, levels),
        }

    def snapshot(self) -> dict[str, Any]:
        """The whole book as plain, comparable data (for restart and replay checks).

        Levels are best first; each is (price, total quantity, order count,
        ((order_id, owner, quantity), ...) in time priority).
        """
        return {
            "halted": self.halted,
            "bids": _levels(self._bids),
            "asks": _levels(self._asks),
        }

    # ------------------------------------------------------------------ matching

    def _take(
        self,
        other: _Side,
        limit_key: int,
        taker_id: Any,
        owner: Any,
        side: str,
        price: int,
        remaining: int,
        stp: str,
        events: list[Event],
    ) -> int:
        """Trade against ``other`` up to ``limit_key``; return what is left.

        Returns -1 when self-trade prevention cancelled the taker's remainder (the
        cancel event is already appended). Written as one flat loop because it is
        the hot path: locals instead of attribute look-ups where it pays.
        """
        keys = other.keys
        levels = other.levels
        index = self._index
        append = events.append
        while remaining and keys and keys[-1] >= limit_key:
            key = keys[-1]
            level = levels[key]
            lprice = level.price
            queue = level.orders
            while True:
                maker = queue[0]
                mqty = maker.qty
                if not mqty:  # cancelled earlier, still queued
                    queue.popleft()
                    continue
                if maker.owner == owner:
                    if stp in (CANCEL_OLDEST, CANCEL_BOTH):
                        del index[maker.order_id]
                        append(
                            (
                                CANCELLED,
                                maker.order_id,
                                maker.owner,
                                other.name,
                                lprice,
                                mqty,
                                SELF_TRADE,
                            )
                        )
                        queue.popleft()
                        maker.qty = 0
                        level.qty -= mqty
                        level.count -= 1
                        if stp == CANCEL_OLDEST:
                            if level.count:
                                continue
                            break
                    append((CANCELLED, taker_id, owner, side, price, remaining, SELF_TRADE))
                    if not level.count:
                        _drop(level)
                    return -1
                if mqty <= remaining:
                    append(
                        (TRADE, maker.order_id, taker_id, lprice, mqty, maker.owner, owner, side)
                    )
                    del index[maker.order_id]
                    queue.popleft()
                    remaining -= mqty
                    level.qty -= mqty
                    level.count -= 1
                    if not remaining or not level.count:
                        break
                else:
                    append(
                        (
                            TRADE,
                            maker.order_id,
                            taker_id,
                            lprice,
                            remaining,
                            maker.owner,
                            owner,
                            side,
                        )
                    )
                    maker.qty = mqty - remaining
                    level.qty -= remaining
                    return 0
            if not level.count:
                _drop(level)
        return remaining


def _drop(level: _Level) -> None:
    """Remove an empty level (only dead orders may remain in its deque)."""
    side = level.side
    key = level.key
    del side.levels[key]
    keys = side.keys
    if keys[-1] == key:
        keys.pop()
    else:
        del keys[bisect_left(keys, key)]
    level.orders.clear()  # dead orders point back at the level: break the cycle


def _kill(order: _Order) -> None:
    """Mark a cancelled order dead in O(1) (``cancel`` inlines this: it is hot)."""
    level = order.level
    level.qty -= order.qty
    order.qty = 0
    level.count -= 1
    if not level.count:
        _drop(level)
    elif len(level.orders) > 2 * level.count + 32:
        _compact(level)


def _compact(level: _Level) -> None:
    """Rebuild a level's deque without its dead orders once they outnumber the live ones.

    (By more than 32, so that small levels are left alone.) Each rebuild follows
    more cancels than it copies live orders, so a cancel stays amortised O(1) and
    a level never holds more than about twice its live orders; the price is one
    O(level size) pause now and then, in the command that triggers it.
    """
    level.orders = deque([o for o in level.orders if o.qty])


def _can_fill(other: _Side, limit_key: int, owner: Any, quantity: int, stp: str) -> bool:
    """Would a fill-or-kill order fill completely, given its self-trade prevention mode?

    Under ``cancel_oldest`` own orders are skipped (they would be cancelled and
    matching would go on); under the other modes matching stops at the first one.
    """
    keys = other.keys
    levels = other.levels
    need = quantity
    for i in range(len(keys) - 1, -1, -1):
        key = keys[i]
        if key < limit_key:
            return False
        for maker in levels[key].orders:
            if not maker.qty:
                continue
            if maker.owner == owner:
                if stp != CANCEL_OLDEST:
                    return False
            else:
                need -= maker.qty
                if need <= 0:
                    return True
    return False


def _depth(side: _Side, limit: int | None) -> list[tuple[int, int, int]]:
    keys = side.keys
    levels = side.levels
    chosen = keys[::-1] if limit is None else keys[: -limit - 1 : -1] if limit > 0 else []
    out = []
    for key in chosen:
        level = levels[key]
        out.append((level.price, level.qty, level.count))
    return out


def _levels(side: _Side) -> list[tuple[int, int, int, tuple[tuple[Any, Any, int], ...]]]:
    out = []
    for key in reversed(side.keys):
        level = side.levels[key]
        orders = [(o.order_id, o.owner, o.qty) for o in level.orders if o.qty]
        out.append((level.price, level.qty, level.count, tuple(orders)))
    return out
