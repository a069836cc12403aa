"""A witness that logs push to: the c2sp.org/tlog-witness HTTP endpoint.

POST /add-checkpoint takes the spec's text body and answers with the
cosignature line; 409 carries the witnessed size as text/x.tlog.size so the
log can retry with a proof from there. GET /<sha256(origin) hex>/checkpoint
serves the last checkpoint cosigned (the spec's monitoring endpoint).

Check, persist and answer happen under one lock, so two concurrent requests
cannot roll the witnessed size back (the race the spec describes); the state
file's own lock keeps a second process away. The decision is core/log/witness.py's,
the same as `dataex witness follow` uses.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from dataex.core.documents.errors import DomainError
from dataex.core.log.witness import (
    OldSizeMismatch,
    add_checkpoint,
    format_size_body,
    parse_add_checkpoint,
)
from dataex.witness.state import StoredState, load_state, save_state, state_lock

SIZE_MEDIA_TYPE = "text/x.tlog.size"
MAX_BODY_BYTES = 64 * 1024  # 63 proof lines and a checkpoint with its signatures fit easily

# `dataex witness serve` passes its options to the server worker through these.
ENV_STATE = "DATAEX_WITNESS_STATE"
ENV_KEY = "DATAEX_WITNESS_KEY"
ENV_NAME = "DATAEX_WITNESS_NAME"


@dataclass
class Witness:
    """The one witness this app serves, and the lock that orders its decisions."""

    state_path: Path
    key: Ed25519PrivateKey
    name: str
    now: Callable[[], int]
    lock: asyncio.Lock


def _witness(request: Request[Any, Any, Any]) -> Witness:
    return request.app.state["witness"]  # type: ignore[no-any-return]


def _text(status: int, body: str, media_type: str = "text/plain") -> Response[str]:
    return Response(body, status_code=status, media_type=media_type)


@post("/add-checkpoint", status_code=200)
async def add_checkpoint_endpoint(request: Request[Any, Any, Any]) -> Response[str]:
    witness = _witness(request)
    try:
        submitted = parse_add_checkpoint(await request.body())
        async with witness.lock:
            stored = load_state(witness.state_path)
            if stored is None:
                return _text(404, "this witness has no log configured\n")
            timestamp = witness.now()
            done = add_checkpoint(stored.state, submitted, witness_name=witness.name,
                                  witness_key=witness.key, timestamp=timestamp)
            save_state(witness.state_path, StoredState(done.state, done.witnessed_note, timestamp))
    except OldSizeMismatch as exc:
        return _text(409, format_size_body(exc.current_size), SIZE_MEDIA_TYPE)
    except DomainError as exc:
        return _text(exc.status, f"{exc.detail}\n")
    return _text(200, done.cosignature)


@get("/{origin_hash:str}/checkpoint")
async def latest_checkpoint(
    request: Request[Any, Any, Any], origin_hash: FromPath[str]
) -> Response[str]:
    stored = load_state(_witness(request).state_path)
    if stored is None or stored.checkpoint is None:
        return _text(404, "no checkpoint cosigned yet\n")
    if hashlib.sha256(stored.state.origin.encode("utf-8")).hexdigest() != origin_hash:
        return _text(404, "this witness does not follow that log\n")
    return _text(200, stored.checkpoint)


def create_witness_app(
    state_path: Path,
    key: Ed25519PrivateKey,
    name: str,
    *,
    now: Callable[[], int] | None = None,
) -> Litestar:
    """The witness app; it holds the state file's lock for as long as it runs."""
    witness = Witness(state_path, key, name, now or (lambda: int(time.time())), asyncio.Lock())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        with state_lock(state_path):
            yield

    return Litestar(
        route_handlers=[add_checkpoint_endpoint, latest_checkpoint],
        lifespan=[lifespan],
        state=State({"witness": witness}),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=None,
    )


def app_from_env() -> Litestar:
    """The factory the ASGI server calls in its worker (`dataex witness serve` sets the env)."""
    from dataex.keys.files import load_key

    return create_witness_app(Path(os.environ[ENV_STATE]), load_key(Path(os.environ[ENV_KEY])),
                              os.environ[ENV_NAME])
