"""dataex's matching engine against pyorderbook, on one generated order stream.

Run from the repository root (pyorderbook is a bench-only dependency):

    .venv/bin/pip install pyorderbook
    .venv/bin/python bench/matching.py            # a few minutes on 2 cores
    .venv/bin/python bench/matching.py --quick    # smaller, for a smoke run
    .venv/bin/python bench/matching.py --sections scaling --runs 3   # one section only

What it does
  * generates one deterministic stream (seeded ``random.Random``) of limit
    orders and cancels, the only order kinds pyorderbook has: a random-walk mid
    price, 80% passive and 20% marketable limit orders, cancels of random live
    orders. Every order has its own owner, because pyorderbook has no
    self-trade prevention; dataex would otherwise cancel some self-matches.
    Cancels must target live orders, so the generator tracks liveness with a
    scratch dataex book; the cross-checks below are what keep that honest;
  * cross-checks the trades (maker, taker, price, quantity, in order) and the
    remaining book of both engines against a naive list-based reference book on
    a prefix of the stream, then the two engines against each other on all of it;
  * times the whole stream through each engine, median of ``--runs`` runs, in
    commands/s (a command is a new order or a cancel). pyorderbook is timed twice:
    as a caller uses it (building its ``Order``, which draws a uuid4 and parses a
    Decimal, is part of placing an order) and with every ``Order`` built before
    the clock starts (only ``match``/``cancel`` timed: the stricter comparison);
  * times dataex alone on a richer stream (IOC, FOK, post-only, market,
    reductions, self-trade prevention among 50 owners), for information;
  * builds books of 1k and 1M resting orders (1,000 price levels) and times the
    same kind of steady stream on each: 45% passive adds, 45% cancels, 10% small
    takers. Cancels pick their victim two ways: uniformly over the whole book
    (the worst case for caches) and mostly among the 1,000 most recent orders
    (80%; real cancel flow is mostly of recent orders). Beside it: the share of
    dataex's time spent in CPython's cyclic garbage collector (``gc.callbacks``),
    the same stream through an id -> order index alone (``IndexOnly``: a dict and
    one ``__slots__`` object per order, no book, no matching), whose 1M ÷ 1k
    ratio is the floor the memory hierarchy sets for an engine that finds
    orders by id through a dict (dataex now keeps increasing int ids in a
    list instead, so it can do better), and a bare dict lookup at both sizes;
  * measures bytes per resting order at 1M resting orders with tracemalloc
    (live Python allocations, including the ids and quantities the book keeps
    alive) and as the RSS growth of a fresh child process (what the OS sees,
    allocator slack included); for dataex also after 500k commands of churn,
    when cancelled orders may wait in their level for lazy removal.

Timings are CPU seconds of this process (``time.process_time``): the machine
is shared, and wall time would also count time spent waiting for a core.
Numbers are medians on a shared, noisy machine: read the ratios, not the rates.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from dataex.core.documents.errors import DomainError
from dataex.core.market.matching import (
    BUY,
    CANCEL_BOTH,
    CANCEL_NEWEST,
    CANCEL_OLDEST,
    FOK,
    IOC,
    LIMIT,
    MARKET,
    POST_ONLY,
    SELL,
    OrderBook,
)

try:
    import pyorderbook
except ImportError:  # told to the user in main()
    pyorderbook = None

SYMBOL = "DX"
MID = 100_000  # fen per unit
RECENT = 1_000  # "recent" cancels pick among this many most recent live orders

# ("new", order_id, side, price, qty) | ("cancel", order_id) | ("ioc", order_id, side, price, qty)
Command = tuple[Any, ...]
Trade = tuple[int, int, int, int]  # maker id, taker id, price, quantity
Resting = list[tuple[int, str, int, int]]  # (order id, side, price, quantity), sorted
clock = time.process_time


# --------------------------------------------------------------------------- streams


def pick(rng: random.Random, live: list[int], recent: bool) -> int:
    """Remove and return a live id: uniformly, or (80%) among the most recent ones."""
    n = len(live)
    recent_one = recent and rng.random() < 0.8
    i = n - 1 - rng.randrange(min(RECENT, n)) if recent_one else rng.randrange(n)
    live[i], live[-1] = live[-1], live[i]
    return live.pop()


def comparison_stream(n: int, seed: int) -> list[Command]:
    """Limit orders and cancels of live orders: the common ground of both engines."""
    rng = random.Random(seed)
    scratch = OrderBook()
    live: list[int] = []  # ids believed resting; ones filled since are skipped when drawn
    out: list[Command] = []
    mid = MID
    oid = 0
    while len(out) < n:
        r = rng.random()
        if r < 0.02:
            mid += rng.choice((-1, 1))
        if r < 0.45 and live:
            victim = pick(rng, live, recent=False)
            if victim in scratch:
                scratch.cancel(victim)
                out.append(("cancel", victim))
            continue
        oid += 1
        side = BUY if rng.random() < 0.5 else SELL
        sign = 1 if side == BUY else -1
        if rng.random() < 0.2:  # marketable: reaches into the other side
            price = mid + sign * rng.randint(0, 10)
        else:
            price = mid - sign * rng.randint(1, 50)
        qty = rng.randint(1, 100)
        scratch.submit(oid, oid, side, LIMIT, price, qty)
        if oid in scratch:
            live.append(oid)
        out.append(("new", oid, side, price, qty))
    return out


def mixed_stream(n: int, seed: int) -> list[Command]:
    """Every dataex order type, reductions and self-trades among 50 owners (dataex only)."""
    rng = random.Random(seed)
    owners = [f"P{i:06d}" for i in range(50)]
    scratch = OrderBook()
    live: list[int] = []
    out: list[Command] = []
    types = [LIMIT] * 6 + [IOC, FOK, POST_ONLY, MARKET]
    stps = (CANCEL_NEWEST, CANCEL_OLDEST, CANCEL_BOTH)
    oid = 0
    while len(out) < n:
        r = rng.random()
        if r < 0.40 and live:
            victim = pick(rng, live, recent=False)
            order = scratch.order(victim)
            if order is None:
                continue
            if r < 0.33 or order[4] == 1:
                scratch.cancel(victim)
                out.append(("cancel", victim))
            else:
                new_qty = rng.randrange(1, order[4])
                scratch.reduce(victim, new_qty)
                out.append(("reduce", victim, new_qty))
                live.append(victim)
            continue
        oid += 1
        side = BUY if rng.random() < 0.5 else SELL
        sign = 1 if side == BUY else -1
        typ = rng.choice(types)
        if typ in (LIMIT, POST_ONLY):
            price = MID - sign * rng.randint(1 if typ == POST_ONLY else -10, 50)
        else:
            price = MID + sign * rng.randint(0, 20)
        cmd = (
            "submit",
            oid,
            rng.choice(owners),
            side,
            typ,
            price,
            rng.randint(1, 100),
            rng.choice(stps),
        )
        try:
            scratch.submit(*cmd[1:])
        except DomainError:
            continue  # a post-only that would cross: left out of the stream
        if oid in scratch:
            live.append(oid)
        out.append(cmd)
    return out


def passive_order(rng: random.Random, oid: int) -> Command:
    """A resting order on one of 500 ticks either side of a fixed mid."""
    side = BUY if rng.random() < 0.5 else SELL
    off = rng.randint(1, 500)
    return ("new", oid, side, MID - off if side == BUY else MID + off, rng.randint(1, 100))


def book_build(resting: int, seed: int) -> list[Command]:
    rng = random.Random(seed)
    return [passive_order(rng, oid) for oid in range(1, resting + 1)]


def steady_stream(build: list[Command], n: int, seed: int, recent: bool) -> list[Command]:
    """``n`` commands after ``build`` that keep the book at about its size."""
    rng = random.Random(seed)
    scratch = OrderBook()
    run_dataex(build, scratch)
    live = [cmd[1] for cmd in build]
    out: list[Command] = []
    oid = len(build)
    while len(out) < n:
        r = rng.random()
        if r < 0.45:
            victim = pick(rng, live, recent)
            if victim in scratch:
                scratch.cancel(victim)
                out.append(("cancel", victim))
            continue
        oid += 1
        if r < 0.90:
            cmd = passive_order(rng, oid)
            scratch.submit(oid, oid, cmd[2], LIMIT, cmd[3], cmd[4])
            live.append(oid)
        else:  # a small taker with a protection price beyond the book: it never rests
            side = BUY if rng.random() < 0.5 else SELL
            cmd = ("ioc", oid, side, MID + (600 if side == BUY else -600), rng.randint(1, 10))
            scratch.submit(oid, oid, side, IOC, cmd[3], cmd[4])
        out.append(cmd)
    return out


# --------------------------------------------------------------------------- engines


def run_dataex(stream: list[Command], book: OrderBook | IndexOnly | None = None) -> float:
    """CPU seconds to apply ``stream``; ``ioc`` commands go in as IOC orders."""
    book = OrderBook() if book is None else book
    submit = book.submit
    cancel = book.cancel
    t0 = clock()
    for cmd in stream:
        kind = cmd[0]
        if kind == "new":
            submit(cmd[1], cmd[1], cmd[2], LIMIT, cmd[3], cmd[4])
        elif kind == "cancel":
            cancel(cmd[1])
        else:
            submit(cmd[1], cmd[1], cmd[2], IOC, cmd[3], cmd[4])
    return clock() - t0


def run_dataex_mixed(stream: list[Command]) -> float:
    book = OrderBook()
    submit = book.submit
    cancel = book.cancel
    reduce = book.reduce
    t0 = clock()
    for cmd in stream:
        kind = cmd[0]
        if kind == "submit":
            submit(cmd[1], cmd[2], cmd[3], cmd[4], cmd[5], cmd[6], cmd[7])
        elif kind == "cancel":
            cancel(cmd[1])
        else:
            reduce(cmd[1], cmd[2])
    return clock() - t0


def run_pyorderbook(
    stream: list[Command], book: Any = None, orders: dict[int, Any] | None = None
) -> float:
    """As a caller uses it: build the Order (uuid4, Decimal), match it; cancel by Order.

    pyorderbook has no IOC: an ``ioc`` command goes in as a limit order at its
    protection price, which is the same thing as long as it fills completely
    (the steady streams' small takers always do; the caller checks book sizes).
    """
    bid, ask = pyorderbook.bid, pyorderbook.ask
    book = pyorderbook.Book() if book is None else book
    orders = {} if orders is None else orders
    match = book.match
    cancel = book.cancel
    t0 = clock()
    for cmd in stream:
        if cmd[0] == "cancel":
            cancel(orders.pop(cmd[1]))
        else:
            order = (bid if cmd[2] == BUY else ask)(SYMBOL, cmd[3], cmd[4])
            orders[cmd[1]] = order
            match(order)
    return clock() - t0


def run_pyorderbook_prebuilt(stream: list[Command]) -> float:
    """Only match/cancel timed: every Order is built before the clock starts."""
    bid, ask = pyorderbook.bid, pyorderbook.ask
    built = {
        cmd[1]: (bid if cmd[2] == BUY else ask)(SYMBOL, cmd[3], cmd[4])
        for cmd in stream
        if cmd[0] == "new"
    }
    ops = [(cmd[0] == "new", built[cmd[1]]) for cmd in stream]
    book = pyorderbook.Book()
    match = book.match
    cancel = book.cancel
    t0 = clock()
    for is_new, order in ops:
        if is_new:
            match(order)
        else:
            cancel(order)
    return clock() - t0


class _IndexedOrder:
    __slots__ = ("level", "order_id", "owner", "qty")


class IndexOnly:
    """The floor of the scaling test for a dict-indexed engine: only its id -> order index.

    A limit order is stored (one ``__slots__`` object in a dict, as dataex kept
    every order before it gave increasing int ids a list);
    a cancel finds it by id, reads it and drops it; nothing is matched and there
    is no book. Its 1M ÷ 1k ratio is what the memory hierarchy leaves for an
    engine that does no work at all beyond finding orders by id in a dict.
    """

    def __init__(self) -> None:
        self._index: dict[Any, _IndexedOrder] = {}

    def __len__(self) -> int:
        return len(self._index)

    def submit(
        self, order_id: Any, owner: Any, side: str, order_type: str, price: int, quantity: int
    ) -> list[tuple[Any, ...]]:
        if order_type != LIMIT:
            return [("expired", order_id, owner, side, price, quantity)]
        order = _IndexedOrder()
        order.order_id, order.owner, order.qty, order.level = order_id, owner, quantity, price
        self._index[order_id] = order
        return [("rested", order_id, owner, side, price, quantity)]

    def cancel(self, order_id: Any) -> list[tuple[Any, ...]]:
        order = self._index.pop(order_id)
        return [("cancelled", order_id, order.owner, order.level, order.qty)]


class GcTimer:
    """Seconds spent in CPython's cyclic garbage collector while active (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = clock()
        else:
            self.seconds += clock() - self._started

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


# --------------------------------------------------------------------------- cross-check


@dataclass
class RefOrder:
    seq: int
    oid: int
    side: str
    price: int
    qty: int


def reference_trades(stream: list[Command]) -> tuple[list[Trade], Resting]:
    """The naive book: one list, a filter and a sort per order."""
    book: list[RefOrder] = []
    trades: list[Trade] = []
    for seq, cmd in enumerate(stream):
        if cmd[0] == "cancel":
            book.remove(next(o for o in book if o.oid == cmd[1]))
            continue
        _, oid, side, price, qty = cmd
        buy = side == BUY
        crossing = sorted(
            (o for o in book if o.side != side and (o.price <= price if buy else o.price >= price)),
            key=lambda o: (o.price if buy else -o.price, o.seq),
        )
        for o in crossing:
            if not qty:
                break
            fill = min(qty, o.qty)
            trades.append((o.oid, oid, o.price, fill))
            o.qty -= fill
            qty -= fill
            if not o.qty:
                book.remove(o)
        if qty:
            book.append(RefOrder(seq, oid, side, price, qty))
    return trades, sorted((o.oid, o.side, o.price, o.qty) for o in book)


def dataex_trades(stream: list[Command]) -> tuple[list[Trade], Resting]:
    book = OrderBook()
    trades: list[Trade] = []
    for cmd in stream:
        if cmd[0] == "new":
            events = book.submit(cmd[1], cmd[1], cmd[2], LIMIT, cmd[3], cmd[4])
            trades += [(e[1], e[2], e[3], e[4]) for e in events if e[0] == "trade"]
        else:
            book.cancel(cmd[1])
    snap = book.snapshot()
    rest = sorted(
        (oid, side, price, qty)
        for name, side in (("bids", BUY), ("asks", SELL))
        for price, _, _, orders in snap[name]
        for oid, _, qty in orders
    )
    return trades, rest


def pyorderbook_trades(stream: list[Command]) -> tuple[list[Trade], Resting]:
    book = pyorderbook.Book()
    ids: dict[Any, int] = {}
    orders: dict[int, Any] = {}
    trades: list[Trade] = []
    for cmd in stream:
        if cmd[0] == "cancel":
            book.cancel(orders[cmd[1]])
            continue
        order = (pyorderbook.bid if cmd[2] == BUY else pyorderbook.ask)(SYMBOL, cmd[3], cmd[4])
        ids[order.id] = cmd[1]
        orders[cmd[1]] = order
        for t in book.match(order).trades:
            price = int(t.fill_price)
            assert price == t.fill_price  # integral prices stay integral
            trades.append(
                (ids[t.standing_order_id], ids[t.incoming_order_id], price, t.fill_quantity)
            )
    rest = sorted(
        (ids[o.id], BUY if o.side == pyorderbook.Side.BID else SELL, int(o.price), o.quantity)
        for o in book.order_map.values()
    )
    return trades, rest


# --------------------------------------------------------------------------- memory


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


OWNERS = [f"P{i:06d}" for i in range(1000)]  # participants: shared by their orders


def build_dataex(n: int, seed: int) -> OrderBook:
    """Ids and quantities are made here, so what the book keeps alive is counted."""
    rng = random.Random(seed)
    book = OrderBook()
    submit = book.submit
    for oid in range(1, n + 1):
        side = BUY if rng.random() < 0.5 else SELL
        off = rng.randint(1, 500)
        price = MID - off if side == BUY else MID + off
        submit(oid, OWNERS[oid % 1000], side, LIMIT, price, rng.randint(1, 100))
    return book


def churn_dataex(book: OrderBook, n: int, seed: int, live: list[int]) -> None:
    """``n`` steady-stream commands (uniform cancels) made on the fly, ids fresh."""
    rng = random.Random(seed)
    oid = len(live)
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            victim = pick(rng, live, recent=False)
            if victim in book:
                book.cancel(victim)
            continue
        oid += 1
        side = BUY if rng.random() < 0.5 else SELL
        if r < 0.90:
            off = rng.randint(1, 500)
            price = MID - off if side == BUY else MID + off
            book.submit(oid, OWNERS[oid % 1000], side, LIMIT, price, rng.randint(1, 100))
            live.append(oid)
        else:
            price = MID + (600 if side == BUY else -600)
            book.submit(oid, OWNERS[oid % 1000], side, IOC, price, rng.randint(1, 10))


def build_pyorderbook(n: int, seed: int) -> Any:
    rng = random.Random(seed)
    book = pyorderbook.Book()
    for _ in range(n):
        side = BUY if rng.random() < 0.5 else SELL
        off = rng.randint(1, 500)
        price = MID - off if side == BUY else MID + off
        make = pyorderbook.bid if side == BUY else pyorderbook.ask
        book.match(make(SYMBOL, price, rng.randint(1, 100)))
    return book


def traced_bytes_per_order(n: int, churn: int) -> tuple[float, int]:
    """tracemalloc bytes per resting dataex order after a build (and optional churn)."""
    gc.collect()
    live = list(range(1, n + 1))  # made before tracing: the book holds its own id objects
    live.extend(range(n + 1, n + 1 + churn))  # room to grow, so the list never reallocates
    del live[n:]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    book = build_dataex(n, 7)
    if churn:
        churn_dataex(book, churn, 8, live)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return traced / len(book), len(book)


def traced_pyorderbook(n: int) -> tuple[float, int]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    book = build_pyorderbook(n, 7)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return traced / len(book.order_map), len(book.order_map)


def rss_child(engine: str, n: int) -> None:
    """Run in a fresh process: print RSS growth per resting order for one build."""
    gc.collect()
    before = rss_bytes()
    book: Any = build_dataex(n, 7) if engine == "dataex" else build_pyorderbook(n, 7)
    gc.collect()
    grown = rss_bytes() - before
    size = len(book) if engine == "dataex" else len(book.order_map)
    print(grown / size)


def rss_per_order(engine: str, n: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", engine, str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def dict_lookup_ns(n: int, lookups: int = 300_000) -> float:
    """A bare random lookup in an n-entry dict of int keys: the floor for find-by-id in a dict."""
    d = {i: None for i in range(10**9, 10**9 + n)}
    rng = random.Random(1)
    keys = [int(str(10**9 + rng.randrange(n))) for _ in range(lookups)]  # fresh key objects
    t0 = clock()
    for k in keys:
        d[k]
    return (clock() - t0) / lookups * 1e9


# --------------------------------------------------------------------------- main


def median_rate(count: int, timings: list[float]) -> float:
    return count / statistics.median(timings)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{model}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, pyorderbook {version('pyorderbook')}"
    )


def head_to_head(n: int, prefix: int, runs: int, seed: int) -> None:
    stream = comparison_stream(n, seed)
    news = sum(1 for c in stream if c[0] == "new")
    print(f"stream: {n:,} commands ({news:,} limit orders, {n - news:,} cancels), seed {seed}")
    head = stream[:prefix]
    ref = reference_trades(head)
    assert dataex_trades(head) == ref, "dataex disagrees with the reference book"
    assert pyorderbook_trades(head) == ref, "pyorderbook disagrees with the reference book"
    print(
        f"cross-check: first {prefix:,} commands: the same {len(ref[0]):,} trades and "
        f"{len(ref[1]):,} resting orders in dataex, pyorderbook and the reference book"
    )
    ours, theirs = dataex_trades(stream), pyorderbook_trades(stream)
    assert ours == theirs, "dataex and pyorderbook disagree on the whole stream"
    print(
        f"cross-check: whole stream: the same {len(ours[0]):,} trades and {len(ours[1]):,} "
        "resting orders in both engines"
    )

    dx: list[float] = []
    pob: list[float] = []
    pre: list[float] = []
    for _ in range(runs):  # interleaved, so drifting load hits all three alike
        gc.collect()
        dx.append(run_dataex(stream))
        gc.collect()
        pob.append(run_pyorderbook(stream))
        gc.collect()
        pre.append(run_pyorderbook_prebuilt(stream))
    mixed = mixed_stream(n, seed + 1)
    r_dx, r_pob, r_pre = median_rate(n, dx), median_rate(n, pob), median_rate(n, pre)
    r_mixed = median_rate(n, [run_dataex_mixed(mixed) for _ in range(runs)])
    print()
    print(f"| engine, same stream ({runs} runs) | commands/s (median) | dataex ÷ this |")
    print("|---|---:|---:|")
    print(f"| dataex `OrderBook` | {r_dx:,.0f} | 1.00 |")
    print(f"| pyorderbook, as called (builds its `Order`) | {r_pob:,.0f} | {r_dx / r_pob:.2f} |")
    print(
        f"| pyorderbook, `Order`s pre-built (match/cancel only) | {r_pre:,.0f} | "
        f"{r_dx / r_pre:.2f} |"
    )
    print(f"| dataex, mixed stream (all types, STP, reduce; own stream) | {r_mixed:,.0f} | – |")
    print(
        "per-run commands/s: dataex "
        + ", ".join(f"{n / t:,.0f}" for t in dx)
        + "; pyorderbook "
        + ", ".join(f"{n / t:,.0f}" for t in pob)
        + "; pre-built "
        + ", ".join(f"{n / t:,.0f}" for t in pre)
    )


def scaling(big: int, steady_n: int, runs: int, seed: int) -> None:
    print()
    print(
        "| cancels | resting orders | dataex commands/s | ÷ at 1k | of it in cyclic GC "
        "| pyorderbook commands/s | ÷ at 1k | id index only, ÷ at 1k | dataex ÷ pyorderbook |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    builds = {size: book_build(size, seed) for size in (1_000, big)}
    for recent in (False, True):
        rates: dict[int, tuple[float, float, float]] = {}
        for size, build in builds.items():
            steady = steady_stream(build, steady_n, seed + 3, recent)
            dx: list[float] = []
            in_gc: list[float] = []
            pob: list[float] = []
            floor: list[float] = []
            for _ in range(runs):
                book = OrderBook()
                run_dataex(build, book)
                gc.collect()
                with GcTimer() as collector:
                    dx.append(run_dataex(steady, book))
                in_gc.append(collector.seconds / dx[-1])
                size_dx = len(book)
                del book
                pbook, porders = pyorderbook.Book(), dict[int, Any]()
                run_pyorderbook(build, pbook, porders)
                gc.collect()
                pob.append(run_pyorderbook(steady, pbook, porders))
                assert len(pbook.order_map) == size_dx, "the engines' books differ in size"
                del pbook, porders
                index = IndexOnly()
                run_dataex(build, index)
                gc.collect()
                floor.append(run_dataex(steady, index))
                del index
                gc.collect()
            rates[size] = (
                median_rate(steady_n, dx), median_rate(steady_n, pob), median_rate(steady_n, floor)
            )
            r_dx, r_pob, r_floor = rates[size]
            base_dx, base_pob, base_floor = rates[1_000]
            print(
                f"| {'80% recent' if recent else 'uniform'} | {size:,} (ends at {size_dx:,}) | "
                f"{r_dx:,.0f} | {r_dx / base_dx:.2f} | {statistics.median(in_gc):.0%} | "
                f"{r_pob:,.0f} | {r_pob / base_pob:.2f} | {r_floor / base_floor:.2f} | "
                f"{r_dx / r_pob:.2f} |"
            )
    for recent in (False, True):
        ratios = [interleaved_ratio(builds, steady_n, seed, recent) for _ in range(runs)]
        print(f"interleaved, {'80% recent' if recent else 'uniform'} cancels: dataex at "
              f"{big:,} ÷ at 1k = {statistics.median(ratios):.2f} (runs: "
              + ", ".join(f"{r:.2f}" for r in ratios) + ")")
    small, large = dict_lookup_ns(1_000), dict_lookup_ns(big)
    print(
        f"bare dict lookup of a random int key: {small:.0f} ns at 1k entries, {large:.0f} ns "
        f"at {big:,} ({small / large:.2f} of the speed)"
    )


def interleaved_ratio(builds: dict[int, list[Command]], steady_n: int, seed: int,
                      recent: bool, chunk: int = 10_000) -> float:
    """Throughput at the big size ÷ at 1k, with both books fed their streams in turns.

    The sections above time each size in its own minutes, so a change in the load of
    this shared machine between them moves the ratio (ratios above 1 were seen); here
    both books stay live and take alternate chunks, so both see the same load.
    """
    books, streams, spent = {}, {}, {}
    for size, build in builds.items():
        books[size] = OrderBook()
        run_dataex(build, books[size])
        streams[size] = steady_stream(build, steady_n, seed + 3, recent)
        spent[size] = 0.0
    gc.collect()
    for start in range(0, steady_n, chunk):
        for size in builds:
            spent[size] += run_dataex(streams[size][start:start + chunk], books[size])
    small, big = sorted(builds)
    return spent[small] / spent[big]


def memory(big: int) -> None:
    print()
    print("| engine | bytes per resting order, tracemalloc | RSS growth (fresh process) |")
    print("|---|---:|---:|")
    t, k = traced_bytes_per_order(big, 0)
    print(f"| dataex, {k:,} resting | {t:,.0f} | {rss_per_order('dataex', big):,.0f} |")
    t, k = traced_bytes_per_order(big, big // 2)
    print(f"| dataex, {k:,} resting after {big // 2:,} more commands | {t:,.0f} | – |")
    t, k = traced_pyorderbook(big)
    print(f"| pyorderbook, {k:,} resting | {t:,.0f} | {rss_per_order('pyorderbook', big):,.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller stream and book sizes")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per engine (median)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--sections",
        default="head-to-head,scaling,memory",
        help="comma-separated subset of head-to-head, scaling, memory (to keep a run short)",
    )
    parser.add_argument("--rss-child", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if pyorderbook is None:
        print("pyorderbook is not installed: .venv/bin/pip install pyorderbook", file=sys.stderr)
        return 2
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]))
        return 0
    n = 50_000 if args.quick else 300_000
    prefix = 2_000 if args.quick else 6_000
    big = 100_000 if args.quick else 1_000_000
    steady_n = 50_000 if args.quick else 200_000
    runs = args.runs or (3 if args.quick else 5)
    started = time.perf_counter()
    print(f"machine: {machine()}")
    sections = set(args.sections.split(","))
    if "head-to-head" in sections:
        head_to_head(n, prefix, runs, args.seed)
    if "scaling" in sections:
        scaling(big, steady_n, args.runs or 3, args.seed)
    if "memory" in sections:
        memory(big)
    print(f"\n(took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
