"""Bring a database to life for dataex: URL, migrations, app role, engine, sequencer.

Both the HTTP app and the CLI's local commands (`init`, `db upgrade`) start here,
so there is one way the service reaches a ready database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import alembic.util.exc
import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.config.settings import Settings
from dataex.keys.files import load_key
from dataex.keys.locations import KeyPaths
from dataex.keys.log_keys import LogKeyFiles
from dataex.store.database.embedded import start_embedded
from dataex.store.database.engine import create_engine, display_url
from dataex.store.database.migrate import upgrade
from dataex.store.database.replica import ReplicaWatch
from dataex.store.database.roles import ensure_app_role
from dataex.store.log.checkpointer import Checkpointer
from dataex.store.startup import EXIT_DATABASE, EXIT_SCHEMA, StartupFailure
from dataex.store.writer.loader import MarketSettings
from dataex.store.writer.sequencer import SEQUENCER_LOCK_KEY, Sequencer

log = logging.getLogger(__name__)


def resolve_database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started on demand)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir)


async def prepare_database(settings: Settings) -> tuple[str, bool]:
    """Migrate to head and refresh the app role; return (url, runs as app role).

    Raises `StartupFailure` for what a person must fix: a database that does
    not answer, refuses the login, or holds a schema this dataex does not know.
    """
    url = resolve_database_url(settings)
    where = "the embedded PostgreSQL" if not settings.database_url else display_url(url)
    try:
        await upgrade(url)
        admin = create_engine(url, pool_size=1, max_overflow=0)
        try:
            has_role = await ensure_app_role(admin, settings.app_role)
        finally:
            await admin.dispose()
    except alembic.util.exc.CommandError as exc:
        raise StartupFailure(
            EXIT_SCHEMA, f"the database at {where} cannot be migrated: {exc}",
            "it was written by a newer dataex (run that version) or restored from another "
            "deployment") from exc
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StartupFailure(
            EXIT_DATABASE, f"cannot use the database at {where}: {reason}",
            "check DATAEX_DATABASE_URL and that PostgreSQL runs and accepts this user") from exc
    return url, has_role


async def writer_present(settings: Settings) -> bool:
    """Whether some server holds the writer's lock on the database (a hint: it may change)."""
    engine = create_engine(resolve_database_url(settings), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return bool(await conn.scalar(text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 1 AND classid = :high AND objid = :low AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()))"),
                {"high": SEQUENCER_LOCK_KEY >> 32, "low": SEQUENCER_LOCK_KEY & 0xFFFFFFFF}))
    except (OSError, asyncpg.PostgresError, DBAPIError):
        return False  # let the start that follows say what is wrong
    finally:
        await engine.dispose()


def _log_key(settings: Settings) -> Ed25519PrivateKey | None:
    """The platform's log key, which signs licence documents; None before `dataex init`."""
    path = KeyPaths.of(settings).log
    if not path.exists():
        log.warning("no log key at %s: licences are recorded unsigned", path)
        return None
    return load_key(path)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sequencer: Sequencer
    checkpointer: Checkpointer
    # Public reads (market data, registry, reports, log entries): a replica's
    # engine when DATAEX_READ_DATABASE_URL is set, else `engine` itself.
    read_engine: AsyncEngine | None = None
    replica: ReplicaWatch | None = None

    @property
    def reads(self) -> AsyncEngine:
        return self.read_engine or self.engine

    async def close(self) -> None:
        if self.replica is not None:
            await self.replica.stop()
        await self.checkpointer.stop()
        await self.sequencer.stop()
        if self.read_engine is not None:
            await self.read_engine.dispose()
        await self.engine.dispose()


async def open_runtime(settings: Settings, *, stand_by: bool = False) -> Runtime:
    """Ready database + sequencer (writing, or with `stand_by` waiting for the writer's lock).

    Without `stand_by`, raises SequencerLocked if another server writes.
    """
    url, has_role = await prepare_database(settings)
    role = settings.app_role if has_role else None
    engine = create_engine(url, role=role)
    sequencer = Sequencer(
        engine,
        max_batch=settings.batch_max_commands,
        notice_period=settings.notice_period,
        market_settings=MarketSettings(settings.maker_fee_bps, settings.taker_fee_bps),
        licence_key=_log_key(settings),
        verify_threads=settings.verify_threads,
        lock_poll_seconds=settings.lock_poll_seconds,
    )
    try:
        await sequencer.start(stand_by=stand_by)
    except BaseException:
        await engine.dispose()
        raise
    checkpointer = Checkpointer(
        engine,
        lambda: sequencer.head.seq if sequencer.running else 0,  # only the writer signs
        origin=settings.log_origin,
        keys=LogKeyFiles.of(settings),
        interval_seconds=settings.checkpoint_interval_seconds,
    )
    checkpointer.start()
    runtime = Runtime(settings, engine, sequencer, checkpointer)
    if settings.read_database_url:
        runtime.read_engine = create_engine(settings.read_database_url, role=role)
        runtime.replica = ReplicaWatch(engine, runtime.read_engine)
        runtime.replica.start()
    return runtime
