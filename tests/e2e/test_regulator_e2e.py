"""A regulator end to end: on the demo market, `dataex regulator` freezes a trader (its
orders leave the book, its documents are refused), reads everything, prints statistics as
CSV and a surveillance report; `ledger check` and `audit verify` pass afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

TOKEN = "QWEN-IN-1M"


def _key(server: Server, who: str) -> list[str]:
    return ["--key", str(server.data_dir / "demo-keys" / f"{who}.pem")]


def _regulator(server: Server, *args: str) -> Any:
    return server.cli_json("regulator", *args, *_key(server, "regulator"))


def test_a_regulator_freezes_reads_and_reports_through_the_cli(server: Server) -> None:
    server.start("--demo")
    people = _regulator(server, "participants")["participants"]
    alice = next(p["participant_id"] for p in people if p["legal_id"] == "DEMO-TRD-001")
    bid = server.cli_json("market", "place", TOKEN, "buy", "5", "--price", "1000",
                          *_key(server, "alice"))["events"][0]["order_id"]

    frozen = _regulator(server, "freeze", alice, "--reason", "Inquiry 2026-17.")
    events = frozen["events"]
    assert events[0]["type"] == "participant.frozen"
    assert bid in {e["order_id"] for e in events[1:]}
    assert all(e["reason"] == "participant_frozen" for e in events[1:])
    assert _regulator(server, "orders", "--participant", alice, "--status", "open") == {
        "orders": []}
    refused = server.cli("market", "place", TOKEN, "buy", "5", "--price", "1000",
                         *_key(server, "alice"), check=False)
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["type"] == "/problems/participant-frozen"
    not_regulator = server.cli("regulator", "participants", *_key(server, "alice"), check=False)
    assert not_regulator.returncode == 2
    assert json.loads(not_regulator.stdout)["type"] == "/problems/regulator-only"

    trades = _regulator(server, "trades", "--symbol", TOKEN, "--limit", "1")["trades"]
    assert trades[0]["buyer"]["legal_id"] and trades[0]["seller"]["legal_id"]
    csv = server.cli("regulator", "stats", "--csv", *_key(server, "regulator")).stdout
    lines = csv.splitlines()
    assert lines[0] == "date,metric,key,value"
    count = next(int(line.split(",")[3]) for line in lines if ",trades," in line)
    assert count > 0
    report = _regulator(server, "surveillance")
    assert set(report) >= {"self_trades_prevented", "linked_trading", "cancel_to_fill", "flags"}

    _regulator(server, "unfreeze", alice, "--reason", "Closed.")
    assert "ok: every asset sums to zero" in server.cli("ledger", "check").stdout
    verified = server.cli("audit", "verify", "--key", server.regulator_key).stdout
    assert verified.startswith("ok: "), verified
