"""The signed-document contracts: one msgspec type per body, the single source of truth.

The shared scalars, Body and Contract live in contract_base.py (re-exported here);
each area's bodies live in its own module and are gathered into CONTRACTS below.
contracts/schemas/*.json are generated from these types (`dataex contracts
generate`) and a test fails when the files drift from the types.
"""

from __future__ import annotations

import textwrap
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from dataex.core.contract_base import (
    ROLES,
    Body,
    Contract,
    KeyId,
    LongText,
    Nonce,
    PublicKey,
    Role,
    ShortText,
    Signature,
    Timestamp,
)
from dataex.core.market_contracts import MARKET_CONTRACTS
from dataex.core.registry_contracts import REGISTRY_CONTRACTS
from dataex.core.supervision_contracts import SUPERVISION_CONTRACTS

__all__ = [
    "CONTRACTS",
    "ENVELOPE_TYPES",
    "ROLES",
    "AdmitParticipant",
    "Body",
    "Contract",
    "KeyId",
    "LongText",
    "Nonce",
    "PublicKey",
    "RevokeKey",
    "Role",
    "RotateKey",
    "ShortText",
    "Signature",
    "Timestamp",
    "envelope_type",
    "json_schema",
]


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
        *REGISTRY_CONTRACTS,
        *MARKET_CONTRACTS,
        *SUPERVISION_CONTRACTS,
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
    normalised: dict[str, Any] = _normalised_descriptions(schema)
    return normalised


def _normalised_descriptions(node: Any) -> Any:
    """Every "description" dedented here, whatever msgspec release made the schema.

    msgspec copies docstrings into schemas; 0.19 kept their indentation and
    later releases dedent them, so the committed files would depend on which
    release is installed. `_cleandoc` gives one answer for both.
    """
    if isinstance(node, dict):
        return {
            key: _cleandoc(value) if key == "description" and isinstance(value, str)
            else _normalised_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_normalised_descriptions(item) for item in node]
    return node


def _cleandoc(text: str) -> str:
    """`inspect.cleandoc` (inspect is not among core's imports): first line, then dedented."""
    first, _, rest = text.expandtabs().partition("\n")
    return (first.strip() + "\n" + textwrap.dedent(rest)).strip("\n").rstrip()
