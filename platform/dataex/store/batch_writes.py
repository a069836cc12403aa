"""Collect a batch's row writes and send them as few statements as possible.

A batch of hundreds of commands would otherwise cost a round trip per row.
Inserts are grouped per table (executemany, tables in first-use order, so a
parent table is written before the rows that reference it); updates follow,
in their original order, consecutive updates of the same shape sent together.
Every row of a batch is new or keyed by its primary key, so this order gives
the same result as writing event by event. Upserts and deletes (rows that hold
current state, such as ledger balances: one per key and batch) come last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass
class _Update:
    table: Table
    key_column: str
    key: Any
    values: dict[str, Any]

    @property
    def shape(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.table.name, self.key_column, tuple(sorted(self.values)))


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
        for table, rows in self.inserts.values():
            await conn.execute(insert(table), rows)
        for _shape, run in groupby(self.updates, key=lambda u: u.shape):
            group = list(run)
            first = group[0]
            statement = (
                update(first.table)
                .where(first.table.c[first.key_column] == bindparam("key_"))
                .values({name: bindparam(f"{name}_") for name in first.values})
            )
            await conn.execute(
                statement,
                [{"key_": u.key, **{f"{k}_": v for k, v in u.values.items()}} for u in group],
            )
        for table, rows in self.upserts.values():
            upsert = pg_insert(table)
            keys = [c.name for c in table.primary_key]
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=keys,
                    set_={c: upsert.excluded[c] for c in rows[0] if c not in keys},
                ),
                rows,
            )
        for table, keys in self.deletes.values():
            (column,) = table.primary_key.columns
            await conn.execute(delete(table).where(column.in_(keys)))
        self.inserts.clear()
        self.updates.clear()
        self.upserts.clear()
        self.deletes.clear()
