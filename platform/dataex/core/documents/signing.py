"""Ed25519 signatures over domain-separated canonical documents.

Signed bytes = SIGNING_PREFIX + canonical_json(document). The prefix keeps a
dataex signature from ever being valid as a signature of anything else (a
checkpoint note, a cosignature, another protocol's message).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.encoding import b64url_decode, b64url_encode
from dataex.core.documents.errors import BadSignature

SIGNING_PREFIX = b"dataex-document-v1\n"
KEY_ID_PREFIX = "ed25519:"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def key_id(public_key: bytes) -> str:
    """Key id = 'ed25519:' + base64url of the first 16 bytes of SHA-256(raw public key)."""
    return KEY_ID_PREFIX + b64url_encode(hashlib.sha256(public_key).digest()[:16])


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def signing_bytes(document: dict[str, Any]) -> bytes:
    return SIGNING_PREFIX + canonical_json(document)


def sign_document(document: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """Wrap a document into a signed envelope."""
    signature = private_key.sign(signing_bytes(document))
    return {"document": document, "signature": b64url_encode(signature)}


def verify_signature(document: dict[str, Any], signature: str, public_key: bytes) -> None:
    """Raise BadSignature unless `signature` signs `document` under `public_key`."""
    verify_canonical(canonical_json(document), signature, public_key)


@functools.lru_cache(maxsize=65536)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    # Loading a key costs about as much as hashing the document; signers repeat.
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_canonical(canonical_document: bytes, signature: str, public_key: bytes) -> None:
    """verify_signature for a document already in canonical form (the request path has it)."""
    raw = b64url_decode(signature, field="signature", length=SIGNATURE_BYTES)
    try:
        _public_key(public_key).verify(raw, SIGNING_PREFIX + canonical_document)
    except InvalidSignature as exc:
        raise BadSignature("the signature does not verify for the signer's key") from exc
