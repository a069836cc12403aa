"""Participants and their keys (public: who may sign what is part of the record)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get

from dataex.api import access, params
from dataex.api.state import runtime_from
from dataex.core.contracts import ROLES
from dataex.core.documents.errors import NotFound, SchemaViolation
from dataex.store.participants import list_participants


class ParticipantsController(Controller):
    path = "/v1/participants"
    tags = ["participants"]

    @get("/", summary="All participants, optionally by role")
    async def index(
        self,
        request: Request[Any, Any, Any],
        role: Annotated[str | None, params.one_of("filter by role", ROLES)] = None,
    ) -> dict[str, Any]:
        if role is not None and role not in ROLES:
            raise SchemaViolation(f"unknown role {role!r}; roles are {list(ROLES)}")
        who = access.viewer(request)
        found = await list_participants(runtime_from(request).reads, role)
        return {"participants": [access.public_participant(p, who) for p in found]}

    @get("/{participant_id:str}", summary="One participant with its keys")
    async def show(
        self, request: Request[Any, Any, Any], participant_id: params.Ident
    ) -> dict[str, Any]:
        who = access.viewer(request)
        for p in await list_participants(runtime_from(request).reads):
            if p["participant_id"] == participant_id:
                return access.public_participant(p, who)
        raise NotFound(f"no participant {participant_id}")
