"""The foundation end to end: a real server process, the real CLI, a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, free_port

pytestmark = pytest.mark.e2e


def _log_size(server: Server) -> int:
    return int(httpx.get(f"{server.url}/v1/audit/entries", params={"limit": 1}).json()["size"])


def test_serve_demo_admit_verify_restart_and_catch_an_edit(server: Server, tmp_path: Path) -> None:
    server.start("--demo")
    participants = httpx.get(f"{server.url}/v1/participants").json()["participants"]
    assert participants[0]["roles"] == ["operator"]
    assert len(participants) == 6  # operator + the demo participants

    # The demo registry: one asset at each stage, the registered one with a certificate.
    registry = f"{server.url}/v1/registry"
    filed = httpx.get(f"{registry}/registrations").json()["registrations"]
    stages = sorted(r["status"] for r in filed if r["kind"] == "initial")
    assert stages == ["public_notice", "registered", "submitted", "under_review"]
    # ... and the two licences the demo market sold, recorded as licence registrations.
    assert sorted(r["kind"] for r in filed if r["kind"] != "initial") == ["licence", "licence"]
    (board,) = httpx.get(f"{registry}/notice-board").json()["registrations"]
    (certificate,) = httpx.get(f"{registry}/certificates").json()["certificates"]
    assert certificate["status"] == "valid" and board["kind"] == "initial"
    assert server.cli("certificate", "verify", certificate["number"]).returncode == 0
    size = _log_size(server)  # genesis, 5 admissions, 10 registry documents

    # A newcomer: make a key, have the operator admit it, and sign as it.
    key = tmp_path / "carol.pem"
    carol = server.cli_json("keys", "new", str(key))
    body = json.dumps({"display_name": "Carol", "legal_id": "91310000CAROL",
                       "public_key": carol["public_key"], "roles": ["trader"]})
    operator_key = str(server.data_dir / "keys" / "operator.pem")
    receipt = server.cli_json("submit", "--contract", "dataex.participant.admit.v1",
                              "--key", operator_key, body)
    assert receipt["seq"] == size + 1 and receipt["events"][0]["participant_id"] == "P000007"

    # A refusal is a clear message and exit code 2, and changes nothing.
    refused = server.cli("submit", "--contract", "dataex.participant.admit.v1", "--key", str(key),
                         body, check=False)
    assert refused.returncode == 2 and "role-not-allowed" in refused.stdout

    ok = server.cli("audit", "verify", "--key", server.regulator_key)
    assert f"ok: {size + 1} entries verified" in ok.stdout

    # Restart: everything is still there and still verifies (and nothing is seeded twice).
    server.stop()
    server.start("--demo")
    assert _log_size(server) == size + 1
    verified = server.cli("audit", "verify", "--key", server.regulator_key).stdout
    assert f"ok: {size + 1} entries verified" in verified

    # An export edited by hand is caught, and the edited entry is named.
    export = tmp_path / "log.jsonl"
    server.cli("audit", "export", "--out", str(export), "--key", server.regulator_key)
    lines = export.read_text().splitlines()
    assert sum(line.startswith('{"seq"') for line in lines) == size + 1  # and checkpoints
    assert server.cli("audit", "verify", "--file", str(export)).returncode == 0
    fourth = next(i for i, line in enumerate(lines) if line.startswith('{"seq":4,'))
    edited = json.loads(lines[fourth])
    edited["entry"]["envelope"]["document"]["body"]["display_name"] = "Mallory"
    lines[fourth] = json.dumps(edited)
    export.write_text("\n".join(lines) + "\n")
    caught = server.cli("audit", "verify", "--file", str(export), check=False)
    assert caught.returncode == 2
    assert "FAULT at entry 4" in caught.stderr


def test_a_second_server_on_the_same_database_exits_and_says_why(server: Server) -> None:
    server.start()
    other_port = {**server.env, "DATAEX_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "dataex", "serve"], env=other_port,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    assert "another dataex sequencer holds the write lock" in result.stderr
    assert httpx.get(f"{server.url}/health/ready").status_code == 200


def test_cli_failures_are_clear(server: Server, tmp_path: Path) -> None:
    missing = server.cli("keys", "show", str(tmp_path / "nope.pem"), check=False)
    assert missing.returncode == 1 and "no key file" in missing.stderr
    unreachable = server.cli("audit", "verify", "--key", server.regulator_key,  # not started
                             check=False)
    assert unreachable.returncode == 1 and "cannot reach the server" in unreachable.stderr
    bad_json = server.cli("sign", "--contract", "dataex.key.rotate.v1", "--key",
                          str(tmp_path / "nope.pem"), "{oops", check=False)
    assert bad_json.returncode == 1 and "is not valid JSON" in bad_json.stderr
