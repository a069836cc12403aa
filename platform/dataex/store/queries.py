"""Read queries for the API and the CLI. Reads never go through the sequencer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from sqlalchemy import any_, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.encoding import b64url_encode
from dataex.store.tables import audit_entries, participant_keys, participants


def _logged(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "entry_hash": bytes(row.entry_hash).hex(),
        "entry": msgspec.json.decode(row.entry),
    }


async def audit_entry(engine: AsyncEngine, seq: int) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(audit_entries).where(audit_entries.c.seq == seq))
        ).first()
    return None if row is None else _logged(row)


async def audit_entries_range(
    engine: AsyncEngine, from_seq: int, limit: int
) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(audit_entries)
            .where(audit_entries.c.seq >= from_seq)
            .order_by(audit_entries.c.seq)
            .limit(limit)
        )
        return [_logged(r) for r in rows]


async def stream_audit_lines(
    engine: AsyncEngine, from_seq: int, page: int = 2000
) -> AsyncIterator[bytes]:
    """Export lines {seq, entry_hash, entry} in seq order, page by page (constant memory)."""
    next_seq = from_seq
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(audit_entries.c.seq, audit_entries.c.entry_hash, audit_entries.c.entry)
                    .where(audit_entries.c.seq >= next_seq)
                    .order_by(audit_entries.c.seq)
                    .limit(page)
                )
            ).all()
        for row in rows:
            # The stored entry is already canonical JSON: splice it in, don't re-encode.
            yield (
                b'{"seq":%d,"entry_hash":"%s","entry":%s}\n'
                % (row.seq, bytes(row.entry_hash).hex().encode(), row.entry.encode())
            )
        if len(rows) < page:
            return
        next_seq = rows[-1].seq + 1


def _participant(row: Any, keys: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "participant_id": row.participant_id,
        "display_name": row.display_name,
        "legal_id": row.legal_id,
        "roles": list(row.roles),
        "status": row.status,
        "active_key_id": row.active_key_id,
        "admitted_seq": row.admitted_seq,
        "keys": keys,
    }


async def list_participants(engine: AsyncEngine, role: str | None = None) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        query = select(participants).order_by(participants.c.participant_id)
        if role:
            query = query.where(literal(role) == any_(participants.c.roles))
        people = (await conn.execute(query)).all()
        key_rows = (
            await conn.execute(select(participant_keys).order_by(participant_keys.c.added_seq))
        ).all()
    keys: dict[str, list[dict[str, Any]]] = {}
    for k in key_rows:
        keys.setdefault(k.participant_id, []).append(
            {
                "key_id": k.key_id,
                "public_key": b64url_encode(bytes(k.public_key)),
                "status": k.status,
                "added_seq": k.added_seq,
            }
        )
    return [_participant(p, keys.get(p.participant_id, [])) for p in people]
