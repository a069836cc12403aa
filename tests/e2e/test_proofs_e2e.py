"""Checkpoints and proof files end to end: `dataex serve --demo`, then the CLI, then offline."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def test_demo_is_checkpointed_and_a_proof_file_verifies_offline(
    server: Server, tmp_path: Path
) -> None:
    server.start("--demo")
    size = int(httpx.get(f"{server.url}/v1/audit/entries", params={"limit": 1}).json()["size"])
    checkpoint = httpx.get(f"{server.url}/v1/audit/checkpoint").text
    assert checkpoint.split("\n")[1] == str(size)  # init signs one when seeding ends
    (key,) = httpx.get(f"{server.url}/.well-known/dataex/log-keys").json()["keys"]
    assert key["status"] == "active"

    proof, entry = tmp_path / "3.tlog-proof", tmp_path / "3.json"
    server.cli("audit", "proof", "--seq", "3", "--out", str(proof))
    entry.write_text(server.cli("audit", "entry", "3", "--key", server.regulator_key).stdout)
    server.stop()  # offline from here on

    ok = server.cli("audit", "verify-proof", str(proof), "--log-key", key["vkey"],
                    "--entry", str(entry))
    assert ok.returncode == 0 and f"is in dataex.local/log tree of size {size}" in ok.stdout
    bad = server.cli("audit", "verify-proof", str(proof), "--log-key", key["vkey"],
                     "--leaf-hash", "00" * 32, check=False)
    assert bad.returncode == 2 and "FAIL" in bad.stderr
