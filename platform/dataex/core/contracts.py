"""The signed-document contracts: one msgspec type per body, the single source of truth.

contracts/schemas/*.json are generated from these types (`dataex contracts
generate`) and a test fails when the files drift from the types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

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


class AdmitParticipant(Body, frozen=True):
    display_name: ShortText
    legal_id: Annotated[str, Meta(min_length=1, max_length=100)]
    public_key: PublicKey
    roles: Annotated[list[Role], Meta(min_length=1, max_length=5)]


class RotateKey(Body, frozen=True):
    new_public_key: PublicKey


class RevokeKey(Body, frozen=True):
    key_id: KeyId
    reason: LongText


@dataclass(frozen=True)
class Contract:
    """What a contract name means: its body type and who may sign it."""

    name: str
    body: type[Body]
    roles: frozenset[str] | None  # None: any admitted participant
    summary: str


CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (
        Contract(
            "dataex.participant.admit.v1",
            AdmitParticipant,
            frozenset({"operator"}),
            "The operator admits a participant with a key and roles "
            "(the very first one is the operator admitting itself).",
        ),
        Contract(
            "dataex.key.rotate.v1",
            RotateKey,
            None,
            "A participant replaces its key; signed by the old key.",
        ),
        Contract(
            "dataex.key.revoke.v1",
            RevokeKey,
            frozenset({"operator"}),
            "The operator revokes a participant's key.",
        ),
    )
}


def envelope_type(contract: Contract) -> type[msgspec.Struct]:
    """The full envelope type of one contract (used to validate and to make its schema)."""
    document = msgspec.defstruct(
        f"Document_{contract.body.__name__}",
        [
            ("contract", Literal[contract.name]),
            ("signer", KeyId),
            ("nonce", Nonce),
            ("issued_at", Timestamp),
            ("body", contract.body),
        ],
        forbid_unknown_fields=True,
        frozen=True,
    )
    return msgspec.defstruct(
        f"Envelope_{contract.body.__name__}",
        [("document", document), ("signature", Signature)],
        forbid_unknown_fields=True,
        frozen=True,
    )


ENVELOPE_TYPES: dict[str, type[msgspec.Struct]] = {
    name: envelope_type(c) for name, c in CONTRACTS.items()
}


def json_schema(contract_name: str) -> dict[str, Any]:
    """JSON Schema (2020-12) of a contract's envelope, as written to contracts/schemas/."""
    contract = CONTRACTS[contract_name]
    schema = msgspec.json.schema(ENVELOPE_TYPES[contract_name])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{contract_name}.json"
    schema["title"] = contract_name
    schema["description"] = contract.summary
    return schema
