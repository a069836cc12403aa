"""The application role: the service runs without the right to rewrite history.

Where the configured user may create roles, dataex creates a NOLOGIN role that
may read every table, change the state tables, and only SELECT and INSERT on
the log tables; the service then `SET ROLE`s to it on every connection. The
triggers of migrations/ refuse UPDATE/DELETE/TRUNCATE on the log for every
role anyway; the role is the second lock on the same door.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.store.tables import LOG_TABLES, metadata

log = logging.getLogger(__name__)

ROLE_LOCK_KEY = 0x6461746165780002  # "dataex" + 2: serialises concurrent role set-up


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_app_role(engine: AsyncEngine, role: str) -> bool:
    """Create/refresh the role and its grants; False if this user may not create roles."""
    async with engine.begin() as conn:
        can = (
            await conn.execute(
                text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
            )
        ).scalar()
        if not can:
            log.warning(
                "database user may not create roles: the service runs as it, and only the "
                "log's triggers keep the log append-only"
            )
            return False
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROLE_LOCK_KEY})
        exists = (
            await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        ).scalar()
        q = _quote(role)
        if not exists:
            await conn.execute(text(f"CREATE ROLE {q} NOLOGIN"))
        user = (await conn.execute(text("SELECT current_user"))).scalar()
        await conn.execute(text(f"GRANT {q} TO {_quote(str(user))}"))
        await conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {q}"))
        for table in metadata.tables:
            await conn.execute(text(f"REVOKE ALL ON {_quote(table)} FROM {q}"))
            rights = "SELECT, INSERT" if table in LOG_TABLES else "SELECT, INSERT, UPDATE, DELETE"
            await conn.execute(text(f"GRANT {rights} ON {_quote(table)} TO {q}"))
        await conn.execute(text(f"GRANT SELECT ON alembic_version TO {q}"))
    return True
