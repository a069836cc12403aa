"""The Merkle tree in PostgreSQL: the sequencer's appender, and O(log n) reads for proofs.

The sequencer keeps a CompactRange of the log (`LogTree`) and, in each batch's
transaction, stores the subtree hashes the batch completes (core/log/tiles.py
decides which). Everything else reads: a plan from core/log/tiles.py names the
tiles, `read_tiles` gets those not cached in one round trip, the plan assembles
the answer. A tile of a given width never changes, so the API keeps a bounded
cache of them per database (`tile_cache_for`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from sqlalchemy import and_, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dataex.core.log.merkle import CompactRange
from dataex.core.log.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    BeyondTree,
    Plan,
    Span,
    Tile,
    TileNodes,
    compact_plan,
    consistency_plan,
    inclusion_plans,
    path_in_full_tile,
    root_of,
    root_plan,
    stored_rows,
    tiles_from_rows,
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


DEFAULT_TILE_CACHE_BYTES = 96 * 1024 * 1024
FULL_TILE_BYTES = 16_320  # a full tile with its inner nodes: 256 + 128 + ... + 2 hashes


def _nodes_bytes(nodes: TileNodes) -> int:
    return sum(len(row) for row in nodes)


class TileCache:
    """Tiles already read, with their inner nodes hashed: a tile of a given width never changes.

    Bounded by the bytes of hashes it holds (least recently used goes first). A
    full tile with its inner nodes is 16,320 bytes, so 96 MiB holds every tile
    of a 1M-entry log (about 64 MB); a 10M-entry log needs about 640 MB, else
    most proofs read their level-0 tile (one indexed range query).

    It also keeps, per (tree size, level-0 tile), the part of an inclusion
    proof above that tile (shared by its 256 leaves): as many as it can hold
    full tiles (at most 1 KB each, so about 6% on top of max_bytes).
    """

    def __init__(self, max_bytes: int = DEFAULT_TILE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.max_paths = max(64, max_bytes // FULL_TILE_BYTES)
        self.bytes = 0
        self._tiles: OrderedDict[Tile, TileNodes] = OrderedDict()
        self._paths: OrderedDict[tuple[int, int], list[bytes]] = OrderedDict()

    def path_above(self, size: int, tile_index: int) -> list[bytes] | None:
        found = self._paths.get((size, tile_index))
        if found is not None:
            self._paths.move_to_end((size, tile_index))
        return found

    def put_path_above(self, size: int, tile_index: int, path: list[bytes]) -> None:
        self._paths[size, tile_index] = path
        self._paths.move_to_end((size, tile_index))
        if len(self._paths) > self.max_paths:
            self._paths.popitem(last=False)

    def __len__(self) -> int:
        return len(self._tiles)

    def get(self, tile: Tile) -> TileNodes | None:
        found = self._tiles.get(tile)
        if found is not None:
            self._tiles.move_to_end(tile)
        return found

    def put(self, tile: Tile, nodes: TileNodes) -> None:
        previous = self._tiles.pop(tile, None)
        if previous is not None:
            self.bytes -= _nodes_bytes(previous)
        self._tiles[tile] = nodes
        self.bytes += _nodes_bytes(nodes)
        while self.bytes > self.max_bytes and self._tiles:
            _, dropped = self._tiles.popitem(last=False)
            self.bytes -= _nodes_bytes(dropped)


_caches: WeakKeyDictionary[AsyncEngine, TileCache] = WeakKeyDictionary()


def tile_cache_for(engine: AsyncEngine, max_bytes: int = DEFAULT_TILE_CACHE_BYTES) -> TileCache:
    """The process's tile cache for a database (one per engine, sized when first asked for)."""
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = TileCache(max_bytes)
    return cache


async def read_tiles(
    source: AsyncConnection | AsyncEngine,
    tiles: Iterable[tuple[int, int, int]],
    cache: TileCache | None = None,
) -> dict[Tile, TileNodes]:
    """The tiles' nodes (keyed by Tile, equal to its plain tuple); one statement for the misses."""
    out: dict[Tile, TileNodes] = {}
    missing = []
    for key in tiles:
        found = cache.get(key) if cache is not None else None  # type: ignore[arg-type]
        if found is None:
            missing.append(Tile(*key))
        else:
            out[key] = found  # type: ignore[index]
    if missing:
        spans = [tile.span() for tile in missing]
        if isinstance(source, AsyncEngine):
            async with source.connect() as conn:
                rows = await fetch(conn, spans)
        else:
            rows = await fetch(source, spans)
        try:
            read = tiles_from_rows(missing, rows)
        except KeyError as exc:  # only if asked about a size beyond the database
            raise BeyondTree(f"the stored tree lacks hash {exc.args[0]}") from exc
        for tile, nodes in read.items():
            if cache is not None:
                cache.put(tile, nodes)
            out[tile] = nodes
    return out


async def run_plans(
    source: AsyncConnection | AsyncEngine, plans: list[Plan], cache: TileCache | None = None
) -> list[list[bytes]]:
    """Several plans from at most one round trip (none if every tile is cached)."""
    tiles = await read_tiles(source, {key for plan in plans for key in plan.tile_keys()}, cache)
    return [plan.assemble(tiles) for plan in plans]


async def inclusion_proof(
    source: AsyncConnection | AsyncEngine,
    index: int,
    size: int,
    cache: TileCache | None = None,
    *,
    with_root: bool = False,
) -> tuple[list[bytes], bytes, bytes | None]:
    """(RFC 9162 inclusion proof, leaf hash, root of `size` if asked), from at most one read.

    The proof's part above the leaf's tile is kept in the cache for the tile's other leaves.
    """
    tile_index = index >> TILE_HEIGHT
    above = cache.path_above(size, tile_index) if cache is not None else None
    if tile_index < size >> TILE_HEIGHT:  # the leaf's tile is full: the path in it is direct
        leaf_tile = Tile(0, tile_index, TILE_WIDTH)
        nodes = cache.get(leaf_tile) if cache is not None else None
        if nodes is not None and above is not None:
            proof, leaf = path_in_full_tile(nodes, index & (TILE_WIDTH - 1))
            root = None
            if with_root:
                root = root_of((await run_plans(source, [root_plan(size)], cache))[0])
            return [*proof, *above], leaf, root
    below, above_plan = inclusion_plans(index, size)
    plans = [below] if above is not None else [below, above_plan]
    if with_root:
        plans.append(root_plan(size))
    results = await run_plans(source, plans, cache)
    *proof, leaf = results[0]
    if above is None:
        above = results[1]
        if cache is not None:
            cache.put_path_above(size, tile_index, above)
    return [*proof, *above], leaf, root_of(results[-1]) if with_root else None


async def run_plan(source: AsyncConnection | AsyncEngine, plan: Plan) -> list[bytes]:
    return (await run_plans(source, [plan]))[0]


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


async def consistency_proof(
    conn: AsyncConnection, old_size: int, new_size: int, tree_size: int
) -> list[bytes]:
    _check_size(new_size, tree_size)
    return await run_plan(conn, consistency_plan(old_size, new_size))


async def read_tile(
    engine: AsyncEngine, tile: Tile, tree_size: int, cache: TileCache | None = None
) -> bytes:
    """The tile's bytes (width × 32); BeyondTree if the committed tree lacks any of them."""
    if not tile.exists_at(tree_size):
        raise BeyondTree(f"tile {tile.path()} is beyond the tree of size {tree_size}")
    return (await read_tiles(engine, [tile], cache))[tile][0]
