"""How far the read replica is behind the primary, sampled for /metrics.

Public reads go to the replica (DATAEX_READ_DATABASE_URL); reads of one's own
orders, fills, balances and licences stay on the primary, so a participant
always sees its own acknowledged writes. What the public may miss is what the
replica has not replayed yet: this watch samples that once a second, in WAL
bytes and in seconds (since the last replayed commit, 0 when caught up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

_PRIMARY_LSN = text("SELECT pg_current_wal_lsn()::text")
_REPLICA_LAG = text(
    "SELECT pg_is_in_recovery(), "
    "COALESCE(pg_wal_lsn_diff(CAST(CAST(:primary AS text) AS pg_lsn), pg_last_wal_replay_lsn()), "
    "0), "
    "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)


class ReplicaWatch:
    def __init__(self, primary: AsyncEngine, replica: AsyncEngine, interval: float = 1.0) -> None:
        self.primary = primary
        self.replica = replica
        self.interval = interval
        self.lag_bytes = math.nan  # NaN until a sample succeeds, and while either side is away
        self.lag_seconds = math.nan
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dataex-replica-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sample(self) -> None:
        async with self.primary.connect() as conn:
            lsn = (await conn.execute(_PRIMARY_LSN)).scalar_one()
        async with self.replica.connect() as conn:
            in_recovery, behind, since_replay = (
                await conn.execute(_REPLICA_LAG, {"primary": lsn})).one()
        if not in_recovery:  # the read URL reached a primary: nothing to lag behind
            self.lag_bytes = self.lag_seconds = 0.0
            return
        self.lag_bytes = max(0.0, float(behind))
        self.lag_seconds = 0.0 if self.lag_bytes == 0 else float(since_replay or 0.0)

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception as exc:  # either side away (a failover): unknown, not zero
                self.lag_bytes = self.lag_seconds = math.nan
                log.debug("replica lag not sampled: %s", exc)
            await asyncio.sleep(self.interval)
