"""Parsing and authenticating envelopes, in the documented order, without a database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataex.core.contracts import AdmitParticipant
from dataex.core.documents import errors
from dataex.core.documents.signing import sign_document
from dataex.core.envelope import authenticate, parse_envelope
from dataex.core.participants.directory import Participants
from tests.factories import ADMIT, REVOKE, ROTATE, Actor, encode, now

SKEW = timedelta(seconds=300)


def _platform() -> tuple[Participants, Actor, Actor]:
    people = Participants()
    operator, trader = Actor.new("op"), Actor.new("trader")
    people.admit(AdmitParticipant(**operator.admission(["operator"])))
    people.admit(AdmitParticipant(**trader.admission(["trader"])))
    return people, operator, trader


def _auth(envelope: dict, people: Participants, **kw):  # type: ignore[no-untyped-def]
    parsed = parse_envelope(encode(envelope), 65536)
    return authenticate(parsed, people, now=now(), max_skew=SKEW, **kw)


def test_a_good_document_authenticates_as_its_participant() -> None:
    people, operator, _ = _platform()
    command = _auth(operator.sign(ADMIT, Actor.new("x").admission(["trader"])), people)
    assert command.participant_id == "P000001"
    assert command.contract_name == ADMIT


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"{not json", errors.MalformedJson),
        (b'{"document": 1, "signature": "x"}', errors.SchemaViolation),
        (b'{"document": {"contract": "dataex.nope.v1"}, "signature": "x"}', errors.UnknownContract),
    ],
)
def test_shape_errors(raw: bytes, error: type[errors.DomainError]) -> None:
    with pytest.raises(error):
        parse_envelope(raw, 65536)


def test_size_is_checked_before_anything_else() -> None:
    from dataex.core.envelope import BodyTooLarge

    with pytest.raises(BodyTooLarge):
        parse_envelope(b"{not json" + b" " * 100, 50)


def test_schema_violation_names_the_field() -> None:
    _, operator, _ = _platform()
    bad = operator.sign(ADMIT, {**Actor.new("x").admission(["trader"]), "roles": ["king"]})
    with pytest.raises(errors.SchemaViolation, match=r"roles\[0\]"):
        parse_envelope(encode(bad), 65536)


def test_unknown_fields_are_refused_not_ignored() -> None:
    _, operator, _ = _platform()
    bad = operator.sign(ADMIT, {**Actor.new("x").admission(["trader"]), "extra": 1})
    with pytest.raises(errors.SchemaViolation, match="extra"):
        parse_envelope(encode(bad), 65536)


def test_floats_are_refused() -> None:
    _, operator, _ = _platform()
    envelope = operator.sign(REVOKE, {"key_id": operator.key_id, "reason": "x"})
    envelope["document"]["body"]["reason"] = 1.5
    with pytest.raises(errors.SchemaViolation):
        parse_envelope(encode(envelope), 65536)


def test_trailing_newline_in_a_nonce_is_refused() -> None:
    _, operator, _ = _platform()
    envelope = operator.sign(REVOKE, {"key_id": operator.key_id, "reason": "x"}, nonce="n1\n")
    with pytest.raises(errors.SchemaViolation, match="nonce"):
        parse_envelope(encode(envelope), 65536)


def test_tampered_body_fails_the_signature() -> None:
    people, operator, _ = _platform()
    envelope = operator.sign(ADMIT, Actor.new("x").admission(["trader"]))
    envelope["document"]["body"]["roles"] = ["operator"]
    with pytest.raises(errors.BadSignature):
        _auth(envelope, people)


def test_signature_by_another_key_fails() -> None:
    people, operator, trader = _platform()
    envelope = operator.sign(ADMIT, Actor.new("x").admission(["trader"]))
    envelope["signature"] = trader.sign(ADMIT, envelope["document"]["body"])["signature"]
    with pytest.raises(errors.BadSignature):
        _auth(envelope, people)


def test_unknown_signer_is_refused() -> None:
    people, *_ = _platform()
    stranger = Actor.new("stranger")
    with pytest.raises(errors.UnknownSigner):
        _auth(stranger.sign(ROTATE, {"new_public_key": Actor.new("y").public_key}), people)


def test_revoked_key_is_refused_even_with_a_good_signature() -> None:
    people, _, trader = _platform()
    people.keys[trader.key_id].status = "revoked"
    with pytest.raises(errors.RevokedKey):
        _auth(trader.sign(ROTATE, {"new_public_key": Actor.new("y").public_key}), people)


def test_missing_role_is_refused() -> None:
    people, _, trader = _platform()
    with pytest.raises(errors.RoleNotAllowed, match="operator"):
        _auth(trader.sign(ADMIT, Actor.new("x").admission(["trader"])), people)


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_issued_at_outside_the_skew_is_refused(offset: timedelta) -> None:
    people, operator, _ = _platform()
    envelope = operator.sign(ADMIT, Actor.new("x").admission(["trader"]), issued_at=now() + offset)
    with pytest.raises(errors.ClockSkew):
        _auth(envelope, people)


def test_impossible_time_is_a_schema_violation_not_a_crash() -> None:
    people, operator, _ = _platform()
    document = operator.sign(ADMIT, Actor.new("x").admission(["trader"]))["document"]
    document = dict(document, issued_at="2026-13-45T99:59:59Z")
    with pytest.raises(errors.SchemaViolation, match="issued_at"):
        _auth(sign_document(document, operator.key), people)


def test_genesis_only_when_allowed_and_the_platform_is_empty() -> None:
    operator = Actor.new("op")
    envelope = operator.sign(ADMIT, operator.admission(["operator"]))
    with pytest.raises(errors.UnknownSigner):
        _auth(envelope, Participants())
    command = _auth(envelope, Participants(), allow_genesis=True)
    assert command.genesis and command.participant_id is None
    people, *_ = _platform()
    with pytest.raises(errors.UnknownSigner):
        _auth(envelope, people, allow_genesis=True)


def _outcome(parse, raw: bytes) -> object:  # type: ignore[no-untyped-def]
    try:
        return ("value", parse(raw))
    except errors.DomainError as exc:
        return ("refused", type(exc), str(exc))
    except (ValueError, RecursionError) as exc:
        return ("crash", type(exc))


_keys = st.sampled_from(["a", "b", "a:b", ":", "é", "\\", '"', "\u2028", "k\u0001"])
_leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(alphabet=st.sampled_from(['a', ':', '"', '\\', '\n', '/', 'é', '\ud800',
                                              '\U0001f600', '\x00']), max_size=5))


@st.composite
def _json_texts(draw: st.DrawFn) -> bytes:
    """JSON texts, some with duplicate names, escapes, NaN or broken bytes."""
    def write(depth: int) -> str:
        kind = draw(st.sampled_from(["leaf", "list", "object"] if depth < 3 else ["leaf"]))
        if kind == "leaf":
            return json.dumps(draw(_leaves), ensure_ascii=draw(st.booleans()))
        if kind == "list":
            return "[" + ",".join(write(depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        names = draw(st.lists(_keys, max_size=4))  # repeats allowed: duplicate names
        return "{" + ", ".join(
            json.dumps(n, ensure_ascii=draw(st.booleans())) + ":" + write(depth + 1)
            for n in names) + "}"

    text = write(0)
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()) and raw:  # now and then a damaged body
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + draw(st.sampled_from([b"", b"\xff", b":", b"}", b" "])) + raw[at + 1:]
    return raw


@settings(max_examples=600)
@given(_json_texts())
def test_the_fast_json_path_agrees_with_the_reference_parser(raw: bytes) -> None:
    """Same value, or the same refusal with the same words, whichever path answers."""
    from dataex.core.envelope import _reference_json, _strict_json

    assert _outcome(_strict_json, raw) == _outcome(_reference_json, raw)


@pytest.mark.parametrize("raw", [
    b'{"a": 1, "a": 1}', b'{"a": {"b": 1, "b": 2}}', b'[{"x": ":"}, {"y": 1, "y": ":"}]',
    b'{"a:": 1, "a:": 1}', b'{"a": 1, "\\u0061": 1}', b'{"a": NaN}', b'[Infinity]',
])
def test_duplicate_names_and_constants_are_malformed_json(raw: bytes) -> None:
    from dataex.core.envelope import _strict_json

    with pytest.raises(errors.MalformedJson):
        _strict_json(raw)


def test_deep_nesting_is_left_to_the_reference_parser() -> None:
    from dataex.core.envelope import _reference_json, _strict_json

    for depth in (150, 250, 990, 996, 5000):
        raw = b'{"a":' * depth + b"1" + b"}" * depth
        assert _outcome(_strict_json, raw) == _outcome(_reference_json, raw)


# ---- poison: what no document may carry -----------------------------------------------

from tests.poison import POISONS, Poison  # noqa: E402


@pytest.mark.parametrize("poison", POISONS, ids=lambda p: p.name)
def test_the_door_refuses_every_poison_with_its_problem(poison: Poison) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from dataex.core.documents.errors import DomainError

    with pytest.raises(DomainError) as caught:
        parse_envelope(poison.build(Ed25519PrivateKey.generate()), 1 << 20)
    assert (caught.value.status, caught.value.slug) == (poison.status, poison.slug)


def test_nesting_just_within_the_limit_parses_and_one_more_level_is_refused() -> None:
    from dataex.core.documents.errors import MalformedJson
    from dataex.core.envelope import MAX_NESTING, _strict_json

    def nested(depth: int) -> bytes:  # `depth` arrays, inside the outer object
        return b'{"a":"\\u0041","b":' + b"[" * depth + b"]" * depth + b"}"

    assert _strict_json(nested(MAX_NESTING - 1))["a"] == "A"
    with pytest.raises(MalformedJson, match="deeper"):
        _strict_json(nested(MAX_NESTING))
