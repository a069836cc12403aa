"""Stored checkpoints and their cosignatures, as notes ready to serve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.core.documents.timefmt import format_utc
from dataex.store.tables import checkpoints, cosignatures


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str  # log signatures only
    signed_at: datetime

    def listing(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root.hex(),
            "note": self.note,
            "signed_at": format_utc(self.signed_at),
        }


def _stored(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(row.size, bytes(row.root_hash), row.note, row.signed_at)


async def latest_checkpoint(conn: AsyncConnection) -> StoredCheckpoint | None:
    row = (
        await conn.execute(select(checkpoints).order_by(checkpoints.c.size.desc()).limit(1))
    ).first()
    return None if row is None else _stored(row)


async def checkpoint_at(conn: AsyncConnection, size: int) -> StoredCheckpoint | None:
    row = (await conn.execute(select(checkpoints).where(checkpoints.c.size == size))).first()
    return None if row is None else _stored(row)


async def list_checkpoints(
    conn: AsyncConnection, from_size: int, limit: int
) -> list[StoredCheckpoint]:
    rows = await conn.execute(
        select(checkpoints)
        .where(checkpoints.c.size >= from_size)
        .order_by(checkpoints.c.size)
        .limit(limit)
    )
    return [_stored(r) for r in rows]


async def with_cosignatures(conn: AsyncConnection, checkpoint: StoredCheckpoint) -> str:
    """The note with every stored cosignature line appended (oldest first)."""
    rows = await conn.execute(
        select(cosignatures.c.signature_line)
        .where(cosignatures.c.size == checkpoint.size)
        .order_by(cosignatures.c.received_at, cosignatures.c.key_hash)
    )
    lines = [r.signature_line if r.signature_line.endswith("\n") else r.signature_line + "\n"
             for r in rows]
    return checkpoint.note + "".join(lines)
