"""Engines and connections: one place that knows how dataex talks to PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)


def async_url(url: str) -> str:
    """Accept plain libpq URLs (postgresql://...) and pick the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, role: str | None = None, **kw: Any) -> AsyncEngine:
    """An asyncpg engine; with `role`, every connection runs `SET ROLE role` first.

    The role is the application role that lacks UPDATE/DELETE/TRUNCATE on the
    log tables (store/database/roles.py), so even a bug in dataex cannot rewrite history.
    """
    if "poolclass" not in kw:
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 5)
    engine = create_async_engine(async_url(url), **kw)
    if role:
        quoted = '"' + role.replace('"', '""') + '"'

        @event.listens_for(engine.sync_engine, "connect")
        def _set_role(dbapi_connection: Any, _record: Any) -> None:
            # Straight on the asyncpg connection, outside any transaction, so no
            # rollback can undo it.
            dbapi_connection.run_async(lambda conn: conn.execute(f"SET ROLE {quoted}"))

    return engine


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
