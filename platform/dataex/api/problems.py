"""RFC 9457 problem+json for every error, with one stable `type` per kind of error.

type = "/problems/<slug>", which this server also serves as a short
human-readable page (GET /problems/{slug}).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from dataex.api.observability import note_refusal, request_id
from dataex.core.documents.errors import DomainError
from dataex.store.database.engine import database_unavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger(__name__)

# Slugs for errors that Litestar raises itself (routing, size limits, ...).
HTTP_SLUGS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "The request is malformed"),
    401: ("unauthorized", "Authentication is required"),
    403: ("forbidden", "The signer may not do this"),
    404: ("not-found", "No such resource"),
    405: ("method-not-allowed", "The method is not allowed on this resource"),
    413: ("body-too-large", "The request body is too large"),
    415: ("unsupported-media-type", "The media type is not supported"),
    429: ("too-many-requests", "Too many requests"),
    503: ("unavailable", "The service is not ready"),
}


# slug, title and detail of an error nobody anticipated (nothing was committed)
INTERNAL_ERROR = ("internal-error", "Internal server error",
                  "an unexpected error occurred; nothing was acknowledged")
DATABASE_UNAVAILABLE = ("database-unavailable",
                        "The database is not reachable right now; try again",
                        "the database is away or changing primary (a failover or a restart)")


def problem_body(
    *, status: int, slug: str, title: str, detail: str, instance: str, **extra: Any
) -> dict[str, Any]:
    """The RFC 9457 members of a problem, with its extension members and the request id.

    Also notes the slug as the request's refusal, for its log line and metrics.
    """
    note_refusal(slug)
    standard = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    current = request_id()
    if current is not None:
        standard["request_id"] = current
    # RFC 9457's own members always win: an extension member may never redefine them.
    return {**extra, **standard}


def domain_problem_body(exc: DomainError, instance: str) -> dict[str, Any]:
    return problem_body(status=exc.status, slug=exc.slug, title=exc.title, detail=exc.detail,
                        instance=instance, **exc.extra)


def problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = problem_body(status=status, slug=slug, title=title, detail=detail,
                        instance=request.url.path, **extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE,
                    headers=retry_headers(status))


# A 503 means "not now" (a failover, a standby, a restart): say when to come back.
RETRY_AFTER_SECONDS = 1


def retry_headers(status: int) -> dict[str, str]:
    """Retry-After on every 503, so clients back off instead of hammering a failover."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}


def domain_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, DomainError)
    return Response(domain_problem_body(exc, request.url.path), status_code=exc.status,
                    media_type=PROBLEM_MEDIA_TYPE, headers=retry_headers(exc.status))


def http_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    slug, title = HTTP_SLUGS.get(status, ("http-error", "HTTP error"))
    extra: dict[str, Any] = {}
    if exc.extra:
        extra["errors"] = exc.extra
    return problem(request, status=status, slug=slug, title=title, detail=str(exc.detail), **extra)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if database_unavailable(exc):  # a failover or restart: "not now", never a 500
        log.warning("database unavailable on %s: %s", request.url.path, exc)
        slug, title, detail = DATABASE_UNAVAILABLE
        return problem(request, status=503, slug=slug, title=title, detail=detail)
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    slug, title, detail = INTERNAL_ERROR
    return problem(request, status=HTTP_500_INTERNAL_SERVER_ERROR, slug=slug, title=title,
                   detail=detail)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}


def _subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def problem_catalogue() -> dict[str, dict[str, Any]]:
    """Every problem slug this server can answer with, and what it means."""
    catalogue = {
        slug: {"type": f"/problems/{slug}", "title": title, "status": status}
        for status, (slug, title) in HTTP_SLUGS.items()
    }
    slug, title, _ = INTERNAL_ERROR
    catalogue[slug] = {"type": f"/problems/{slug}", "title": title, "status": 500}
    slug, title, _ = DATABASE_UNAVAILABLE
    catalogue[slug] = {"type": f"/problems/{slug}", "title": title, "status": 503}
    for cls in _subclasses(DomainError):
        catalogue[cls.slug] = {"type": f"/problems/{cls.slug}", "title": cls.title,
                               "status": cls.status}
    return dict(sorted(catalogue.items()))
