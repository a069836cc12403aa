"""The Merkle tree in PostgreSQL: the sequencer's appender, and O(log n) reads for proofs.

The sequencer keeps a CompactRange of the log (`LogTree`) and, in each batch's
transaction, stores the subtree hashes the batch completes (core/merkle_tiles
decides which). Everything else reads: a plan from core/merkle_tiles names the
rows, `fetch` gets them in one round trip, the plan assembles the answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.core.merkle import CompactRange
from dataex.core.merkle_tiles import (
    BeyondTree,
    Plan,
    Span,
    Tile,
    compact_plan,
    consistency_plan,
    inclusion_plan,
    root_of,
    root_plan,
    stored_rows,
)
from dataex.store.batch_writes import BatchWrites
from dataex.store.tables import audit_entries, merkle_hashes


class LogTree:
    """The sequencer's view of the tree: the border subtrees of every leaf appended so far.

    It may run ahead of the database while a batch is being committed; after a
    failed commit the sequencer rebuilds it with `load_tree`, like the rest of
    its state.
    """

    def __init__(self, compact: CompactRange | None = None) -> None:
        self.compact = compact or CompactRange()

    @property
    def size(self) -> int:
        return self.compact.size

    def root(self) -> bytes:
        return self.compact.root()

    def append(self, leaf_hashes: Iterable[bytes]) -> list[dict[str, object]]:
        """Append leaves; return the merkle_hashes rows they complete."""
        rows = []
        for leaf in leaf_hashes:
            for level, idx, hash_ in stored_rows(self.compact.append(leaf)):
                rows.append({"level": level, "idx": idx, "hash": hash_})
        return rows

    def queue_writes(self, writes: BatchWrites, leaf_hashes: Iterable[bytes]) -> None:
        """Append the batch's entry hashes and queue the rows in the batch's transaction."""
        rows = self.append(leaf_hashes)
        if rows:
            writes.insert_many(merkle_hashes, rows)


async def fetch(conn: AsyncConnection, spans: list[Span]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the spans, in one statement: {(level, index): hash}."""
    if not spans:
        return {}
    parts = []
    leaves = [s for s in spans if s.level == 0]
    if leaves:
        parts.append(
            select(
                literal_column("0").label("level"),
                (audit_entries.c.seq - 1).label("idx"),
                audit_entries.c.entry_hash.label("hash"),
            ).where(
                or_(*(audit_entries.c.seq.between(s.start + 1, s.end) for s in leaves))
            )
        )
    inner = [s for s in spans if s.level]
    if inner:
        parts.append(
            select(merkle_hashes.c.level, merkle_hashes.c.idx, merkle_hashes.c.hash).where(
                or_(
                    *(
                        and_(
                            merkle_hashes.c.level == s.level,
                            merkle_hashes.c.idx >= s.start,
                            merkle_hashes.c.idx < s.end,
                        )
                        for s in inner
                    )
                )
            )
        )
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    rows = await conn.execute(statement)
    return {(r.level, r.idx): bytes(r.hash) for r in rows}


async def run_plan(conn: AsyncConnection, plan: Plan) -> list[bytes]:
    return plan.assemble(await fetch(conn, plan.spans()))


async def run_plans(
    conn: AsyncConnection, plans: list[Plan], leaves: tuple[int, ...] = ()
) -> tuple[list[list[bytes]], list[bytes]]:
    """Several plans (and some leaf hashes) from one round trip: (plan results, leaves)."""
    spans = [span for plan in plans for span in plan.spans()]
    spans.extend(Span(0, i, i + 1) for i in leaves)
    rows = await fetch(conn, spans)
    try:
        found = [rows[0, i] for i in leaves]
    except KeyError as exc:
        raise BeyondTree(f"no entry at leaf index {exc.args[0][1]}") from exc
    return [plan.assemble(rows) for plan in plans], found


async def load_tree(conn: AsyncConnection, size: int) -> LogTree:
    """The tree of the first `size` entries, from at most a few tiles of stored hashes."""
    hashes = await run_plan(conn, compact_plan(size))
    return LogTree(CompactRange(size, hashes))


def _check_size(size: int, tree_size: int) -> None:
    if size > tree_size:
        raise BeyondTree(f"the log has {tree_size} entries, not {size}", tree_size=tree_size)


async def root_at(conn: AsyncConnection, size: int, tree_size: int) -> bytes:
    _check_size(size, tree_size)
    return root_of(await run_plan(conn, root_plan(size)))


async def inclusion_proof(
    conn: AsyncConnection, index: int, size: int, tree_size: int
) -> list[bytes]:
    _check_size(size, tree_size)
    return await run_plan(conn, inclusion_plan(index, size))


async def consistency_proof(
    conn: AsyncConnection, old_size: int, new_size: int, tree_size: int
) -> list[bytes]:
    _check_size(new_size, tree_size)
    return await run_plan(conn, consistency_plan(old_size, new_size))


async def leaf_hash(conn: AsyncConnection, index: int) -> bytes:
    found = (await fetch(conn, [Span(0, index, index + 1)])).get((0, index))
    if found is None:
        raise BeyondTree(f"no entry at leaf index {index}")
    return found


async def read_tile(conn: AsyncConnection, tile: Tile, tree_size: int) -> bytes:
    """The tile's bytes (width × 32); BeyondTree if the committed tree lacks any of them."""
    if not tile.exists_at(tree_size):
        raise BeyondTree(f"tile {tile.path()} is beyond the tree of size {tree_size}")
    span = tile.span()
    rows = await fetch(conn, [span])
    try:
        return b"".join(rows[span.level, i] for i in range(span.start, span.end))
    except KeyError as exc:  # only if the tree size given was ahead of the database
        raise BeyondTree(f"tile {tile.path()} is not stored yet") from exc
