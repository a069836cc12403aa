"""Signed requests: how a participant proves who reads its own data, once per request.

A read is not a document (it changes nothing and is not logged), so it is
signed in a header rather than wrapped in an envelope. The signed bytes bind
the method, the exact path and query, the time, a fresh nonce and the body, so
a captured header cannot be used on another resource, later than the clock
skew allows, or a second time (`ReplayGuard` remembers the nonces it saw for as
long as their timestamps stay acceptable):

    dataex-request-v2\\n<METHOD>\\n<path?query>\\n<timestamp>\\n<nonce>\\n<hex SHA-256 of body>

The header (``Dataex-Auth``) is ``key_id=<key id>;timestamp=<unix seconds>;
nonce=<16-64 base64url characters>;signature=<base64url Ed25519 signature>``.
contracts/SPEC.md section 12 is the specification for client authors.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.documents.encoding import b64url_decode, b64url_encode
from dataex.core.documents.errors import BadSignature, DomainError, RevokedKey, UnknownSigner
from dataex.core.documents.signing import SIGNATURE_BYTES, key_id, public_key_bytes
from dataex.core.participants.directory import Participants

AUTH_HEADER: Final = "Dataex-Auth"
REQUEST_SIGNING_PREFIX: Final = "dataex-request-v2"
NONCE_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Nonces a server remembers at most; beyond that it refuses signed reads (503-like
# `too-many-signed-requests`) rather than forget one that could then be replayed.
MAX_REMEMBERED_NONCES: Final = 1_000_000


class AuthenticationRequired(DomainError):
    status = 401
    slug = "authentication-required"
    title = "This resource needs a signed request (the Dataex-Auth header)"


class StaleRequest(DomainError):
    status = 401
    slug = "stale-request"
    title = "The signed request's timestamp is outside the allowed clock skew"


class ReplayedRequest(DomainError):
    status = 401
    slug = "replayed-request"
    title = "This signed request was already answered; sign each request with a new nonce"


class TooManySignedRequests(DomainError):
    status = 429
    slug = "too-many-signed-requests"
    title = "The server remembers as many signed requests as it can; retry shortly"


@dataclass(frozen=True)
class RequestAuth:
    key_id: str
    timestamp: int
    nonce: str
    signature: str


def request_signing_bytes(
    method: str, target: str, timestamp: int, nonce: str, body: bytes
) -> bytes:
    """``target`` is the path and, when there is one, ``?`` and the query, as sent."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(
        (REQUEST_SIGNING_PREFIX, method.upper(), target, str(timestamp), nonce, digest)
    ).encode("utf-8")


def sign_request(
    key: Ed25519PrivateKey, method: str, target: str, timestamp: int, nonce: str,
    body: bytes = b"",
) -> str:
    """The Dataex-Auth header value for one request (`nonce`: fresh and random each time)."""
    signature = key.sign(request_signing_bytes(method, target, timestamp, nonce, body))
    kid = key_id(public_key_bytes(key))
    return (f"key_id={kid};timestamp={timestamp};nonce={nonce};"
            f"signature={b64url_encode(signature)}")


def parse_auth_header(value: str | None) -> RequestAuth:
    if not value:
        raise AuthenticationRequired(f"send the {AUTH_HEADER} header (contracts/SPEC.md §12)")
    fields: dict[str, str] = {}
    for part in value.split(";"):
        name, sep, field = part.strip().partition("=")
        if not sep or name in fields:
            raise AuthenticationRequired(f"{AUTH_HEADER} is malformed at {part.strip()!r}")
        fields[name] = field
    if set(fields) != {"key_id", "timestamp", "nonce", "signature"}:
        raise AuthenticationRequired(
            f"{AUTH_HEADER} needs exactly key_id, timestamp, nonce and signature"
        )
    stamp = fields["timestamp"]
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise AuthenticationRequired("timestamp is whole Unix seconds")
    if not NONCE_PATTERN.match(fields["nonce"]):
        raise AuthenticationRequired("nonce is 16 to 64 base64url characters, new each request")
    return RequestAuth(fields["key_id"], int(stamp), fields["nonce"], fields["signature"])


class ReplayGuard:
    """The (key, nonce) pairs answered within the clock-skew window: each is refused again.

    A timestamp more than `window` seconds from the server's clock is refused
    as stale anyway, so a nonce needs remembering only until its timestamp
    leaves the window; older ones are forgotten in arrival order. Pure: the
    caller passes the time.
    """

    def __init__(self, window_seconds: int, capacity: int = MAX_REMEMBERED_NONCES) -> None:
        self.window = window_seconds
        self.capacity = capacity
        self._seen: dict[tuple[str, str], int] = {}
        self._order: deque[tuple[int, tuple[str, str]]] = deque()

    def __len__(self) -> int:
        return len(self._seen)

    def admit(self, key: str, nonce: str, timestamp: int, now: int) -> None:
        """Remember this request, or raise ReplayedRequest if it was seen."""
        self._forget_before(now - self.window)
        pair = (key, nonce)
        if pair in self._seen:
            raise ReplayedRequest(f"nonce {nonce} of key {key} was already used")
        if len(self._seen) >= self.capacity:
            raise TooManySignedRequests(
                f"{len(self._seen)} signed requests are remembered for the {self.window} s window"
            )
        # Forget it once its timestamp, not its arrival, leaves the window.
        self._seen[pair] = timestamp
        self._order.append((max(timestamp, now), pair))

    def _forget_before(self, oldest: int) -> None:
        order, seen = self._order, self._seen
        while order and order[0][0] < oldest:
            _, pair = order.popleft()
            seen.pop(pair, None)


def authenticate_request(
    header: str | None,
    method: str,
    target: str,
    body: bytes,
    participants: Participants,
    *,
    now: int,
    max_skew_seconds: int,
    replay_guard: ReplayGuard | None,
) -> str:
    """The participant id a signed request acts for; raise a 401 problem otherwise.

    The nonce is remembered only once the signature verified, so nobody can
    burn another key's nonces.
    """
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
            raw, request_signing_bytes(method, target, auth.timestamp, auth.nonce, body)
        )
    except InvalidSignature as exc:
        raise BadSignature("the request signature does not verify for the key") from exc
    if replay_guard is not None:
        replay_guard.admit(auth.key_id, auth.nonce, auth.timestamp, now)
    return participant.participant_id
