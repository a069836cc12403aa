"""The platform's signature over a licence document.

A licence is made by a trade, not by anyone's signed request, so the platform
signs it with its own key (the log key, DATA_DIR/keys/log.pem) when the trade
is committed. The licence document holds only facts that never change
(records.licence_document), so the signature never goes stale; the
licence's status is kept beside it.

Signed bytes = LICENCE_SIGNING_PREFIX + RFC 8785 canonical JSON of the
document; the prefix keeps a licence signature from passing as any other kind.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.encoding import b64url_decode, b64url_encode
from dataex.core.documents.errors import BadEncoding
from dataex.core.documents.signing import SIGNATURE_BYTES

LICENCE_SIGNING_PREFIX = b"dataex-licence-v1\n"


def licence_signing_bytes(document: dict[str, Any]) -> bytes:
    return LICENCE_SIGNING_PREFIX + canonical_json(document)


def sign_licence(document: dict[str, Any], private_key: Ed25519PrivateKey) -> str:
    return b64url_encode(private_key.sign(licence_signing_bytes(document)))


def licence_signature_valid(document: dict[str, Any], signature: str, public_key: bytes) -> bool:
    try:
        raw = b64url_decode(signature, field="signature", length=SIGNATURE_BYTES)
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            raw, licence_signing_bytes(document)
        )
    except (BadEncoding, InvalidSignature):
        return False
    return True
