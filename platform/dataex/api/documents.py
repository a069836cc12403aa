"""POST /v1/documents: the one door through which every signed state change enters.

Every write of the service comes through here, so `SubmitFastPath` serves a
plain POST before Litestar's routing, handler signature parsing and response
machinery (about a sixth of the server's CPU per order in a profile under
load), with the same status, headers and bytes as `DocumentsController`, which
stays the documented route and answers everything the fast path hands on: a
body over the size limit, a client that disconnects, any other method or path.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from litestar import Controller, Litestar, Request, Response, post
from litestar.enums import ScopeType
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from dataex.api.observability import note_signer
from dataex.api.problems import (
    INTERNAL_ERROR,
    PROBLEM_MEDIA_TYPE,
    domain_problem_body,
    problem_body,
    retry_headers,
)
from dataex.api.state import runtime_from, runtime_of
from dataex.core.documents.errors import DomainError
from dataex.core.envelope import parse_envelope
from dataex.store.runtime import Runtime
from dataex.store.writer.sequencer import Unavailable

SUBMIT_PATH = "/v1/documents"

log = logging.getLogger(__name__)


async def submit_document(runtime: Runtime, raw: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse, check and commit one signed document: (receipt, extra headers) once durable.

    A server that is not writing (a standby, or reconnecting after a failover)
    answers 503 before reading the document: the writer will judge it.
    """
    if not runtime.sequencer.running:
        raise Unavailable(runtime.sequencer.not_writing_reason())
    parsed = parse_envelope(raw, runtime.settings.max_body_bytes)
    note_signer(parsed.signer)
    receipt = await runtime.sequencer.accept(parsed, max_skew=runtime.settings.max_clock_skew)
    return receipt.to_dict(), {"Dataex-Replayed": "true"} if receipt.replayed else {}


class DocumentsController(Controller):
    path = SUBMIT_PATH
    tags = ["documents"]

    @post(
        "/",
        summary="Submit a signed document",
        description=(
            "Body: a signed envelope {document: {contract, signer, nonce, issued_at, body}, "
            "signature} as specified in contracts/SPEC.md; the body's JSON Schema per contract "
            "is at GET /v1/contracts/{name}. Answers 201 with the log entry once the command "
            "is durably committed. Sending the same document again answers with the first "
            "receipt (header Dataex-Replayed: true); another document with a used nonce is 409."
        ),
        status_code=201,
    )
    async def submit(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        receipt, headers = await submit_document(runtime_from(request), await request.body())
        return Response(receipt, status_code=201, headers=headers)


class SubmitFastPath:
    """ASGI wrapper: answers POST /v1/documents itself, hands everything else to the app.

    Errors are the problem+json `api/problems.py` builds (a `DomainError` as
    `domain_error_handler` words it, anything else as a logged 500). A body
    larger than the limit, or a disconnect while reading it, is replayed to
    the app, whose controller answers it exactly as before.
    """

    def __init__(self, app: Litestar, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner
        limit = app.request_max_body_size
        self.max_body: float = limit if isinstance(limit, int) and limit else math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["path"] == SUBMIT_PATH and scope["type"] == ScopeType.HTTP
                and scope.get("method") == "POST"):
            await self.inner(scope, receive, send)
            return
        read: list[ReceiveMessage] = []
        size, complete = 0, False
        while not complete and size <= self.max_body:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break  # a disconnect: the controller reports it as before
            size += len(_body(message))
            complete = not message.get("more_body", False)
        if not complete or size > self.max_body:
            await self.inner(scope, _replay(read, receive), send)
            return
        status, headers, body = await self._answer(b"".join(_body(m) for m in read))
        await send({"type": "http.response.start", "status": status, "headers": [
            *headers, (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _answer(self, raw: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            receipt, extra = await submit_document(runtime_of(self.app.state), raw)
        except DomainError as exc:
            return _problem(exc.status, domain_problem_body(exc, SUBMIT_PATH))
        except Exception:
            log.exception("unhandled error on %s", SUBMIT_PATH)
            slug, title, detail = INTERNAL_ERROR
            return _problem(500, problem_body(status=500, slug=slug, title=title, detail=detail,
                                              instance=SUBMIT_PATH))
        headers = [(b"content-type", b"application/json"),
                   *((name.lower().encode(), value.encode()) for name, value in extra.items())]
        return 201, headers, encode_json(receipt)


def _problem(status: int, body: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A problem body (api/problems.py), encoded as Litestar encodes it."""
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()),
               *((k.lower().encode(), v.encode()) for k, v in retry_headers(status).items())]
    return status, headers, encode_json(body)


def _body(message: ReceiveMessage) -> bytes:
    """An http.request message's body chunk ("body" is optional in ASGI: empty)."""
    return message.get("body", b"") if message["type"] == "http.request" else b""


def _replay(read: list[ReceiveMessage], receive: Receive) -> Receive:
    """A `receive` that first gives back the messages already read, in order, then reads on."""
    pending = list(reversed(read))

    async def replayed() -> ReceiveMessage:
        return pending.pop() if pending else await receive()

    return replayed


def with_submit_fast_path(app: Litestar) -> Litestar:
    """Install `SubmitFastPath` in front of the app's routing (inside its lifespan/state)."""
    app.asgi_handler = SubmitFastPath(app, app.asgi_handler)
    return app
