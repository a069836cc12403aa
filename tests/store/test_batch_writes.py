"""BatchWrites writes what SQLAlchemy would, whichever of its three paths a table takes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from dataex.store.batch_writes import BatchWrites, _driver_plan

_meta = MetaData()
# one statement (unnest): plain columns, JSON, NULLs
plain = Table("bw_plain", _meta, Column("id", BigInteger, primary_key=True),
              Column("n", SmallInteger), Column("label", String(20)), Column("note", Text),
              Column("at", DateTime(timezone=True)), Column("raw", LargeBinary),
              Column("doc", JSONB))
# COPY: an array column
arrays = Table("bw_arrays", _meta, Column("id", BigInteger, primary_key=True),
               Column("roles", ARRAY(String(20))))
# SQLAlchemy: a Python-side default the driver would not apply
defaults = Table("bw_defaults", _meta, Column("id", BigInteger, primary_key=True),
                 Column("status", String(10), default="new"))

DDL = """
CREATE TEMP TABLE bw_plain (id bigint PRIMARY KEY, n smallint, label varchar(20), note text,
                            at timestamptz, raw bytea, doc jsonb);
CREATE TEMP TABLE bw_arrays (id bigint PRIMARY KEY, roles varchar(20)[]);
CREATE TEMP TABLE bw_defaults (id bigint PRIMARY KEY, status varchar(10));
"""


def test_each_table_takes_the_path_it_can_be_written_faithfully_by() -> None:
    assert _driver_plan(plain) is not None and "array" not in _driver_plan(plain).values()  # type: ignore[union-attr]
    assert _driver_plan(arrays) == {"id": "bigint", "roles": "array"}
    assert _driver_plan(defaults) is None


async def test_rows_and_updates_arrive_as_written(runtime) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    doc = {"b": [1, None, "\u00e9\U0001f600"], "a": {"k": True}}
    async with runtime.engine.begin() as conn:
        for statement in DDL.split(";")[:-1]:
            await conn.execute(text(statement))
        writes = BatchWrites()
        writes.insert_many(plain, [
            {"id": 1, "n": 7, "label": "x", "note": None, "at": at, "raw": b"\x00\xff", "doc": doc},
            {"id": 2, "n": None, "label": "y", "note": "z", "at": None, "raw": None, "doc": []},
        ])
        writes.insert(arrays, {"id": 1, "roles": ["trader", "issuer"]})
        writes.insert(defaults, {"id": 1})
        writes.insert(plain, {"id": 3, "n": 1, "label": "w", "note": "", "at": at, "raw": b"",
                              "doc": {}})
        writes.update(plain, "id", 2, label="y2", doc={"new": 1})
        writes.update(plain, "id", 3, label="w2", doc=[1])
        writes.update(arrays, "id", 1, roles=["operator"])
        writes.update(defaults, "id", 1, status="old")
        await writes.flush(conn)
        rows = {r.id: r for r in await conn.execute(select(plain).order_by(plain.c.id))}
        roles = (await conn.execute(select(arrays.c.roles))).scalar_one()
        status = (await conn.execute(select(defaults.c.status))).scalar_one()
    assert (rows[1].n, rows[1].label, rows[1].note, rows[1].at, rows[1].raw, rows[1].doc) == (
        7, "x", None, at, b"\x00\xff", doc)
    assert (rows[2].n, rows[2].label, rows[2].at, rows[2].raw, rows[2].doc) == (
        None, "y2", None, None, {"new": 1})
    assert (rows[3].label, rows[3].note, rows[3].raw, rows[3].doc) == ("w2", "", b"", [1])
    assert roles == ["operator"]
    assert status == "old"


async def test_deletes_by_key_on_either_path(runtime) -> None:  # type: ignore[no-untyped-def]
    async with runtime.engine.begin() as conn:
        for statement in DDL.split(";")[:-1]:
            await conn.execute(text(statement))
        writes = BatchWrites()
        writes.insert_many(plain, [{"id": i, "label": f"r{i}"} for i in range(1, 6)])
        writes.insert_many(defaults, [{"id": i, "status": "s"} for i in range(1, 4)])
        await writes.flush(conn)
        writes.delete(plain, 2)
        writes.delete(plain, 4)
        writes.delete(plain, 99)  # no such row: nothing happens
        writes.delete(defaults, 1)  # a table only SQLAlchemy writes
        await writes.flush(conn)
        left = (await conn.execute(select(plain.c.id).order_by(plain.c.id))).scalars().all()
        left_defaults = (
            await conn.execute(select(defaults.c.id).order_by(defaults.c.id))
        ).scalars().all()
    assert left == [1, 3, 5]
    assert left_defaults == [2, 3]
