"""A small client SDK: build, sign and submit documents; read the log.

Used by the CLI, the demo seed, the tests and the benchmarks, so there is one
way a document is put together on the client side.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.signing import key_id, public_key_bytes, sign_document
from dataex.core.documents.timefmt import format_utc
from dataex.core.registry.certificate_signing import sign_certificate

DECIDE_CONTRACT = "dataex.registry.decide.v1"


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def build_document(
    contract: str,
    body: dict[str, Any],
    key: Ed25519PrivateKey,
    *,
    nonce: str | None = None,
    issued_at: datetime | None = None,
) -> dict[str, Any]:
    """A signed envelope for `body` under `contract`, signed by `key`."""
    document = {
        "contract": contract,
        "signer": key_id(public_key_bytes(key)),
        "nonce": nonce or new_nonce(),
        "issued_at": format_utc(issued_at or datetime.now(UTC)),
        "body": body,
    }
    return sign_document(document, key)


def build_registering_decision(
    registration_id: str,
    certificate_documents: list[dict[str, Any]],
    key: Ed25519PrivateKey,
    issued_at: datetime,
    *,
    nonce: str | None = None,
) -> dict[str, Any]:
    """A registrar's `register` decision, signing each certificate document it will produce.

    `certificate_documents` come from the certificate preview for this
    `issued_at` (contracts/SPEC.md section 9); the decision must carry the same
    issued_at and be signed by the same key, or the server refuses it.
    """
    body = {
        "registration_id": registration_id,
        "outcome": "register",
        "certificate_signatures": [
            {"number": d["number"], "signature": sign_certificate(d, key)}
            for d in certificate_documents
        ],
    }
    return build_document(DECIDE_CONTRACT, body, key, nonce=nonce, issued_at=issued_at)


class ProblemError(Exception):
    """The server answered with an RFC 9457 problem."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": response.reason_phrase, "detail": response.text[:500]}
        raise ProblemError(response.status_code, problem)
    return response.json()


class Client:
    """Synchronous HTTP client for a dataex server."""

    def __init__(self, server: str, *, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=server.rstrip("/"), timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def submit(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return _check(self.http.post("/v1/documents", json=envelope))  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> Any:
        return _check(self.http.get(path, params=params))

    def signed_get(self, path: str, key: Ed25519PrivateKey, **params: Any) -> Any:
        """GET with a signed request (contracts/SPEC.md section 12): one's own data."""
        target, headers = self.signed_target(path, key, params)
        return _check(self.http.get(target, headers=headers))

    @staticmethod
    def signed_target(path: str, key: Ed25519PrivateKey | None,
                params: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """The target with its query, and a Dataex-Auth header (fresh nonce) if `key`."""
        import time
        from urllib.parse import urlencode

        from dataex.core.participants.request_auth import AUTH_HEADER, sign_request

        query = urlencode({k: v for k, v in params.items() if v is not None})
        target = path + (f"?{query}" if query else "")
        if key is None:
            return target, {}
        return target, {AUTH_HEADER: sign_request(key, "GET", target, int(time.time()),
                                                  new_nonce())}

    def export_lines(self, from_seq: int = 1,
                     key: Ed25519PrivateKey | None = None) -> Iterator[str]:
        """Stream the log's JSON Lines export, signed by `key`: a regulator gets the whole
        log; a participant its own entries with inclusion proofs."""
        target, headers = self.signed_target("/v1/audit/export", key, {"from": from_seq})
        with self.http.stream("GET", target, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                _check(response)
            yield from response.iter_lines()


def gateway_headers(url: str, key: Ed25519PrivateKey, method: str = "GET", body: bytes = b"",
                    product: str | None = None) -> dict[str, str]:
    """What a call through a dataex gateway carries: a Dataex-Auth signed over the whole URL.

    The gateway's origin is part of the signed target (docs/providers.md), so a
    header made for one gateway is refused by any other, and by dataex.
    """
    import time

    from dataex.core.participants.request_auth import AUTH_HEADER, sign_request

    headers = {AUTH_HEADER: sign_request(key, method, url, int(time.time()), new_nonce(), body)}
    if product is not None:
        headers["Dataex-Product"] = product
    return headers


def call_gateway(url: str, key: Ed25519PrivateKey, *, json_body: Any = None,
                 product: str | None = None, timeout: float = 60.0) -> httpx.Response:
    """GET `url` (or POST `json_body`) through a gateway, signed with `key`."""
    import msgspec

    body = b"" if json_body is None else msgspec.json.encode(json_body)
    method = "GET" if json_body is None else "POST"
    headers = gateway_headers(url, key, method, body, product)
    if body:
        headers["content-type"] = "application/json"
    return httpx.request(method, url, content=body, headers=headers, timeout=timeout)
