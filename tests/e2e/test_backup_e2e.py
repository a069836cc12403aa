"""`dataex db backup` and `db restore` on the embedded PostgreSQL, as an operator runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.conftest import free_port
from tests.e2e.test_crash_restart_e2e import _start


def _dataex(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "dataex", *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATAEX_DATABASE_URL"}
    env.update(DATAEX_DATA_DIR=str(data_dir), DATAEX_PORT=str(port),
               DATAEX_SERVER=f"http://127.0.0.1:{port}", DATAEX_NOTICE_PERIOD_SECONDS="0")
    return env


def test_backup_of_a_demo_restores_into_a_new_data_directory(tmp_path: Path) -> None:
    original = _env(tmp_path / "a", free_port())
    _dataex(original, "init", "--demo")
    made = _dataex(original, "db", "backup", str(tmp_path / "demo.backup"))
    assert "backup written to" in made.stdout and "tables" in made.stderr  # progress shown
    balances = _dataex(original, "ledger", "check", "--json").stdout

    copy = _env(tmp_path / "b", free_port())
    restored = _dataex(copy, "db", "restore", str(tmp_path / "demo.backup"))
    assert "copy the original data directory's keys" in restored.stderr
    refused = subprocess.run([sys.executable, "-m", "dataex", "db", "restore",
                              str(tmp_path / "demo.backup")], env=copy, capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    shutil.copytree(tmp_path / "a" / "keys", tmp_path / "b" / "keys", dirs_exist_ok=True)

    server = _start(copy, copy["DATAEX_SERVER"])
    try:
        verified = _dataex(copy, "audit", "verify", "--key",
                           str(tmp_path / "a" / "demo-keys" / "regulator.pem")).stdout
        manifest_root = json.loads(
            subprocess.run(["tar", "-xOf", str(tmp_path / "demo.backup"), "manifest.json"],
                           capture_output=True, text=True, check=True).stdout)["log"]["root"]
        checkpoint = httpx.get(f"{copy['DATAEX_SERVER']}/v1/audit/checkpoints",
                               timeout=10).json()
        assert verified.startswith("ok:")
        assert manifest_root in {c["root"] for c in checkpoint["checkpoints"]}
        assert json.loads(_dataex(copy, "ledger", "check", "--json").stdout) == json.loads(
            balances)
    finally:
        server.terminate()
        server.wait(60)
