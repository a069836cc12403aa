"""base64url without padding (RFC 4648 §5), the one binary encoding on the wire."""

from __future__ import annotations

import base64
import binascii
import re

from dataex.core.documents.errors import BadEncoding

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, field: str = "value", length: int | None = None) -> bytes:
    """Decode strictly: no padding, no other alphabet, optional exact length."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise BadEncoding(f"{field} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadEncoding(f"{field} is not unpadded base64url") from exc
    if b64url_encode(raw) != text:
        raise BadEncoding(f"{field} has non-zero trailing bits")
    if length is not None and len(raw) != length:
        raise BadEncoding(f"{field} must decode to {length} bytes, got {len(raw)}")
    return raw
