"""Small builders the tests share: keys, signed documents, a populated platform."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.client.sdk import build_document
from dataex.core.documents.encoding import b64url_encode
from dataex.core.documents.signing import key_id, public_key_bytes

ADMIT = "dataex.participant.admit.v1"
ROTATE = "dataex.key.rotate.v1"
REVOKE = "dataex.key.revoke.v1"

_counter = itertools.count(1)


@dataclass
class Actor:
    """A participant as a test drives it: its key and, once admitted, its id."""

    name: str
    key: Ed25519PrivateKey
    participant_id: str | None = None

    @classmethod
    def new(cls, name: str) -> Actor:
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> str:
        return b64url_encode(public_key_bytes(self.key))

    @property
    def key_id(self) -> str:
        return key_id(public_key_bytes(self.key))

    def sign(self, contract: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return build_document(contract, body, self.key, **kw)

    def admission(self, roles: list[str], legal_id: str | None = None) -> dict[str, Any]:
        return {
            "display_name": f"{self.name} test",
            "legal_id": legal_id or f"{self.name}-{next(_counter)}",
            "public_key": self.public_key,
            "roles": roles,
        }


def encode(envelope: dict[str, Any]) -> bytes:
    return msgspec.json.encode(envelope)


def now() -> datetime:
    return datetime.now(UTC)


def signed_headers(actor: Actor, target: str, *, method: str = "GET", at: int | None = None,
                   nonce: str | None = None, body: bytes = b"") -> dict[str, str]:
    """The Dataex-Auth header of one signed request (SPEC section 12), a fresh nonce each."""
    import secrets
    import time

    from dataex.core.participants.request_auth import AUTH_HEADER, sign_request

    stamp = int(time.time()) if at is None else at
    return {AUTH_HEADER: sign_request(actor.key, method, target, stamp,
                                      nonce or secrets.token_urlsafe(16), body)}

