"""A log with many entries, fast: concurrent admissions through the real sequencer."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from dataex.store.runtime import Runtime
from dataex.store.tables import audit_entries, merkle_hashes
from tests.factories import ADMIT, Actor
from tests.platform_setup import submit, with_operator


async def grow_log(runtime: Runtime, entries: int, operator: Actor | None = None) -> Actor:
    """Add `entries` log entries (admissions), the operator's genesis first if not given."""
    if operator is None:
        operator = await with_operator(runtime)
        entries -= 1
    envelopes = [
        operator.sign(ADMIT, Actor.new(f"p{runtime.sequencer.head.seq}-{i}").admission(["trader"]))
        for i in range(entries)
    ]
    await asyncio.gather(*(submit(runtime, e) for e in envelopes))
    return operator


async def leaf_hashes(runtime: Runtime) -> list[bytes]:
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(audit_entries.c.entry_hash).order_by(audit_entries.c.seq)
        )
        return [bytes(r.entry_hash) for r in rows]


async def stored_hashes(runtime: Runtime) -> dict[tuple[int, int], bytes]:
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(select(merkle_hashes))
        return {(r.level, r.idx): bytes(r.hash) for r in rows}
