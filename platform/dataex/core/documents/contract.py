"""What every contract module shares: the wire scalars, the Body base and the Contract record.

Each domain's contracts.py (participants/, registry/, market/, supervision/)
defines its bodies on these without importing core/contracts.py, which in turn
gathers every domain's contracts into CONTRACTS: the import then runs one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Role = Literal["operator", "registrar", "issuer", "trader", "regulator"]
ROLES: tuple[str, ...] = ("operator", "registrar", "issuer", "trader", "regulator")

# `$(?!\n)`: Python's `$` also matches before a final newline; JSON Schema's does not.
# The look-ahead makes both engines refuse a trailing newline.
KeyId = Annotated[
    str,
    Meta(
        pattern=r"^ed25519:[A-Za-z0-9_-]{22}$(?!\n)",
        description="ed25519: + base64url(SHA-256(key)[:16])",
    ),
]
PublicKey = Annotated[
    str, Meta(pattern=r"^[A-Za-z0-9_-]{43}$(?!\n)", description="raw Ed25519 public key, base64url")
]
Signature = Annotated[
    str, Meta(pattern=r"^[A-Za-z0-9_-]{86}$(?!\n)", description="Ed25519 signature, base64url")
]
Nonce = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$(?!\n)",
        description="unique per signer; 1-64 of [A-Za-z0-9_.:-]",
    ),
]
Timestamp = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$(?!\n)",
        description="RFC 3339 UTC time ending in Z",
    ),
]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
LongText = Annotated[str, Meta(min_length=1, max_length=2000)]


class Body(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Base of every document body: unknown fields are refused, not ignored."""


@dataclass(frozen=True)
class Contract:
    """What a contract name means: its body type and who may sign it."""

    name: str
    body: type[Body]
    roles: frozenset[str] | None  # None: any admitted participant
    summary: str
