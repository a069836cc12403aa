"""The database itself refuses to rewrite the log, for every role."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dataex.store.database.engine import create_engine
from tests.platform_setup import with_operator

STATEMENTS = [
    "UPDATE audit_entries SET kind = 'forged' WHERE seq = 1",
    "DELETE FROM audit_entries WHERE seq = 1",
    "TRUNCATE audit_entries",
]


@pytest.mark.parametrize("statement", STATEMENTS)
async def test_owner_is_refused_by_the_triggers(runtime, database_url, statement) -> None:  # type: ignore[no-untyped-def]
    await with_operator(runtime)
    owner = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            async with owner.begin() as conn:
                await conn.execute(text(statement))
        async with owner.connect() as conn:
            row = (await conn.execute(text("SELECT count(*), min(kind) FROM audit_entries"))).one()
        assert row == (1, "dataex.participant.admit.v1")
    finally:
        await owner.dispose()


@pytest.mark.parametrize("statement", STATEMENTS)
async def test_service_role_lacks_the_privilege(runtime, statement) -> None:  # type: ignore[no-untyped-def]
    await with_operator(runtime)
    with pytest.raises(DBAPIError, match="permission denied"):
        async with runtime.engine.begin() as conn:
            await conn.execute(text(statement))
