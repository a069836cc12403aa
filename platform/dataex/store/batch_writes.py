"""Collect a batch's row writes and send them as few statements as possible.

A batch of hundreds of commands would otherwise cost a round trip per row.
Inserts are grouped per table (executemany, tables in first-use order, so a
parent table is written before the rows that reference it); updates follow,
in their original order, consecutive updates of the same shape sent together.
Every row of a batch is new or keyed by its primary key, so this order gives
the same result as writing event by event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
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

    def insert(self, table: Table, row: dict[str, Any]) -> None:
        self.inserts.setdefault(table.name, (table, []))[1].append(row)

    def insert_many(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self.inserts.setdefault(table.name, (table, []))[1].extend(rows)

    def update(self, table: Table, key_column: str, key: Any, **values: Any) -> None:
        self.updates.append(_Update(table, key_column, key, values))

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
        self.inserts.clear()
        self.updates.clear()
