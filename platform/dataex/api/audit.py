"""The audit log's entries, read-only, as the access model allows (contracts/SPEC.md §12).

Anyone reads the registry's public-record entries; a participant, by signed
request, also those it signed or that name it; a regulator reads every entry
and exports the whole log. A participant's export is its own entries, each
with its inclusion proof in the latest signed checkpoint, so it can check them
offline against a checkpoint without reading anyone else's (`dataex audit
verify-mine`). Proofs, checkpoints and tiles stay public (api/proofs.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.response import Stream

from dataex.api import access, params
from dataex.api.state import runtime_from
from dataex.core.documents.errors import DomainError, NotFound
from dataex.core.participants.request_auth import AuthenticationRequired
from dataex.store.log import merkle as merkle_store
from dataex.store.log.checkpoints import latest_checkpoint, with_cosignatures
from dataex.store.log.entries import (
    audit_entries_range,
    audit_entry,
    entries_by_seq,
    named_seqs,
    stream_audit_lines,
)
from dataex.store.runtime import Runtime

MAX_PAGE = 1000


class EntryNotVisible(DomainError):
    status = 403
    slug = "entry-not-visible"
    title = "This log entry neither is a public record nor names the signer"


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]

    @get("/entries", summary="Entries from a seq, in order, as the caller may see them",
         description="Without a signed request: the registry's public-record entries. "
         "Signed: also those the participant signed or that name it; a regulator's: all. "
         "`size` is the log's size either way.")
    async def entries(
        self,
        request: Request[Any, Any, Any],
        from_seq: Annotated[int, params.from_seq()] = 1,
        limit: Annotated[int, params.limit(MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        who = access.viewer(request)
        runtime = runtime_from(request)
        items = await audit_entries_range(runtime.reads, from_seq, limit,
                                          everything=who.sees_everything(),
                                          participant_id=who.participant_id)
        return {"entries": items, "size": runtime.sequencer.head.seq}

    @get("/entries/{seq:int}", summary="One entry with its hash, if the caller may see it")
    async def entry(self, request: Request[Any, Any, Any], seq: params.Seq) -> dict[str, Any]:
        who = access.viewer(request)
        found = await audit_entry(runtime_from(request).reads, seq)
        if found is None:
            raise NotFound(f"no audit entry {seq}")
        logged, named = found
        if not access.entry_visible(who, logged["entry"]["kind"], named):
            if who.participant_id is None:
                raise AuthenticationRequired(
                    f"entry {seq} is not a public record: sign the request as a participant "
                    "it names, or as a regulator")
            raise EntryNotVisible(f"entry {seq} does not name {who.participant_id}")
        return logged

    @get(
        "/export",
        summary="JSON Lines export (signed request): the whole log for a regulator, one's own "
        "entries with inclusion proofs for a participant",
        media_type="application/jsonl",
    )
    async def export(
        self,
        request: Request[Any, Any, Any],
        from_seq: Annotated[int, params.from_seq()] = 1,
    ) -> Stream:
        who = access.participant(request)
        runtime = runtime_from(request)
        if who.sees_everything():
            lines = stream_audit_lines(runtime.reads, from_seq)
        else:
            assert who.participant_id is not None
            lines = _own_lines(runtime, who.participant_id, from_seq)
        return Stream(lines, media_type="application/jsonl")


async def _own_lines(runtime: Runtime, participant_id: str, from_seq: int) -> AsyncIterator[bytes]:
    """The latest signed checkpoint (with cosignatures), then each entry naming the
    participant up to its size, with its inclusion proof in that tree."""
    async with runtime.engine.connect() as conn:
        checkpoint = await latest_checkpoint(conn)
        if checkpoint is None:
            return
        note = await with_cosignatures(conn, checkpoint)
    yield msgspec.json.encode({"checkpoint": note, "size": checkpoint.size}) + b"\n"
    cache = merkle_store.tile_cache_for(runtime.engine, runtime.settings.tile_cache_bytes)
    async for page in named_seqs(runtime.engine, participant_id, from_seq, checkpoint.size):
        for row in await entries_by_seq(runtime.engine, page):
            proof, _, _ = await merkle_store.inclusion_proof(
                runtime.engine, row.seq - 1, checkpoint.size, cache)
            yield (b'{"seq":%d,"entry_hash":"%s","entry":%s,"inclusion":%s}\n' % (
                row.seq, bytes(row.entry_hash).hex().encode(), row.entry.encode(),
                msgspec.json.encode({"tree_size": checkpoint.size,
                                     "proof": [h.hex() for h in proof]})))
