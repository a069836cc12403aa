"""Order book and matching engine for one product: price-time priority, integers only.

Why it looks the way it does:

- Pure and deterministic. The sequencer calls it live and the offline verifier
  calls it again over the exported log, so the same commands must give the same
  events, byte for byte. There is no clock, no randomness and no iteration over
  anything unordered; order ids come from the caller (the sequencer).
- Fast and small. Each side keeps an ascending list of price keys (bids keyed by
  price, asks by minus price, so the best level is always the last element and
  leaves the list with an O(1) ``pop``), a dict key -> level, and each level a
  deque of its orders in time priority. No order carries its price: it points
  at its level, which does. In a book of a million orders every touch of a cold
  object is a cache miss, and misses, not Python bytecode, set the speed there;
  the id index and lazy cancels below are shaped by that.
- The id index. Order ids come from the caller and are usually increasing ints
  (the sequencer's). An order whose id is an exact int above every int id the
  book has slotted before gets a slot in a list (slot = id - base): finding it
  reads one list cell and the order, where a dict would read its index table,
  its entry table and the key object too. Its level queues the id itself, a
  plain int. Any other order (string ids, reused or out-of-order ints, ids far
  past the last slot) is kept in a dict and queued as its ``__slots__`` object.
  When the list is mostly empty slots its front is dropped (amortised O(1));
  orders still resting there move to a second dict and stay queued by id.
  Lookups follow dict semantics exactly (5.0 and True find the orders 5 and 1).
- Cancels are lazy. A cancel empties the order's slot, which frees the order at
  once (its level holds only the id), or marks a dict-indexed order dead
  (quantity 0); either way the dead entry stays in its deque, matching drops it
  when it reaches the front, and a level whose dead entries outnumber its live
  orders is compacted. So a cancel touches one order and its level and never its
  neighbours, and a cancelled slotted order leaves nothing behind for the cyclic
  garbage collector to scan. A level is dropped as soon as it has no live order
  (an O(log levels) bisect, O(1) at the best price).
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

import math
from bisect import bisect_left, insort
from collections import deque
from typing import Any, Final, TypeAlias

from dataex.core.documents.errors import DomainError

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


# The id index (see the module docstring).
_GAP: Final = 64  # an int id at most this far past the last slot still gets a slot
_TIDY_MIN: Final = 1024  # appends between two looks at how sparse the list is
# Ints below this in magnitude hash to themselves (except -1), which lets a lookup
# by a non-int id that equals one (5.0, True) find it as a dict would.
_HASH_MODULUS: Final = 2**61 - 1 if hash(2**61 - 1) == 0 else 2**31 - 1  # sys.hash_info


class _Order:
    """A resting order. Its price lives on its level, which it points at."""

    __slots__ = ("level", "order_id", "owner", "qty")

    def __init__(self, order_id: Any, owner: Any, qty: int, level: _Level) -> None:
        self.order_id = order_id
        self.owner = owner
        self.qty = qty  # 0 marks a cancelled dict-indexed order still in its level's deque
        self.level = level


# What a level queues: an order's int id (orders with a slot) or the order itself.
_Entry: TypeAlias = "int | _Order"


class _Level:
    """One price on one side: a FIFO of orders (time priority) and its totals."""

    __slots__ = ("count", "key", "orders", "price", "qty", "side")

    def __init__(self, side: _Side, key: int, price: int) -> None:
        self.side = side
        self.key = key
        self.price = price
        self.orders: deque[_Entry] = deque()
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

    __slots__ = (
        "_asks",
        "_base",
        "_bids",
        "_index",
        "_limit",
        "_moved",
        "_slots",
        "_top",
        "halted",
    )

    def __init__(self) -> None:
        self._bids = _Side(BUY)
        self._asks = _Side(SELL)
        self._slots: list[_Order | None] = []  # slot i: the order with int id base + i, or None
        # base + len(_slots) only grows, so no id is ever given a slot twice
        self._base = 1 - _HASH_MODULUS
        self._limit = _TIDY_MIN  # look at the list's sparseness when it reaches this length
        self._moved: dict[int, _Order] = {}  # slotted orders whose slot was dropped (int-queued)
        self._index: dict[Any, _Order] = {}  # every other order, queued as itself
        # No int id above this (nor anything equal to one) is a key of ``_index``.
        self._top: float = 1 - _HASH_MODULUS
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
        slots = self._slots
        i = order_id - self._base if type(order_id) is int else -1
        # An int id past the last slot and above every id in ``_index`` (the usual
        # case: ids increase) is not resting; anything else is looked up.
        if not (i >= len(slots) and order_id > self._top) and self._find(order_id) is not None:
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
            if order_type == FOK and not self._can_fill(other, limit_key, owner, quantity, stp):
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
                if i == len(slots) < self._limit:  # the usual case, inlined from ``_place``
                    slots.append(order)
                    level.orders.append(order_id)
                else:
                    level.orders.append(self._place(order_id, order))
                level.qty += remaining
                level.count += 1
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
        slots = self._slots
        order = None
        if type(order_id) is int and (i := order_id - self._base) >= 0:
            try:
                order = slots[i]
            except IndexError:  # past the last slot: not a slotted id
                order = None
        if order is not None:
            slots[i] = None  # frees the order: its level queues only its id
        else:
            order = self._pop_other(order_id)
            if order is None:
                raise OrderNotFound(f"order {order_id!r} is not resting in the book")
        level = order.level
        qty = order.qty
        order.qty = 0  # dead, if it is queued as itself: dropped when it reaches the front
        level.qty -= qty
        count = level.count - 1
        level.count = count
        if not count:
            _drop(level)
        elif len(level.orders) > 2 * count + 32:
            self._compact(level)
        return [(CANCELLED, order_id, order.owner, level.side.name, level.price, qty, REQUESTED)]

    def reduce(self, order_id: Any, new_quantity: int) -> list[Event]:
        """Lower a resting order's remaining quantity in place, keeping its time priority.

        Only a decrease keeps priority, so anything not lower than the remaining
        quantity is refused; zero cancels the order. Allowed while halted.
        """
        if type(new_quantity) is not int or new_quantity < 0:
            raise InvalidOrder("new quantity must be a non-negative integer", order_id=order_id)
        order = self._find(order_id)
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
            self._unindex(order)
            order.qty = 0
            level.qty -= old
            level.count -= 1
            if not level.count:
                _drop(level)
            elif len(level.orders) > 2 * level.count + 32:
                self._compact(level)
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
        if self._find(order_id) is not None:
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
        level.orders.append(self._place(order_id, order))
        level.qty += quantity
        level.count += 1

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        """The number of resting orders (O(price levels): kept per level only)."""
        return sum(level.count for level in self._bids.levels.values()) + sum(
            level.count for level in self._asks.levels.values()
        )

    def __contains__(self, order_id: object) -> bool:
        return self._find(order_id) is not None

    def order(self, order_id: Any) -> tuple[Any, Any, str, int, int] | None:
        """(order_id, owner, side, price, remaining quantity) of a resting order, or None."""
        o = self._find(order_id)
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
            "bids": self._levels(self._bids),
            "asks": self._levels(self._asks),
        }

    # ------------------------------------------------------------------ the id index

    def _place(self, order_id: Any, order: _Order) -> _Entry:
        """Index a new resting order (its id is known not to be resting); return its queue entry."""
        if type(order_id) is int and -_HASH_MODULUS < order_id < _HASH_MODULUS:
            slots = self._slots
            n = len(slots)
            base = self._base
            if not n and order_id >= base:  # empty list: start it here (ids never go back)
                base = self._base = order_id
                self._limit = min(_TIDY_MIN, _HASH_MODULUS - base)
            i = order_id - base
            if n <= i <= n + _GAP:
                if i > n:
                    slots.extend([None] * (i - n))
                slots.append(order)
                if i >= self._limit:
                    self._tidy()
                return order_id
        self._index[order_id] = order
        if type(order_id) is int:
            self._top = max(self._top, order_id)
        elif type(order_id) is not str:  # it might equal an int: look every int id up
            self._top = math.inf
        return order

    def _tidy(self) -> None:
        """Drop the list's sparse front once it is mostly empty slots (amortised O(1)).

        Live orders in the dropped part move to ``_moved``, keyed by id; they stay
        queued by id. The next look comes after at least as many appends as the
        list holds orders, and a look costs O(list length): so O(1) per append,
        and the list never grows past about five slots per order it holds.
        """
        slots = self._slots
        n = len(slots)
        live = len(self) + 1 - len(self._index) - len(self._moved)  # + the order being placed
        if n > 4 * live + _TIDY_MIN:
            cut = n - 3 * live
            moved = self._moved
            for order in filter(None, slots[:cut]):  # (skips the empty slots at C speed)
                moved[order.order_id] = order
            del slots[:cut]
            self._base += cut
        # (capped so that slotted ids hash to themselves, which ``_alias`` relies on)
        self._limit = min(len(slots) + max(live, _TIDY_MIN), _HASH_MODULUS - self._base)

    def _find(self, order_id: Any) -> _Order | None:
        if type(order_id) is int:
            slots = self._slots
            i = order_id - self._base
            if 0 <= i < len(slots):
                order = slots[i]
                if order is not None:
                    return order
        return self._find_other(order_id)

    def _find_other(self, order_id: Any) -> _Order | None:
        """Find an order not in the list slot an exact int id names, as a dict would."""
        order = self._index.get(order_id)
        if order is None and self._moved:
            order = self._moved.get(order_id)
        if order is None and type(order_id) is not int and self._slots:
            i = self._alias(order_id)
            if i >= 0:
                order = self._slots[i]
        return order

    def _pop_other(self, order_id: Any) -> _Order | None:
        order = self._index.pop(order_id, None)
        if order is None and self._moved:
            order = self._moved.pop(order_id, None)
        if order is None and type(order_id) is not int and self._slots:
            i = self._alias(order_id)
            if i >= 0:
                order = self._slots[i]
                self._slots[i] = None
        return order

    def _alias(self, order_id: Any) -> int:
        """The slot of a resting int id that ``order_id`` (not an int) equals, or -1.

        A dict finds key ``k`` by any object of the same hash that compares equal,
        such as 5.0 or True for 5; slotted ints hash to themselves (-1 to -2).
        """
        h = hash(order_id)
        slots = self._slots
        for k in (h, -1) if h == -2 else (h,):
            i = k - self._base
            if 0 <= i < len(slots) and slots[i] is not None and k == order_id:
                return i
        return -1

    def _resolve(self, entry: _Entry) -> _Order | None:
        """The live order a queue entry stands for, or None if it was removed."""
        if isinstance(entry, int):
            i = entry - self._base
            return self._slots[i] if i >= 0 else self._moved.get(entry)
        return entry if entry.qty else None

    def _compact(self, level: _Level) -> None:
        """Rebuild a level's deque without its dead entries once they outnumber the live ones.

        (By more than 32, so that small levels are left alone.) Each rebuild follows
        more cancels than it copies live orders, so a cancel stays amortised O(1) and
        a level never holds more than about twice its live orders; the price is one
        O(level size) pause now and then, in the command that triggers it.
        """
        resolve = self._resolve
        level.orders = deque([e for e in level.orders if resolve(e) is not None])

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
        slots = self._slots
        base = self._base
        moved = self._moved
        index = self._index
        append = events.append
        while remaining and keys and keys[-1] >= limit_key:
            key = keys[-1]
            level = levels[key]
            lprice = level.price
            queue = level.orders
            while True:
                entry = queue[0]
                if isinstance(entry, int):  # (always an exact int)
                    i = entry - base
                    found = slots[i] if i >= 0 else moved.get(entry)
                    if found is None:  # cancelled earlier, still queued
                        queue.popleft()
                        continue
                    maker = found
                else:
                    maker = entry
                    if not maker.qty:  # cancelled earlier, still queued
                        queue.popleft()
                        continue
                mqty = maker.qty
                if maker.owner == owner:
                    if stp in (CANCEL_OLDEST, CANCEL_BOTH):
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
                        self._unindex(maker)
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
                    queue.popleft()
                    if not isinstance(entry, int):
                        del index[maker.order_id]
                    elif i >= 0:
                        slots[i] = None
                    else:
                        del moved[entry]
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

    def _unindex(self, order: _Order) -> None:
        """Remove a resting order from the id index (not from its level)."""
        k = order.order_id
        if type(k) is int:
            i = k - self._base
            if 0 <= i < len(self._slots) and self._slots[i] is order:
                self._slots[i] = None
                return
            if self._moved.get(k) is order:
                del self._moved[k]
                return
        del self._index[k]

    def _can_fill(self, other: _Side, limit_key: int, owner: Any, quantity: int, stp: str) -> bool:
        """Would a fill-or-kill order fill completely, given its self-trade prevention mode?

        Under ``cancel_oldest`` own orders are skipped (they would be cancelled and
        matching would go on); under the other modes matching stops at the first one.
        """
        keys = other.keys
        levels = other.levels
        resolve = self._resolve
        need = quantity
        for i in range(len(keys) - 1, -1, -1):
            key = keys[i]
            if key < limit_key:
                return False
            for entry in levels[key].orders:
                maker = resolve(entry)
                if maker is None:
                    continue
                if maker.owner == owner:
                    if stp != CANCEL_OLDEST:
                        return False
                else:
                    need -= maker.qty
                    if need <= 0:
                        return True
        return False

    def _levels(self, side: _Side) -> list[tuple[int, int, int, tuple[tuple[Any, Any, int], ...]]]:
        out = []
        resolve = self._resolve
        for key in reversed(side.keys):
            level = side.levels[key]
            orders = []
            for entry in level.orders:
                o = resolve(entry)
                if o is not None:
                    orders.append((o.order_id, o.owner, o.qty))
            out.append((level.price, level.qty, level.count, tuple(orders)))
        return out


def _drop(level: _Level) -> None:
    """Remove an empty level (only dead entries may remain in its deque)."""
    side = level.side
    key = level.key
    del side.levels[key]
    keys = side.keys
    if keys[-1] == key:
        keys.pop()
    else:
        del keys[bisect_left(keys, key)]
    level.orders.clear()  # dead orders queued as themselves point back at the level


def _depth(side: _Side, limit: int | None) -> list[tuple[int, int, int]]:
    keys = side.keys
    levels = side.levels
    chosen = keys[::-1] if limit is None else keys[: -limit - 1 : -1] if limit > 0 else []
    out = []
    for key in chosen:
        level = levels[key]
        out.append((level.price, level.qty, level.count))
    return out
