"""Refuse, before anything reads them, request targets no handler should ever see.

A path or query that percent-decodes to U+0000 or to bytes that are not UTF-8
would reach the handlers as strings PostgreSQL cannot hold (or that the
framework decodes in its own way) and end as a 500. Every such request is a
400 `bad-request` problem here, for every route at once, fast paths included.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from litestar.enums import ScopeType
from litestar.serialization import encode_json
from litestar.types import ASGIApp, Receive, Scope, Send

from dataex.api.problems import HTTP_SLUGS, PROBLEM_MEDIA_TYPE, problem_body


def refusal(scope: Scope) -> str | None:
    """Why this request's target is refused, or None."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    for part, raw in (("path", raw_path), ("query", scope.get("query_string", b""))):
        decoded = unquote_to_bytes(raw)
        if b"\x00" in decoded:
            return f"the {part} holds U+0000"
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return f"the {part} is not UTF-8 once percent-decoded"
    return None


class RequestHygiene:
    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reason = refusal(scope) if scope["type"] == ScopeType.HTTP else None
        if reason is None:
            await self.inner(scope, receive, send)
            return
        slug, title = HTTP_SLUGS[400]
        body = encode_json(problem_body(status=400, slug=slug, title=title, detail=reason,
                                        instance="(refused target)"))
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body, "more_body": False})
