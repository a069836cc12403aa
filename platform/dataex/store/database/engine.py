"""Engines and connections: one place that knows how dataex talks to PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)


def async_url(url: str) -> str:
    """Accept plain libpq URLs (postgresql://...) and pick the asyncpg driver.

    A libpq URL may name several hosts (`postgresql://u@h1:5432,h2:5432/db?
    target_session_attrs=read-write`, as a Patroni cluster is reached); SQLAlchemy
    spells that as repeated `host=` query parameters, which asyncpg tries in order.
    """
    parsed = make_url(_hosts_as_query(url))
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _hosts_as_query(url: str) -> str:
    """Move a comma-separated host list from the authority into `host=` parameters."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    userinfo, at, hostlist = authority.rpartition("@")
    if "," not in hostlist:
        return url
    path, _, query = tail.partition("?")
    hosts = "&".join(f"host={quote(h, safe='')}" for h in hostlist.split(",") if h)
    query = f"{query}&{hosts}" if query else hosts
    return f"{scheme}://{userinfo}{at}{slash}{path}?{query}"


def display_url(url: str) -> str:
    """The URL without its password, for messages (several hosts shown as `host=`)."""
    return unquote(make_url(_hosts_as_query(url)).render_as_string(hide_password=True))


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


# SQLSTATEs of a database that is away or changing role rather than of a bad
# query: connection exceptions (08), shutdowns and "cannot connect now" (57P),
# a read-only standby reached during a failover (25006).
_UNAVAILABLE_SQLSTATES = ("08", "57P", "25006")


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is away (failover, restart), not that a query is wrong."""
    current: BaseException | None = exc
    while current is not None:
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str):
            return state.startswith(_UNAVAILABLE_SQLSTATES)
        if isinstance(current, OSError | ConnectionError):
            return True
        if type(current).__name__ in ("InterfaceError", "ConnectionDoesNotExistError"):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False
