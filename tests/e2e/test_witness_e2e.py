"""A regulator witnesses a real server with `dataex witness follow`, and refuses a fork."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.checkpoint import (
    format_checkpoint,
    format_vkey,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_vkey,
    sign_note,
    verify_cosignature,
)
from dataex.core.log.merkle import consistency_proof, leaf_hash, root
from dataex.core.log.witness import AddCheckpoint, format_add_checkpoint
from tests.conftest import cloned_database
from tests.e2e.conftest import Server, free_port

pytestmark = pytest.mark.e2e

WITNESS = "regulator.test/witness"


@pytest.fixture
async def other_database(server_url: str, template_database: str) -> AsyncIterator[str]:
    async with cloned_database(server_url, template_database) as url:
        yield url


def _admit(server: Server, public_key: str, name: str, roles: list[str]) -> str:
    body = json.dumps({"display_name": name, "legal_id": f"LEGAL-{name}",
                       "public_key": public_key, "roles": roles})
    operator_key = str(server.data_dir / "keys" / "operator.pem")
    receipt = server.cli_json("submit", "--contract", "dataex.participant.admit.v1",
                              "--key", operator_key, body)
    return str(receipt["events"][0]["participant_id"])


def _log_size(server: Server) -> int:
    return int(httpx.get(f"{server.url}/v1/audit/entries", params={"limit": 1}).json()["size"])


def _checkpoint_covering(server: Server, size: int) -> str:
    """The latest checkpoint once the checkpointer has signed one of at least `size`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.url}/v1/audit/checkpoint")
        if response.status_code == 200:
            note = response.text
            if parse_checkpoint(parse_note(note)[0]).size >= size:
                return note
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint of size {size} within 30 s")


def _follow(server: Server, key: Path, state: Path, url: str | None = None,
            check: bool = True) -> tuple[int, str, str]:
    result = server.cli("witness", "follow", "--once", "--server", url or server.url,
                        "--key", str(key), "--state", str(state), check=check)
    return result.returncode, result.stdout, result.stderr


def test_a_regulator_witnesses_the_log_and_refuses_a_fork(
    server: Server, tmp_path: Path, other_database: str
) -> None:
    server.env["DATAEX_CHECKPOINT_INTERVAL_SECONDS"] = "1"
    server.start()
    key, state = tmp_path / "regulator.pem", tmp_path / "witness-state.json"
    made = server.cli_json("witness", "init", "--key", str(key), "--name", WITNESS)
    vkey = parse_vkey(made["vkey"])
    assert (vkey.name, vkey.sig_type) == (WITNESS, 0x04)
    _admit(server, made["public_key"], "regulator", ["regulator"])

    # First round: pin the log keys, cosign, deliver; the served checkpoint carries it.
    size = _log_size(server)
    _checkpoint_covering(server, size)
    code, out, err = _follow(server, key, state)
    assert code == 0, err
    assert "pinned 1 key(s) of dataex.local/log on first use" in out
    assert f"cosignature: delivered for size {size} ({WITNESS})" in out
    served = httpx.get(f"{server.url}/v1/audit/checkpoint").text
    opened = open_note(served, [vkey])
    assert [v.verifier.name for v in opened.verified] == [WITNESS]
    at_size = httpx.get(f"{server.url}/v1/audit/checkpoints/{size}").text
    assert at_size == served
    code, out, err = _follow(server, key, state)  # nothing new: nothing to do
    assert code == 0 and f"the log already serves ours for size {size}" in out, err

    # The log grows; the next round proves consistency from the witnessed size.
    _admit(server, server.cli_json("keys", "new", str(tmp_path / "t.pem"))["public_key"],
           "trader", ["trader"])
    grown = _log_size(server)
    _checkpoint_covering(server, grown)
    code, out, err = _follow(server, key, state)
    assert code == 0, err
    assert f"from {size} to {grown}" in out and f"delivered for size {grown}" in out
    saved = json.loads(state.read_text())
    assert saved["size"] == grown

    # A fork: another server with the same log key but its own history.
    fork = Server(f"http://127.0.0.1:{free_port()}", {}, tmp_path / "fork-data")
    fork.env = {**server.env, "DATAEX_DATABASE_URL": other_database,
                "DATAEX_DATA_DIR": str(fork.data_dir), "DATAEX_PORT": fork.url.rsplit(":", 1)[1],
                "DATAEX_SERVER": fork.url}
    shutil.copytree(server.data_dir / "keys", fork.data_dir / "keys")
    try:
        fork.start("--demo")
        _checkpoint_covering(fork, _log_size(fork))
        before = state.read_bytes()
        code, out, err = _follow(server, key, state, url=fork.url, check=False)
        assert code == 2, out + err
        assert "REFUSED" in err and "not consistent with the witnessed tree" in err
        assert state.read_bytes() == before
    finally:
        if fork.process is not None:
            fork.stop()


def test_witness_serve_answers_add_checkpoint_per_the_spec(tmp_path: Path) -> None:
    """`dataex witness serve` as a real process: a log pushes checkpoints to it."""
    log_key = Ed25519PrivateKey.generate()
    origin = "pusher.test/log"
    log_vkey = parse_vkey(format_vkey(origin, public_key_bytes(log_key)))
    key, state = tmp_path / "w.pem", tmp_path / "state.json"
    env = {**os.environ}
    run = [sys.executable, "-m", "dataex", "witness"]
    made = json.loads(subprocess.run([*run, "init", "--key", str(key), "--name", WITNESS],
                                     env=env, capture_output=True, text=True, check=True).stdout)
    port = free_port()
    process = subprocess.Popen([*run, "serve", "--key", str(key), "--state", str(state),
                                "--log-key", log_vkey.vkey, "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/add-checkpoint"
    leaves = [leaf_hash(bytes([i])) for i in range(12)]

    def push(old: int, size: int) -> httpx.Response:
        text = format_checkpoint(origin, size, root(leaves[:size]))
        proof = tuple(consistency_proof(leaves, old, size)) if 0 < old < size else ()
        body = format_add_checkpoint(AddCheckpoint(old, proof, sign_note(text, origin, log_key)))
        return httpx.post(url, content=body)

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                first = push(0, 7)
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert first.status_code == 200, first.text
        text = format_checkpoint(origin, 7, root(leaves[:7]))
        assert verify_cosignature(text, first.text, WITNESS, parse_vkey(made["vkey"]).public_key)
        stale = push(0, 12)
        assert (stale.status_code, stale.text) == (409, "7\n")
        assert stale.headers["content-type"].startswith("text/x.tlog.size")
        assert push(7, 12).status_code == 200
        assert json.loads(state.read_text())["size"] == 12
    finally:
        process.terminate()
        process.communicate(timeout=30)
