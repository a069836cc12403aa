"""Alembic environment: async, under a PostgreSQL advisory lock.

The URL comes from the `sqlalchemy.url` option that dataex.store.database.migrate sets,
or from DATAEX_DATABASE_URL when alembic is run by hand. The advisory lock
makes concurrent upgrades (two servers starting at once) wait, not collide.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from dataex.store.database.engine import create_engine
from dataex.store.tables import metadata

MIGRATION_LOCK_KEY = 0x6461746165780001  # "dataex" + 1


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "DATAEX_DATABASE_URL", ""
    )
    if not url:
        raise SystemExit("no database URL: set DATAEX_DATABASE_URL or use `dataex db upgrade`")
    return url


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    try:
        context.configure(connection=connection, target_metadata=metadata,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        connection.commit()


async def _main() -> None:
    engine = create_engine(_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_main())
