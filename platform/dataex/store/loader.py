"""Rebuild the in-memory state from the database: at start and after a failed commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.core.audit import GENESIS_PREV_HASH
from dataex.core.participants import KeyRecord, Participant, Participants
from dataex.core.state import PlatformState
from dataex.store.tables import audit_entries, participant_keys, participants


@dataclass
class ChainHead:
    seq: int
    entry_hash: str


async def load_state(conn: AsyncConnection) -> PlatformState:
    state = PlatformState()
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
    return state


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
