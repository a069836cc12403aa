"""Reads of the participant directory (the API filters what each viewer sees)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.documents.encoding import b64url_encode
from dataex.store.tables import participant_keys, participants


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
