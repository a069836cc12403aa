"""Durable trade settlement: dataex's sequencer against a pgledger-style baseline.

Run from the repository root:

    .venv/bin/python bench/settlement.py [--trades 5000] [--rounds 3]

Both run on the same PostgreSQL (a temporary embedded server, or
DATAEX_DATABASE_URL's server with fresh databases), one after the other,
alternating which goes first, and report trades settled durably per second.

- dataex: pre-signed crossing orders (the issuer sells 1 unit, one of 20
  buyers buys it) submitted through the real front door (parse, Ed25519,
  sequencer) with 64 in flight; every trade is matched, settled delivery
  versus payment on the double-entry ledger with fees, logged and committed
  before its order is answered.
- baseline, modelled on pgledger (github.com/pgr0ss/pgledger): accounts rows
  with balances; a trade is one transaction that locks the five accounts it
  touches (SELECT ... FOR UPDATE, in id order), makes three transfers (cash
  buyer->seller, units seller->buyer, fee buyer->platform), each a transfer
  row, two entry rows and two balance updates, and commits; 16 connections.
  It does no matching, no signature checks and no audit log: less work than
  dataex per trade.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dataex.client.sdk import build_document  # noqa: E402
from dataex.config.settings import Settings  # noqa: E402
from dataex.core.documents.encoding import b64url_encode  # noqa: E402
from dataex.core.documents.signing import public_key_bytes  # noqa: E402
from dataex.core.documents.timefmt import format_utc  # noqa: E402
from dataex.core.envelope import parse_envelope  # noqa: E402
from dataex.store.runtime import Runtime, open_runtime  # noqa: E402

BUYERS = 20
# CPU of this process (all its threads) per settled trade, one value per dataex run:
# the sequencer, the signature checks and the harness's parsing, not PostgreSQL's.
DATAEX_CPU_US_PER_TRADE: list[float] = []
# CPU of the PostgreSQL backends serving each side's database, per trade (from /proc,
# so only when the server runs on this machine): where dataex's work moved to SQL, it shows.
PG_CPU_US_PER_TRADE: dict[str, list[float]] = {"dataex": [], "baseline": []}
SYMBOL = "BENCH-TOKENS"
PRICE = 1000


# ------------------------------------------------------------ measuring ----
async def _backend_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds so far of every backend connected to `url`'s database (None: no /proc)."""
    conn = await asyncpg.connect(url)
    try:
        pids = [r[0] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()
    ticks, seconds = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds or None


def _record_pg_cpu(side: str, before: dict[int, float] | None,
                   after: dict[int, float] | None, trades: int) -> None:
    if before is not None and after is not None:
        used = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
        PG_CPU_US_PER_TRADE[side].append(used * 1e6 / trades)


# ---------------------------------------------------------------- dataex ----
async def _submit(runtime: Runtime, envelope: dict, genesis: bool = False) -> list:  # type: ignore[type-arg]
    parsed = parse_envelope(msgspec.json.encode(envelope), 1 << 20)
    command = runtime.sequencer.authenticate(parsed, max_skew=timedelta(minutes=5),
                                             allow_genesis=genesis)
    return (await runtime.sequencer.submit(command)).events


def _admission(key: Ed25519PrivateKey, name: str, roles: list[str]) -> dict:  # type: ignore[type-arg]
    return {"display_name": name, "legal_id": f"{name}-{uuid.uuid4().hex[:8]}",
            "public_key": b64url_encode(public_key_bytes(key)), "roles": roles}


async def run_dataex(url: str, trades: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        runtime = await open_runtime(Settings(database_url=url, data_dir=Path(folder)))
        try:
            operator, issuer = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
            await _submit(runtime, build_document(
                "dataex.participant.admit.v1", _admission(operator, "op", ["operator"]),
                operator), genesis=True)
            ids = {}
            buyers = [Ed25519PrivateKey.generate() for _ in range(BUYERS)]
            for name, key, roles in [("issuer", issuer, ["issuer", "trader"]),
                                     *[(f"b{i}", k, ["trader"]) for i, k in enumerate(buyers)]]:
                events = await _submit(runtime, build_document(
                    "dataex.participant.admit.v1", _admission(key, name, roles), operator))
                ids[name] = events[0]["participant_id"]
            start = datetime.now(UTC)
            await _submit(runtime, build_document("dataex.market.product.define_token.v1", {
                "symbol": SYMBOL, "model_id": "bench", "unit_label": "1M tokens",
                "valid_from": format_utc(start - timedelta(days=1)),
                "valid_until": format_utc(start + timedelta(days=30)),
                "tick_size": 1, "lot_size": 1, "min_price": 1, "max_price": 1_000_000}, issuer))
            await _submit(runtime, build_document("dataex.market.product.approve.v1",
                                                  {"symbol": SYMBOL}, operator))
            await _submit(runtime, build_document("dataex.market.mint.v1",
                                                  {"symbol": SYMBOL, "quantity": trades}, issuer))
            for i in range(BUYERS):
                await _submit(runtime, build_document("dataex.market.deposit.v1", {
                    "participant_id": ids[f"b{i}"], "amount": 10**12}, operator))

            def place(key: Ed25519PrivateKey, side: str, ref: int) -> bytes:
                return msgspec.json.encode(build_document("dataex.market.order.place.v1", {
                    "client_order_ref": f"r{ref}", "symbol": SYMBOL, "side": side,
                    "order_type": "limit", "price": PRICE, "quantity": 1}, key))

            orders = []
            for n in range(trades):
                orders.append(place(issuer, "sell", 2 * n))
                orders.append(place(buyers[n % BUYERS], "buy", 2 * n + 1))
            gate = asyncio.Semaphore(64)
            settled = 0

            async def one(raw: bytes) -> None:
                nonlocal settled
                async with gate:
                    parsed = parse_envelope(raw, 1 << 20)
                    receipt = await runtime.sequencer.accept(parsed,
                                                             max_skew=timedelta(minutes=5))
                    settled += sum(1 for e in receipt.events if e["type"] == "trade")

            pg_began = await _backend_cpu(url)
            began, cpu_began = time.perf_counter(), time.process_time()
            await asyncio.gather(*(one(raw) for raw in orders))
            elapsed = time.perf_counter() - began
            DATAEX_CPU_US_PER_TRADE.append((time.process_time() - cpu_began) * 1e6 / trades)
            _record_pg_cpu("dataex", pg_began, await _backend_cpu(url), trades)
            assert settled == trades, f"expected {trades} trades, settled {settled}"
            assert runtime.sequencer.state.market.invariants() == []
            return trades / elapsed
        finally:
            await runtime.close()


# ---------------------------------------------------------- pgledger-like ----
LEDGER_SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, currency text NOT NULL,
                       balance bigint NOT NULL, version bigint NOT NULL DEFAULT 0);
CREATE TABLE transfers (id bigserial PRIMARY KEY, from_id bigint NOT NULL,
                        to_id bigint NOT NULL, amount bigint NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE entries (id bigserial PRIMARY KEY, account_id bigint NOT NULL,
                      transfer_id bigint NOT NULL, amount bigint NOT NULL,
                      balance_after bigint NOT NULL);
"""
SELLER_CASH, SELLER_UNITS, FEES = 1, 2, 3  # buyers: cash 100+i, units 200+i


async def _transfer(conn: asyncpg.Connection, src: int, dst: int, amount: int) -> None:
    transfer_id = await conn.fetchval(
        "INSERT INTO transfers (from_id, to_id, amount) VALUES ($1, $2, $3) RETURNING id",
        src, dst, amount)
    for account, delta in ((src, -amount), (dst, amount)):
        balance = await conn.fetchval(
            "UPDATE accounts SET balance = balance + $2, version = version + 1 WHERE id = $1 "
            "RETURNING balance", account, delta)
        if balance < 0 and account not in (SELLER_UNITS,):
            raise RuntimeError("overdraft")
        await conn.execute("INSERT INTO entries (account_id, transfer_id, amount, balance_after) "
                           "VALUES ($1, $2, $3, $4)", account, transfer_id, delta, balance)


async def run_baseline(url: str, trades: int) -> float:
    pool = await asyncpg.create_pool(url, min_size=16, max_size=16)
    try:
        async with pool.acquire() as conn:
            await conn.execute("DROP TABLE IF EXISTS accounts, transfers, entries")
            await conn.execute(LEDGER_SCHEMA)
            rows = [(SELLER_CASH, "CNY", 0), (SELLER_UNITS, SYMBOL, trades), (FEES, "CNY", 0)]
            rows += [(100 + i, "CNY", 10**12) for i in range(BUYERS)]
            rows += [(200 + i, SYMBOL, 0) for i in range(BUYERS)]
            await conn.executemany("INSERT INTO accounts (id, currency, balance) "
                                   "VALUES ($1, $2, $3)", rows)
        fee = PRICE * 10 // 10_000 or 1

        async def settle(n: int) -> None:
            buyer_cash, buyer_units = 100 + n % BUYERS, 200 + n % BUYERS
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetch("SELECT id FROM accounts WHERE id = ANY($1::bigint[]) "
                                 "ORDER BY id FOR UPDATE",
                                 [SELLER_CASH, SELLER_UNITS, FEES, buyer_cash, buyer_units])
                await _transfer(conn, buyer_cash, SELLER_CASH, PRICE)
                await _transfer(conn, SELLER_UNITS, buyer_units, 1)
                await _transfer(conn, buyer_cash, FEES, fee)

        gate = asyncio.Semaphore(16)

        async def limited(n: int) -> None:
            async with gate:
                await settle(n)

        pg_began = await _backend_cpu(url)
        began = time.perf_counter()
        await asyncio.gather(*(limited(n) for n in range(trades)))
        rate = trades / (time.perf_counter() - began)
        _record_pg_cpu("baseline", pg_began, await _backend_cpu(url), trades)
        return rate
    finally:
        await pool.close()


# ------------------------------------------------------------------ main ----
async def _fresh(admin_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _measure(admin_url: str, trades: int, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"dataex": [], "baseline": []}
    for r in range(rounds):
        order = ["dataex", "baseline"] if r % 2 == 0 else ["baseline", "dataex"]
        for name in order:
            url = await _fresh(admin_url, f"bench_settle_{name}")
            rate = await (run_dataex(url, trades) if name == "dataex"
                          else run_baseline(url, trades))
            results[name].append(rate)
            print(f"round {r + 1} {name}: {rate:,.0f} trades/s", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    admin_url = os.environ.get("DATAEX_DATABASE_URL")
    folder = None
    if not admin_url:
        from dataex.store.database.embedded import start_embedded

        folder = tempfile.mkdtemp(prefix="dataex-settle-")
        admin_url = start_embedded(Path(folder), database="postgres")
    try:
        results = asyncio.run(_measure(admin_url, args.trades, args.rounds))
    finally:
        if folder:
            from dataex.store.database.embedded import stop_embedded

            stop_embedded(Path(folder))
    dataex, baseline = statistics.median(results["dataex"]), statistics.median(results["baseline"])
    print("| settlement | trades/s (median) |\n|---|---:|")
    print(f"| dataex (match + DvP ledger + audit log, group commit) | {dataex:,.0f} |")
    print(f"| pgledger-style, one transaction per trade, 16 connections | {baseline:,.0f} |")
    print(f"\ndataex / baseline: {dataex / baseline:.2f}")
    print(f"dataex process CPU per trade (median): "
          f"{statistics.median(DATAEX_CPU_US_PER_TRADE):,.0f} µs")
    for side, values in PG_CPU_US_PER_TRADE.items():
        if values:
            print(f"PostgreSQL backend CPU per trade, {side} (median): "
                  f"{statistics.median(values):,.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
