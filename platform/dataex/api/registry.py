"""The registry, read: registrations, the notice board, certificates and their history.

Everything here is public (a registry is a public record) and read from the
committed tables, except the certificate preview, which asks core what a
decision would produce right now (see its description). Writes go through
POST /v1/documents like every other signed document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get

from dataex.api import params
from dataex.api.state import runtime_from
from dataex.core.documents.contract import Timestamp
from dataex.core.documents.errors import NotFound, RoleNotAllowed, SchemaViolation
from dataex.core.documents.timefmt import parse_utc
from dataex.core.registry.certificates import CERTIFICATE_STATUSES
from dataex.core.registry.contracts import KINDS, RIGHTS
from dataex.core.registry.records import REGISTRATION_STATUSES
from dataex.store.registry import queries as q

MAX_PAGE = 200
Limit = Annotated[int, params.limit(MAX_PAGE, "page size")]
Offset = params.Offset


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise SchemaViolation(f"unknown {name} {value!r}; one of {list(allowed)}")
    return value


def _issued_at(text: str) -> datetime:
    try:
        return parse_utc(msgspec.convert(text, Timestamp))
    except (msgspec.ValidationError, ValueError) as exc:
        detail = f"issued_at {text!r} is not a UTC time like 2026-11-27T12:00:00Z"
        raise SchemaViolation(detail) from exc


class RegistryController(Controller):
    path = "/v1/registry"
    tags = ["registry"]

    @get("/registrations", summary="Search registrations")
    async def registrations(
        self,
        request: Request[Any, Any, Any],
        applicant: Annotated[str | None, params.text("participant id")] = None,
        status: Annotated[str | None, params.one_of("status", REGISTRATION_STATUSES)] = None,
        kind: Annotated[str | None, params.one_of("kind", KINDS)] = None,
        right: Annotated[str | None, params.one_of("a right claimed", RIGHTS)] = None,
        industry: Annotated[str | None, params.text("exact industry")] = None,
        text: Annotated[str | None, params.text("in the title or description")] = None,
        certificate: Annotated[
            str | None, params.text("the certificate acted on or issued")
        ] = None,
        root: Annotated[str | None, params.text("fingerprint root")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        where = q.RegistrationFilter(
            applicant=applicant,
            status=_one_of("status", status, REGISTRATION_STATUSES),
            kind=_one_of("kind", kind, KINDS),
            right=_one_of("right", right, RIGHTS),
            industry=industry,
            text=text,
            certificate=certificate,
            root=root,
        )
        engine = runtime_from(request).reads
        found = await q.search_registrations(engine, where, limit=limit, offset=offset)
        return {"registrations": found, "limit": limit, "offset": offset}

    @get("/registrations/{registration_id:str}", summary="One registration with its objections")
    async def registration(
        self, request: Request[Any, Any, Any], registration_id: params.Ident
    ) -> dict[str, Any]:
        found = await q.registration(runtime_from(request).reads, registration_id)
        if found is None:
            raise NotFound(f"no registration {registration_id}")
        return found

    @get(
        "/registrations/{registration_id:str}/certificate-preview",
        summary="The certificate documents registering it would produce, for the registrar to sign",
        description=(
            "What a dataex.registry.decide.v1 with outcome register, signed by `registrar` "
            "with this `issued_at`, would issue or revise if applied now: the exact documents "
            "to sign (contracts/SPEC.md section 9), or the problem the decision would get. "
            "Computed by core from the sequencer's current state, which may include a batch "
            "still committing: a preview is advice, and the decision is checked again."
        ),
    )
    async def certificate_preview(
        self,
        request: Request[Any, Any, Any],
        registration_id: params.Ident,
        registrar: Annotated[str, params.text("the deciding registrar's id")],
        issued_at: Annotated[str, params.text("the decision's issued_at")],
    ) -> dict[str, Any]:
        decided_at = _issued_at(issued_at)
        sequencer = runtime_from(request).sequencer
        state = sequencer.state
        participant = state.participants.by_id.get(registrar)
        if participant is None:
            raise NotFound(f"no participant {registrar}")
        if "registrar" not in participant.roles:
            raise RoleNotAllowed(f"{registrar} is not a registrar")
        documents = state.registry.preview_decision(
            registrar, registration_id, sequencer.clock(), decided_at
        )
        return {
            "registration_id": registration_id,
            "registrar": registrar,
            "issued_at": issued_at,
            "certificates": [{"number": d["number"], "document": d} for d in documents],
        }

    @get("/notice-board", summary="Everything under public notice now, with conflicts")
    async def notice_board(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        board = await q.notice_board(runtime_from(request).reads)
        for item in board:
            item["notice_ended"] = parse_utc(item["notice_ends_at"]) <= now
        return {"registrations": board}

    @get("/certificates", summary="Search certificates")
    async def certificates(
        self,
        request: Request[Any, Any, Any],
        holder: Annotated[str | None, params.text("participant id")] = None,
        status: Annotated[str | None, params.one_of("status", CERTIFICATE_STATUSES)] = None,
        right: Annotated[str | None, params.one_of("a right held", RIGHTS)] = None,
        industry: Annotated[str | None, params.text("exact industry")] = None,
        text: Annotated[str | None, params.text("in the title or description")] = None,
        root: Annotated[str | None, params.text("fingerprint root")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        where = q.CertificateFilter(
            holder=holder,
            status=_one_of("status", status, CERTIFICATE_STATUSES),
            right=_one_of("right", right, RIGHTS),
            industry=industry,
            text=text,
            root=root,
        )
        engine = runtime_from(request).engine
        found = await q.search_certificates(
            engine, where, datetime.now(UTC), limit=limit, offset=offset
        )
        return {"certificates": found, "limit": limit, "offset": offset}

    @get("/certificates/{number:str}", summary="One certificate, its status now and signature")
    async def certificate(
        self, request: Request[Any, Any, Any], number: params.Ident
    ) -> dict[str, Any]:
        return await _certificate(request, number)

    @get(
        "/certificates/{number:str}/history",
        summary="Every registration and event touching a certificate, with log seqs",
    )
    async def history(
        self, request: Request[Any, Any, Any], number: params.Ident
    ) -> dict[str, Any]:
        found = await _certificate(request, number)
        story = await q.certificate_history(
            runtime_from(request).engine, number, found["history"]
        )
        return {"certificate": found, **story}

    @get(
        "/certificates/{number:str}/verify",
        summary="A certificate's signed document, its registrar signature and log entry",
        description=(
            "`document` is exactly what the registrar signed (contracts/SPEC.md section 9); "
            "`seq` is the log entry holding it, whose event carries the same document and "
            "signature. `dataex certificate verify NUMBER` checks all of it."
        ),
    )
    async def verify(
        self, request: Request[Any, Any, Any], number: params.Ident
    ) -> dict[str, Any]:
        found = await _certificate(request, number)
        return {
            "number": number,
            "document": found["document"],
            "signature": found["signature"],
            "registrar": found["document"]["registrar"],
            "registrar_key_id": found["registrar_key_id"],
            "seq": found["revision_seq"],
            "status": found["status"],
        }


async def _certificate(request: Request[Any, Any, Any], number: str) -> dict[str, Any]:
    found = await q.certificate(runtime_from(request).engine, number, datetime.now(UTC))
    if found is None:
        raise NotFound(f"no certificate {number}", certificate=number)
    return found
