"""What operators see of each request: a request id, a log line, and Prometheus metrics.

`Observed` wraps the whole ASGI app, outside the submit and inclusion fast paths
(which answer before Litestar's routing and middleware), so every request is
counted and logged once, whoever answers it. The request's facts travel in a
context variable (`RequestFacts`): api/problems.py puts the request id into
every problem body and notes the refusal's slug; the document and signed-read
paths note the signer's key id.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from dataex.api.logs import RequestLog
from dataex.api.metrics import Metrics

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
_FAST_ROUTES = {"/v1/documents": "/v1/documents"}



@dataclass
class RequestFacts:
    """What one request's log line and metrics need, filled in as the request goes."""

    request_id: str
    signer: str | None = None
    refusal: str | None = None


_current: ContextVar[RequestFacts | None] = ContextVar("dataex_request", default=None)
# A process-unique prefix and a counter: cheaper than a uuid per request, and as unique.
_prefix = f"{os.getpid():x}{int(time.time()) & 0xFFFFFF:06x}"
_counter = itertools.count(1)


def request_id() -> str | None:
    facts = _current.get()
    return facts.request_id if facts else None


def note_signer(key_id: str) -> None:
    facts = _current.get()
    if facts is not None:
        facts.signer = key_id


def note_refusal(slug: str) -> None:
    facts = _current.get()
    if facts is not None:
        facts.refusal = slug


class Observed:
    """ASGI wrapper: request id in and out, one log line, metrics, and GET /metrics."""

    def __init__(self, inner: ASGIApp, metrics: Metrics | None,
                 request_log: RequestLog | None) -> None:
        self.inner = inner
        self.metrics = metrics
        self.request_log = request_log if request_log is not None and request_log.enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.inner(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        if self.metrics is not None and scope["path"] == "/metrics" and method == "GET":
            await _send_metrics(self.metrics.registry, send)
            return
        facts = RequestFacts(_incoming_id(scope) or f"{_prefix}-{next(_counter)}")
        token = _current.set(facts)
        id_header = (REQUEST_ID_HEADER.encode(), facts.request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.inner(scope, receive, send_with_id)
        finally:
            _current.reset(token)
            seconds = time.perf_counter() - started
            route = _route(scope)
            if self.metrics is not None:
                self.metrics.request(route, method, status, seconds, facts.refusal)
            if self.request_log is not None:
                self.request_log.write({
                    "request_id": facts.request_id, "method": method, "route": route,
                    "path": scope["path"], "status": status,
                    "latency_ms": round(seconds * 1000, 3), "signer": facts.signer,
                    "refusal": facts.refusal})


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode() if _SANE_ID.match(value) else None
    return None


def _route(scope: Scope) -> str:
    """The route template (bounded label values), not the path."""
    template = scope.get("path_template")
    if template:
        return str(template)
    return _FAST_ROUTES.get(scope["path"]) or (
        "/v1/audit/proof/inclusion" if scope["path"] == "/v1/audit/proof/inclusion"
        else "unmatched")


async def _send_metrics(registry: CollectorRegistry, send: Send) -> None:
    body = generate_latest(registry)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", CONTENT_TYPE_LATEST.encode()),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def observed(app: Litestar, metrics: Metrics | None,
             request_log: RequestLog | None = None) -> Litestar:
    """Install `Observed` outermost, around the fast paths and the app's routing."""
    app.asgi_handler = Observed(app.asgi_handler, metrics, request_log)
    return app
