"""Proofs of the log: checkpoints, inclusion and consistency proofs, tlog-tiles, tlog-proof files.

Every answer is computed from stored hashes (O(log n) rows, one round trip)
of the committed tree; see core/log/tiles.py. Tiles never change once
served, so they carry year-long immutable cache headers; checkpoint notes and
proof files do not (a witness may cosign a checkpoint later), so they get a
short max-age.

The inclusion proof is the hot read, so `InclusionFastPath` serves its plain
requests (`seq=N[&size=M]`) before Litestar's routing, parameter parsing and
response machinery, with the same bytes the controller would send; anything
else, and every error, goes through the controller unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Litestar, Request, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from dataex.api import params
from dataex.api.state import runtime_from
from dataex.core.documents.errors import DomainError, NotFound
from dataex.core.log.tiles import (
    BadTreeRange,
    BeyondTree,
    consistency_plan,
    inclusion_plan,
    parse_tile_path,
    root_of,
    root_plan,
)
from dataex.core.log.tlog_proof import format_tlog_proof
from dataex.keys.log_keys import LogKeyFiles
from dataex.store.log import merkle as merkle_store
from dataex.store.log.checkpoints import (
    StoredCheckpoint,
    checkpoint_at,
    latest_checkpoint,
    list_checkpoints,
    with_cosignatures,
)
from dataex.store.runtime import Runtime

TEXT = "text/plain; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"
MAX_LISTING = 1000
INCLUSION_PATH = "/v1/audit/proof/inclusion"


def _text(body: str, cache: str = SHORT) -> Response[str]:
    return Response(body, media_type=TEXT, headers={"Cache-Control": cache})


async def _checkpoint_for(conn: Any, size: int | None) -> StoredCheckpoint:
    found = await (latest_checkpoint(conn) if size is None else checkpoint_at(conn, size))
    return _found(found, size)


def _found(found: StoredCheckpoint | None, size: int | None) -> StoredCheckpoint:
    if found is None:
        raise NotFound("no checkpoint yet" if size is None else f"no checkpoint of size {size}")
    return found


def _tile_cache(runtime: Runtime) -> merkle_store.TileCache:
    return merkle_store.tile_cache_for(runtime.engine, runtime.settings.tile_cache_bytes)


async def inclusion_proof(runtime: Runtime, seq: int, size: int | None) -> dict[str, Any]:
    """The inclusion proof of entry `seq` in the tree of `size` (default: latest checkpoint)."""
    tree_size = runtime.sequencer.head.seq
    root = None
    if size is None:
        checkpoint = _found(await runtime.checkpointer.latest(), None)
        size, root = checkpoint.size, checkpoint.root
    elif size > tree_size:
        raise BeyondTree(f"the log has {tree_size} entries, not {size}", tree_size=tree_size)
    if seq > size:
        raise BadTreeRange(f"entry {seq} is not in the tree of size {size}")
    proof, leaf, size_root = await merkle_store.inclusion_proof(
        runtime.engine, seq - 1, size, _tile_cache(runtime), with_root=root is None)
    root = root or size_root
    assert root is not None
    return {
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf_hash": leaf.hex(),
        "root": root.hex(),
        "proof": [h.hex() for h in proof],
    }


def _plain_int(text: bytes) -> int | None:
    """A positive decimal without sign or leading zero (else None: the controller decides)."""
    if not text.isdigit() or text[:1] == b"0" or len(text) > 20:
        return None
    return int(text)


def _plain_inclusion_query(query: bytes) -> tuple[int, int | None] | None:
    """(seq, size) of "seq=N" or "seq=N&size=M" (either order); None for anything else."""
    seq = size = None
    for part in query.split(b"&"):
        name, sep, value = part.partition(b"=")
        number = _plain_int(value) if sep else None
        if number is None:
            return None
        if name == b"seq" and seq is None:
            seq = number
        elif name == b"size" and size is None:
            size = number
        else:
            return None
    return None if seq is None else (seq, size)


_JSON_HEADERS = ((b"content-type", b"application/json"),)


class InclusionFastPath:
    """ASGI wrapper: answers a plain GET of the inclusion proof itself, passes all else on.

    The body is what `ProofsController.inclusion` returns, encoded as Litestar
    encodes it (msgspec JSON), with the same headers. A request it does not
    recognise exactly, or one whose answer is an error, is handed to the app
    unchanged, so errors stay the controller's problem+json.
    """

    def __init__(self, app: Litestar, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["path"] == INCLUSION_PATH and scope["type"] == ScopeType.HTTP
                and scope.get("method") == "GET"):
            body = await self._answer(scope)
            if body is not None:
                await send({"type": "http.response.start", "status": 200, "headers": [
                    *_JSON_HEADERS, (b"content-length", b"%d" % len(body))]})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
        await self.inner(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | None:
        parsed = _plain_inclusion_query(scope.get("query_string", b""))
        runtime = self.app.state.get("runtime")
        if parsed is None or runtime is None:
            return None
        try:
            return msgspec.json.encode(await inclusion_proof(runtime, *parsed))
        except DomainError:
            return None  # the controller answers it again, as its problem+json


def with_inclusion_fast_path(app: Litestar) -> Litestar:
    """Install `InclusionFastPath` in front of the app's routing (inside its lifespan/state)."""
    app.asgi_handler = InclusionFastPath(app, app.asgi_handler)
    return app


class WellKnownController(Controller):
    path = "/.well-known/dataex"
    tags = ["audit"]

    @get("/log-keys", summary="The log's checkpoint verifier keys (C2SP vkeys), with status")
    async def log_keys(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        settings = runtime_from(request).settings
        return {
            "origin": settings.log_origin,
            "keys": LogKeyFiles.of(settings).published(settings.log_origin),
        }


class ProofsController(Controller):
    path = "/v1/audit"
    tags = ["audit"]

    @get("/checkpoint", summary="Latest signed checkpoint with its cosignatures (signed note)",
         media_type=TEXT)
    async def latest(self, request: Request[Any, Any, Any]) -> Response[str]:
        async with runtime_from(request).engine.connect() as conn:
            return _text(await with_cosignatures(conn, await _checkpoint_for(conn, None)))

    @get("/checkpoints", summary="Signed checkpoints from a size, ascending")
    async def listing(
        self,
        request: Request[Any, Any, Any],
        from_size: Annotated[int, params.size("the smallest size listed")] = 0,
        limit: Annotated[int, params.limit(MAX_LISTING)] = 100,
    ) -> dict[str, Any]:
        async with runtime_from(request).engine.connect() as conn:
            found = await list_checkpoints(conn, from_size, limit)
        return {"checkpoints": [c.listing() for c in found]}

    @get("/checkpoints/{size:int}", summary="The checkpoint of exactly this size",
         media_type=TEXT)
    async def at_size(self, request: Request[Any, Any, Any],
                      size: params.TreeSize) -> Response[str]:
        async with runtime_from(request).engine.connect() as conn:
            note = await with_cosignatures(conn, await _checkpoint_for(conn, size))
        return _text(note)  # short-lived: witnesses may add cosignatures

    @get("/proof/inclusion", summary="RFC 9162 inclusion proof of entry seq in a tree size")
    async def inclusion(
        self,
        request: Request[Any, Any, Any],
        seq: Annotated[int, params.size("the entry (leaf index seq - 1)", minimum=1)],
        size: Annotated[int | None, params.size("default: latest checkpoint", minimum=1)] = None,
    ) -> dict[str, Any]:
        return await inclusion_proof(runtime_from(request), seq, size)

    @get("/proof/consistency", summary="RFC 9162 consistency proof between two tree sizes")
    async def consistency(
        self,
        request: Request[Any, Any, Any],
        old: Annotated[int, params.size("the older tree size")],
        new: Annotated[int | None, params.size("default: latest checkpoint")] = None,
    ) -> dict[str, Any]:
        runtime = runtime_from(request)
        tree_size = runtime.sequencer.head.seq
        if new is None:
            new = _found(await runtime.checkpointer.latest(), None).size
        if old > new:
            raise BadTreeRange(f"old size {old} is larger than new size {new}")
        if new > tree_size:
            raise BeyondTree(f"the log has {tree_size} entries, not {new}", tree_size=tree_size)
        proof, old_root, new_root = await merkle_store.run_plans(
            runtime.engine,
            [consistency_plan(old, new), root_plan(old), root_plan(new)],
            _tile_cache(runtime),
        )
        return {
            "old_size": old,
            "new_size": new,
            "old_root": root_of(old_root).hex(),
            "new_root": root_of(new_root).hex(),
            "proof": [h.hex() for h in proof],
        }

    @get("/tile/{tile_path:path}", summary="c2sp.org/tlog-tiles tile: <L>/<N>[.p/<W>]",
         media_type="application/octet-stream")
    async def tile(
        self, request: Request[Any, Any, Any], tile_path: params.Ident
    ) -> Response[bytes]:
        runtime = runtime_from(request)
        tile = parse_tile_path(tile_path.lstrip("/"))
        body = await merkle_store.read_tile(runtime.engine, tile, runtime.sequencer.head.seq,
                                            _tile_cache(runtime))
        return Response(body, media_type="application/octet-stream",
                        headers={"Cache-Control": IMMUTABLE})

    @get("/proof-file/{seq:int}", summary="c2sp.org/tlog-proof of one entry (offline-verifiable)",
         media_type=TEXT)
    async def proof_file(
        self,
        request: Request[Any, Any, Any],
        seq: params.Seq,
        size: Annotated[int | None, params.size("a checkpointed size; default: the latest",
                                                minimum=1)] = None,
    ) -> Response[str]:
        async with runtime_from(request).engine.connect() as conn:
            checkpoint = await _checkpoint_for(conn, size)
            if not 1 <= seq <= checkpoint.size:
                raise BadTreeRange(f"entry {seq} is not in the checkpoint of size "
                                   f"{checkpoint.size}")
            (*proof, _leaf), = await merkle_store.run_plans(
                conn, [inclusion_plan(seq - 1, checkpoint.size)]
            )
            note = await with_cosignatures(conn, checkpoint)
        return _text(format_tlog_proof(seq - 1, proof, note))  # carries the cosigned note
