"""Signed checkpoints of the committed tree: on an interval, and on demand.

Kept out of the sequencer's loop: it reads the committed size, computes the
root from stored hashes, and refuses to sign unless the new tree is consistent
with the previous checkpoint (a consistency proof from the stored hashes,
checked with core.merkle.verify_consistency). Every checkpoint is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.log.checkpoint import format_checkpoint, sign_note
from dataex.core.log.merkle import verify_consistency
from dataex.keys.log_keys import LogKeyFiles
from dataex.store.log import merkle as merkle_store
from dataex.store.log.checkpoints import StoredCheckpoint, latest_checkpoint
from dataex.store.tables import checkpoints

log = logging.getLogger(__name__)


class InconsistentTree(RuntimeError):
    """The stored tree does not extend the last signed checkpoint: never sign over a fork."""


class NoLogKey(RuntimeError):
    """There is no log key to sign with (`dataex init` makes one)."""


def sign_with_all(text: str, name: str, keys: list[Ed25519PrivateKey]) -> str:
    """One signed note carrying a signature line per key (all under the same key name)."""
    note = sign_note(text, name, keys[0])
    for key in keys[1:]:
        note += sign_note(text, name, key)[len(text) + 1 :]
    return note


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Checkpointer:
    def __init__(
        self,
        engine: AsyncEngine,
        committed_size: Callable[[], int],
        *,
        origin: str,
        keys: LogKeyFiles,
        interval_seconds: float,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.committed_size = committed_size
        self.origin = origin
        self.keys = keys
        self.interval_seconds = interval_seconds
        self.clock = clock
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._latest: StoredCheckpoint | None = None  # this is the only writer of checkpoints

    async def latest(self) -> StoredCheckpoint | None:
        """The latest signed checkpoint, from memory once read (for the proof API)."""
        if self._latest is None:
            async with self.engine.connect() as conn:
                self._latest = await latest_checkpoint(conn)
        return self._latest

    def latest_size(self) -> int:
        """Tree size of the latest checkpoint known to this process (0 before the first)."""
        return self._latest.size if self._latest is not None else 0

    def seconds_since_latest(self, now: float) -> float:
        """Age of the latest checkpoint known to this process (for /metrics); NaN if none."""
        if self._latest is None:
            return float("nan")
        return now - self._latest.signed_at.timestamp()

    async def checkpoint(self) -> StoredCheckpoint | None:
        """Sign and store a checkpoint of the committed tree if it grew; return the latest."""
        async with self._lock:
            size = self.committed_size()
            async with self.engine.connect() as conn:
                previous = await latest_checkpoint(conn)
                if size == 0 or (previous is not None and previous.size >= size):
                    self._latest = previous
                    return previous
                root = await merkle_store.root_at(conn, size, size)
                if previous is not None:
                    proof = await merkle_store.consistency_proof(conn, previous.size, size, size)
                    if not verify_consistency(previous.size, size, previous.root, root, proof):
                        raise InconsistentTree(
                            f"the tree of size {size} does not extend checkpoint {previous.size}"
                        )
            signing = self.keys.signing_keys()
            if not signing:
                raise NoLogKey(f"no log key at {self.keys.active}")
            note = sign_with_all(format_checkpoint(self.origin, size, root), self.origin, signing)
            stored = StoredCheckpoint(size, root, note, self.clock())
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(checkpoints).values(
                        size=size, root_hash=root, note=note, signed_at=stored.signed_at
                    )
                )
            self._latest = stored
            return stored

    # -- the background task ---------------------------------------------
    def start(self) -> None:
        if self.interval_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="dataex-checkpointer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        warned = False
        while True:
            await asyncio.sleep(self.interval_seconds)
            try:
                await self.checkpoint()
            except NoLogKey as exc:
                if not warned:
                    log.warning("checkpoints are not signed: %s", exc)
                    warned = True
            except InconsistentTree:
                log.critical("refusing to sign a checkpoint", exc_info=True)
            except Exception:
                log.exception("checkpoint failed; retrying in %s s", self.interval_seconds)
