"""Domain errors carry a stable slug that the API turns into a problem type.

Core raises them; it never knows about HTTP. The status travels with the error
so that the mapping lives in one place (here) instead of a table in api/.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused command or input, with a stable machine-readable slug."""

    status: int = 422
    slug: str = "unprocessable"
    title: str = "The request cannot be processed"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


def _error(name: str, status: int, slug: str, title: str) -> type[DomainError]:
    return type(name, (DomainError,), {"status": status, "slug": slug, "title": title})


MalformedJson = _error("MalformedJson", 400, "malformed-json", "The body is not valid JSON")
ForbiddenCharacter = _error(
    "ForbiddenCharacter", 422, "forbidden-character",
    "A string holds U+0000, which no document may carry",
)
UnknownContract = _error("UnknownContract", 422, "unknown-contract", "The contract is not known")
SchemaViolation = _error(
    "SchemaViolation", 422, "schema-violation", "The document does not match its schema"
)
BadEncoding = _error("BadEncoding", 400, "bad-encoding", "A binary field is not valid base64url")
BadSignature = _error(
    "BadSignature", 401, "bad-signature", "The signature does not verify for the signer's key"
)
UnknownSigner = _error("UnknownSigner", 401, "unknown-signer", "The signing key is not admitted")
RevokedKey = _error("RevokedKey", 401, "revoked-key", "The signing key is revoked or rotated out")
RoleNotAllowed = _error(
    "RoleNotAllowed", 403, "role-not-allowed", "The signer lacks a role this contract needs"
)
ClockSkew = _error(
    "ClockSkew", 422, "clock-skew", "issued_at is outside the allowed clock skew"
)
NonceReused = _error(
    "NonceReused", 409, "nonce-reused", "The nonce was already used with another document"
)
NotFound = _error("NotFound", 404, "not-found", "No such resource")
Conflict = _error("Conflict", 409, "conflict", "The request conflicts with the current state")
Forbidden = _error("Forbidden", 403, "forbidden", "The signer may not do this")
InvalidState = _error(
    "InvalidState", 409, "invalid-state", "The action does not fit the current state"
)
ParticipantFrozen = _error(
    "ParticipantFrozen", 403, "participant-frozen",
    "The participant is frozen by a regulator: every document it signs is refused",
)
