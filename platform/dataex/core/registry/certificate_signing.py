"""The registrar's signature over a certificate document.

The registrar's key is private to the registrar, so the platform can never sign a
certificate for it. Instead core derives the certificate document a decision
produces (deterministically, see certificates.py), the registrar signs
that document on its own machine, and the decision document carries the
signature; core accepts the decision only if the signature verifies over exactly
the document core derives.

Signed bytes = CERTIFICATE_SIGNING_PREFIX + RFC 8785 canonical JSON of the
document. The prefix differs from the document prefix (signing.py), so a
certificate signature can never pass as the signature of a signed document, nor
the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.encoding import b64url_decode, b64url_encode
from dataex.core.documents.errors import BadEncoding
from dataex.core.documents.signing import SIGNATURE_BYTES

CERTIFICATE_SIGNING_PREFIX = b"dataex-certificate-v1\n"


def certificate_signing_bytes(document: dict[str, Any]) -> bytes:
    return CERTIFICATE_SIGNING_PREFIX + canonical_json(document)


def sign_certificate(document: dict[str, Any], private_key: Ed25519PrivateKey) -> str:
    """The registrar's side: base64url Ed25519 signature over the certificate document."""
    return b64url_encode(private_key.sign(certificate_signing_bytes(document)))


def certificate_signature_valid(
    document: dict[str, Any], signature: str, public_key: bytes
) -> bool:
    """True if `signature` signs `document` under `public_key` (strict base64url)."""
    try:
        raw = b64url_decode(signature, field="signature", length=SIGNATURE_BYTES)
    except BadEncoding:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            raw, certificate_signing_bytes(document)
        )
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class RegistrarKey:
    """The key that signed a decision; its certificate signatures must verify under it."""

    key_id: str
    public_key: bytes
