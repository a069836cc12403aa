"""The sequencer against a real PostgreSQL: group commit, idempotency, failure, restart."""

from __future__ import annotations

import asyncio
import copy

import asyncpg
import pytest
from sqlalchemy import func, select, text

from dataex.core.documents import errors
from dataex.core.state import snapshot
from dataex.store.batch_writes import BatchWrites
from dataex.store.runtime import open_runtime
from dataex.store.tables import audit_entries, participants
from dataex.store.writer.sequencer import SequencerLocked, Unavailable
from tests.conftest import _asyncpg_args
from tests.factories import ADMIT, REVOKE, ROTATE, Actor, encode
from tests.platform_setup import admit, submit, with_operator


async def _count(runtime, table=audit_entries) -> int:  # type: ignore[no-untyped-def]
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar())


async def test_accepted_commands_are_in_the_log_and_the_state_tables(runtime) -> None:  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    alice = await admit(runtime, operator, "alice", ["trader"])
    assert alice.participant_id == "P000002"
    assert await _count(runtime) == 2
    assert await _count(runtime, participants) == 2
    assert runtime.sequencer.head.seq == 2


async def test_same_document_twice_returns_the_first_receipt(runtime) -> None:  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    envelope = operator.sign(ADMIT, Actor.new("bob").admission(["trader"]))
    first = await submit(runtime, envelope)
    again = await submit(runtime, envelope)
    assert again.replayed and not first.replayed
    assert (again.seq, again.entry_hash, again.events) == (first.seq, first.entry_hash,
                                                           first.events)
    assert await _count(runtime) == 2


async def test_another_document_with_a_used_nonce_is_409(runtime) -> None:  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    await submit(runtime, operator.sign(ADMIT, Actor.new("a").admission(["trader"]), nonce="n-1"))
    with pytest.raises(errors.NonceReused) as caught:
        await submit(runtime, operator.sign(ADMIT, Actor.new("b").admission(["trader"]),
                                            nonce="n-1"))
    assert caught.value.status == 409
    assert await _count(runtime) == 2


async def test_concurrent_submissions_are_batched_and_all_committed(runtime) -> None:  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    envelopes = [operator.sign(ADMIT, Actor.new(f"t{i}").admission(["trader"]))
                 for i in range(200)]
    # The same document twice inside one batch must also give one entry.
    receipts = await asyncio.gather(*(submit(runtime, e) for e in [*envelopes, envelopes[0]]))
    assert sorted(r.seq for r in receipts[:-1]) == list(range(2, 202))
    assert receipts[-1].seq == receipts[0].seq
    assert await _count(runtime) == 201
    ids = {r.events[0]["participant_id"] for r in receipts}
    assert len(ids) == 200


async def test_a_failed_commit_answers_503_and_rebuilds_state(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    before = copy.deepcopy(snapshot(runtime.sequencer.state))
    flush = BatchWrites.flush

    async def written_then_broken(self, conn):  # type: ignore[no-untyped-def]
        await flush(self, conn)  # the rows reach the database inside the transaction...
        raise OSError(5, "I/O error")  # ...which then fails before the commit

    monkeypatch.setattr(BatchWrites, "flush", written_then_broken)
    with pytest.raises(Unavailable):
        await submit(runtime, operator.sign(ADMIT, Actor.new("lost").admission(["trader"])))
    assert snapshot(runtime.sequencer.state) == before  # nothing half-applied
    assert await _count(runtime) == 1 and runtime.sequencer.head.seq == 1
    assert await _count(runtime, participants) == 1  # the written rows were rolled back
    monkeypatch.setattr(BatchWrites, "flush", flush)
    receipt = await submit(runtime, operator.sign(ADMIT, Actor.new("ok").admission(["trader"])))
    assert receipt.seq == 2 and receipt.events[0]["participant_id"] == "P000002"


async def test_rotation_and_revocation_survive_a_restart(settings) -> None:  # type: ignore[no-untyped-def]
    runtime = await open_runtime(settings)
    operator = await with_operator(runtime)
    alice = await admit(runtime, operator, "alice", ["trader"])
    bob = await admit(runtime, operator, "bob", ["trader", "issuer"])
    alice2 = Actor.new("alice2")
    await submit(runtime, alice.sign(ROTATE, {"new_public_key": alice2.public_key}))
    await submit(runtime, operator.sign(REVOKE, {"key_id": bob.key_id, "reason": "left"}))
    state_before, head_before = snapshot(runtime.sequencer.state), runtime.sequencer.head
    await runtime.close()

    restarted = await open_runtime(settings)
    try:
        assert snapshot(restarted.sequencer.state) == state_before
        assert restarted.sequencer.head == head_before
        fresh = {"new_public_key": Actor.new("x").public_key}
        with pytest.raises(errors.RevokedKey):
            await submit(restarted, bob.sign(ROTATE, fresh))
        receipt = await submit(restarted, alice2.sign(ROTATE, fresh))
        assert receipt.seq == head_before.seq + 1
    finally:
        await restarted.close()


async def test_two_sequencers_cannot_both_write(runtime, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SequencerLocked, match="only one server"):
        await open_runtime(settings)
    await with_operator(runtime)  # the first one still writes
    assert await _count(runtime) == 1


async def test_the_lock_is_released_when_the_writer_stops(settings) -> None:  # type: ignore[no-untyped-def]
    first = await open_runtime(settings)
    await first.close()
    second = await open_runtime(settings)
    await second.close()


async def _terminate_lock_session(runtime, server_url) -> None:  # type: ignore[no-untyped-def]
    """End the writer's lock session, as a network drop, a DBA's kill or a failover would."""
    pid = runtime.sequencer._lock_pid
    admin = await asyncpg.connect(**_asyncpg_args(server_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            await asyncio.sleep(0.01)
    finally:
        await admin.close()


async def _until(check, seconds: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_writer_that_loses_its_lock_stops_acknowledging_then_takes_it_again(  # type: ignore[no-untyped-def]
        api, runtime, server_url) -> None:
    operator = await with_operator(runtime)
    ok = await api.post("/v1/documents",
                        content=encode(operator.sign(ADMIT, Actor.new("a").admission(["trader"]))))
    assert ok.status_code == 201, ok.text
    stream = runtime.sequencer.feed.subscribe()
    await _terminate_lock_session(runtime, server_url)

    # Until it holds the lock again, every submission is 503 with Retry-After, none applied.
    answered = await api.post(
        "/v1/documents",
        content=encode(operator.sign(ADMIT, Actor.new("b").admission(["trader"]))))
    if answered.status_code == 503:
        assert answered.headers["retry-after"] == "1"
        assert answered.headers["content-type"].startswith("application/problem+json")
        assert await _count(runtime) == 2  # genesis and "a"; nothing of "b"
    else:  # the idle check noticed first and it had already recovered
        assert answered.status_code == 201, answered.text
    await _until(lambda: runtime.sequencer.running and runtime.sequencer.takeovers == 1)
    assert stream.get_nowait() is None  # rebuilt state: live streams end, clients resync
    ready = await api.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["role"] == "writer"
    receipt = await submit(runtime, operator.sign(ADMIT, Actor.new("c").admission(["trader"])))
    assert receipt.seq == await _count(runtime)
    assert runtime.sequencer._lock_pid != 0 and await runtime.sequencer._lock_alive()


async def test_a_standby_serves_reads_and_takes_over_when_the_writer_stops(  # type: ignore[no-untyped-def]
        settings) -> None:
    writer = await open_runtime(settings)
    standby = await open_runtime(settings, stand_by=True)
    stream = standby.sequencer.feed.subscribe()
    try:
        operator = await with_operator(writer)
        await admit(writer, operator, "alice", ["trader"])
        assert standby.sequencer.role == "standby" and not standby.sequencer.running
        # Its readers see what the writer commits, within a poll.
        await _until(lambda: standby.sequencer.head == writer.sequencer.head)
        assert "P000002" in standby.sequencer.state.participants.by_id
        # Its live streams end when it catches up, so clients resynchronise from a snapshot.
        assert stream.get_nowait() is None
        with pytest.raises(Unavailable, match="standby"):
            await submit(standby, operator.sign(ADMIT, Actor.new("x").admission(["trader"])))

        head = writer.sequencer.head
        await writer.close()  # the lock comes free
        await _until(lambda: standby.sequencer.running)
        assert standby.sequencer.role == "writer" and standby.sequencer.takeovers == 1
        assert standby.sequencer.head == head
        receipt = await submit(standby, operator.sign(ADMIT, Actor.new("y").admission(["trader"])))
        assert receipt.seq == head.seq + 1
    finally:
        await standby.close()
        await writer.close()


async def test_a_writer_whose_lock_another_server_took_stands_by(  # type: ignore[no-untyped-def]
        runtime, settings, server_url) -> None:
    operator = await with_operator(runtime)
    other = await open_runtime(settings, stand_by=True)
    try:
        assert other.sequencer.role == "standby"
        await _terminate_lock_session(runtime, server_url)
        # One of the two takes the lock (the old writer notices its loss while idle, the
        # standby polls); the other stands by. Never both.
        await _until(lambda: runtime.sequencer.takeovers + other.sequencer.takeovers == 1
                     and {runtime.sequencer.role, other.sequencer.role} == {"writer", "standby"})
        writer = runtime if runtime.sequencer.running else other
        receipt = await submit(writer, operator.sign(ADMIT, Actor.new("z").admission(["trader"])))
        assert receipt.seq == 2
        assert await _count(runtime) == 2
    finally:
        await other.close()


async def test_genesis_cannot_happen_twice(runtime) -> None:  # type: ignore[no-untyped-def]
    await with_operator(runtime)
    usurper = Actor.new("usurper")
    with pytest.raises(errors.UnknownSigner):
        await submit(runtime, usurper.sign(ADMIT, usurper.admission(["operator"])), genesis=True)


async def test_the_service_role_cannot_touch_history(runtime) -> None:  # type: ignore[no-untyped-def]
    await with_operator(runtime)
    async with runtime.engine.connect() as conn:
        role = (await conn.execute(text("SELECT current_user"))).scalar()
    assert role == runtime.settings.app_role
