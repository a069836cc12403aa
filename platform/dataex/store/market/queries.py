"""Market reads for the API and the CLI, from the committed tables (never the sequencer).

Depth is summed from the open orders' rows, candles from the trades table
(date_bin buckets, open and close by log order), balances and holds from the
postings: what a client reads is exactly what was committed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import desc, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.documents.timefmt import format_utc
from dataex.core.market.ledger import AVAILABLE, HELD
from dataex.store.tables import (
    ledger_balances,
    ledger_postings,
    licences,
    orders,
    products,
    trades,
)

CANDLE_INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}
EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


async def product_list(
    engine: AsyncEngine, *, status: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    query = select(products.c.view).order_by(products.c.symbol)
    if status is not None:
        query = query.where(products.c.status == status)
    if kind is not None:
        query = query.where(products.c.kind == kind)
    async with engine.connect() as conn:
        return [r.view for r in await conn.execute(query)]


async def product(engine: AsyncEngine, symbol: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(products.c.view).where(products.c.symbol == symbol))
        ).first()
    return None if row is None else dict(row.view)


async def depth(engine: AsyncEngine, symbol: str, levels: int) -> dict[str, Any]:
    """Price levels of the open orders: bids best (highest) first, asks lowest first."""
    o = orders.c
    result: dict[str, Any] = {"symbol": symbol}
    async with engine.connect() as conn:
        # One snapshot for the seq and the levels, so `seq` is exactly what they show.
        await conn.execution_options(isolation_level="REPEATABLE READ")
        seq = (await conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_entries")))
        result["seq"] = seq.scalar_one()
        for side, order in (("buy", desc(o.price)), ("sell", o.price)):
            rows = await conn.execute(
                select(o.price, func.sum(o.remaining), func.count())
                .where(o.symbol == symbol, o.status == "open", o.side == side)
                .group_by(o.price)
                .order_by(order)
                .limit(levels)
            )
            result["bids" if side == "buy" else "asks"] = [
                {"price": p, "quantity": int(q), "orders": n} for p, q, n in rows
            ]
    return result


def _trade(row: Any) -> dict[str, Any]:
    return {
        "trade_id": row.trade_id,
        "seq": row.seq,
        "time": format_utc(row.time),
        "symbol": row.symbol,
        "price": row.price,
        "quantity": row.quantity,
        "notional": row.notional,
        "taker_side": row.taker_side,
    }


async def recent_trades(engine: AsyncEngine, symbol: str, limit: int) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(trades).where(trades.c.symbol == symbol)
            .order_by(desc(trades.c.seq), desc(trades.c.trade_id)).limit(limit)
        )
        return [_trade(r) for r in rows]


async def candles(
    engine: AsyncEngine, symbol: str, interval: timedelta, limit: int
) -> list[dict[str, Any]]:
    """OHLCV per interval, oldest first; intervals without trades are left out."""
    sql = text(
        "SELECT bucket, open, high, low, close, volume, notional, count FROM ("
        "  SELECT date_bin(:interval, time, :epoch) AS bucket,"
        "    (array_agg(price ORDER BY seq, trade_id))[1] AS open,"
        "    max(price) AS high, min(price) AS low,"
        "    (array_agg(price ORDER BY seq DESC, trade_id DESC))[1] AS close,"
        "    sum(quantity) AS volume, sum(notional) AS notional, count(*) AS count"
        "  FROM trades WHERE symbol = :symbol GROUP BY 1 ORDER BY 1 DESC LIMIT :limit"
        ") AS recent ORDER BY bucket"
    )
    async with engine.connect() as conn:
        rows = await conn.execute(
            sql, {"interval": interval, "epoch": EPOCH, "symbol": symbol, "limit": limit}
        )
        return [
            {
                "start": format_utc(r.bucket),
                "open": r.open,
                "high": r.high,
                "low": r.low,
                "close": r.close,
                "volume": int(r.volume),
                "notional": int(r.notional),
                "trades": r.count,
            }
            for r in rows
        ]


async def ticker(engine: AsyncEngine, symbol: str, now: datetime) -> dict[str, Any]:
    """Last price, best bid and ask, and the last 24 hours' open, high, low and volume."""
    t, o = trades.c, orders.c
    since = now - timedelta(days=1)
    async with engine.connect() as conn:
        last = (
            await conn.execute(
                select(t.price, t.time).where(t.symbol == symbol)
                .order_by(desc(t.seq), desc(t.trade_id)).limit(1)
            )
        ).first()
        day = (
            await conn.execute(
                select(func.max(t.price), func.min(t.price), func.coalesce(func.sum(t.quantity), 0),
                       func.coalesce(func.sum(t.notional), 0), func.count())
                .where(t.symbol == symbol, t.time >= since)
            )
        ).one()
        first = (
            await conn.execute(
                select(t.price).where(t.symbol == symbol, t.time >= since)
                .order_by(t.seq, t.trade_id).limit(1)
            )
        ).scalar()
        best = {}
        for side, agg in (("buy", func.max(o.price)), ("sell", func.min(o.price))):
            best[side] = (
                await conn.execute(
                    select(agg).where(o.symbol == symbol, o.status == "open", o.side == side)
                )
            ).scalar()
    return {
        "symbol": symbol,
        "last_price": None if last is None else last.price,
        "last_trade_at": None if last is None else format_utc(last.time),
        "best_bid": best["buy"],
        "best_ask": best["sell"],
        "open_24h": first,
        "high_24h": day[0],
        "low_24h": day[1],
        "volume_24h": int(day[2]),
        "notional_24h": int(day[3]),
        "trades_24h": day[4],
    }


# ---- a participant's own -------------------------------------------------------------


def _order(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["placed_at"] = format_utc(out["placed_at"])
    return out


async def own_orders(
    engine: AsyncEngine, owner: str, *, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = (
        select(orders).where(orders.c.owner == owner)
        .order_by(desc(orders.c.placed_seq), desc(orders.c.order_id)).limit(limit).offset(offset)
    )
    if status is not None:
        query = query.where(orders.c.status == status)
    async with engine.connect() as conn:
        return [_order(r) for r in await conn.execute(query)]


async def own_fills(engine: AsyncEngine, who: str, limit: int) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(trades).where(or_(trades.c.buyer == who, trades.c.seller == who))
            .order_by(desc(trades.c.seq), desc(trades.c.trade_id)).limit(limit)
        )
        out = []
        for r in rows:
            fill = _trade(r)
            buyer = r.buyer == who
            fill.update(
                side="buy" if buyer else "sell",
                order_id=r.taker_order_id if (r.taker_side == "buy") == buyer
                else r.maker_order_id,
                fee=r.buyer_fee if buyer else r.seller_fee,
                counterparty=r.seller if buyer else r.buyer,
            )
            out.append(fill)
        return out


async def own_balances(engine: AsyncEngine, who: str) -> dict[str, Any]:
    """Available and held per asset, and each open order's hold."""
    p = ledger_postings.c
    total = func.sum(p.amount)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(p.asset, p.bucket, total).where(p.account == who).group_by(p.asset, p.bucket)
        )
        balances: dict[str, dict[str, int]] = {}
        for asset, bucket, value in rows:
            entry = balances.setdefault(asset, {AVAILABLE: 0, HELD: 0})
            entry[bucket] = int(value)
        holds = [
            {"order_id": order_id, "asset": asset, "amount": int(value)}
            for order_id, asset, value in await conn.execute(
                select(p.order_id, p.asset, total)
                .where(p.account == who, p.bucket == HELD)
                .group_by(p.order_id, p.asset).having(total != 0).order_by(p.order_id)
            )
        ]
    return {
        "participant_id": who,
        "balances": {a: balances[a] for a in sorted(balances) if any(balances[a].values())},
        "holds": holds,
    }


async def licence_list(
    engine: AsyncEngine, now: datetime, *, licensee: str | None = None,
    symbol: str | None = None, limit: int = 50, offset: int = 0,
) -> list[dict[str, Any]]:
    query = select(licences).order_by(licences.c.granted_seq, licences.c.licence_id)
    if licensee is not None:
        query = query.where(licences.c.licensee == licensee)
    if symbol is not None:
        query = query.where(licences.c.symbol == symbol)
    async with engine.connect() as conn:
        return [
            _licence(r, now) for r in await conn.execute(query.limit(limit).offset(offset))
        ]


async def licence(engine: AsyncEngine, licence_id: str, now: datetime) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(licences).where(licences.c.licence_id == licence_id))
        ).first()
    return None if row is None else _licence(row, now)


def _licence(row: Any, now: datetime) -> dict[str, Any]:
    """Status `expired` is read from valid_until, like a certificate's."""
    expired = row.status == "active" and row.valid_until <= now
    return {
        **row.view,
        "status": "expired" if expired else row.status,
        "seq": row.granted_seq,
        "platform_key_id": row.platform_key_id,
        "platform_signature": row.platform_signature,
    }


async def product_holders(engine: AsyncEngine, symbol: str, issuer: str) -> list[dict[str, Any]]:
    """Who holds units of `symbol` besides its issuer, with available and held units."""
    b = ledger_balances.c
    query = (select(b.account, b.available, b.held)
             .where(b.asset == symbol, b.account != issuer, ~b.account.startswith("platform:"),
                    (b.available + b.held) > 0)
             .order_by(b.account))
    async with engine.connect() as conn:
        return [{"participant_id": account, "available": int(available), "held": int(held)}
                for account, available, held in await conn.execute(query)]
