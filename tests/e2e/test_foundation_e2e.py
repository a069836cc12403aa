"""The foundation end to end: a real server process, the real CLI, a real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


def test_a_second_server_on_the_same_database_stands_by_then_takes_over(server: Server) -> None:
    server.start()
    # DATAEX_STANDBY=0: the old behaviour, for operators who want the second start to fail.
    refused = subprocess.run([sys.executable, "-m", "dataex", "serve"],
                             env={**server.env, "DATAEX_PORT": str(free_port()),
                                  "DATAEX_STANDBY": "0"},
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 3
    assert "another dataex sequencer holds the write lock" in refused.stderr

    port = free_port()
    standby = subprocess.Popen([sys.executable, "-m", "dataex", "serve"],
                               env={**server.env, "DATAEX_PORT": str(port)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        ready = _wait_ready(base)
        assert ready.json()["role"] == "standby" and ready.json()["log_size"] > 0
        # It serves reads; writes get 503 with Retry-After and say why.
        assert httpx.get(f"{base}/v1/participants").status_code == 200
        assert httpx.get(f"{base}/v1/market/products").status_code == 200
        refused_write = httpx.post(f"{base}/v1/documents", content=b"{}")
        assert refused_write.status_code == 503 and refused_write.headers["retry-after"] == "1"
        assert "standby" in refused_write.json()["detail"]
        assert httpx.get(f"{server.url}/health/ready").json()["role"] == "writer"

        server.stop()  # the writer goes: the standby takes the lock within a poll
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/health/ready").json()["role"] != "writer":
            assert time.monotonic() < deadline, "the standby did not take over"
            time.sleep(0.2)
        taken = httpx.post(f"{base}/v1/documents", content=b"{}")
        assert taken.status_code == 422, taken.text  # now judged: not a signed envelope
    finally:
        os.killpg(standby.pid, signal.SIGTERM)
        standby.wait(30)


def _wait_ready(base: str) -> httpx.Response:
    deadline = time.monotonic() + 120
    while True:
        try:
            answer = httpx.get(f"{base}/health/ready")
            if answer.status_code == 200:
                return answer
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the standby never became ready"
        time.sleep(0.2)


def test_cli_failures_are_clear(server: Server, tmp_path: Path) -> None:
    missing = server.cli("keys", "show", str(tmp_path / "nope.pem"), check=False)
    assert missing.returncode == 1 and "no key file" in missing.stderr
    unreachable = server.cli("audit", "verify", "--key", server.regulator_key,  # not started
                             check=False)
    assert unreachable.returncode == 1 and "cannot reach the server" in unreachable.stderr
    bad_json = server.cli("sign", "--contract", "dataex.key.rotate.v1", "--key",
                          str(tmp_path / "nope.pem"), "{oops", check=False)
    assert bad_json.returncode == 1 and "is not valid JSON" in bad_json.stderr
