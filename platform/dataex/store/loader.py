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

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.core.audit import GENESIS_PREV_HASH
from dataex.core.participants import KeyRecord, Participant, Participants
from dataex.core.registry import Registry
from dataex.core.state import PlatformState
from dataex.store.tables import (
    audit_entries,
    certificates,
    participant_keys,
    participants,
    registrations,
)


@dataclass
class ChainHead:
    seq: int
    entry_hash: str


async def load_state(conn: AsyncConnection, *, notice_period: timedelta) -> PlatformState:
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
