"""Shared fixtures: a real PostgreSQL for every database test, never a mock.

Without DATAEX_DATABASE_URL the session starts the embedded PostgreSQL in a
temporary folder; with it, the tests use that server. Either way the session
migrates one template database with Alembic, and every test that needs a
database gets a fresh copy of it (CREATE DATABASE ... TEMPLATE), so tests
cannot see each other's rows and the insert-only log needs no cleaning.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from dataex.config.settings import Settings
from dataex.store.database.engine import create_engine
from dataex.store.database.migrate import upgrade
from dataex.store.database.roles import ensure_app_role

DB_FIXTURES = {"database_url", "runtime", "api", "fresh_database"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that touches PostgreSQL as `db`, so CI can rerun just those."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def _libpq(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _asyncpg_args(url: str) -> dict[str, Any]:
    u = make_url(url)
    args: dict[str, Any] = {
        "user": u.username, "password": u.password, "database": u.database, "port": u.port,
        "host": u.query.get("host") or u.host,
    }
    return {k: v for k, v in args.items() if v is not None}


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A libpq URL of a PostgreSQL server the tests may create databases on."""
    configured = os.environ.get("DATAEX_DATABASE_URL")
    if configured:
        yield configured
        return
    from dataex.store.database.embedded import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="dataex-test-") as folder:
        try:
            yield start_embedded(Path(folder), database="postgres")
        finally:
            stop_embedded(Path(folder))


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> AsyncIterator[str]:
    name = f"dataex_tpl_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(**_asyncpg_args(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _libpq(server_url, name)
        await upgrade(url)
        engine = create_engine(url, pool_size=1, max_overflow=0)
        await ensure_app_role(engine, Settings().app_role)
        await engine.dispose()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def cloned_database(server_url: str, template_database: str) -> AsyncIterator[str]:
    """A new, migrated, empty database cloned from the template; dropped afterwards."""
    name = f"dataex_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**_asyncpg_args(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        yield _libpq(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def fresh_database(server_url: str, template_database: str) -> AsyncIterator[str]:
    """A new, migrated, empty database for one test; dropped afterwards."""
    async with cloned_database(server_url, template_database) as url:
        yield url


@pytest.fixture
def database_url(fresh_database: str) -> str:
    return fresh_database


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Any]:
    from dataex.store.runtime import open_runtime

    rt = await open_runtime(settings)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def api(runtime: Any) -> AsyncIterator[Any]:
    """An HTTP client on the real app over the real runtime, in this event loop.

    (Litestar's AsyncTestClient runs the app on a loop of its own thread; the
    sequencer's futures and the pooled connections belong to this one.)
    """
    import httpx

    from dataex.api.app import create_app

    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://dataex.test") as client:
        yield client
