"""What the cosignature endpoint reads and writes: witness keys, stored notes, cosignatures.

Cosignatures are not commands (nobody's state changes), so they bypass the
sequencer: each POST is one short transaction into the insert-only
`cosignatures` table, committed before the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import any_, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.log.witness import AcceptedCosignature, WitnessKey
from dataex.store.tables import checkpoints, cosignatures, participant_keys, participants

WITNESS_ROLE = "regulator"


async def witness_keys(engine: AsyncEngine) -> list[WitnessKey]:
    """The active keys of admitted, active regulators: the keys that may cosign."""
    query = (
        select(participants.c.participant_id, participant_keys.c.public_key)
        .join(participant_keys, participant_keys.c.participant_id == participants.c.participant_id)
        .where(literal(WITNESS_ROLE) == any_(participants.c.roles))
        .where(participants.c.status == "active")
        .where(participant_keys.c.status == "active")
        .order_by(participants.c.participant_id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [WitnessKey(r.participant_id, bytes(r.public_key)) for r in rows]


async def stored_note(engine: AsyncEngine, size: int) -> str | None:
    """The log-signed note of the checkpoint at `size`, without cosignatures."""
    async with engine.connect() as conn:
        return (
            await conn.execute(select(checkpoints.c.note).where(checkpoints.c.size == size))
        ).scalar_one_or_none()


async def store_cosignatures(
    engine: AsyncEngine, size: int, accepted: Sequence[AcceptedCosignature], now: datetime
) -> set[bytes]:
    """Insert what is new; return the key hashes actually inserted (a repeat inserts none).

    The first cosignature of a key at a size is kept: a witness that cosigns
    the same checkpoint again (a retry, a later time) adds nothing.
    """
    if not accepted:
        return set()
    rows = [
        {
            "size": size,
            "key_hash": a.key_hash,
            "key_name": a.key_name,
            "signature_line": a.signature_line.removesuffix("\n"),
            "witness_participant_id": a.participant_id,
            "received_at": now,
        }
        for a in accepted
    ]
    statement = (
        insert(cosignatures)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["size", "key_hash"])
        .returning(cosignatures.c.key_hash)
    )
    async with engine.begin() as conn:
        inserted = (await conn.execute(statement)).scalars().all()
    return {bytes(h) for h in inserted}
