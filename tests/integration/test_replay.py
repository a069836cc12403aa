"""The offline verifier replays a real log (participants, registry, market) exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataex.core.audit import entry_hash
from dataex.core.canonical import canonical_json
from dataex.settings import Settings
from dataex.store.queries import stream_audit_lines
from dataex.store.runtime import Runtime
from dataex.verifier import verify_export
from tests.market_setup import CANCEL, floor


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Non-default settings, so a replay that assumed the defaults would fail.
    return Settings(database_url=database_url, data_dir=tmp_path / "data",
                    notice_period_seconds=0, maker_fee_bps=7, taker_fee_bps=13)


async def _export(runtime: Runtime) -> list[str]:
    return [line.decode() async for line in stream_audit_lines(runtime.engine, 1)]


async def _market_day(runtime: Runtime) -> None:
    f = await floor(runtime)
    symbol = await f.token()
    await f.deposit(f.alice, 1_000_000)
    await f.place(f.issuer, symbol, "sell", 1500, 40)
    await f.place(f.alice, symbol, "buy", 1500, 25)
    rested = await f.place(f.alice, symbol, "buy", 1400, 10)
    order_id = next(e["order_id"] for e in rested if e["type"] == "order.accepted")
    await f.act(f.alice, CANCEL, {"order_id": order_id})


async def test_a_real_log_replays_exactly(runtime: Runtime) -> None:
    await _market_day(runtime)
    lines = await _export(runtime)
    report = verify_export(lines, expected_size=runtime.sequencer.head.seq)
    assert report.ok, report.fault
    assert report.verified == runtime.sequencer.head.seq > 10
    kinds = {json.loads(line)["entry"]["kind"] for line in lines}
    assert {"dataex.market.order.place.v1", "dataex.market.mint.v1"} <= kinds


async def test_a_forged_trade_is_caught_even_with_every_hash_recomputed(runtime: Runtime) -> None:
    await _market_day(runtime)
    lines = await _export(runtime)
    entries = [json.loads(line) for line in lines]
    victim = next(e for e in entries if any(ev["type"] == "trade" for ev in e["entry"]["events"]))
    trade = next(ev for ev in victim["entry"]["events"] if ev["type"] == "trade")
    trade["price"] -= 100  # a cheaper fill than the rules give
    for index in range(victim["seq"] - 1, len(entries)):  # re-chain, as a forger would
        if index > 0:
            entries[index]["entry"]["prev_hash"] = entries[index - 1]["entry_hash"]
        entries[index]["entry_hash"] = entry_hash(canonical_json(entries[index]["entry"]))
    report = verify_export([json.dumps(e) for e in entries])
    assert report.fault is not None and report.fault.seq == victim["seq"]
    assert "replayed events differ" in report.fault.reason
