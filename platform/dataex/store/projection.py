"""Write the events of a batch to the state tables, in the batch's transaction.

The log holds what happened; these tables hold where it left things, so start-up
reads state instead of replaying history. Each participant event type has one
writer here; every registry event has the same one (registry_projection.py
indexes it, and upserts the registry's records once per batch).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.core.encoding import b64url_decode
from dataex.store.registry_projection import index_event, is_registry_event
from dataex.store.tables import participant_keys, participants

Event = dict[str, Any]
Writer = Callable[[AsyncConnection, Event, int], Awaitable[None]]


async def _admitted(conn: AsyncConnection, e: Event, seq: int) -> None:
    await conn.execute(
        insert(participants).values(
            participant_id=e["participant_id"],
            display_name=e["display_name"],
            legal_id=e["legal_id"],
            roles=e["roles"],
            status="active",
            active_key_id=e["key_id"],
            admitted_seq=seq,
        )
    )
    await conn.execute(
        insert(participant_keys).values(
            key_id=e["key_id"],
            participant_id=e["participant_id"],
            public_key=b64url_decode(e["public_key"]),
            status="active",
            added_seq=seq,
        )
    )


async def _rotated(conn: AsyncConnection, e: Event, seq: int) -> None:
    await conn.execute(
        update(participant_keys)
        .where(participant_keys.c.key_id == e["old_key_id"])
        .values(status="rotated")
    )
    await conn.execute(
        insert(participant_keys).values(
            key_id=e["new_key_id"],
            participant_id=e["participant_id"],
            public_key=b64url_decode(e["new_public_key"]),
            status="active",
            added_seq=seq,
        )
    )
    await conn.execute(
        update(participants)
        .where(participants.c.participant_id == e["participant_id"])
        .values(active_key_id=e["new_key_id"])
    )


async def _revoked(conn: AsyncConnection, e: Event, seq: int) -> None:
    await conn.execute(
        update(participant_keys)
        .where(participant_keys.c.key_id == e["key_id"])
        .values(status="revoked")
    )


WRITERS: dict[str, Writer] = {
    "participant.admitted": _admitted,
    "key.rotated": _rotated,
    "key.revoked": _revoked,
}


async def project(conn: AsyncConnection, events: list[Event], seq: int) -> None:
    for position, event in enumerate(events):
        if is_registry_event(event):
            await index_event(conn, event, seq, position)
        else:
            await WRITERS[str(event["type"])](conn, event, seq)
