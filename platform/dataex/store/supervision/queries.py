"""What a regulator reads: everyone's participants, orders, trades and money.

The same committed tables the market's own-data reads use, without the
``owner = me`` filter; api/regulator.py lets only a regulator's signed
request reach these.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from dataex.core.documents.encoding import b64url_encode
from dataex.core.market.ledger import AVAILABLE, HELD
from dataex.store.market.queries import _order, _trade
from dataex.store.tables import (
    ledger_postings,
    orders,
    participant_keys,
    participant_links,
    participants,
    trades,
)


async def all_participants(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every participant with its status, roles, keys and declared links."""
    async with engine.connect() as conn:
        people = {
            r.participant_id: {
                "participant_id": r.participant_id,
                "display_name": r.display_name,
                "legal_id": r.legal_id,
                "roles": sorted(r.roles),
                "status": r.status,
                "active_key_id": r.active_key_id,
                "admitted_seq": r.admitted_seq,
                "keys": [],
                "links": [],
            }
            for r in await conn.execute(select(participants).order_by(participants.c.admitted_seq))
        }
        keys = select(participant_keys).order_by(participant_keys.c.added_seq)
        for k in await conn.execute(keys):
            people[k.participant_id]["keys"].append(
                {"key_id": k.key_id, "public_key": b64url_encode(bytes(k.public_key)),
                 "status": k.status, "added_seq": k.added_seq}
            )
        for link in await conn.execute(
            select(participant_links).where(participant_links.c.status == "active")
            .order_by(participant_links.c.link_id)
        ):
            for me, other in ((link.participant_a, link.participant_b),
                              (link.participant_b, link.participant_a)):
                people[me]["links"].append(
                    {"link_id": link.link_id, "participant_id": other, "basis": link.basis,
                     "linked_seq": link.linked_seq}
                )
    return list(people.values())


async def all_orders(
    engine: AsyncEngine, *, symbol: str | None, participant: str | None, status: str | None,
    limit: int, offset: int,
) -> list[dict[str, Any]]:
    query = select(orders).order_by(desc(orders.c.placed_seq), desc(orders.c.order_id))
    if symbol is not None:
        query = query.where(orders.c.symbol == symbol)
    if participant is not None:
        query = query.where(orders.c.owner == participant)
    if status is not None:
        query = query.where(orders.c.status == status)
    async with engine.connect() as conn:
        return [_order(r) for r in await conn.execute(query.limit(limit).offset(offset))]


async def all_trades(
    engine: AsyncEngine, *, symbol: str | None, participant: str | None, limit: int, offset: int,
) -> list[dict[str, Any]]:
    """Trades, newest first, with both sides' ids, names and legal ids, and their fees."""
    buyer, seller = aliased(participants), aliased(participants)
    query = (
        select(trades, buyer.c.display_name.label("buyer_name"),
               buyer.c.legal_id.label("buyer_legal_id"),
               seller.c.display_name.label("seller_name"),
               seller.c.legal_id.label("seller_legal_id"))
        .join(buyer, buyer.c.participant_id == trades.c.buyer)
        .join(seller, seller.c.participant_id == trades.c.seller)
        .order_by(desc(trades.c.seq), desc(trades.c.trade_id))
    )
    if symbol is not None:
        query = query.where(trades.c.symbol == symbol)
    if participant is not None:
        query = query.where(or_(trades.c.buyer == participant, trades.c.seller == participant))
    async with engine.connect() as conn:
        return [
            {
                **_trade(r),
                "maker_order_id": r.maker_order_id,
                "taker_order_id": r.taker_order_id,
                "buyer": {"participant_id": r.buyer, "display_name": r.buyer_name,
                          "legal_id": r.buyer_legal_id, "fee": r.buyer_fee},
                "seller": {"participant_id": r.seller, "display_name": r.seller_name,
                           "legal_id": r.seller_legal_id, "fee": r.seller_fee},
            }
            for r in await conn.execute(query.limit(limit).offset(offset))
        ]


async def all_balances(engine: AsyncEngine, participant: str | None) -> list[dict[str, Any]]:
    """Per account (participants and platform accounts): available and held per asset,
    and each open order's hold; one account with ``participant``."""
    p = ledger_postings.c
    total = func.sum(p.amount)
    where = [] if participant is None else [p.account == participant]
    accounts: dict[str, dict[str, Any]] = {}

    def account(name: str) -> dict[str, Any]:
        return accounts.setdefault(name, {"account": name, "balances": {}, "holds": []})

    async with engine.connect() as conn:
        for name, asset, bucket, value in await conn.execute(
            select(p.account, p.asset, p.bucket, total).where(*where)
            .group_by(p.account, p.asset, p.bucket).having(total != 0)
            .order_by(p.account, p.asset, p.bucket)
        ):
            entry = account(name)["balances"].setdefault(asset, {AVAILABLE: 0, HELD: 0})
            entry[bucket] = int(value)
        for name, order_id, asset, value in await conn.execute(
            select(p.account, p.order_id, p.asset, total)
            .where(p.bucket == HELD, *where)
            .group_by(p.account, p.order_id, p.asset).having(total != 0)
            .order_by(p.account, p.order_id)
        ):
            account(name)["holds"].append({"order_id": order_id, "asset": asset,
                                           "amount": int(value)})
    return [accounts[name] for name in sorted(accounts)]

