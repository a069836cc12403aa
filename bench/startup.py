"""Start-up time against the length of the ledger's history: before and after migration 0009.

Run from the repository root:

    .venv/bin/python bench/startup.py [--sizes 10000,100000,500000] [--runs 3]

On a temporary embedded PostgreSQL (or DATAEX_DATABASE_URL's server, in a fresh
database), the history grows to each size in turn: deposits from the bank to
1,000 participants, two postings each, written straight into ledger_postings
with generate_series, and ledger_balances refreshed from their sums (what the
sequencer keeps current batch by batch). At each size, the market is loaded
``--runs`` times each way, alternating, and the median wall time reported:

- before: the old start-up, which read every posting in log order and re-applied
  each movement through ``Ledger.apply`` (kept here as it was in store/writer/loader.py);
- after: today's ``load_market``, which reads the maintained balances and holds
  and checks them with ``Ledger.restore``.

Both load the same products, open orders and licences (none here: the history
is the variable) and must give the same ledger, which the bench asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from itertools import groupby
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.core.market.ledger import Ledger
from dataex.core.market.state import Market
from dataex.store.database.engine import create_engine
from dataex.store.database.migrate import upgrade
from dataex.store.market.ledger_check import order_view_of_row
from dataex.store.tables import ledger_postings, licences, orders, products
from dataex.store.writer.loader import MarketSettings, load_market

PARTICIPANTS = 1_000


async def load_market_by_replay(conn: AsyncConnection) -> Market:
    """The start-up before 0009: every posting ever written, re-applied in log order."""
    p = ledger_postings.c
    rows = await conn.execute(
        select(p.seq, p.movement, p.account, p.asset, p.bucket, p.order_id, p.amount)
        .order_by(p.seq, p.movement, p.position)
    )
    ledger = Ledger()
    for _, group in groupby(rows, key=lambda r: (r.seq, r.movement)):
        ledger.apply([
            {"account": r.account, "asset": r.asset, "bucket": r.bucket,
             "order_id": r.order_id, "amount": r.amount}
            for r in group
        ])
    open_orders = [
        order_view_of_row(r)
        for r in (await conn.execute(select(orders).where(orders.c.status == "open"))).mappings()
    ]
    return Market.restore(
        products=[r.view for r in await conn.execute(select(products.c.view))],
        balances=ledger.balance_rows(),
        holds=ledger.hold_rows(),
        orders=open_orders,
        licences=[r.view for r in await conn.execute(select(licences.c.view))],
        counters={"orders": 0, "trades": 0, "licences": 0},
    )


async def grow_history(conn: AsyncConnection, first: int, last: int) -> None:
    """Deposits numbered first..last (seq = number), then balances as the sequencer keeps them."""
    await conn.execute(
        text(
            "INSERT INTO ledger_postings "
            "(seq, movement, position, account, asset, bucket, order_id, amount) "
            "SELECT g, 0, p, CASE WHEN p = 0 THEN 'platform:bank' "
            "ELSE 'P' || lpad((g % :n)::text, 6, '0') END, 'CNY', 'available', NULL, "
            "CASE WHEN p = 0 THEN -(100 + g % 50) ELSE 100 + g % 50 END "
            "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g, "
            "generate_series(0, 1) AS p"
        ),
        {"first": first, "last": last, "n": PARTICIPANTS},
    )
    await conn.execute(text("DELETE FROM ledger_balances"))
    await conn.execute(
        text(
            "INSERT INTO ledger_balances (account, asset, available, held) "
            "SELECT account, asset, SUM(amount), 0 FROM ledger_postings GROUP BY account, asset"
        )
    )


async def measure(admin_url: str, sizes: list[int], runs: int) -> list[tuple[int, float, float]]:
    name = f"dataex_startup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, pool_size=1, max_overflow=0,
                          isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    results = []
    try:
        await upgrade(url)
        engine = create_engine(url, pool_size=1, max_overflow=0)
        movements = 0
        for size in sizes:
            async with engine.begin() as conn:
                await grow_history(conn, movements + 1, size // 2)
            movements = size // 2
            before: list[float] = []
            after: list[float] = []
            for _ in range(runs):
                async with engine.connect() as conn:
                    t0 = time.perf_counter()
                    old = await load_market_by_replay(conn)
                    before.append(time.perf_counter() - t0)
                async with engine.connect() as conn:
                    t0 = time.perf_counter()
                    new = await load_market(conn, MarketSettings())
                    after.append(time.perf_counter() - t0)
                assert new.ledger.snapshot() == old.ledger.snapshot(), "the two start-ups differ"
            results.append((size, statistics.median(before), statistics.median(after)))
            print(f"{size:,} postings: before {before}, after {after}", file=sys.stderr)
        await engine.dispose()
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,500000",
                        help="history lengths in postings, ascending, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    admin_url = os.environ.get("DATAEX_DATABASE_URL")
    folder = None
    if not admin_url:
        from dataex.store.database.embedded import start_embedded

        folder = tempfile.mkdtemp(prefix="dataex-startup-")
        admin_url = start_embedded(Path(folder), database="postgres")
    try:
        results = asyncio.run(measure(admin_url, sizes, args.runs))
    finally:
        if folder:
            from dataex.store.database.embedded import stop_embedded

            stop_embedded(Path(folder))
    print(f"| postings in history | before: replay, s (median of {args.runs}) "
          "| after: maintained balances, s | before ÷ after |")
    print("|---:|---:|---:|---:|")
    for size, before, after in results:
        print(f"| {size:,} | {before:.3f} | {after:.3f} | {before / after:.0f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
