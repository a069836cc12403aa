"""A trader proves its trade is in the witnessed log without reading anyone else's entries."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from dataex.core.log.checkpoint import parse_checkpoint, parse_note
from tests.e2e.conftest import Server

WITNESS = "supervisor.test/witness"


def _checkpoint_covering(server: Server, size: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        note = httpx.get(f"{server.url}/v1/audit/checkpoint")
        if note.status_code == 200 and parse_checkpoint(parse_note(note.text)[0]).size >= size:
            return
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint of size {size}")


def test_a_trader_verifies_its_trade_against_a_witnessed_checkpoint(
    server: Server, tmp_path: Path
) -> None:
    server.env["DATAEX_CHECKPOINT_INTERVAL_SECONDS"] = "1"
    server.start("--demo")
    bob, alice, regulator = (server.demo_key(n) for n in ("bob", "alice", "regulator"))
    trade = server.cli_json("market", "place", "QWEN-IN-1M", "buy", "1", "--price", "9000",
                            "--type", "ioc", "--key", bob)  # crosses the best ask: a trade
    assert any(e["type"] == "trade" for e in trade["events"])
    _checkpoint_covering(server, trade["seq"])

    # The regulator witnesses the checkpoint that holds bob's trade.
    witness = server.cli_json("witness", "init", "--key", regulator, "--name", WITNESS)
    server.cli("witness", "follow", "--once", "--key", regulator,
               "--state", str(tmp_path / "witness.json"))

    # Bob, with only his key, checks his entries against that cosigned checkpoint.
    mine = tmp_path / "bob.jsonl"
    server.cli("audit", "export", "--out", str(mine), "--key", bob)
    lines = [json.loads(line) for line in mine.read_text().splitlines()]
    assert "checkpoint" in lines[0] and trade["seq"] in {line.get("seq") for line in lines}
    bob_id = next(e["buyer"] for e in trade["events"] if e["type"] == "trade")
    assert all(f'"{bob_id}"' in json.dumps(line["entry"]) for line in lines[1:])
    ok = server.cli("audit", "verify-mine", "--file", str(mine), "--witness-key",
                    witness["vkey"], "--participant", bob_id)
    assert ok.stdout.startswith(f"ok: {len(lines) - 1} of your entries are in checkpoint ")
    assert f"cosigned by {WITNESS}" in ok.stdout

    # ...and cannot read alice's: her deposit names her, not him.
    alice_lines = []
    server.cli("audit", "export", "--out", str(tmp_path / "alice.jsonl"), "--key", alice)
    for line in (tmp_path / "alice.jsonl").read_text().splitlines()[1:]:
        entry = json.loads(line)
        if f'"{bob_id}"' not in json.dumps(entry["entry"]):
            alice_lines.append(entry["seq"])
    assert alice_lines
    refused = server.cli("audit", "entry", str(alice_lines[0]), "--key", bob, check=False)
    assert refused.returncode == 2 and "/problems/entry-not-visible" in refused.stdout
    anonymous = httpx.get(f"{server.url}/v1/audit/entries/{alice_lines[0]}")
    assert anonymous.status_code == 401

    # A tampered own export fails, naming the entry.
    tampered = tmp_path / "tampered.jsonl"
    text = mine.read_text().splitlines()
    victim = json.loads(text[-1])
    victim["entry"]["time"] = "2000-01-01T00:00:00Z"
    tampered.write_text("\n".join([*text[:-1], json.dumps(victim)]) + "\n")
    bad = server.cli("audit", "verify-mine", "--file", str(tampered), check=False)
    assert bad.returncode == 2 and f"FAULT at entry {victim['seq']}" in bad.stderr

    # The regulator's export of the whole log still verifies and replays.
    whole = tmp_path / "all.jsonl"
    server.cli("audit", "export", "--out", str(whole), "--key", regulator)
    assert server.cli("audit", "verify", "--file", str(whole)).stdout.startswith("ok: ")
