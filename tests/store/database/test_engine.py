"""How dataex reads a database URL: one host or a cluster's several; what "unavailable" means."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from dataex.store.database.backup import libpq_url
from dataex.store.database.engine import (
    async_url,
    create_engine,
    database_unavailable,
    display_url,
)

CLUSTER = ("postgresql://dataex:s3cret@10.0.0.1:5432,10.0.0.2:5433,db3/dataex"
           "?target_session_attrs=read-write")


def test_a_multi_host_url_becomes_host_parameters_asyncpg_tries_in_order() -> None:
    assert async_url(CLUSTER) == (
        "postgresql+asyncpg://dataex:s3cret@/dataex?host=10.0.0.1%3A5432&host=10.0.0.2%3A5433"
        "&host=db3&target_session_attrs=read-write")
    assert "s3cret" not in display_url(CLUSTER) and "10.0.0.2:5433" in display_url(CLUSTER)
    assert libpq_url(CLUSTER) == CLUSTER  # pg_dump reads libpq's own form as is


def test_a_single_host_url_is_unchanged_but_for_the_driver() -> None:
    assert async_url("postgresql://u:p@h:5432/d") == "postgresql+asyncpg://u:p@h:5432/d"


def test_only_a_database_that_is_away_counts_as_unavailable() -> None:
    assert database_unavailable(ConnectionRefusedError())
    assert database_unavailable(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert database_unavailable(asyncpg.exceptions.ReadOnlySQLTransactionError("read-only"))
    assert database_unavailable(asyncpg.exceptions.ConnectionDoesNotExistError("closed"))
    assert not database_unavailable(asyncpg.exceptions.UndefinedTableError("no such table"))
    assert not database_unavailable(ValueError("a bug"))


@pytest.mark.db
async def test_the_first_host_that_answers_read_write_is_used(database_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.host is None:
        pytest.skip("the embedded PostgreSQL listens on a socket only")
    dead = "127.0.0.1:1"  # nothing listens on port 1
    hosts = f"{dead},{url.host}:{url.port or 5432}"
    multi = (f"postgresql://{url.username or 'postgres'}@{hosts}/{url.database}"
             "?target_session_attrs=read-write")
    engine = create_engine(multi, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT NOT pg_is_in_recovery()"))).scalar() is True
    finally:
        await engine.dispose()
