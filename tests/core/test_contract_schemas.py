"""contracts/schemas are generated from the msgspec types and agree with them."""

from __future__ import annotations

import json

import jsonschema
import msgspec
import pytest

from dataex.cli.contracts import rendered_schemas
from dataex.config.paths import contracts_dir
from dataex.core.contracts import CONTRACTS, ENVELOPE_TYPES
from tests.core.market.test_market import MARKET_SAMPLE_BODIES
from tests.core.registry.test_lifecycle import SAMPLE_BODIES
from tests.core.supervision.test_freezes import SUPERVISION_SAMPLE_BODIES
from tests.factories import ADMIT, REVOKE, ROTATE, Actor

SCHEMAS = contracts_dir() / "schemas"


def test_committed_schemas_are_exactly_the_generated_ones() -> None:
    committed = {p.name: p.read_text() for p in SCHEMAS.glob("*.json")}
    assert committed == rendered_schemas(), "run `dataex contracts generate`"


class _IndentedDoc(msgspec.Struct):
    """First line.

    Indented like every docstring in the source; some msgspec releases keep it so.
    """

    field: int


def test_schema_descriptions_do_not_depend_on_how_msgspec_copies_docstrings() -> None:
    from dataex.core.contracts import _normalised_descriptions

    schema = msgspec.json.schema(_IndentedDoc)
    as_old_msgspec = {"$defs": {"_IndentedDoc": {"description": _IndentedDoc.__doc__}}}
    wanted = ("First line.\n\nIndented like every docstring in the source; "
              "some msgspec releases keep it so.")
    for rendered in (as_old_msgspec, schema):
        assert _normalised_descriptions(rendered)["$defs"]["_IndentedDoc"]["description"] == wanted


def _valid_samples() -> dict[str, dict]:  # type: ignore[type-arg]
    op, other = Actor.new("op"), Actor.new("other")
    registry = {name: op.sign(name, body) for name, body in SAMPLE_BODIES.items()}
    market = {name: op.sign(name, body) for name, body in MARKET_SAMPLE_BODIES.items()}
    supervision = {name: op.sign(name, b) for name, b in SUPERVISION_SAMPLE_BODIES.items()}
    return {
        ADMIT: op.sign(ADMIT, other.admission(["trader", "issuer"])),
        ROTATE: op.sign(ROTATE, {"new_public_key": other.public_key}),
        REVOKE: op.sign(REVOKE, {"key_id": other.key_id, "reason": "compromised"}),
        **registry,
        **market,
        **supervision,
    }


def _mutations(envelope: dict) -> list[dict]:  # type: ignore[type-arg]
    doc = envelope["document"]
    return [
        {**envelope, "extra": 1},
        {**envelope, "signature": envelope["signature"][:-1]},
        {**envelope, "document": {**doc, "nonce": ""}},
        {**envelope, "document": {**doc, "nonce": "n1\n"}},
        {**envelope, "document": {**doc, "issued_at": "2026-11-27 12:00:00"}},
        {**envelope, "document": {**doc, "signer": "rsa:abc"}},
        {**envelope, "document": {**doc, "body": {**doc["body"], "zzz": True}}},
        {"document": doc},
    ]


@pytest.mark.parametrize("contract", sorted(CONTRACTS))
def test_schema_and_type_agree_on_valid_and_invalid_documents(contract: str) -> None:
    assert set(_valid_samples()) == set(CONTRACTS)
    schema = json.loads((SCHEMAS / f"{contract}.json").read_text())
    good = _valid_samples()[contract]
    jsonschema.validate(good, schema)
    msgspec.convert(good, ENVELOPE_TYPES[contract])
    for bad in _mutations(good):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, ENVELOPE_TYPES[contract])
