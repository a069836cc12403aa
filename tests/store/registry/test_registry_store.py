"""The registry's tables against a real PostgreSQL: restart, failed commits, append-only index."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from dataex.config.settings import Settings
from dataex.core.documents.errors import Conflict
from dataex.core.registry.errors import ObjectionOpen
from dataex.core.state import snapshot
from dataex.store.registry import projection as registry_projection
from dataex.store.registry.queries import CertificateFilter, search_certificates
from dataex.store.runtime import Runtime, open_runtime
from dataex.store.tables import certificates, registrations, registry_events
from dataex.store.writer.sequencer import Unavailable
from tests.factories import Actor
from tests.platform_setup import admit, submit, with_operator
from tests.registry_setup import (
    OBJECT,
    REGISTER,
    ShiftedClock,
    act,
    decision,
    initial,
    register,
    review,
    through,
)

NOTICE_SECONDS = 30


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, data_dir=tmp_path / "data", notice_period_seconds=NOTICE_SECONDS
    )


async def _people(runtime: Runtime) -> dict[str, Actor]:
    runtime.sequencer.clock = ShiftedClock()
    operator = await with_operator(runtime)
    people = {"operator": operator}
    for name, roles in [("registrar", ["registrar"]), ("alice", ["trader"]),
                        ("bob", ["trader"]), ("bank", ["trader"])]:
        people[name] = await admit(runtime, operator, name, roles)
    return people


async def _rows(runtime: Runtime) -> tuple[dict[str, Any], dict[str, Any]]:
    async with runtime.engine.connect() as conn:
        regs = {r.registration_id: r.record for r in await conn.execute(select(registrations))}
        certs = {r.number: r.record for r in await conn.execute(select(certificates))}
    return regs, certs


async def test_the_registry_survives_a_restart(settings: Settings) -> None:
    runtime = await open_runtime(settings)
    p = await _people(runtime)
    number = await through(runtime, p["alice"], p["registrar"], initial())
    licence = {"kind": "licence", "certificate_number": number,
               "counterparty": p["bob"].participant_id, "rights": ["processing_use"]}
    await through(runtime, p["alice"], p["registrar"], licence)
    pledge = {"kind": "pledge", "certificate_number": number,
              "counterparty": p["bank"].participant_id, "secured_amount": 7_000}
    await through(runtime, p["alice"], p["registrar"], pledge)
    split = {"kind": "transfer", "certificate_number": number,
             "counterparty": p["bob"].participant_id, "rights": ["product_operation"]}
    under_notice = await register(runtime, p["bob"], initial())
    await review(runtime, p["registrar"], under_notice)
    await act(runtime, p["bank"], OBJECT, {"registration_id": under_notice, "grounds": "Ours."})
    release = {"kind": "pledge_release", "certificate_number": number}
    await through(runtime, p["bank"], p["registrar"], release)
    await through(runtime, p["alice"], p["registrar"], split, receiver=p["bob"])
    await register(runtime, p["alice"], initial(classification="important"))

    state, head = copy.deepcopy(snapshot(runtime.sequencer.state)), runtime.sequencer.head
    clock = runtime.sequencer.clock
    assert isinstance(clock, ShiftedClock)
    registry = runtime.sequencer.state.registry
    assert len(registry.certificates.by_number) == 2 and registry.objections
    # The tables hold exactly core's records.
    regs, certs = await _rows(runtime)
    assert regs == {rid: registry.registration_record(rid) for rid in registry.registrations}
    assert set(certs) == set(registry.certificates.by_number)
    await runtime.close()

    restarted = await open_runtime(settings)
    try:
        assert snapshot(restarted.sequencer.state) == state
        assert restarted.sequencer.head == head
        # And it goes on where it stopped: the objection still blocks the decision, and
        # the fingerprint under notice is still known as bob's open application.
        clock.advance(NOTICE_SECONDS)  # the same time line, past the objection's notice
        restarted.sequencer.clock = clock
        with pytest.raises(ObjectionOpen):
            decision(restarted, p["registrar"], under_notice)
        asset = restarted.sequencer.state.registry.registrations[under_notice].asset
        assert asset is not None
        again = p["bob"].sign(REGISTER, {"application": initial(asset.fingerprint.root)})
        with pytest.raises(Conflict, match="already applies"):
            await submit(restarted, again)
        assert restarted.sequencer.head == head
    finally:
        await restarted.close()


async def test_a_failed_commit_leaves_no_registry_change(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    p = await _people(runtime)
    await register(runtime, p["alice"], initial())
    before = copy.deepcopy(snapshot(runtime.sequencer.state))
    rows_before = await _rows(runtime)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(5, "I/O error: disk on fire")

    monkeypatch.setattr("dataex.store.writer.sequencer.write_registry_views", broken)
    with pytest.raises(Unavailable):
        await register(runtime, p["bob"], initial())
    assert snapshot(runtime.sequencer.state) == before
    assert await _rows(runtime) == rows_before
    monkeypatch.setattr(
        "dataex.store.writer.sequencer.write_registry_views",
        registry_projection.write_registry_views,
    )
    assert await register(runtime, p["bob"], initial()) == "R000002"


async def test_the_registry_event_index_is_append_only(runtime: Runtime) -> None:
    p = await _people(runtime)
    await register(runtime, p["alice"], initial())
    async with runtime.engine.connect() as conn:
        (row,) = (await conn.execute(select(registry_events))).all()
        assert row.type == "registration.submitted" and row.registration_id == "R000001"
        for statement in ("UPDATE registry_events SET type = 'forged'",
                          "DELETE FROM registry_events", "TRUNCATE registry_events"):
            with pytest.raises(Exception, match=r"permission denied|append-only"):
                async with conn.begin_nested():
                    await conn.execute(text(statement))


async def test_expired_is_read_from_valid_until(runtime: Runtime) -> None:
    p = await _people(runtime)
    number = await through(runtime, p["alice"], p["registrar"], {**initial(), "term_days": 1})
    later = datetime(2999, 1, 1, tzinfo=UTC)

    async def numbers(status: str, at: datetime) -> list[str]:
        found = await search_certificates(
            runtime.engine, CertificateFilter(status=status), at, limit=10, offset=0
        )
        return [c["number"] for c in found]

    assert await numbers("valid", datetime.now(UTC)) == [number]
    assert await numbers("expired", later) == [number]
    assert await numbers("valid", later) == []
