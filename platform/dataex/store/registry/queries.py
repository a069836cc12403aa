"""Read the registry from its tables (never from the sequencer's memory).

The sequencer's in-memory registry may hold a batch that is not committed yet;
these tables hold only what was committed, which is all a reader may see. A
certificate's `expired` status is read here from valid_until at the reader's
`now`, as core's Certificate.status_at does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.store.tables import certificates, registrations, registry_events

SIGNATURE_FIELDS = ("history", "signature", "registrar_key_id")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_matches(table: Any, text: str) -> ColumnElement[bool]:
    return or_(table.c.title.ilike(_like(text)), table.c.description.ilike(_like(text)))


def status_at(now: datetime) -> ColumnElement[str]:
    return case(
        (and_(certificates.c.status != "cancelled", certificates.c.valid_until <= now), "expired"),
        else_=certificates.c.status,
    )


@dataclass(frozen=True)
class RegistrationFilter:
    applicant: str | None = None
    status: str | None = None
    kind: str | None = None
    right: str | None = None
    industry: str | None = None
    text: str | None = None
    certificate: str | None = None
    root: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        t = registrations.c
        for column, value in (
            (t.applicant, self.applicant),
            (t.status, self.status),
            (t.kind, self.kind),
            (t.industry, self.industry),
            (t.certificate_number, self.certificate),
            (t.fingerprint_root, self.root),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.right is not None:
            query = query.where(t.rights.any_() == self.right)
        if self.text:
            query = query.where(_text_matches(registrations, self.text))
        return query


@dataclass(frozen=True)
class CertificateFilter:
    holder: str | None = None
    status: str | None = None
    right: str | None = None
    industry: str | None = None
    text: str | None = None
    root: str | None = None

    def apply(self, query: Select[Any], now: datetime) -> Select[Any]:
        t = certificates.c
        for column, value in (
            (t.holder, self.holder),
            (t.industry, self.industry),
            (t.fingerprint_root, self.root),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.status is not None:
            query = query.where(status_at(now) == self.status)
        if self.right is not None:
            query = query.where(t.rights.any_() == self.right)
        if self.text:
            query = query.where(_text_matches(certificates, self.text))
        return query


def _registration(row: Any) -> dict[str, Any]:
    return {**row.record, "updated_seq": row.updated_seq}


def _certificate(row: Any) -> dict[str, Any]:
    record = dict(row.record)
    return {
        "number": record["number"],
        "status": row.status_now,
        "holder": record["holder"],
        "rights": record["rights"],
        "title": record["asset"]["title"],
        "valid_until": record["valid_until"],
        "history": record["history"],
        "document": {k: v for k, v in record.items() if k not in SIGNATURE_FIELDS},
        "signature": record["signature"],
        "registrar_key_id": record["registrar_key_id"],
        "revision_seq": row.revision_seq,
        "updated_seq": row.updated_seq,
    }


def _certificates_query(now: datetime) -> Select[Any]:
    return select(
        certificates.c.record,
        certificates.c.revision_seq,
        certificates.c.updated_seq,
        status_at(now).label("status_now"),
    )


async def search_registrations(
    engine: AsyncEngine, where: RegistrationFilter, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = where.apply(select(registrations.c.record, registrations.c.updated_seq))
    query = query.order_by(registrations.c.updated_seq.desc(), registrations.c.registration_id)
    async with engine.connect() as conn:
        rows = await conn.execute(query.limit(limit).offset(offset))
        return [_registration(r) for r in rows]


async def registration(engine: AsyncEngine, registration_id: str) -> dict[str, Any] | None:
    query = select(registrations.c.record, registrations.c.updated_seq).where(
        registrations.c.registration_id == registration_id
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else _registration(row)


async def notice_board(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Everything under public notice, soonest ending first; conflicts are in each record."""
    query = (
        select(registrations.c.record, registrations.c.updated_seq)
        .where(registrations.c.status == "public_notice")
        .order_by(registrations.c.notice_ends_at, registrations.c.registration_id)
    )
    async with engine.connect() as conn:
        return [_registration(r) for r in await conn.execute(query)]


async def search_certificates(
    engine: AsyncEngine, where: CertificateFilter, now: datetime, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = where.apply(_certificates_query(now), now).order_by(certificates.c.number)
    async with engine.connect() as conn:
        rows = await conn.execute(query.limit(limit).offset(offset))
        return [_certificate(r) for r in rows]


async def certificate(engine: AsyncEngine, number: str, now: datetime) -> dict[str, Any] | None:
    query = _certificates_query(now).where(certificates.c.number == number)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else _certificate(row)


async def certificate_history(
    engine: AsyncEngine, number: str, history: list[str]
) -> dict[str, Any]:
    """Every registration that touched the certificate, and every event about them, by seq."""
    async with engine.connect() as conn:
        regs = await conn.execute(
            select(registrations.c.record, registrations.c.updated_seq)
            .where(registrations.c.registration_id.in_(history))
        )
        events = await conn.execute(
            select(registry_events.c.seq, registry_events.c.event)
            .where(
                or_(
                    registry_events.c.certificate_number == number,
                    registry_events.c.registration_id.in_(history),
                )
            )
            .order_by(registry_events.c.seq, registry_events.c.position)
        )
        by_id = {r.record["registration_id"]: _registration(r) for r in regs}
        return {
            "registrations": [by_id[rid] for rid in history if rid in by_id],
            "events": [{"seq": e.seq, **e.event} for e in events],
        }


async def registration_counts(engine: AsyncEngine) -> dict[str, int]:
    """How many registrations are in each status (the home page's figure)."""
    query = select(registrations.c.status, func.count()).group_by(registrations.c.status)
    async with engine.connect() as conn:
        return {status: count for status, count in await conn.execute(query)}
