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
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.config.settings import Settings
from dataex.keys.files import load_key
from dataex.keys.locations import KeyPaths
from dataex.keys.log_keys import LogKeyFiles
from dataex.store.database.embedded import start_embedded
from dataex.store.database.engine import create_engine
from dataex.store.database.migrate import upgrade
from dataex.store.database.roles import ensure_app_role
from dataex.store.log.checkpointer import Checkpointer
from dataex.store.startup import EXIT_DATABASE, EXIT_SCHEMA, StartupFailure
from dataex.store.writer.loader import MarketSettings
from dataex.store.writer.sequencer import Sequencer

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
    where = "the embedded PostgreSQL" if not settings.database_url else _safe_url(url)
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


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


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

    async def close(self) -> None:
        await self.checkpointer.stop()
        await self.sequencer.stop()
        await self.engine.dispose()


async def open_runtime(settings: Settings) -> Runtime:
    """Ready database + running sequencer; raises SequencerLocked if another one writes."""
    url, has_role = await prepare_database(settings)
    engine = create_engine(url, role=settings.app_role if has_role else None)
    sequencer = Sequencer(
        engine,
        max_batch=settings.batch_max_commands,
        notice_period=settings.notice_period,
        market_settings=MarketSettings(settings.maker_fee_bps, settings.taker_fee_bps),
        licence_key=_log_key(settings),
        verify_threads=settings.verify_threads,
    )
    try:
        await sequencer.start()
    except BaseException:
        await engine.dispose()
        raise
    checkpointer = Checkpointer(
        engine,
        lambda: sequencer.head.seq,
        origin=settings.log_origin,
        keys=LogKeyFiles.of(settings),
        interval_seconds=settings.checkpoint_interval_seconds,
    )
    checkpointer.start()
    return Runtime(settings, engine, sequencer, checkpointer)
