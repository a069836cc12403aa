"""Day-window reads (statistics, surveillance) can find their rows by time through BRIN."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from dataex.store.database.engine import create_engine


@pytest.mark.parametrize(("table", "index"), [("audit_entries", "ix_audit_entries_time"),
                                              ("trades", "ix_trades_time")])
async def test_time_has_a_brin_index(runtime, table: str, index: str) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(runtime.settings.database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            definition = (await conn.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE tablename = :table AND indexname = :index"),
                {"table": table, "index": index})).scalar_one()
    finally:
        await engine.dispose()
    assert "USING brin (\"time\") WITH (autosummarize='on')" in definition, definition


async def test_a_day_window_of_the_log_is_read_through_it(runtime) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(runtime.settings.database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            # a test log is tiny, so the planner would rightly scan it all; forbid that to ask
            # whether the index serves the shape of the statistics' and surveillance's window
            await conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join((await conn.execute(text(
                "EXPLAIN SELECT count(*) FROM audit_entries "
                "WHERE time >= now() - interval '1 day' AND time < now()"))).scalars())
    finally:
        await engine.dispose()
    assert "Bitmap Index Scan on ix_audit_entries_time" in plan, plan
