"""Write the registry's tables in the batch's transaction.

Two steps, both run by the sequencer before it commits a batch:

- per event (projection.py's one writer per event): every registry event is
  appended to `registry_events` with its seq and position, the index that a
  certificate's history is read from;
- per batch: the current record of every registration and certificate the
  batch's events named is upserted from the in-memory registry, as it stands
  after the whole batch. One generic step instead of one SQL writer per event
  type, so the tables hold exactly core's plain views (which start-up restores
  from) and a new transition in core needs no new SQL here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex.core.registry.certificates import Certificate, certificate_record
from dataex.core.registry.contracts import Asset
from dataex.core.registry.lifecycle import Registry
from dataex.store.batch_writes import BatchWrites
from dataex.store.tables import certificates, registrations, registry_events

Event = dict[str, Any]

# Event types of the registry start with these; every one is indexed.
REGISTRY_EVENT_FAMILIES = ("registration.", "objection.", "certificate.")
REVISION_EVENTS = frozenset({"certificate.issued", "certificate.updated"})


def is_registry_event(event: Event) -> bool:
    return str(event["type"]).startswith(REGISTRY_EVENT_FAMILIES)


def index_event(writes: BatchWrites, event: Event, seq: int, position: int) -> None:
    writes.insert(
        registry_events,
        {
            "seq": seq,
            "position": position,
            "type": event["type"],
            "registration_id": event.get("registration_id"),
            "certificate_number": event.get("certificate_number"),
            "event": event,
        },
    )


def _asset_fields(asset: Asset | None) -> dict[str, Any]:
    if asset is None:
        return {"fingerprint_root": None, "industry": None, "title": None, "description": None}
    return {
        "fingerprint_root": asset.fingerprint.root,
        "industry": asset.industry,
        "title": asset.title,
        "description": asset.description,
    }


def _registration_row(registry: Registry, rid: str, seq: int) -> dict[str, Any]:
    reg = registry.registrations[rid]
    cert_number = reg.certificate_number or reg.issued_certificate
    cert = registry.certificates.by_number.get(cert_number) if cert_number else None
    rights = getattr(reg.application, "rights", None)
    if rights is None:
        rights = cert.rights if cert is not None else ()
    return {
        "registration_id": rid,
        "kind": reg.kind,
        "status": reg.status,
        "applicant": reg.applicant,
        "counterparty": reg.counterparty,
        "certificate_number": cert_number,
        "rights": sorted(rights),
        **_asset_fields(reg.asset if reg.asset is not None or cert is None else cert.asset),
        "notice_ends_at": reg.notice_ends_at,
        "updated_seq": seq,
        "record": registry.registration_record(rid),
    }


def _certificate_row(cert: Certificate, seq: int) -> dict[str, Any]:
    return {
        "number": cert.number,
        "holder": cert.holder,
        "status": cert.stored_status(),
        "rights": sorted(cert.rights),
        **_asset_fields(cert.asset),
        "valid_until": cert.valid_until,
        "revision": cert.revision,
        "registrar": cert.registrar,
        "registrar_key_id": cert.signing_key_id,
        "signature": cert.signature,
        "updated_seq": seq,
        "record": certificate_record(cert),
    }


async def write_registry_views(
    conn: AsyncConnection, registry: Registry, batch: Iterable[tuple[list[Event], int]]
) -> None:
    """Upsert what the batch touched; a certificate's revision_seq moves only on a revision."""
    touched_registrations: dict[str, int] = {}
    touched_certificates: dict[str, int] = {}
    revised: set[str] = set()
    for events, seq in batch:
        for event in events:
            if not is_registry_event(event):
                continue
            if event.get("registration_id"):
                touched_registrations[str(event["registration_id"])] = seq
            if event.get("certificate_number"):
                touched_certificates[str(event["certificate_number"])] = seq
                if event["type"] in REVISION_EVENTS:
                    revised.add(str(event["certificate_number"]))
    if touched_registrations:
        rows = [_registration_row(registry, rid, s) for rid, s in touched_registrations.items()]
        statement = pg_insert(registrations)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[registrations.c.registration_id],
                set_={c: statement.excluded[c] for c in rows[0] if c != "registration_id"},
            ),
            rows,
        )
    new_revisions = [
        {**_certificate_row(registry.certificates.by_number[n], s), "revision_seq": s}
        for n, s in touched_certificates.items()
        if n in revised
    ]
    if new_revisions:
        statement = pg_insert(certificates)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[certificates.c.number],
                set_={c: statement.excluded[c] for c in new_revisions[0] if c != "number"},
            ),
            new_revisions,
        )
    for number, seq in touched_certificates.items():
        if number not in revised:  # e.g. a new registration joined its history
            row = _certificate_row(registry.certificates.by_number[number], seq)
            await conn.execute(
                update(certificates).where(certificates.c.number == number).values(**row)
            )

