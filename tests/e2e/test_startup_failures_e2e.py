"""Every failure to start is one clear line on stderr and its own exit code, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dataex.store.startup import (
    EXIT_ADDRESS,
    EXIT_DATA_DIR,
    EXIT_DATABASE,
    EXIT_SCHEMA,
    EXIT_SETTINGS,
)
from tests.e2e.conftest import free_port


def _serve(env_changes: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATAEX_DATABASE_URL"}
    env.update({"DATAEX_DATA_DIR": str(tmp_path / "data"), "DATAEX_PORT": str(free_port()),
                **env_changes})
    return subprocess.run([sys.executable, "-m", "dataex", "serve"], env=env,
                          capture_output=True, text=True, timeout=120)


def _one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


def test_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve({"DATAEX_PORT": str(port)}, tmp_path)
    _one_line(result, EXIT_ADDRESS, f"127.0.0.1:{port}", "--port")


def test_a_setting_that_does_not_parse(tmp_path: Path) -> None:
    _one_line(_serve({"DATAEX_NOTICE_PERIOD_SECONDS": "soon"}, tmp_path), EXIT_SETTINGS,
              "DATAEX_NOTICE_PERIOD_SECONDS", "dataex settings")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_data_directory_that_cannot_be_written(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    _one_line(_serve({"DATAEX_DATA_DIR": str(locked / "data")}, tmp_path), EXIT_DATA_DIR,
              "DATAEX_DATA_DIR")


def test_a_data_directory_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    _one_line(_serve({"DATAEX_DATA_DIR": str(tmp_path / "file" / "data")}, tmp_path),
              EXIT_DATA_DIR, "DATAEX_DATA_DIR")


def test_a_database_that_does_not_answer(tmp_path: Path) -> None:
    url = f"postgresql://dataex@127.0.0.1:{free_port()}/dataex"
    _one_line(_serve({"DATAEX_DATABASE_URL": url}, tmp_path), EXIT_DATABASE,
              "DATAEX_DATABASE_URL", "127.0.0.1")


def test_a_database_from_a_newer_dataex(database_url: str, tmp_path: Path) -> None:
    import asyncio

    import asyncpg

    from tests.conftest import _asyncpg_args

    async def from_the_future() -> None:
        conn = await asyncpg.connect(**_asyncpg_args(database_url))
        await conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
        await conn.close()

    asyncio.run(from_the_future())
    _one_line(_serve({"DATAEX_DATABASE_URL": database_url}, tmp_path), EXIT_SCHEMA,
              "newer dataex")
