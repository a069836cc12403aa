"""Stored-hash proofs equal core.merkle's from-the-leaves proofs; tile paths per tlog-tiles."""

from __future__ import annotations

import hashlib

import pytest

from dataex.core.log import merkle
from dataex.core.log.tiles import (
    TILE_WIDTH,
    BadTreeRange,
    MalformedTilePath,
    Plan,
    Tile,
    TileNodes,
    compact_plan,
    consistency_plan,
    format_tile_index,
    inclusion_plan,
    inclusion_plans,
    parse_tile_path,
    path_in_full_tile,
    root_of,
    root_plan,
    stored_rows,
    tile_nodes,
    tiles_from_rows,
)


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(n)]


def _store(leaves: list[bytes], batch: int = 37) -> dict[tuple[int, int], bytes]:
    """What the sequencer stores: leaves at level 0, completed subtrees at levels 8, 16, ..."""
    compact = merkle.CompactRange()
    rows: dict[tuple[int, int], bytes] = {(0, i): h for i, h in enumerate(leaves)}
    for i in range(0, len(leaves), batch):
        for leaf in leaves[i : i + batch]:
            for level, index, h in stored_rows(compact.append(leaf)):
                assert (level, index) not in rows
                rows[level, index] = h
    return rows


def _fetch(rows: dict[tuple[int, int], bytes], plan: Plan) -> dict[Tile, TileNodes]:
    """Only the tiles the plan names, so a plan that under-asks fails with KeyError."""
    return tiles_from_rows(plan.tiles(), rows)


def _reads(plan: Plan) -> int:
    return sum(s.end - s.start for s in plan.spans())


LEAVES = _leaves(70_000)
ROWS = _store(LEAVES)
SIZES = [1, 2, 3, 7, 255, 256, 257, 511, 512, 513, 1000, 65_535, 65_536, 65_537, 70_000]


def test_stored_rows_are_the_subtree_roots_at_levels_8_and_16() -> None:
    assert ROWS[8, 0] == merkle.root(LEAVES[:256])
    assert ROWS[8, 272] == merkle.root(LEAVES[272 * 256 : 273 * 256])
    assert ROWS[16, 0] == merkle.root(LEAVES[:65_536])
    levels = {level for level, _ in ROWS}
    assert levels == {0, 8, 16}
    assert sum(1 for level, _ in ROWS if level == 8) == 70_000 // 256


@pytest.mark.parametrize("size", SIZES)
def test_root_and_compact_range_from_stored_rows(size: int) -> None:
    plan = root_plan(size)
    assert root_of(plan.assemble(_fetch(ROWS, plan))) == merkle.root(LEAVES[:size])
    compact = compact_plan(size)
    rebuilt = merkle.CompactRange(size, compact.assemble(_fetch(ROWS, compact)))
    assert rebuilt.root() == merkle.root(LEAVES[:size])
    # reads stay O(log n): at most one tile (256 hashes) per tile level and node kind
    assert _reads(compact) <= 3 * TILE_WIDTH


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_proofs_match_the_reference(size: int) -> None:
    step = max(1, size // 7)
    for index in [*range(0, size, step), size - 1]:
        plan = inclusion_plan(index, size)
        *proof, leaf = plan.assemble(_fetch(ROWS, plan))
        assert proof == merkle.inclusion_proof(LEAVES, index, size) and leaf == LEAVES[index]
        # O(log n): the leaf's tile and the right edge's tile, per tile level
        assert len(plan.tiles()) <= 2 * 3 and _reads(plan) <= 2 * 3 * TILE_WIDTH


def test_every_inclusion_proof_of_small_trees_matches() -> None:
    for size in range(1, 300, 23):
        for index in range(size):
            plan = inclusion_plan(index, size)
            assert plan.assemble(_fetch(ROWS, plan)) == [
                *merkle.inclusion_proof(LEAVES, index, size), LEAVES[index]
            ]


@pytest.mark.parametrize("size", SIZES)
def test_the_split_inclusion_plan_is_the_same_proof_and_shared_above_the_tile(size: int) -> None:
    """What lies above a leaf's level-0 tile is the same for the tile's 256 leaves."""
    step = max(1, size // 13)
    for index in {*range(0, size, step), size - 1, size // 2, max(0, size - 257)}:
        below, above = inclusion_plans(index, size)
        assert below.nodes + above.nodes == inclusion_plan(index, size).nodes
        assert below.leaves == (index,)
        first = (index >> 8) << 8
        for other in {first, index ^ 1, min(size - 1, first + 255)} & set(range(size)):
            assert inclusion_plans(other, size)[1] == above
        *proof, leaf = below.assemble(_fetch(ROWS, below))
        whole = inclusion_plan(index, size)  # checked against the reference above
        assert [*proof, *above.assemble(_fetch(ROWS, above)), leaf] == whole.assemble(
            _fetch(ROWS, whole))
    with pytest.raises(BadTreeRange):
        inclusion_plans(size, size)


@pytest.mark.parametrize("size", [256, 257, 511, 512, 513, 1000, 65_536, 70_000])
def test_the_path_in_a_full_tile_is_the_plans_first_part(size: int) -> None:
    for tile_index in {0, size // 256 - 1}:
        nodes = tile_nodes(b"".join(LEAVES[tile_index * 256 : tile_index * 256 + 256]))
        for position in range(256):
            below, _ = inclusion_plans(tile_index * 256 + position, size)
            *proof, leaf = below.assemble(_fetch(ROWS, below))
            assert path_in_full_tile(nodes, position) == (proof, leaf)


@pytest.mark.parametrize("new", [1, 2, 256, 257, 1000, 70_000])
def test_consistency_proofs_match_the_reference(new: int) -> None:
    for old in sorted({0, 1, 3, 256, 257, 65_535, new // 2, new - 1, new}):
        if old > new:
            continue
        plan = consistency_plan(old, new)
        proof = plan.assemble(_fetch(ROWS, plan))
        assert proof == merkle.consistency_proof(LEAVES, old, new)
        assert merkle.verify_consistency(
            old, new, merkle.root(LEAVES[:old]), merkle.root(LEAVES[:new]), proof
        )


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(BadTreeRange):
        inclusion_plan(5, 5)
    with pytest.raises(BadTreeRange):
        consistency_plan(6, 5)
    with pytest.raises(BadTreeRange):
        root_plan(-1)


@pytest.mark.parametrize(
    ("index", "text"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_tile_index_encoding(index: int, text: str) -> None:
    assert format_tile_index(index) == text
    assert parse_tile_path(f"2/{text}") == Tile(2, index)
    assert parse_tile_path(f"0/{text}.p/17") == Tile(0, index, 17)
    assert Tile(0, index, 17).path() == f"0/{text}.p/17"


@pytest.mark.parametrize(
    "path",
    ["", "0", "0/", "00/000", "64/000", "-1/000", "0/0", "0/0000", "0/x000/001", "0/x01/001",
     "0/001/", "0/001.p/", "0/001.p/0", "0/001.p/256", "0/001.p/01", "0/001.p/12x",
     "entries/000", "0/x001", "a/000"],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(MalformedTilePath):
        parse_tile_path(path)


def test_tiles_of_a_70000_tree_are_the_ones_tlog_tiles_lists() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    # level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of
    # width 17, and one partial level 2 tile of width 1."
    size = 70_000
    assert Tile(0, 272).exists_at(size) and not Tile(0, 273).exists_at(size)
    assert Tile(0, 273, 112).exists_at(size) and not Tile(0, 273, 113).exists_at(size)
    assert Tile(1, 0).exists_at(size) and not Tile(1, 1).exists_at(size)
    assert Tile(1, 1, 17).exists_at(size) and not Tile(1, 1, 18).exists_at(size)
    assert Tile(2, 0, 1).exists_at(size) and not Tile(2, 0, 2).exists_at(size)
    # each level-1 hash is the RFC 9162 root of a full level-0 tile
    span = Tile(1, 1, 17).span()
    for i in range(span.start, span.end):
        assert ROWS[span.level, i] == merkle.root(LEAVES[i * 256 : (i + 1) * 256])
    assert hashlib.sha256(b"").digest() == root_of([])


def test_tile_nodes_hold_every_complete_node_of_the_tile() -> None:
    tile = b"".join(LEAVES[:256])
    nodes = tile_nodes(tile)
    assert len(nodes) == 8 and nodes[0] == tile
    for height, row in enumerate(nodes):
        width = 1 << height
        assert len(row) == 32 * (256 >> height)
        at = min(3, (256 >> height) - 1)
        assert row[32 * at : 32 * (at + 1)] == merkle.root(LEAVES[at * width : (at + 1) * width])
    partial = tile_nodes(b"".join(LEAVES[:11]))  # 11 leaves: 5, 2 and 1 complete nodes above
    assert [len(row) // 32 for row in partial] == [11, 5, 2, 1]
    assert partial[3] == merkle.root(LEAVES[:8])
