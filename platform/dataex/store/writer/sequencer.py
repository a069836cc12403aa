"""The single writer: verified commands in, one transaction per batch, then answers.

Requests put authenticated commands on a queue and wait. The sequencer takes
everything waiting (up to a batch limit), applies each command to the
in-memory state through core/, appends one audit entry per accepted command,
projects the events onto the state tables, and commits the whole batch in ONE
transaction (group commit). Only after the commit does any request get its
answer. If the commit fails, the in-memory state is rebuilt from the database,
so nothing acknowledged is lost and nothing unacknowledged is half-applied;
then a failure one command caused (a value the database refuses, a bug in
applying it) is isolated (`store/writer/isolation.py`): the batch is committed again
without that command, which alone is refused. A failure of the database
itself (connection, lock, disk) answers 503 to the whole batch.

A session-level PostgreSQL advisory lock, held on a dedicated connection
while the sequencer writes, allows one writer per database. If that session
dies (the primary failed over, a network drop, pg_terminate_backend) the lock
goes with it, so every batch checks, last thing before its commit, that the
lock connection's backend still holds it; if not, the batch rolls back (503).
The sequencer then stops acknowledging and recovers (`_recover`): it drops
every pooled connection, reconnects (a multi-host URL reaches the new primary),
takes the lock again and rebuilds its state from the tables before it writes,
so whatever another writer committed meanwhile is part of it. If another
server holds the lock by then, this one stands by (`_stand_by`): it serves
reads from a state it refreshes, and takes over when the lock comes free.
While it is not the writer, every submission is 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import Conflict, DomainError, NonceReused
from dataex.core.documents.timefmt import format_utc
from dataex.core.envelope import Command, ParsedEnvelope, authenticate, recheck_signer
from dataex.core.log.chain import build_entry
from dataex.core.state import PlatformState, apply
from dataex.store.batch_writes import BatchWrites
from dataex.store.log.merkle import LogTree, load_tree
from dataex.store.market.feed import MarketFeed, batch_messages
from dataex.store.market.projection import queue_market_writes
from dataex.store.registry.projection import write_registry_views
from dataex.store.tables import audit_entries
from dataex.store.writer.isolation import (
    InfrastructureFailure,
    is_infrastructure_failure,
    refusal_for,
)
from dataex.store.writer.loader import ChainHead, MarketSettings, load_chain_head, load_state
from dataex.store.writer.projection import project, queue_entry_index
from dataex.store.writer.signature_pool import SignaturePool

log = logging.getLogger(__name__)
batch_log = logging.getLogger("dataex.batches")
PLACE_CONTRACT = "dataex.market.order.place.v1"

SEQUENCER_LOCK_KEY = 0x6461746165780000  # "dataex" + 0
# Longest a batch waits for requests already past their first checks (see
# _gather_arrivals): a little over what a crowd of signature checks takes.
ARRIVAL_WAIT = 0.005
RECONNECT_SECONDS = 0.5  # between attempts to reach a primary while recovering

# What a sequencer is doing, for /health/ready and /metrics.
WRITER = "writer"  # holds the lock: commits and acknowledges
STANDBY = "standby"  # another server holds the lock: serves reads, waits for it
RECOVERING = "recovering"  # lost the database or the lock: reconnecting
STOPPED = "stopped"

# Through SQLAlchemy, as the batch's first statement: it opens the batch's transaction.
_COMMITTED_DOCUMENTS = text(
    "SELECT a.signer, a.nonce, a.entry, a.entry_hash FROM audit_entries AS a "
    "JOIN unnest(CAST(:signers AS text[]), CAST(:nonces AS text[])) AS k(signer, nonce) "
    "ON a.signer = k.signer AND a.nonce = k.nonce"
)
# Straight on the batch's asyncpg connection: SQLAlchemy's execute cost more
# CPU than the statement. pg_locks shows a bigint advisory key as classid (high
# 32 bits), objid (low 32 bits) and objsubid 1 (the one-key form).
_LOCK_HELD = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 "
    "AND granted AND objsubid = 1 AND classid = $2::oid AND objid = $3::oid)"
)


class SequencerLocked(RuntimeError):
    """Another sequencer already writes to this database."""


class LockLost(InfrastructureFailure):
    """The session holding the write lock has ended: this server must stop writing."""


class Unavailable(DomainError):
    status = 503
    slug = "unavailable"
    title = "The command was not committed; nothing was applied, try again"


class CommitInDoubt(Unavailable):
    """The connection ended during the batch: its commit may or may not have happened."""

    slug = "commit-in-doubt"
    title = ("The database went away while the command was being committed: send the same "
             "document again, which commits it or answers with its first receipt")


@dataclass(frozen=True)
class Receipt:
    """What a client gets for an accepted command (and again for the same document)."""

    seq: int
    time: str
    kind: str
    entry_hash: str
    events: list[dict[str, Any]]
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "kind": self.kind,
            "entry_hash": self.entry_hash,
            "events": self.events,
        }


@dataclass(frozen=True)
class BatchReport:
    """One committed batch, for metrics and the batch log line."""

    commands: int
    seconds: float  # from taking the batch to its commit
    kinds: dict[str, int]  # log entries appended, by contract
    orders: int
    trades: int
    head: int


@dataclass
class _Pending:
    command: Command
    future: asyncio.Future[Receipt]


@dataclass
class _Batch:
    now: datetime
    time: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[list[dict[str, Any]], int]] = field(default_factory=list)
    # an outcome is a receipt, a refusal, or the earlier copy of the same document in this batch
    outcomes: list[tuple[_Pending, Receipt | DomainError | _Pending]] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Sequencer:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 512,
        clock: Callable[[], datetime] = _utcnow,
        notice_period: timedelta = timedelta(days=7),
        market_settings: MarketSettings | None = None,
        licence_key: Ed25519PrivateKey | None = None,
        verify_threads: int = 0,
        lock_poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.lock_poll_seconds = lock_poll_seconds  # how often a standby tries the lock
        self.role = STOPPED
        self.takeovers = 0  # times this process became the writer after not being it
        self.max_batch = max_batch
        self.clock = clock
        self.notice_period = notice_period
        self.market_settings = market_settings or MarketSettings()
        self.licence_key = licence_key  # the platform's log key: signs licence documents
        self.state = PlatformState(notice_period=notice_period)
        self.head = ChainHead(0, "")
        self.tree = LogTree()  # the Merkle tree of the log; its hashes go in each batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._lock_conn: AsyncConnection | None = None
        self._lock_pid = 0  # backend pid of the lock connection, checked before each commit
        self.feed = MarketFeed()  # committed market changes, for the live stream
        self.signatures = SignaturePool(verify_threads) if verify_threads > 0 else None
        self.on_batch: Callable[[BatchReport], None] | None = None  # metrics, when served
        self.isolated_commands = 0  # commands refused alone because they failed their batch
        self.reloads = 0  # state rebuilds from the database (start, failures)
        self._arriving = 0  # requests in `accept`, not yet queued
        self._all_arrived: asyncio.Future[None] | None = None

    # -- life cycle -------------------------------------------------------
    async def start(self, *, stand_by: bool = False) -> None:
        """Take the lock, load state, start writing.

        If another server holds the lock: SequencerLocked, or with `stand_by`,
        load the committed state for readers and wait for the lock (`_stand_by`).
        """
        if await self._take_lock():
            try:
                await self._reload()
            except BaseException:
                await self._release_lock()
                raise
            self.role = WRITER
            self._task = asyncio.create_task(self._life(), name="dataex-sequencer")
            return
        if not stand_by:
            raise SequencerLocked(
                "another dataex sequencer holds the write lock on this database; "
                "stop it first (only one server may write to a database)"
            )
        await self._reload()
        self.role = STANDBY
        log.warning("another server writes to this database: standing by, serving reads, "
                    "until its write lock comes free")
        self._task = asyncio.create_task(self._life(), name="dataex-sequencer")

    async def _take_lock(self) -> bool:
        """Try the advisory lock on a connection of its own; keep the connection if taken."""
        conn = await self.engine.connect()
        try:
            row = (await conn.execute(text(
                "SELECT pg_try_advisory_lock(:k), pg_backend_pid(), pg_is_in_recovery()"),
                {"k": SEQUENCER_LOCK_KEY})).one()
            await conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        got, pid, in_recovery = row
        if not got or in_recovery:
            await conn.invalidate()  # ends the session: a standby's lock would be worthless
            if in_recovery:
                raise InfrastructureFailure(
                    "the database is a read-only standby: name the primary, or every node "
                    "with target_session_attrs=read-write, in DATAEX_DATABASE_URL")
            return False
        self._lock_pid = int(pid)
        self._lock_conn = conn
        return True

    async def _release_lock(self) -> None:
        """End the lock's session (not back to the pool: a pooled session would keep the lock)."""
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):  # a dead session is already closed
                await self._lock_conn.invalidate()
            self._lock_conn = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._queue.empty():
            self._queue.get_nowait().future.set_exception(Unavailable("the server is stopping"))
        self.feed.close()
        if self.signatures is not None:
            self.signatures.close()
        await self._release_lock()
        self.role = STOPPED

    def queue_depth(self) -> int:
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        """True while this sequencer writes (holds the lock and its loop runs)."""
        return self.role == WRITER and self._task is not None and not self._task.done()

    def not_writing_reason(self) -> str:
        return {
            STANDBY: "this server is a standby: another server writes to this database; "
                     "it takes over when that one stops",
            RECOVERING: "this server lost its database (a failover?) and is reconnecting",
        }.get(self.role, "the sequencer is not running")

    async def _reload(self) -> None:
        self.reloads += 1
        async with self.engine.connect() as conn:
            self.state = await load_state(
                conn, notice_period=self.notice_period, market_settings=self.market_settings
            )
            self.head = await load_chain_head(conn)
            self.tree = await load_tree(conn, self.head.seq)

    # -- submission -------------------------------------------------------
    def authenticate(
        self, parsed: ParsedEnvelope, *, max_skew: Any, allow_genesis: bool = False
    ) -> Command:
        """Check signature, signer, role and time against the live state (request side)."""
        return authenticate(
            parsed,
            self.state.participants,
            now=self.clock(),
            max_skew=max_skew,
            allow_genesis=allow_genesis,
        )

    async def authenticate_off_loop(
        self, parsed: ParsedEnvelope, *, max_skew: Any, allow_genesis: bool = False
    ) -> Command:
        """`authenticate`, with the signature checked on a worker thread if there are any.

        Same checks, same order, same errors: the signer's key is looked up, its
        signature verified by the pool, then `authenticate` runs against the
        state as it is after the wait, skipping only the signature check it
        would repeat under that same key.
        """
        if self.signatures is None:
            return self.authenticate(parsed, max_skew=max_skew, allow_genesis=allow_genesis)
        record = self.state.participants.keys.get(parsed.signer)
        if record is None:  # unknown signer, or the genesis admission: nothing to verify yet
            return self.authenticate(parsed, max_skew=max_skew, allow_genesis=allow_genesis)
        key = record.public_key
        await self.signatures.verify(parsed.canonical_document, parsed.envelope["signature"], key)
        return authenticate(
            parsed,
            self.state.participants,
            now=self.clock(),
            max_skew=max_skew,
            allow_genesis=allow_genesis,
            verified_key=key,
        )

    async def accept(self, parsed: ParsedEnvelope, *, max_skew: Any) -> Receipt:
        """Authenticate (signature on a worker thread), queue, and wait for the commit.

        While a request is between its arrival here and the queue, the
        sequencer knows it is coming and may wait for it (`_gather_arrivals`).
        """
        if not self.running:  # a standby or a reconnecting writer: no need to look further
            raise Unavailable(self.not_writing_reason())
        self._arriving += 1
        queued = False
        try:
            command = await self.authenticate_off_loop(parsed, max_skew=max_skew)
            if not self.running:
                raise Unavailable(self.not_writing_reason())
            future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
            self._queue.put_nowait(_Pending(command, future))
            queued = True
            self._arrived()
        finally:
            if not queued:
                self._arrived()
        return await future

    async def submit(self, command: Command) -> Receipt:
        """Queue an authenticated command; return once its batch is durably committed."""
        if not self.running:
            raise Unavailable(self.not_writing_reason())
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(command, future))
        return await future

    # -- the loop ---------------------------------------------------------
    async def _life(self) -> None:
        """Stand by while another server writes; write; recover when the database goes."""
        while True:
            if self.role == STANDBY:
                await self._stand_by()
            await self._run()
            await self._recover()

    async def _recover(self) -> None:
        """Reach a primary, take the lock again and rebuild the state; or stand by.

        Nothing is acknowledged meanwhile (`running` is false: 503). The pool's
        connections all went to the old primary, so they are dropped first.
        """
        self.role = RECOVERING
        started = time.monotonic()
        await self._release_lock()
        while True:
            try:
                await self.engine.dispose()
                if await self._take_over():
                    log.warning("writing again after %.1f s: lock taken, state rebuilt at "
                                "log size %d", time.monotonic() - started, self.head.seq)
                    return
                self.role = STANDBY
                log.warning("another server took the write lock: standing by")
                return
            except Exception as exc:
                await self._release_lock()
                log.warning("no writable database yet (%s: %s); retrying in %.1f s",
                            type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                            RECONNECT_SECONDS)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _stand_by(self) -> None:
        """Until the lock is free: refresh the state readers see whenever the log grew."""
        while True:
            await asyncio.sleep(self.lock_poll_seconds)
            try:
                if await self._take_over():
                    log.warning("took over as the writer at log size %d", self.head.seq)
                    return
                async with self.engine.connect() as conn:
                    head = await load_chain_head(conn)
                if head != self.head:
                    await self._reload()
                    self._restart_streams()
            except Exception as exc:
                await self._release_lock()
                with contextlib.suppress(Exception):
                    await self.engine.dispose()
                log.warning("standing by without a database (%s: %s)", type(exc).__name__,
                            str(exc).splitlines()[0] if str(exc) else "")

    async def _take_over(self) -> bool:
        """Take the lock and rebuild the state from the tables; True if this server writes now."""
        if not await self._take_lock():
            return False
        await self._reload()
        self._restart_streams()
        self.role = WRITER
        self.takeovers += 1
        return True

    def _restart_streams(self) -> None:
        """End every live stream: the state jumped (rebuilt from the tables, or another server
        wrote), so changes may have committed that no stream message carried. Clients
        reconnect and resynchronise from a snapshot, as they do after a gap."""
        self.feed.close()

    async def _lock_alive(self) -> bool:
        """Whether the lock's session still answers (then it still holds the lock)."""
        if self._lock_conn is None:
            return False
        try:
            await asyncio.wait_for(self._lock_conn.execute(text("SELECT 1")), 5)
            await self._lock_conn.commit()
            return True
        except Exception:
            return False

    async def _run(self) -> None:
        """Commit batches until the lock or the database is lost.

        While idle it checks the lock's session every `lock_poll_seconds`, so a
        failed-over primary is noticed before the next order, not by it.
        """
        getter: asyncio.Future[_Pending] | None = None
        try:
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(self._queue.get())
                done, _ = await asyncio.wait({getter}, timeout=self.lock_poll_seconds)
                if not done:
                    if not await self._lock_alive():
                        log.critical("the write lock's session ended while idle: no more "
                                     "acknowledgements until it is taken again")
                        self.role = RECOVERING
                        return
                    continue
                batch = [getter.result()]
                getter = None
                if not await self._commit_batch(batch):
                    return
        finally:
            if getter is not None and not getter.cancel() and not getter.cancelled():
                self._fail_all([getter.result()], "the server is not writing")

    async def _commit_batch(self, batch: list[_Pending]) -> bool:
        """Commit one batch and answer it; False when this server must stop writing."""
        try:
            await self._gather_arrivals(batch)  # inside: a stop while it waits answers them
            await self._commit_isolating(batch)
            return True
        except asyncio.CancelledError:
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(Unavailable("the server is stopping"))
            raise
        except LockLost:  # found before the commit: the batch rolled back
            log.critical("lost the database write lock (its session ended): "
                         "no more acknowledgements until it is taken again")
            self.role = RECOVERING
            self._fail_all(batch, "the server lost its database write lock")
            return False
        except Exception:
            log.exception("batch of %d failed to commit", len(batch))
            # Rebuild first, answer after: a client told "503" may retry at
            # once and must meet the committed state, not the abandoned one.
            writing = await self._lock_alive() and await self._reloaded()
            if writing:
                self._restart_streams()  # the batch may have committed unpublished
            else:
                log.critical("the database went away: no more acknowledgements until a "
                             "primary answers and the write lock is taken again")
                self.role = RECOVERING
            for p in batch:  # the connection may have ended inside COMMIT
                if not p.future.done():
                    p.future.set_exception(CommitInDoubt(
                        "the batch failed to commit" if writing else
                        "the database connection ended during the commit; this server is "
                        "reconnecting"))
            if not writing:
                self._fail_all(batch, "the database went away; this server is reconnecting")
            return writing

    async def _commit_isolating(self, batch: list[_Pending]) -> None:
        """Commit the batch; if one command makes it fail, commit it without that one.

        A failure of the database itself propagates (503 to all, from `_run`).
        Any other failure is some command's: the state goes back to the
        committed one and the batch's commands are committed one at a time, so
        the failing ones stand alone (`_commit_one_by_one`). That costs one
        state reload, one more per failing command, and one commit per command
        (bench/isolation.py measures it); the door (core/envelope.py) refuses
        every cause known, so this path is rare.
        """
        try:
            await self._process(batch)
        except Exception as exc:
            if is_infrastructure_failure(exc):
                raise
            log.warning("a batch of %d failed (%s: %s); isolating the command that failed it",
                        len(batch), type(exc).__name__, exc)
            await self._reload()
            await self._commit_one_by_one(batch)

    async def _commit_one_by_one(self, batch: list[_Pending]) -> None:
        """Commit each command of a failed batch alone; refuse those that fail alone.

        On entry the in-memory state equals the committed state, and it does
        again after each command, committed or refused.
        """
        for pending in batch:
            if pending.future.done():
                continue
            try:
                await self._process([pending])
            except Exception as exc:
                if is_infrastructure_failure(exc):
                    raise
                await self._reload()
                self.isolated_commands += 1
                parsed = pending.command.parsed
                log.error("refused %s from %s (nonce %s) alone: it failed its batch (%s: %s)",
                          parsed.contract.name, parsed.signer, parsed.nonce,
                          type(exc).__name__, exc, exc_info=exc)
                pending.future.set_exception(refusal_for(exc))

    def _fail_all(self, batch: list[_Pending], reason: str) -> None:
        """Answer 503 to the batch and to everything queued (the loop is ending)."""
        for p in batch:
            if not p.future.done():
                p.future.set_exception(Unavailable(reason))
        while not self._queue.empty():
            self._queue.get_nowait().future.set_exception(Unavailable(reason))

    async def _gather_arrivals(self, batch: list[_Pending]) -> None:
        """Fill the batch with what is queued, and with requests already on their way.

        Without this, the first request of a wave (its clients answered together
        by the last commit) would be committed alone, and the rest would wait a
        whole commit for it: batches alternated between 1 and the whole crowd.
        Requests past their signature check but not yet queued are counted
        (`accept`), and the sequencer waits for them, at most ARRIVAL_WAIT.
        """
        queue = self._queue
        while len(batch) < self.max_batch and not queue.empty():
            batch.append(queue.get_nowait())
        if self._arriving and len(batch) < self.max_batch:
            self._all_arrived = asyncio.get_running_loop().create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_arrived, ARRIVAL_WAIT)
            self._all_arrived = None
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())

    def _arrived(self) -> None:
        self._arriving -= 1
        if not self._arriving and self._all_arrived is not None and not self._all_arrived.done():
            self._all_arrived.set_result(None)

    async def _reloaded(self) -> bool:
        """Rebuild the state from the database; False if the database does not answer."""
        try:
            await self._reload()
            return True
        except Exception:
            log.exception("cannot reload state from the database")
            return False

    async def _process(self, batch: list[_Pending]) -> None:
        # One connection and one transaction for the whole batch: the replay
        # lookup, then every write. The single writer holds no row locks while
        # it applies, so keeping the transaction open meanwhile costs nothing.
        started = time.perf_counter()
        async with self.engine.begin() as conn:
            committed = await self._committed_documents(conn, batch)
            work, seq, prev_hash = self._apply_batch(batch, committed)
            if work.rows:
                writes = BatchWrites()
                writes.insert_many(audit_entries, work.rows)
                queue_entry_index(writes, work.rows)
                self.tree.queue_writes(writes, [row["entry_hash"] for row in work.rows])
                for events, event_seq in work.events:
                    project(writes, events, event_seq)
                queue_market_writes(
                    writes, self.state.market, work.events, work.now, self.licence_key
                )
                await writes.flush(conn)
                await write_registry_views(conn, self.state.registry, work.events)
                await self._check_lock(conn)  # last before the commit
        if work.rows:
            self.head = ChainHead(seq, prev_hash)
            if self.feed.listening:
                self.feed.publish(batch_messages(self.state.market, work.events, work.time))
        self._answer(work)
        self._report(work, len(batch), time.perf_counter() - started)

    def _report(self, work: _Batch, commands: int, seconds: float) -> None:
        """One log line per batch (dataex.batches, INFO) and the metrics' batch figures."""
        if self.on_batch is None and not batch_log.isEnabledFor(logging.INFO):
            return
        kinds: dict[str, int] = {}
        for row in work.rows:
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        trades = sum(1 for events, _ in work.events for e in events if e["type"] == "trade")
        report = BatchReport(commands, seconds, kinds, kinds.get(PLACE_CONTRACT, 0), trades,
                             self.head.seq)
        if self.on_batch is not None:
            self.on_batch(report)
        if batch_log.isEnabledFor(logging.INFO):
            refused = sum(1 for _, outcome in work.outcomes if isinstance(outcome, DomainError))
            batch_log.info("batch", extra={"fields": {
                "commands": commands, "entries": len(work.rows), "refused": refused,
                "orders": report.orders, "trades": trades, "head": report.head,
                "commit_ms": round(seconds * 1000, 3)}})

    async def _check_lock(self, conn: AsyncConnection) -> None:
        """LockLost unless the lock connection's backend still holds the write lock."""
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        held = await driver.fetchval(
            _LOCK_HELD, self._lock_pid, SEQUENCER_LOCK_KEY >> 32, SEQUENCER_LOCK_KEY & 0xFFFFFFFF
        )
        if not held:
            raise LockLost("the sequencer's advisory lock is no longer held")

    def _apply_batch(
        self, batch: list[_Pending], committed: dict[tuple[str, str], tuple[str, bytes]]
    ) -> tuple[_Batch, int, str]:
        """Apply each command to the in-memory state; build its log entry and answer."""
        now = self.clock()
        time = format_utc(now)
        seen: dict[tuple[str, str], tuple[bytes, _Pending]] = {}
        work = _Batch(now=now, time=time)
        seq, prev_hash = self.head.seq, self.head.entry_hash
        for pending in batch:
            parsed = pending.command.parsed
            key = (parsed.signer, parsed.nonce)
            try:
                if key in committed:
                    work.outcomes.append((pending, self._replay(parsed, *committed[key])))
                    continue
                if key in seen:
                    if seen[key][0] != parsed.canonical_document:
                        raise NonceReused(f"nonce {parsed.nonce!r} was already used")
                    work.outcomes.append((pending, seen[key][1]))  # resolved below
                    continue
                if pending.command.genesis:
                    if self.state.participants.by_id:
                        raise Conflict("the platform already has its operator")
                else:
                    recheck_signer(pending.command, self.state.participants)
                events = apply(self.state, pending.command, now)
            except DomainError as error:
                work.outcomes.append((pending, error))
                continue
            seq += 1
            entry, canonical, digest = build_entry(
                seq=seq,
                time=time,
                kind=parsed.contract.name,
                signer=parsed.signer,
                participant_id=pending.command.participant_id,
                envelope=parsed.envelope,
                events=events,
                prev_hash=prev_hash,
                canonical_envelope=parsed.canonical_envelope(),
            )
            prev_hash = digest
            seen[key] = (parsed.canonical_document, pending)
            work.rows.append(
                {
                    "seq": seq,
                    "time": now,
                    "kind": parsed.contract.name,
                    "signer": parsed.signer,
                    "nonce": parsed.nonce,
                    "participant_id": entry["participant_id"] or events[0].get("participant_id"),
                    "entry": canonical.decode(),
                    "entry_hash": bytes.fromhex(digest),
                }
            )
            work.events.append((events, seq))
            work.outcomes.append(
                (pending, Receipt(seq, time, parsed.contract.name, digest, events))
            )
        return work, seq, prev_hash

    @staticmethod
    def _answer(work: _Batch) -> None:
        receipts = {id(p): o for p, o in work.outcomes if isinstance(o, Receipt)}
        for pending, outcome in work.outcomes:
            if pending.future.done():
                continue
            if isinstance(outcome, _Pending):  # a duplicate within the batch
                first = receipts.get(id(outcome))
                if first is None:
                    pending.future.set_exception(Unavailable("the first copy was refused"))
                else:
                    pending.future.set_result(replace(first, replayed=True))
            elif isinstance(outcome, Receipt):
                pending.future.set_result(outcome)
            else:
                pending.future.set_exception(outcome)

    @staticmethod
    def _replay(parsed: ParsedEnvelope, entry_text: str, entry_hash: bytes) -> Receipt:
        entry = msgspec.json.decode(entry_text)
        if canonical_json(entry["envelope"]["document"]) != parsed.canonical_document:
            raise NonceReused(
                f"nonce {parsed.nonce!r} was already used by signer {parsed.signer} "
                f"for another document (log entry {entry['seq']})"
            )
        return Receipt(
            entry["seq"], entry["time"], entry["kind"], entry_hash.hex(), entry["events"], True
        )

    @staticmethod
    async def _committed_documents(
        conn: AsyncConnection, batch: list[_Pending]
    ) -> dict[tuple[str, str], tuple[str, bytes]]:
        """The log entries of documents in the batch that were already committed.

        One fixed statement whatever the batch's size (the keys travel as two
        arrays), so it is prepared once, not once per distinct batch size.
        """
        keys = {(p.command.parsed.signer, p.command.parsed.nonce) for p in batch}
        rows = await conn.execute(
            _COMMITTED_DOCUMENTS,
            {"signers": [k[0] for k in keys], "nonces": [k[1] for k in keys]},
        )
        return {(r.signer, r.nonce): (r.entry, bytes(r.entry_hash)) for r in rows}
