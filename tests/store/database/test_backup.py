"""Backup → restore on a real PostgreSQL: same root, same books and balances, checked refusals."""

from __future__ import annotations

import tarfile
from pathlib import Path

import asyncpg
import pytest

from dataex.bootstrap.genesis import ensure_keys
from dataex.config.settings import Settings
from dataex.core.state import snapshot
from dataex.store.database.backup import BackupError, backup, read_manifest, restore
from dataex.store.log.entries import stream_audit_lines
from dataex.store.runtime import Runtime, open_runtime
from dataex.verify import verify_export
from tests.conftest import _asyncpg_args, _libpq
from tests.market_setup import market_day


async def _empty_database(server_url: str, name: str) -> str:
    admin = await asyncpg.connect(**_asyncpg_args(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _libpq(server_url, name)


async def _drop(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(**_asyncpg_args(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_a_restored_backup_has_the_same_root_books_and_balances(
    runtime: Runtime, server_url: str, tmp_path: Path, database_url: str
) -> None:
    await market_day(runtime)
    ensure_keys(runtime.settings)
    await runtime.checkpointer.checkpoint()
    before = snapshot(runtime.sequencer.state)
    lines: list[str] = []
    manifest = await backup(database_url, tmp_path / "b.tar", lines.append)
    assert manifest.log.log_size == runtime.sequencer.head.seq
    assert manifest.log.checkpoint_size == runtime.sequencer.head.seq
    assert manifest.log.root == manifest.log.checkpoint_root
    assert any("tables (public.audit_entries)" in line for line in lines)  # progress shown
    assert read_manifest(tmp_path / "b.tar") == manifest

    name = f"dataex_restore_{tmp_path.name[-8:].lower()}"
    url = await _empty_database(server_url, name)
    try:
        restored_manifest = await restore(url, tmp_path / "b.tar", lines.append)
        assert restored_manifest == manifest
        restored = await open_runtime(Settings(database_url=url, data_dir=tmp_path / "r"))
        try:
            assert snapshot(restored.sequencer.state) == before  # books, balances, registry
            assert restored.sequencer.head == runtime.sequencer.head
            assert restored.sequencer.tree.root().hex() == manifest.log.root
            exported = [line.decode() async for line in stream_audit_lines(restored.engine, 1)]
            report = verify_export(exported, expected_size=manifest.log.log_size)
            assert report.ok, report.fault
            # and the restored service writes on, append-only as before
            with pytest.raises(Exception, match=r"append-only|not allowed|permission"):
                async with restored.engine.begin() as conn:
                    await conn.exec_driver_sql("DELETE FROM audit_entries WHERE seq = 1")
        finally:
            await restored.close()
    finally:
        await _drop(server_url, name)


async def test_restore_refuses_a_database_that_is_not_empty(
    runtime: Runtime, tmp_path: Path, database_url: str
) -> None:
    await backup(database_url, tmp_path / "b.tar", lambda _: None)
    with pytest.raises(BackupError, match="not empty"):
        await restore(database_url, tmp_path / "b.tar", lambda _: None)


async def test_restore_refuses_a_damaged_dump(
    runtime: Runtime, server_url: str, tmp_path: Path, database_url: str
) -> None:
    await market_day(runtime)
    await backup(database_url, tmp_path / "b.tar", lambda _: None)
    with tarfile.open(tmp_path / "b.tar") as archive:
        archive.extractall(tmp_path / "parts", filter="data")
    dump = tmp_path / "parts" / "database.dump"
    raw = bytearray(dump.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    dump.write_bytes(bytes(raw))
    with tarfile.open(tmp_path / "bad.tar", "w") as archive:
        archive.add(tmp_path / "parts" / "manifest.json", arcname="manifest.json")
        archive.add(dump, arcname="database.dump")
    name = f"dataex_damaged_{tmp_path.name[-8:].lower()}"
    url = await _empty_database(server_url, name)
    try:
        with pytest.raises(BackupError, match="SHA-256"):
            await restore(url, tmp_path / "bad.tar", lambda _: None)
    finally:
        await _drop(server_url, name)
