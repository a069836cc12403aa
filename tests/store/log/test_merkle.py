"""The sequencer keeps the Merkle tree in the same transaction as the entries."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from dataex.core.log import merkle
from dataex.store.batch_writes import BatchWrites
from dataex.store.log import merkle as merkle_store
from dataex.store.runtime import open_runtime
from dataex.store.writer.sequencer import Unavailable
from tests.factories import ADMIT, Actor
from tests.merkle_setup import grow_log, leaf_hashes, stored_hashes
from tests.platform_setup import submit


def _expected_rows(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    out = {}
    for level in (8, 16):
        width = 1 << level
        for idx in range(len(leaves) // width):
            out[level, idx] = merkle.root(leaves[idx * width : (idx + 1) * width])
    return out


async def test_small_batches_across_tile_boundaries_store_the_rfc9162_subtrees(settings) -> None:  # type: ignore[no-untyped-def]
    runtime = await open_runtime(dataclasses.replace(settings, batch_max_commands=7))
    try:
        operator = await grow_log(runtime, 250)
        sizes_seen = []
        for more in (5, 1, 300, 13):  # 250 → 255 → 256 → 556 → 569
            await grow_log(runtime, more, operator)
            leaves = await leaf_hashes(runtime)
            sizes_seen.append(len(leaves))
            assert await stored_hashes(runtime) == _expected_rows(leaves)
            assert runtime.sequencer.tree.size == len(leaves)
            assert runtime.sequencer.tree.root() == merkle.root(leaves)
            async with runtime.engine.connect() as conn:
                for size in (1, 255, 256, 257, 511, 512, len(leaves)):
                    if size <= len(leaves):
                        got = await merkle_store.root_at(conn, size, len(leaves))
                        assert got == merkle.root(leaves[:size])
        assert sizes_seen == [255, 256, 556, 569]
        root, size = runtime.sequencer.tree.root(), runtime.sequencer.tree.size
    finally:
        await runtime.close()

    restarted = await open_runtime(settings)
    try:
        assert restarted.sequencer.tree.size == size
        assert restarted.sequencer.tree.root() == root
        await grow_log(restarted, 200, operator)  # 569 → 769 crosses 768 after the restart
        leaves = await leaf_hashes(restarted)
        assert await stored_hashes(restarted) == _expected_rows(leaves)
        assert restarted.sequencer.tree.root() == merkle.root(leaves)
    finally:
        await restarted.close()


async def test_a_failed_commit_leaves_no_tree_rows(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    operator = await grow_log(runtime, 255)
    flush = BatchWrites.flush

    async def written_then_broken(self, conn):  # type: ignore[no-untyped-def]
        await flush(self, conn)
        raise OSError(5, "I/O error: disk on fire")

    monkeypatch.setattr(BatchWrites, "flush", written_then_broken)
    with pytest.raises(Unavailable):  # entry 256 would complete the first level-8 subtree
        await submit(runtime, operator.sign(ADMIT, Actor.new("lost").admission(["trader"])))
    assert await stored_hashes(runtime) == {}
    assert runtime.sequencer.tree.size == 255
    monkeypatch.setattr(BatchWrites, "flush", flush)
    await grow_log(runtime, 1, operator)
    leaves = await leaf_hashes(runtime)
    assert await stored_hashes(runtime) == {(8, 0): merkle.root(leaves)}
    assert runtime.sequencer.tree.root() == merkle.root(leaves)


async def test_the_tree_tables_are_insert_only(runtime) -> None:  # type: ignore[no-untyped-def]
    await grow_log(runtime, 256)
    for statement in ("UPDATE merkle_hashes SET idx = 9", "DELETE FROM merkle_hashes",
                      "TRUNCATE checkpoints", "DELETE FROM cosignatures"):
        async with runtime.engine.connect() as conn:
            with pytest.raises(Exception, match=r"denied|refused"):
                await conn.execute(text(statement))


async def test_migration_0005_backfills_the_tree_of_an_existing_log(settings) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from alembic import command

    from dataex.store.database.migrate import alembic_config, upgrade

    runtime = await open_runtime(settings)
    try:
        await grow_log(runtime, 300)
        leaves = await leaf_hashes(runtime)
    finally:
        await runtime.close()
    # a database written before 0005: the tree tables do not exist yet
    await asyncio.to_thread(command.downgrade, alembic_config(settings.database_url), "0004")
    await upgrade(settings.database_url)
    restarted = await open_runtime(settings)
    try:
        assert await stored_hashes(restarted) == _expected_rows(leaves)
        assert restarted.sequencer.tree.root() == merkle.root(leaves)
    finally:
        await restarted.close()


def test_the_tile_cache_is_bounded_by_bytes() -> None:
    from dataex.core.log.tiles import Tile, tile_nodes
    from dataex.store.log.merkle import TileCache

    full = tile_nodes(bytes(32 * 256))
    assert sum(len(row) for row in full) == 16_320  # 256 + 128 + ... + 2 hashes
    cache = TileCache(max_bytes=3 * 16_320)
    for index in range(5):
        cache.put(Tile(0, index), full)
    assert (len(cache), cache.bytes) == (3, 3 * 16_320)
    assert cache.get(Tile(0, 1)) is None and cache.get(Tile(0, 2)) is full  # oldest went first
    cache.put(Tile(0, 5), full)  # evicts 3, the least recently used now that 2 was read
    assert cache.get(Tile(0, 3)) is None and cache.get(Tile(0, 2)) is full
