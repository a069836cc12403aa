"""The problems each operation can answer, written into the OpenAPI document.

Litestar describes each handler's success; the errors come from one table here
(`PROBLEMS`), by operation, plus what every operation can answer (a malformed
parameter, a refused target, the service starting, an unexpected fault) and
what every signed read can answer. Each error status gets a
`application/problem+json` response whose description and `x-problem-types`
list its slugs, so clients and fuzzers know them. contracts/openapi.json is this
document, committed; a test keeps it equal to what the app serves.
"""

from __future__ import annotations

from typing import Any

from dataex.api.problems import PROBLEM_MEDIA_TYPE, problem_catalogue

EVERY = ("bad-request", "internal-error", "unavailable")
SIGNED = ("authentication-required", "stale-request", "replayed-request", "unknown-signer",
          "revoked-key", "bad-signature", "bad-encoding", "too-many-signed-requests")
REGULATOR = (*SIGNED, "regulator-only")
SCHEMA = ("schema-violation",)  # a word outside an enum the handler checks itself

# (method, path template) -> slugs besides EVERY. Path templates as OpenAPI writes them.
PROBLEMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/v1/audit/entries"): SIGNED,
    ("GET", "/v1/audit/entries/{seq}"): (*SIGNED, "not-found", "entry-not-visible"),
    ("GET", "/v1/audit/export"): SIGNED,
    ("GET", "/v1/audit/checkpoint"): ("not-found",),
    ("GET", "/v1/audit/checkpoints/{size}"): ("not-found",),
    ("GET", "/v1/audit/proof/inclusion"): ("not-found", "bad-tree-range", "beyond-tree"),
    ("GET", "/v1/audit/proof/consistency"): ("not-found", "bad-tree-range", "beyond-tree"),
    ("GET", "/v1/audit/proof-file/{seq}"): ("not-found", "bad-tree-range"),
    ("GET", "/v1/audit/tile/{tile_path}"): ("malformed-tile-path", "beyond-tree"),
    ("POST", "/v1/audit/cosignatures"): ("not-found", "malformed-note", "unknown-signer",
                                         "bad-signature", "conflict", "forbidden",
                                         "body-too-large"),
    ("GET", "/v1/participants"): (*SIGNED, *SCHEMA),
    ("GET", "/v1/participants/{participant_id}"): (*SIGNED, "not-found"),
    ("GET", "/v1/registry/registrations"): SCHEMA,
    ("GET", "/v1/registry/registrations/{registration_id}"): ("not-found",),
    ("GET", "/v1/registry/registrations/{registration_id}/certificate-preview"): (
        "not-found", "role-not-allowed", "schema-violation", "invalid-state",
        "party-may-not-decide", "notice-running", "objection-open", "conflict"),
    ("GET", "/v1/registry/certificates"): SCHEMA,
    ("GET", "/v1/registry/certificates/{number}"): ("not-found",),
    ("GET", "/v1/registry/certificates/{number}/history"): ("not-found",),
    ("GET", "/v1/registry/certificates/{number}/verify"): ("not-found",),
    ("GET", "/v1/market/products"): SCHEMA,
    ("GET", "/v1/market/products/{symbol}"): ("not-found",),
    ("GET", "/v1/market/products/{symbol}/depth"): ("not-found",),
    ("GET", "/v1/market/products/{symbol}/trades"): ("not-found",),
    ("GET", "/v1/market/products/{symbol}/ticker"): ("not-found",),
    ("GET", "/v1/market/products/{symbol}/holders"): (*SIGNED, "not-found"),
    ("GET", "/v1/market/products/{symbol}/candles"): ("not-found", *SCHEMA),
    ("GET", "/v1/market/licences/{licence_id}"): (*SIGNED, "not-found"),
    ("GET", "/v1/market/licence-templates/{ref}"): ("not-found",),
    ("GET", "/v1/market/me/orders"): (*SIGNED, *SCHEMA),
    ("GET", "/v1/market/me/fills"): SIGNED,
    ("GET", "/v1/market/me/balances"): SIGNED,
    ("GET", "/v1/market/me/licences"): SIGNED,
    ("GET", "/v1/regulator/participants"): REGULATOR,
    ("GET", "/v1/regulator/orders"): (*REGULATOR, *SCHEMA),
    ("GET", "/v1/regulator/trades"): REGULATOR,
    ("GET", "/v1/regulator/balances"): REGULATOR,
    ("GET", "/v1/regulator/statistics"): (*REGULATOR, *SCHEMA),
    ("GET", "/v1/regulator/surveillance"): (*REGULATOR, *SCHEMA),
    ("GET", "/v1/contracts/{name}"): ("unknown-contract",),
    ("GET", "/problems/{slug}"): ("not-found",),
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; match on `type` (/problems/<slug>).",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "instance": {"type": "string"}, "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}


def _envelope_schema() -> dict[str, Any]:
    """The shape every signed document shares; each contract's body is in contracts/schemas/."""
    from dataex.core.contracts import CONTRACTS

    string = {"type": "string"}
    return {
        "type": "object",
        "required": ["document", "signature"],
        "properties": {
            "document": {
                "type": "object",
                "required": ["contract", "signer", "nonce", "issued_at", "body"],
                "properties": {
                    "contract": {"type": "string", "enum": sorted(CONTRACTS)},
                    "signer": string, "nonce": string, "issued_at": string,
                    "body": {"type": "object", "description": "the contract's body: its JSON "
                             "Schema is GET /v1/contracts/{contract}"},
                },
            },
            "signature": string,
        },
    }


def _submit_slugs(catalogue: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    """POST /v1/documents can answer every problem a document can get."""
    reads_only = {"authentication-required", "stale-request", "replayed-request",
                  "too-many-signed-requests", "regulator-only", "entry-not-visible",
                  "malformed-tile-path", "bad-tree-range", "beyond-tree", "malformed-note"}
    return tuple(slug for slug in catalogue if slug not in reads_only)


def with_problem_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the problem responses of every operation to an OpenAPI document (in place)."""
    catalogue = problem_catalogue()
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method.upper() not in ("GET", "POST"):
                continue
            key = (method.upper(), path)
            extra = PROBLEMS.get(key, ())
            if key == ("GET", "/v1/regulator/statistics"):  # format=csv or Accept: text/csv
                ok = operation.setdefault("responses", {}).setdefault("200", {})
                ok.setdefault("content", {})["text/csv"] = {"schema": {"type": "string"}}
            if key == ("POST", "/v1/documents"):
                extra = _submit_slugs(catalogue)
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": _envelope_schema()}}}
            _add(operation, (*EVERY, *extra), catalogue)
    return schema


def _add(operation: dict[str, Any], slugs: tuple[str, ...],
         catalogue: dict[str, dict[str, Any]]) -> None:
    by_status: dict[int, list[str]] = {}
    for slug in dict.fromkeys(slugs):
        by_status.setdefault(int(catalogue[slug]["status"]), []).append(slug)
    responses = operation.setdefault("responses", {})
    for status, listed in sorted(by_status.items()):
        responses[str(status)] = {
            "description": "Problem: " + ", ".join(
                f"`{slug}` ({catalogue[slug]['title']})" for slug in listed),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "x-problem-types": [f"/problems/{slug}" for slug in listed],
        }
