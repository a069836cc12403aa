"""The offline verifier replays a real log (participants, registry, market) exactly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dataex.config.settings import Settings
from dataex.core.documents.canonical import canonical_json
from dataex.core.log.chain import entry_hash
from dataex.store.log.entries import stream_audit_lines
from dataex.store.runtime import Runtime
from dataex.verify import verify_export
from tests.market_setup import (
    APPROVE,
    ISSUE_LICENCES,
    LIST_LICENCE,
    floor,
    licence_body,
    market_day,
)
from tests.platform_setup import admit
from tests.registry_setup import initial, through


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Non-default settings, so a replay that assumed the defaults would fail.
    return Settings(database_url=database_url, data_dir=tmp_path / "data",
                    notice_period_seconds=0, maker_fee_bps=7, taker_fee_bps=13)


async def _export(runtime: Runtime) -> list[str]:
    return [line.decode() async for line in stream_audit_lines(runtime.engine, 1)]


async def test_a_real_log_replays_exactly(runtime: Runtime) -> None:
    await market_day(runtime)
    lines = await _export(runtime)
    report = verify_export(lines, expected_size=runtime.sequencer.head.seq)
    assert report.ok, report.fault
    assert report.verified == runtime.sequencer.head.seq > 10
    kinds = {json.loads(line)["entry"]["kind"] for line in lines}
    assert {"dataex.market.order.place.v1", "dataex.market.mint.v1"} <= kinds


async def test_a_forged_trade_is_caught_even_with_every_hash_recomputed(runtime: Runtime) -> None:
    await market_day(runtime)
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


async def _licence_day(runtime: Runtime) -> None:
    """A data-licence product under standard@1, two licences sold, each recorded."""
    f = await floor(runtime)
    registrar = await admit(runtime, f.operator, "registrar", ["registrar"])
    number = await through(runtime, f.issuer, registrar, initial())
    await f.act(f.issuer, LIST_LICENCE, licence_body("TRAFFIC-LIC", number))
    await f.act(f.operator, APPROVE, {"symbol": "TRAFFIC-LIC"})
    await f.act(f.issuer, ISSUE_LICENCES, {"symbol": "TRAFFIC-LIC", "quantity": 3})
    await f.deposit(f.alice, 1_000_000)
    await f.place(f.issuer, "TRAFFIC-LIC", "sell", 50_000, 3)
    await f.place(f.alice, "TRAFFIC-LIC", "buy", 50_000, 2)


async def test_a_log_with_rendered_licences_and_their_registrations_replays_exactly(
    runtime: Runtime,
) -> None:
    await _licence_day(runtime)
    lines = await _export(runtime)
    report = verify_export(lines, expected_size=runtime.sequencer.head.seq)
    assert report.ok, report.fault
    events = [ev for line in lines for ev in json.loads(line)["entry"]["events"]]
    assert [e["type"] for e in events].count("registration.licence_recorded") == 2

    # A forged contract text (hash recomputed, chain re-linked) is caught by the replay.
    entries = [json.loads(line) for line in lines]
    victim = next(e for e in entries
                  if any(ev["type"] == "licence.granted" for ev in e["entry"]["events"]))
    granted = next(ev for ev in victim["entry"]["events"] if ev["type"] == "licence.granted")
    granted["document"]["text"] = granted["document"]["text"].replace("CN.", "worldwide.")
    granted["document_hash"] = hashlib.sha256(
        canonical_json(granted["document"])).hexdigest()
    for index in range(victim["seq"] - 1, len(entries)):
        if index > 0:
            entries[index]["entry"]["prev_hash"] = entries[index - 1]["entry_hash"]
        entries[index]["entry_hash"] = entry_hash(canonical_json(entries[index]["entry"]))
    forged = verify_export([json.dumps(e) for e in entries])
    assert forged.fault is not None and forged.fault.seq == victim["seq"]
    assert "replayed events differ" in forged.fault.reason
