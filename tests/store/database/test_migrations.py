"""Alembic is the only source of schema, and store/tables.py mirrors it exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dataex.store.database.engine import create_engine
from dataex.store.tables import metadata


async def test_tables_match_the_migrations(database_url) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []
