"""The signed-document contracts: one msgspec type per body, the single source of truth.

The shared scalars, Body and Contract live in documents/contract.py (re-exported
here); each domain's bodies live in its own contracts.py (participants/,
registry/, market/, supervision/) and are gathered into CONTRACTS below, so this
catalogue sits above every domain and the door (envelope.py) reads it.
contracts/schemas/*.json are generated from these types (`dataex contracts
generate`) and a test fails when the files drift from the types.
"""

from __future__ import annotations

import textwrap
from typing import Any, Literal

import msgspec

from dataex.core.documents.contract import (
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
from dataex.core.market.contracts import MARKET_CONTRACTS
from dataex.core.participants.contracts import (
    PARTICIPANT_CONTRACTS,
    AdmitParticipant,
    RevokeKey,
    RotateKey,
)
from dataex.core.registry.contracts import REGISTRY_CONTRACTS
from dataex.core.supervision.contracts import SUPERVISION_CONTRACTS

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


CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (
        *PARTICIPANT_CONTRACTS,
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
