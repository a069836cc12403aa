"""Rebuild the in-memory state from the database: at start and after a failed commit.

The registry is restored from the records its tables keep (core's plain views,
written in every batch's transaction), not by replaying the registry's log
entries through core. Replaying would be exact by construction, but start-up
would then grow with the length of history and need the notice period and keys
of every past moment; the records make start-up proportional to the live
registry, like participants. Each view has a tested inverse (core's
*_from_view / from_record), and a restart test compares the state snapshot
before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import BigInteger, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.config.licence_catalogue import load_catalogue
from dataex.core.log.chain import GENESIS_PREV_HASH
from dataex.core.market.licence_templates import LicenceTemplate
from dataex.core.market.state import Market
from dataex.core.participants.directory import KeyRecord, Participant, Participants
from dataex.core.registry.lifecycle import Registry
from dataex.core.state import PlatformState
from dataex.core.supervision.freezes import Supervision
from dataex.store.market.ledger_check import order_view_of_row
from dataex.store.tables import (
    audit_entries,
    certificates,
    ledger_balances,
    ledger_holds,
    licences,
    orders,
    participant_keys,
    participant_links,
    participants,
    products,
    registrations,
    trades,
)


@dataclass(frozen=True)
class MarketSettings:
    """Settings of the market, not history (DATAEX_MAKER_FEE_BPS, DATAEX_TAKER_FEE_BPS,
    and the licence templates of contracts/licences/ a listing may name)."""

    default_maker_fee_bps: int = 5
    default_taker_fee_bps: int = 10
    licence_templates: dict[str, LicenceTemplate] = field(default_factory=load_catalogue)


@dataclass
class ChainHead:
    seq: int
    entry_hash: str


async def load_state(
    conn: AsyncConnection,
    *,
    notice_period: timedelta,
    market_settings: MarketSettings | None = None,
) -> PlatformState:
    state = PlatformState(notice_period=notice_period)
    people = state.participants = Participants()
    for row in (await conn.execute(select(participants))).mappings():
        people.by_id[row["participant_id"]] = Participant(
            participant_id=row["participant_id"],
            display_name=row["display_name"],
            legal_id=row["legal_id"],
            roles=frozenset(row["roles"]),
            active_key_id=row["active_key_id"],
            status=row["status"],
        )
        people.legal_ids.add(row["legal_id"])
    for row in (await conn.execute(select(participant_keys))).mappings():
        people.keys[row["key_id"]] = KeyRecord(
            key_id=row["key_id"],
            participant_id=row["participant_id"],
            public_key=bytes(row["public_key"]),
            status=row["status"],
        )
    state.registry = Registry.restore(
        [r.record for r in await conn.execute(select(registrations.c.record))],
        [r.record for r in await conn.execute(select(certificates.c.record))],
    )
    state.market = await load_market(conn, market_settings or MarketSettings())
    state.supervision = Supervision.restore(
        [dict(r) for r in (await conn.execute(select(participant_links))).mappings()]
    )
    return state


async def load_market(conn: AsyncConnection, settings: MarketSettings) -> Market:
    """The market from its tables: products, current balances and holds, open orders.

    Balances and holds are read from ledger_balances and ledger_holds, which
    every batch keeps current (store/market/ledger.py), and re-checked by
    the ledger as a whole (``Ledger.restore``): start-up does not re-add every
    posting ever made, so it does not grow with history (bench/startup.py).
    Books are the open orders put back in time priority. The id counters are
    the highest ids written: every accepted order, trade and licence has a row.
    """
    b, h = ledger_balances.c, ledger_holds.c
    balances = await conn.execute(select(b.account, b.asset, b.available, b.held))
    holds = await conn.execute(select(h.order_id, h.account, h.asset, h.amount))
    open_orders = [
        order_view_of_row(r)
        for r in (await conn.execute(select(orders).where(orders.c.status == "open"))).mappings()
    ]
    return Market.restore(
        products=[r.view for r in await conn.execute(select(products.c.view))],
        balances=[tuple(r) for r in balances],
        holds=[tuple(r) for r in holds],
        orders=open_orders,
        licences=[r.view for r in await conn.execute(select(licences.c.view))],
        counters={
            "orders": await _highest(conn, orders.c.order_id),
            "trades": await _highest(conn, trades.c.trade_id),
            "licences": await _highest(conn, licences.c.licence_id),
        },
        default_maker_fee_bps=settings.default_maker_fee_bps,
        default_taker_fee_bps=settings.default_taker_fee_bps,
        licence_templates=settings.licence_templates,
    )


async def _highest(conn: AsyncConnection, column: Any) -> int:
    """The number of the highest id (O000012 → 12); ids grow past six digits."""
    value = (
        await conn.execute(select(func.max(func.substring(column, 2).cast(BigInteger))))
    ).scalar()
    return int(value or 0)


async def load_chain_head(conn: AsyncConnection) -> ChainHead:
    row = (
        await conn.execute(
            select(audit_entries.c.seq, audit_entries.c.entry_hash)
            .order_by(audit_entries.c.seq.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return ChainHead(0, GENESIS_PREV_HASH)
    return ChainHead(row.seq, bytes(row.entry_hash).hex())
