"""The contracts, served: names, who may sign them, and their JSON Schemas."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from dataex.api import params
from dataex.api.problems import problem_catalogue
from dataex.core.contracts import CONTRACTS, json_schema
from dataex.core.documents.errors import NotFound, UnknownContract


class ContractsController(Controller):
    path = "/v1/contracts"
    tags = ["contracts"]

    @get("/", summary="Every contract the server accepts")
    async def index(self) -> dict[str, Any]:
        return {
            "contracts": [
                {
                    "name": c.name,
                    "roles": sorted(c.roles) if c.roles is not None else None,
                    "summary": c.summary,
                }
                for c in CONTRACTS.values()
            ]
        }

    @get("/{name:str}", summary="JSON Schema of one contract's envelope")
    async def schema(self, name: params.Ident) -> dict[str, Any]:
        if name not in CONTRACTS:
            raise UnknownContract(f"unknown contract {name!r}")
        return json_schema(name)


class ProblemsController(Controller):
    """GET /problems/{slug}: what each problem `type` means."""

    path = "/problems"
    tags = ["problems"]

    @get("/{slug:str}", summary="What a problem type means")
    async def problem_type(self, slug: params.Ident) -> dict[str, Any]:
        entry = problem_catalogue().get(slug)
        if entry is None:
            raise NotFound(f"no problem type {slug!r}")
        return entry
