"""Collect a batch's row writes and send them as few statements as possible.

A batch of hundreds of commands would otherwise cost a round trip per row.
Inserts are grouped per table (tables in first-use order, so a parent table is
written before the rows that reference it); updates follow, in their original
order, consecutive updates of the same shape sent together. Every row of a
batch is new or keyed by its primary key, so this order gives the same result
as writing event by event.

Speed: the rows go straight to asyncpg on the batch's own connection, inside
the transaction SQLAlchemy opened: inserts as one binary ``COPY`` per table,
updates as one prepared ``executemany`` per shape. SQLAlchemy's executemany
built and type-processed every parameter in Python, which cost more than the
rest of the batch's writing (bench/settlement.py, docs/benchmarks.md). A table
with a column this fast path cannot type faithfully (a Python-side default, a
custom type) goes through SQLAlchemy as before, so any table may be added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import msgspec
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    bindparam,
    insert,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import JSON, TypeDecorator

# Column types asyncpg encodes exactly as SQLAlchemy would (no bind processing).
_DRIVER_TYPES = (BigInteger, Integer, SmallInteger, String, Text, DateTime, LargeBinary, Boolean)
_json_encoder = msgspec.json.Encoder()


@dataclass
class _Update:
    table: Table
    key_column: str
    key: Any
    values: dict[str, Any]

    @property
    def shape(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.table.name, self.key_column, tuple(sorted(self.values)))


_plans: dict[Table, dict[str, bool] | None] = {}


def _driver_plan(table: Table) -> dict[str, bool] | None:
    """Column -> "is JSON" for a table asyncpg can write directly; None if it cannot."""
    if table not in _plans:
        _plans[table] = _plan_of(table)
    return _plans[table]


def _plan_of(table: Table) -> dict[str, bool] | None:
    plan: dict[str, bool] = {}
    for column in table.columns:
        kind = column.type
        if column.default is not None or column.onupdate is not None:
            return None
        if isinstance(kind, TypeDecorator):
            return None
        if isinstance(kind, JSON):
            plan[column.name] = True
        elif isinstance(kind, _DRIVER_TYPES) or (
            isinstance(kind, ARRAY) and isinstance(kind.item_type, _DRIVER_TYPES)
        ):
            plan[column.name] = False
        else:
            return None
    return plan


def _json_text(value: Any) -> str:
    return _json_encoder.encode(value).decode()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class BatchWrites:
    inserts: dict[str, tuple[Table, list[dict[str, Any]]]] = field(default_factory=dict)
    updates: list[_Update] = field(default_factory=list)

    def insert(self, table: Table, row: dict[str, Any]) -> None:
        self.inserts.setdefault(table.name, (table, []))[1].append(row)

    def insert_many(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self.inserts.setdefault(table.name, (table, []))[1].extend(rows)

    def update(self, table: Table, key_column: str, key: Any, **values: Any) -> None:
        self.updates.append(_Update(table, key_column, key, values))

    async def flush(self, conn: AsyncConnection) -> None:
        """Send everything on `conn`, which must be inside its transaction already."""
        driver = (await conn.get_raw_connection()).driver_connection
        if driver is None or not driver.is_in_transaction():
            raise RuntimeError("BatchWrites.flush needs a connection inside a transaction")
        for table, rows in self.inserts.values():
            plan = _driver_plan(table)
            if plan is None:
                await conn.execute(insert(table), rows)
                continue
            columns = list(rows[0])
            json_columns = [i for i, name in enumerate(columns) if plan[name]]
            records: list[tuple[Any, ...]] | list[list[Any]]
            if json_columns:
                records = [[row[name] for name in columns] for row in rows]
                for record in records:
                    for i in json_columns:
                        record[i] = _json_text(record[i])
            else:
                records = [tuple([row[name] for name in columns]) for row in rows]
            await driver.copy_records_to_table(table.name, records=records, columns=columns)
        for _shape, run in groupby(self.updates, key=lambda u: u.shape):
            group = list(run)
            await self._update_group(conn, driver, group)
        self.inserts.clear()
        self.updates.clear()

    @staticmethod
    async def _update_group(conn: AsyncConnection, driver: Any, group: list[_Update]) -> None:
        first = group[0]
        names = sorted(first.values)
        plan = _driver_plan(first.table)
        if plan is None:
            statement = (
                update(first.table)
                .where(first.table.c[first.key_column] == bindparam("key_"))
                .values({name: bindparam(f"{name}_") for name in first.values})
            )
            await conn.execute(
                statement,
                [{"key_": u.key, **{f"{k}_": v for k, v in u.values.items()}} for u in group],
            )
            return
        sets = ", ".join(f"{_quote(name)} = ${i}" for i, name in enumerate(names, 1))
        sql = (
            f"UPDATE {_quote(first.table.name)} SET {sets} "
            f"WHERE {_quote(first.key_column)} = ${len(names) + 1}"
        )
        json_names = {name for name in names if plan[name]}
        await driver.executemany(
            sql,
            [
                [_json_text(u.values[n]) if n in json_names else u.values[n] for n in names]
                + [u.key]
                for u in group
            ],
        )
