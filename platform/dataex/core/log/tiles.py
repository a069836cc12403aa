"""The stored Merkle tree: what to store as leaves arrive, which rows a proof reads.

Stored hashes are the leaf hashes (level 0: the audit entries' own hashes,
leaf index = seq - 1) and the root of every complete subtree whose height is a
multiple of 8 (levels 8, 16, 24, ...). Level 8·L holds exactly the hashes of
c2sp.org/tlog-tiles tile level L, so a tile is one range read of one level.

Any subtree of height h is then the root of at most 2^(h mod 8) = 128 stored
hashes at level 8·floor(h/8), and an RFC 9162 proof, a root or a compact range
needs at most one tile's worth of hashes per tile level: O(log n) rows. Proofs
are built in two pure steps around one read: `Plan.tiles()` (which tiles) and
`Plan.assemble()` (the proof from those tiles), so the store does I/O only,
and, tiles being immutable, may cache them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from hashlib import sha256
from typing import NamedTuple

from dataex.core.documents.errors import DomainError
from dataex.core.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    NODE_PREFIX,
    CompactRange,
    _consistency_ranges,
    _path_ranges,
    node_hash,
)

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "BadTreeRange",
    "BeyondTree",
    "MalformedTilePath",
    "Plan",
    "Span",
    "Tile",
    "compact_plan",
    "consistency_plan",
    "format_tile_index",
    "inclusion_plan",
    "inclusion_plans",
    "parse_tile_path",
    "path_in_full_tile",
    "root_plan",
    "stored_rows",
    "tile_nodes",
    "tiles_from_rows",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63

# (level, index) -> hash: the rows a plan asked for, as the store read them.
Fetched = Mapping[tuple[int, int], bytes]


class MalformedTilePath(DomainError):
    status = 400
    slug = "malformed-tile-path"
    title = "The tile path does not follow c2sp.org/tlog-tiles"


class BadTreeRange(DomainError):
    status = 400
    slug = "bad-tree-range"
    title = "The index or tree sizes do not fit together"


class BeyondTree(DomainError):
    status = 404
    slug = "beyond-tree"
    title = "The log is not that large (yet)"


@dataclass(frozen=True, order=True)
class Span:
    """Stored hashes [start, end) of one level (0 = leaves, else a multiple of 8)."""

    level: int
    start: int
    end: int


def stored_level(height: int) -> int:
    return height - height % TILE_HEIGHT


def stored_rows(completed: Iterable[tuple[int, int, bytes]]) -> list[tuple[int, int, bytes]]:
    """Of the subtrees CompactRange.append completed, those to store, as (level, index, hash)."""
    rows = []
    for start, end, hash_ in completed:
        height = (end - start).bit_length() - 1
        if height and height % TILE_HEIGHT == 0:
            rows.append((height, start >> height, hash_))
    return rows


def _subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as aligned perfect subtrees (height, index), left to right.

    For a proof node (start aligned to a power of two at least end - start)
    this is RFC 9162's split, so the node's hash is their fold from the right.
    """
    out = []
    while start < end:
        height = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << height) > end - start:
            height -= 1
        out.append((height, start >> height))
        start += 1 << height
    return out


TileNodes = tuple[bytes, ...]


def tile_nodes(hashes: bytes) -> TileNodes:
    """Every complete node inside a tile: element j is its height-j hashes, concatenated.

    Element 0 is the tile itself; a full tile has 8 elements (256, 128, ... 2
    hashes). Its root, height 8, is a hash of the tile level above.
    """
    if len(hashes) % HASH_SIZE:
        raise ValueError(f"a tile is a whole number of {HASH_SIZE}-byte hashes")
    levels = [hashes]
    current = hashes
    pair = 2 * HASH_SIZE
    while len(current) >= pair and len(levels) < TILE_HEIGHT:
        # node_hash without its per-call checks: the lengths are checked above, once
        current = b"".join(
            sha256(NODE_PREFIX + current[i : i + pair]).digest()
            for i in range(0, len(current) - HASH_SIZE, pair)
        )
        levels.append(current)
    return tuple(levels)


def _locate(height: int, index: int, size: int) -> tuple[Tile, int, int]:
    """Where subtree (height, index) of a tree of `size` is: (tile, row in tile_nodes, position).

    The tile is the one of that tree: full, or as wide as the tree makes it,
    so a proof for a given size only ever reads tiles that never change.
    """
    level = stored_level(height)
    row = height - level
    tile_index = (index << row) >> TILE_HEIGHT
    width = min(TILE_WIDTH, (size >> level) - tile_index * TILE_WIDTH)
    position = index - (tile_index << (TILE_HEIGHT - row))
    return Tile(level // TILE_HEIGHT, tile_index, width), row, position


@dataclass(frozen=True)
class Plan:
    """Tree nodes, each a leaf range [start, end) of the tree of `size`, to compute from tiles."""

    size: int
    nodes: tuple[tuple[int, int], ...]
    leaves: tuple[int, ...] = ()  # leaf hashes wanted too (read from their level-0 tile)

    @cached_property
    def _located(self) -> list[list[tuple[tuple[int, int, int], int, int]]]:
        """Per node, its subtrees as (tile key, row in tile_nodes, byte offset); leaves last.

        Written out flat (this runs ~20 times per proof): see `_locate` for the rule.
        A tile key is a plain (level, index, width) tuple, equal to its Tile.
        """
        size = self.size
        out = []
        wanted = [*self.nodes, *((leaf, leaf + 1) for leaf in self.leaves)]
        for start, end in wanted:
            width = end - start
            if width & (width - 1) == 0 and start & (width - 1) == 0:  # one perfect subtree
                height = width.bit_length() - 1
                subtrees: Iterable[tuple[int, int]] = ((height, start >> height),)
            else:
                subtrees = _subtrees(start, end)
            parts = []
            for height, index in subtrees:
                row = height % TILE_HEIGHT
                level = height - row
                tile_index = (index << row) >> TILE_HEIGHT
                tile_width = min(TILE_WIDTH, (size >> level) - tile_index * TILE_WIDTH)
                offset = (index - (tile_index << (TILE_HEIGHT - row))) * HASH_SIZE
                parts.append(((level // TILE_HEIGHT, tile_index, tile_width), row, offset))
            out.append(parts)
        return out

    def tile_keys(self) -> set[tuple[int, int, int]]:
        """The tiles the nodes need, as plain (level, index, width) tuples (equal to Tiles)."""
        return {where[0] for parts in self._located for where in parts}

    def tiles(self) -> list[Tile]:
        """The tiles the nodes need: at most two per tile level for a proof."""
        return sorted(Tile(*key) for key in self.tile_keys())

    def spans(self) -> list[Span]:
        """The stored rows of those tiles."""
        return [tile.span() for tile in self.tiles()]

    def assemble(self, tiles: Mapping[Tile, TileNodes]) -> list[bytes]:
        """The node hashes in order, then the wanted leaf hashes (KeyError: a tile is missing)."""
        out = []
        for located in self._located:
            parts = [
                tiles[tile][row][offset : offset + HASH_SIZE]  # type: ignore[index]
                for tile, row, offset in located
            ]
            result = parts[-1]
            for left in reversed(parts[:-1]):
                result = node_hash(left, result)
            out.append(result)
        return out


def tiles_from_rows(tiles: Iterable[Tile], fetched: Fetched) -> dict[Tile, TileNodes]:
    """tile_nodes of each tile, from the stored rows {(level, index): hash} read for it."""
    out = {}
    for tile in tiles:
        span = tile.span()
        hashes = b"".join(fetched[span.level, i] for i in range(span.start, span.end))
        out[tile] = tile_nodes(hashes)
    return out


def inclusion_plan(index: int, size: int) -> Plan:
    """PATH(index, D[size]) of RFC 9162 section 2.1.3.1, bottom-up, then the leaf hash itself."""
    if not 0 <= index < size:
        raise BadTreeRange(f"leaf index {index} is outside a tree of size {size}")
    return Plan(size, tuple(_path_ranges(index, size)), (index,))


def inclusion_plans(index: int, size: int) -> tuple[Plan, Plan]:
    """inclusion_plan split at the leaf's level-0 tile: (the path inside it + the leaf, the rest).

    The path's nodes below height 8 lie in the leaf's own tile and come first;
    the rest depends only on the tile (index >> 8) and the size, so a server can
    compute it once for all 256 leaves of a tile. Concatenated, the two plans'
    nodes are inclusion_plan's.
    """
    if not 0 <= index < size:
        raise BadTreeRange(f"leaf index {index} is outside a tree of size {size}")
    ranges = _path_ranges(index, size)
    tile = index >> TILE_HEIGHT
    below = tuple(r for r in ranges if r[0] >> TILE_HEIGHT == tile)
    return Plan(size, below, (index,)), Plan(size, tuple(ranges[len(below):]))


def path_in_full_tile(nodes: TileNodes, position: int) -> tuple[list[bytes], bytes]:
    """(the first 8 hashes of an inclusion proof, the leaf hash) of leaf `position` of a full
    level-0 tile, from its tile_nodes: inclusion_plans' first plan, assembled, when the
    leaf's tile is full in the tree (every node below height 8 is then perfect)."""
    path = []
    for row in range(TILE_HEIGHT):
        offset = ((position >> row) ^ 1) * HASH_SIZE
        path.append(nodes[row][offset : offset + HASH_SIZE])
    offset = position * HASH_SIZE
    return path, nodes[0][offset : offset + HASH_SIZE]


def consistency_plan(old_size: int, new_size: int) -> Plan:
    """PROOF(old_size, D[new_size]) of RFC 9162 section 2.1.4.1 (empty for 0 or equal)."""
    if not 0 <= old_size <= new_size:
        raise BadTreeRange(f"old size {old_size} is not between 0 and new size {new_size}")
    if old_size in (0, new_size):
        return Plan(new_size, ())
    return Plan(new_size, tuple(_consistency_ranges(old_size, new_size)))


def root_plan(size: int) -> Plan:
    """MTH(D[size]); assemble gives one hash, or none for the empty tree (EMPTY_ROOT)."""
    if size < 0:
        raise BadTreeRange("a tree size cannot be negative")
    return Plan(size, ((0, size),) if size else ())


def root_of(plan_hashes: Sequence[bytes]) -> bytes:
    """The root from root_plan(size).assemble(...)."""
    return plan_hashes[0] if plan_hashes else EMPTY_ROOT


def compact_plan(size: int) -> Plan:
    """The border subtrees a CompactRange of `size` holds (to rebuild it after a restart)."""
    return Plan(size, tuple(CompactRange.subtree_ranges(size)))


# ---------------------------------------------------------------------------
# Tile paths (c2sp.org/tlog-tiles)
# ---------------------------------------------------------------------------

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_INDEX = re.compile(r"(?:x[0-9]{3}/)*[0-9]{3}")


class Tile(NamedTuple):
    """Tile `index` at tile level `level`, `width` hashes wide (256 for a full tile).

    A named tuple: proofs hash and compare many of these, at C speed.
    """

    level: int
    index: int  # type: ignore[assignment]  # (shadows tuple.index, which tiles never use)
    width: int = TILE_WIDTH

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    def span(self) -> Span:
        start = self.index * TILE_WIDTH
        return Span(self.level * TILE_HEIGHT, start, start + self.width)

    def exists_at(self, size: int) -> bool:
        """True if a tree of `size` leaves has all of this tile's hashes."""
        return self.span().end <= size >> (self.level * TILE_HEIGHT)

    def path(self) -> str:
        suffix = "" if self.full else f".p/{self.width}"
        return f"{self.level}/{format_tile_index(self.index)}{suffix}"


def format_tile_index(index: int) -> str:
    """1234067 -> x001/x234/067: 3-digit elements, all but the last prefixed with x."""
    if index < 0:
        raise ValueError("a tile index cannot be negative")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def parse_tile_path(path: str) -> Tile:
    """Parse "<L>/<N>[.p/<W>]" in its one canonical spelling; MalformedTilePath otherwise."""
    level_text, sep, rest = path.partition("/")
    if not sep or not _LEVEL.fullmatch(level_text) or int(level_text) > MAX_TILE_LEVEL:
        raise MalformedTilePath(f"{path!r}: the tile level must be a decimal from 0 to 63")
    index_text, partial, width_text = rest.partition(".p/")
    if not _INDEX.fullmatch(index_text):
        raise MalformedTilePath(f"{path!r}: the tile index must be x-prefixed 3-digit elements")
    index = int(index_text.replace("x", "").replace("/", ""))
    if format_tile_index(index) != index_text:
        raise MalformedTilePath(f"{path!r}: the tile index has leading zero elements")
    width = TILE_WIDTH
    if partial:
        if not _WIDTH.fullmatch(width_text) or int(width_text) >= TILE_WIDTH:
            raise MalformedTilePath(f"{path!r}: a partial tile width is from 1 to 255")
        width = int(width_text)
    return Tile(int(level_text), index, width)
