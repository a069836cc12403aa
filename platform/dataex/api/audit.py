"""The audit log, read-only: entries by range, one entry, and a JSON Lines export."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from dataex.api.state import runtime_from
from dataex.core.errors import NotFound
from dataex.store.queries import audit_entries_range, audit_entry, stream_audit_lines

MAX_PAGE = 1000


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]

    @get("/entries", summary="Entries from a seq, in order")
    async def entries(
        self,
        request: Request[Any, Any, Any],
        from_seq: Annotated[int, QueryParameter(name="from", ge=1, description="first seq")] = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        runtime = runtime_from(request)
        items = await audit_entries_range(runtime.engine, from_seq, limit)
        return {"entries": items, "size": runtime.sequencer.head.seq}

    @get("/entries/{seq:int}", summary="One entry with its hash")
    async def entry(self, request: Request[Any, Any, Any], seq: FromPath[int]) -> dict[str, Any]:
        found = await audit_entry(runtime_from(request).engine, seq)
        if found is None:
            raise NotFound(f"no audit entry {seq}")
        return found

    @get(
        "/export",
        summary="JSON Lines export from a seq (resumable: pass from=last seq + 1)",
        media_type="application/jsonl",
    )
    async def export(
        self,
        request: Request[Any, Any, Any],
        from_seq: Annotated[int, QueryParameter(name="from", ge=1)] = 1,
    ) -> Stream:
        return Stream(
            stream_audit_lines(runtime_from(request).engine, from_seq),
            media_type="application/jsonl",
        )
