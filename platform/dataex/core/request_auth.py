"""Signed requests: how a participant proves who reads its own orders, balances and licences.

A read is not a document (it changes nothing and is not logged), so it is
signed in a header rather than wrapped in an envelope. The signed bytes bind
the method, the exact path and query, the time and the body, so a captured
header cannot be replayed on another resource or, once stale, at all:

    dataex-request-v1\\n<METHOD>\\n<path?query>\\n<timestamp>\\n<hex SHA-256 of the body>

The header (``Dataex-Auth``) is ``key_id=<key id>;timestamp=<unix seconds>;
signature=<base64url Ed25519 signature>``. contracts/SPEC.md section 12 is the
specification for client authors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.encoding import b64url_decode, b64url_encode
from dataex.core.errors import BadSignature, DomainError, RevokedKey, UnknownSigner
from dataex.core.participants import Participants
from dataex.core.signing import SIGNATURE_BYTES, key_id, public_key_bytes

AUTH_HEADER: Final = "Dataex-Auth"
REQUEST_SIGNING_PREFIX: Final = "dataex-request-v1"


class AuthenticationRequired(DomainError):
    status = 401
    slug = "authentication-required"
    title = "This resource needs a signed request (the Dataex-Auth header)"


class StaleRequest(DomainError):
    status = 401
    slug = "stale-request"
    title = "The signed request's timestamp is outside the allowed clock skew"


@dataclass(frozen=True)
class RequestAuth:
    key_id: str
    timestamp: int
    signature: str


def request_signing_bytes(method: str, target: str, timestamp: int, body: bytes) -> bytes:
    """``target`` is the path and, when there is one, ``?`` and the query, as sent."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(
        (REQUEST_SIGNING_PREFIX, method.upper(), target, str(timestamp), digest)
    ).encode("utf-8")


def sign_request(
    key: Ed25519PrivateKey, method: str, target: str, timestamp: int, body: bytes = b""
) -> str:
    """The Dataex-Auth header value for one request."""
    signature = key.sign(request_signing_bytes(method, target, timestamp, body))
    kid = key_id(public_key_bytes(key))
    return f"key_id={kid};timestamp={timestamp};signature={b64url_encode(signature)}"


def parse_auth_header(value: str | None) -> RequestAuth:
    if not value:
        raise AuthenticationRequired(f"send the {AUTH_HEADER} header (contracts/SPEC.md §12)")
    fields: dict[str, str] = {}
    for part in value.split(";"):
        name, sep, field = part.strip().partition("=")
        if not sep or name in fields:
            raise AuthenticationRequired(f"{AUTH_HEADER} is malformed at {part.strip()!r}")
        fields[name] = field
    if set(fields) != {"key_id", "timestamp", "signature"}:
        raise AuthenticationRequired(
            f"{AUTH_HEADER} needs exactly key_id, timestamp and signature"
        )
    stamp = fields["timestamp"]
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise AuthenticationRequired("timestamp is whole Unix seconds")
    return RequestAuth(fields["key_id"], int(stamp), fields["signature"])


def authenticate_request(
    header: str | None,
    method: str,
    target: str,
    body: bytes,
    participants: Participants,
    *,
    now: int,
    max_skew_seconds: int,
) -> str:
    """The participant id a signed request acts for; raise a 401 problem otherwise."""
    auth = parse_auth_header(header)
    if abs(now - auth.timestamp) > max_skew_seconds:
        raise StaleRequest(
            f"timestamp {auth.timestamp} is {now - auth.timestamp} s from the server's "
            f"{now}; at most {max_skew_seconds} s allowed"
        )
    record = participants.keys.get(auth.key_id)
    if record is None:
        raise UnknownSigner(f"key {auth.key_id} is not an admitted key")
    if record.status != "active":
        raise RevokedKey(f"key {auth.key_id} is {record.status}")
    participant = participants.by_id[record.participant_id]
    if participant.status not in ("active", "frozen"):  # a frozen participant still reads
        raise RevokedKey(f"participant {participant.participant_id} is {participant.status}")
    raw = b64url_decode(auth.signature, field="signature", length=SIGNATURE_BYTES)
    try:
        Ed25519PublicKey.from_public_bytes(record.public_key).verify(
            raw, request_signing_bytes(method, target, auth.timestamp, body)
        )
    except InvalidSignature as exc:
        raise BadSignature("the request signature does not verify for the key") from exc
    return participant.participant_id
