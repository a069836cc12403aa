"""Reads of the log's entries: one, a range, those naming a participant, the export.

Reads never go through the sequencer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dataex.store.tables import (
    audit_entries,
    checkpoints,
    cosignatures,
    entry_participants,
)

# Log entries of these contracts are the registry's public record (SPEC section 12).
PUBLIC_ENTRY_PREFIX = "dataex.registry."


def _logged(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "entry_hash": bytes(row.entry_hash).hex(),
        "entry": msgspec.json.decode(row.entry),
    }


async def audit_entry(engine: AsyncEngine, seq: int) -> tuple[dict[str, Any], set[str]] | None:
    """Entry `seq` and the participant ids it names (for the access rule), or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(audit_entries).where(audit_entries.c.seq == seq))
        ).first()
        if row is None:
            return None
        named = set((await conn.execute(
            select(entry_participants.c.participant_id).where(entry_participants.c.seq == seq)
        )).scalars())
    return _logged(row), named


def _public_seqs(from_seq: int, limit: int) -> Any:
    """Seqs of the registry's public-record entries (partial index of migration 0009)."""
    return (select(audit_entries.c.seq)
            .where(audit_entries.c.kind.startswith(PUBLIC_ENTRY_PREFIX),
                   audit_entries.c.seq >= from_seq)
            .order_by(audit_entries.c.seq).limit(limit))


def _named_seqs(participant_id: str, from_seq: int, limit: int) -> Any:
    return (select(entry_participants.c.seq)
            .where(entry_participants.c.participant_id == participant_id,
                   entry_participants.c.seq >= from_seq)
            .order_by(entry_participants.c.seq).limit(limit))


async def audit_entries_range(
    engine: AsyncEngine, from_seq: int, limit: int, *, everything: bool,
    participant_id: str | None = None,
) -> list[dict[str, Any]]:
    """Entries from `from_seq` a reader may see: all of them, or the public records and
    those naming `participant_id` (each side walks its own index, then the two merge)."""
    query = select(audit_entries).where(audit_entries.c.seq >= from_seq)
    if not everything:
        seqs = _public_seqs(from_seq, limit).subquery()
        visible = select(seqs.c.seq)
        if participant_id is not None:
            named = _named_seqs(participant_id, from_seq, limit).subquery()
            visible = union(visible, select(named.c.seq)).subquery().select()
        query = query.where(audit_entries.c.seq.in_(visible))
    async with engine.connect() as conn:
        rows = await conn.execute(query.order_by(audit_entries.c.seq).limit(limit))
        return [_logged(r) for r in rows]


async def named_seqs(
    engine: AsyncEngine, participant_id: str, from_seq: int, up_to: int, page: int = 2000
) -> AsyncIterator[list[int]]:
    """The seqs naming `participant_id` in [from_seq, up_to], page by page."""
    next_seq = from_seq
    while next_seq <= up_to:
        async with engine.connect() as conn:
            found = list((await conn.execute(
                _named_seqs(participant_id, next_seq, page)
                .where(entry_participants.c.seq <= up_to))).scalars())
        if not found:
            return
        yield found
        next_seq = found[-1] + 1


async def entries_by_seq(engine: AsyncEngine, seqs: list[int]) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(
            select(audit_entries.c.seq, audit_entries.c.entry_hash, audit_entries.c.entry)
            .where(audit_entries.c.seq.in_(seqs)).order_by(audit_entries.c.seq))).all())


async def stream_audit_lines(
    engine: AsyncEngine, from_seq: int, page: int = 2000
) -> AsyncIterator[bytes]:
    """Export lines in seq order, page by page (constant memory), with the checkpoints.

    Entry lines are {seq, entry_hash, entry}; each stored checkpoint of size N
    follows the entry line of seq N as {checkpoint: <note with its
    cosignatures>, size: N}, so an export is self-contained and can be resumed
    from any seq (docs/regulators.md).
    """
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
            notes = await _checkpoint_notes(conn, rows[0].seq, rows[-1].seq) if rows else {}
            later = None
            if len(rows) < page:
                end = rows[-1].seq + 1 if rows else next_seq
                later = await conn.scalar(select(func.max(checkpoints.c.size))
                                          .where(checkpoints.c.size >= end))
                if later is not None and not rows:
                    # Checkpoints promise entries the log does not have: say so at the
                    # end of the export, where a verifier will see it was cut short.
                    notes = await _checkpoint_notes(conn, end, later)
        for row in rows:
            # The stored entry is already canonical JSON: splice it in, don't re-encode.
            yield (
                b'{"seq":%d,"entry_hash":"%s","entry":%s}\n'
                % (row.seq, bytes(row.entry_hash).hex().encode(), row.entry.encode())
            )
            note = notes.get(row.seq)
            if note is not None:
                yield _checkpoint_line(row.seq, note)
        if rows:
            next_seq = rows[-1].seq + 1
        if len(rows) == page or (rows and later is not None):
            continue  # a full page, or entries committed since a checkpoint we saw
        for size in sorted(notes) if not rows else ():
            yield _checkpoint_line(size, notes[size])
        return


def _checkpoint_line(size: int, note: str) -> bytes:
    return msgspec.json.encode({"checkpoint": note, "size": size}) + b"\n"


async def _checkpoint_notes(conn: AsyncConnection, first: int, last: int) -> dict[int, str]:
    """Signed checkpoint notes for sizes in [first, last], each with its cosignature lines."""
    in_range = checkpoints.c.size.between(first, last)
    rows = (await conn.execute(
        select(checkpoints.c.size, checkpoints.c.note).where(in_range)
    )).all()
    notes = {row.size: row.note for row in rows}
    cosigned = (await conn.execute(
        select(cosignatures.c.size, cosignatures.c.signature_line)
        .where(cosignatures.c.size.between(first, last))
        .order_by(cosignatures.c.size, cosignatures.c.key_name, cosignatures.c.key_hash)
    )).all()
    for row in cosigned:
        if row.size in notes:
            notes[row.size] += row.signature_line.rstrip("\n") + "\n"
    return notes
