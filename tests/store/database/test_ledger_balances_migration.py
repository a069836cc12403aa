"""Migration 0007 fills ledger_balances and ledger_holds from the postings already there."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import select

from dataex.store.database.engine import create_engine
from dataex.store.database.migrate import upgrade
from dataex.store.tables import ledger_balances, ledger_holds, ledger_postings
from tests.conftest import _asyncpg_args, _libpq


@pytest.fixture
async def unmigrated_url(server_url: str) -> AsyncIterator[str]:
    name = f"dataex_m_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**_asyncpg_args(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _libpq(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _posting(seq: int, position: int, account: str, bucket: str, amount: int,
             order_id: str | None = None, asset: str = "CNY") -> dict[str, object]:
    return {"seq": seq, "movement": 0, "position": position, "account": account,
            "asset": asset, "bucket": bucket, "order_id": order_id, "amount": amount}


async def test_0007_sums_the_existing_postings_into_balances_and_holds(
    unmigrated_url: str,
) -> None:
    await upgrade(unmigrated_url, "0004")
    engine = create_engine(unmigrated_url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            await conn.execute(ledger_postings.insert(), [
                _posting(1, 0, "platform:bank", "available", -1_000),
                _posting(1, 1, "P000001", "available", 1_000),
                # a hold of 300 for O000001, and one for O000002 fully released since
                _posting(2, 0, "P000001", "available", -300),
                _posting(2, 1, "P000001", "held", 300, "O000001"),
                _posting(3, 0, "P000001", "available", -200),
                _posting(3, 1, "P000001", "held", 200, "O000002"),
                _posting(4, 0, "P000001", "held", -200, "O000002"),
                _posting(4, 1, "P000001", "available", 200),
            ])
        await upgrade(unmigrated_url, "0007")
        async with engine.connect() as conn:
            balances = sorted(tuple(r) for r in await conn.execute(select(ledger_balances)))
            holds = [tuple(r) for r in await conn.execute(select(ledger_holds))]
    finally:
        await engine.dispose()
    assert balances == [("P000001", "CNY", 700, 300), ("platform:bank", "CNY", -1_000, 0)]
    assert holds == [("O000001", "P000001", "CNY", 300)]
