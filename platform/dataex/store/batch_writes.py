"""Collect a batch's row writes and send them as few statements as possible.

A batch of hundreds of commands would otherwise cost a round trip per row.
Inserts are grouped per table (tables in first-use order, so a parent table is
written before the rows that reference it); updates follow, in their original
order, consecutive updates of the same shape sent together. Every row of a
batch is new or keyed by its primary key, so this order gives the same result
as writing event by event. Upserts and deletes (rows that hold current state,
such as ledger balances: one per key and batch) come last.

Speed: the rows go straight to asyncpg on the batch's own connection, inside
the transaction SQLAlchemy opened. All inserts of a batch travel as ONE
statement (a data-modifying CTE per table over `json_to_recordset` of one JSON
parameter: one round trip), a table with an array column as a binary ``COPY``,
and updates as one prepared ``executemany`` per shape. SQLAlchemy's
executemany built every parameter in Python, and a statement or a COPY per
table cost a round trip each, which on a crowded CPU means a wait for
PostgreSQL to be scheduled (docs/benchmarks.md). A table with a column this
fast path cannot type faithfully (a Python-side default, a custom type) goes
through SQLAlchemy as before, so any table may be added.
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
    delete,
    insert,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import JSON, TypeDecorator

# Column types asyncpg encodes exactly as SQLAlchemy would (no bind processing), and the
# PostgreSQL array type each travels in.
_DRIVER_TYPES: tuple[tuple[type, str], ...] = (
    (BigInteger, "bigint"),  # before Integer: BigInteger is a subclass of it
    (SmallInteger, "smallint"),
    (Integer, "integer"),
    (Text, "text"),
    (String, "text"),
    (LargeBinary, "bytea"),
    (Boolean, "boolean"),
)
_JSON = "jsonb"
_ARRAY = "array"  # an array column: such a table goes by COPY
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


_plans: dict[Table, dict[str, str] | None] = {}


def _driver_plan(table: Table) -> dict[str, str] | None:
    """Column -> PostgreSQL type asyncpg sends it as; None if only SQLAlchemy can write it."""
    if table not in _plans:
        _plans[table] = _plan_of(table)
    return _plans[table]


def _plain_type(kind: Any) -> str | None:
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    for base, name in _DRIVER_TYPES:
        if isinstance(kind, base):
            return name
    return None


def _plan_of(table: Table) -> dict[str, str] | None:
    plan: dict[str, str] = {}
    for column in table.columns:
        kind = column.type
        if column.default is not None or column.onupdate is not None:
            return None
        if isinstance(kind, TypeDecorator):
            return None
        if isinstance(kind, JSON):
            plan[column.name] = _JSON
        elif isinstance(kind, ARRAY) and _plain_type(kind.item_type) is not None:
            plan[column.name] = _ARRAY
        elif (name := _plain_type(kind)) is not None:
            plan[column.name] = name
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
    upserts: dict[str, tuple[Table, list[dict[str, Any]]]] = field(default_factory=dict)
    deletes: dict[str, tuple[Table, list[Any]]] = field(default_factory=dict)

    def insert(self, table: Table, row: dict[str, Any]) -> None:
        self.inserts.setdefault(table.name, (table, []))[1].append(row)

    def insert_many(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self.inserts.setdefault(table.name, (table, []))[1].extend(rows)

    def update(self, table: Table, key_column: str, key: Any, **values: Any) -> None:
        self.updates.append(_Update(table, key_column, key, values))

    def upsert(self, table: Table, row: dict[str, Any]) -> None:
        """Insert ``row``, or overwrite the row with its primary key (once per key and batch)."""
        self.upserts.setdefault(table.name, (table, []))[1].append(row)

    def delete(self, table: Table, key: Any) -> None:
        """Delete the row whose (one-column) primary key is ``key``, if there is one."""
        self.deletes.setdefault(table.name, (table, []))[1].append(key)

    async def flush(self, conn: AsyncConnection) -> None:
        """Send everything on `conn`, which must be inside its transaction already."""
        driver = (await conn.get_raw_connection()).driver_connection
        if driver is None or not driver.is_in_transaction():
            raise RuntimeError("BatchWrites.flush needs a connection inside a transaction")
        together = _OneStatement()
        for table, rows in self.inserts.values():
            plan = _driver_plan(table)
            columns = list(rows[0])
            if plan is not None and _ARRAY not in (plan[name] for name in columns):
                together.add(table, columns, plan, rows)
                continue
            await together.send(driver)  # what came first is written first
            if plan is None:
                await conn.execute(insert(table), rows)
            else:
                await _copy(driver, table, columns, plan, rows)
        await together.send(driver)
        for _shape, run in groupby(self.updates, key=lambda u: u.shape):
            group = list(run)
            await self._update_group(conn, driver, group)
        for table, rows in self.upserts.values():
            await _upsert(conn, driver, table, rows)
        for table, keys in self.deletes.values():
            await _delete(conn, driver, table, keys)
        self.inserts.clear()
        self.updates.clear()
        self.upserts.clear()
        self.deletes.clear()

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
        json_names = {name for name in names if plan[name] == _JSON}
        await driver.executemany(
            sql,
            [
                [_json_text(u.values[n]) if n in json_names else u.values[n] for n in names]
                + [u.key]
                for u in group
            ],
        )


class _OneStatement:
    """Inserts into several tables as ONE statement: a data-modifying CTE per table.

    A table's rows travel as ONE parameter, a JSON array of row objects that
    msgspec encodes in C, and `json_to_recordset` turns it back into typed rows
    (bytea columns as base64 text, `decode`d; JSON columns as their JSON text,
    cast to jsonb as before), so a batch's audit entries, postings, trades and
    orders cost one round trip instead of two per table (COPY). It replaced an
    array parameter per column: asyncpg checks every element of an array
    against three abstract base classes in Python, which cost more than the
    whole JSON encoding. Constraints are checked at the end of the statement, so
    a parent row and its children may share it.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[str] = []

    def add(
        self, table: Table, columns: list[str], plan: dict[str, str], rows: list[dict[str, Any]]
    ) -> None:
        json_columns = [name for name in columns if plan[name] == _JSON]
        if json_columns:  # their values travel as JSON text, as with every other path
            rows = [{**row, **{n: _json_text(row[n]) for n in json_columns}} for row in rows]
        self.args.append(_json_encoder.encode(rows).decode())
        self.parts.append(
            f"w{len(self.parts)} AS ({_recordset_insert(table, columns, plan, len(self.args))})"
        )

    async def send(self, driver: Any) -> None:
        if self.parts:
            await driver.execute(f"WITH {', '.join(self.parts)} SELECT 1", *self.args)
            self.parts, self.args = [], []


# how a column's value travels inside the JSON rows, and how it is read back
_RECORD_TYPE = {_JSON: "text", "bytea": "text"}
_READ_BACK = {_JSON: "{}::jsonb", "bytea": "decode({}, 'base64')"}
_insert_sql: dict[tuple[str, tuple[str, ...], int], str] = {}


def _recordset_insert(table: Table, columns: list[str], plan: dict[str, str], param: int) -> str:
    """INSERT INTO table (columns) SELECT ... FROM json_to_recordset($param), cached."""
    key = (table.name, tuple(columns), param)
    sql = _insert_sql.get(key)
    if sql is None:
        names = ", ".join(_quote(name) for name in columns)
        typed = ", ".join(
            f"{_quote(name)} {_RECORD_TYPE.get(plan[name], plan[name])}" for name in columns
        )
        selects = ", ".join(
            _READ_BACK.get(plan[name], "{}").format(f"u.{_quote(name)}") for name in columns
        )
        sql = (
            f"INSERT INTO {_quote(table.name)} ({names}) SELECT {selects} "
            f"FROM json_to_recordset(${param}::json) AS u({typed})"
        )
        _insert_sql[key] = sql
    return sql


async def _copy(
    driver: Any, table: Table, columns: list[str], plan: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    """One binary COPY: for tables with array columns (rare: participants, registrations)."""
    json_columns = [i for i, name in enumerate(columns) if plan[name] == _JSON]
    records = [[row[name] for name in columns] for row in rows]
    for record in records:
        for i in json_columns:
            record[i] = _json_text(record[i])
    await driver.copy_records_to_table(table.name, records=records, columns=columns)


async def _upsert(
    conn: AsyncConnection, driver: Any, table: Table, rows: list[dict[str, Any]]
) -> None:
    """Insert or overwrite by primary key: one `json_to_recordset` statement where the driver
    can type every column, SQLAlchemy's executemany otherwise."""
    keys = [c.name for c in table.primary_key]
    columns = list(rows[0])
    plan = _driver_plan(table)
    if plan is None or any(plan[name] in (_ARRAY, _JSON) for name in columns):
        statement = pg_insert(table)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=keys,
                set_={c: statement.excluded[c] for c in columns if c not in keys},
            ),
            rows,
        )
        return
    names = ", ".join(_quote(name) for name in columns)
    typed = ", ".join(
        f"{_quote(name)} {_RECORD_TYPE.get(plan[name], plan[name])}" for name in columns
    )
    selects = ", ".join(
        _READ_BACK.get(plan[name], "{}").format(f"u.{_quote(name)}") for name in columns
    )
    sets = ", ".join(
        f"{_quote(name)} = EXCLUDED.{_quote(name)}" for name in columns if name not in keys
    )
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    await driver.execute(
        f"INSERT INTO {_quote(table.name)} ({names}) SELECT {selects} "
        f"FROM json_to_recordset($1::json) AS u({typed}) "
        f"ON CONFLICT ({', '.join(_quote(k) for k in keys)}) {action}",
        _json_encoder.encode(rows).decode(),
    )


async def _delete(conn: AsyncConnection, driver: Any, table: Table, keys: list[Any]) -> None:
    """Delete by a one-column primary key: one statement with the keys as one array (the
    driver), or SQLAlchemy's expanding IN where the driver cannot type the key."""
    (column,) = table.primary_key.columns
    kind = (_driver_plan(table) or {}).get(column.name)
    if kind is None or kind in (_ARRAY, _JSON):
        await conn.execute(delete(table).where(column.in_(keys)))
        return
    await driver.execute(
        f"DELETE FROM {_quote(table.name)} WHERE {_quote(column.name)} = ANY($1::{kind}[])", keys
    )
