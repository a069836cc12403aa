"""Participants and keys through core.state.apply (no database)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from dataex.core.documents import errors
from dataex.core.documents.encoding import b64url_encode
from dataex.core.envelope import authenticate, parse_envelope
from dataex.core.state import PlatformState, apply, snapshot
from tests.factories import ADMIT, REVOKE, ROTATE, Actor, encode, now


def run(state: PlatformState, envelope: dict, genesis: bool = False) -> list[dict]:  # type: ignore[type-arg]
    parsed = parse_envelope(encode(envelope), 65536)
    command = authenticate(
        parsed,
        state.participants,
        now=now(),
        max_skew=timedelta(seconds=300),
        allow_genesis=genesis,
    )
    return apply(state, command, now())


# The Ed25519 identity point: every message "verifies" under it with R=identity, S=0.
IDENTITY_POINT = b64url_encode(b"\x01" + b"\x00" * 31)


@pytest.fixture
def world() -> tuple[PlatformState, Actor]:
    state = PlatformState()
    operator = Actor.new("op")
    run(state, operator.sign(ADMIT, operator.admission(["operator"])), genesis=True)
    return state, operator


def test_admission_assigns_sequential_ids_and_records_roles(world) -> None:  # type: ignore[no-untyped-def]
    state, operator = world
    alice = Actor.new("alice")
    events = run(state, operator.sign(ADMIT, alice.admission(["trader", "issuer"])))
    assert events[0]["type"] == "participant.admitted"
    assert events[0]["participant_id"] == "P000002"
    assert events[0]["roles"] == ["issuer", "trader"]
    assert state.participants.keys[alice.key_id].participant_id == "P000002"


def test_rotation_moves_signing_power_to_the_new_key(world) -> None:  # type: ignore[no-untyped-def]
    state, operator = world
    alice, alice2 = Actor.new("alice"), Actor.new("alice2")
    run(state, operator.sign(ADMIT, alice.admission(["trader"])))
    events = run(state, alice.sign(ROTATE, {"new_public_key": alice2.public_key}))
    assert events[0]["new_key_id"] == alice2.key_id
    with pytest.raises(errors.RevokedKey):
        run(state, alice.sign(ROTATE, {"new_public_key": Actor.new("z").public_key}))
    run(state, alice2.sign(ROTATE, {"new_public_key": Actor.new("z").public_key}))


def test_revocation_stops_a_key(world) -> None:  # type: ignore[no-untyped-def]
    state, operator = world
    alice = Actor.new("alice")
    run(state, operator.sign(ADMIT, alice.admission(["trader"])))
    run(state, operator.sign(REVOKE, {"key_id": alice.key_id, "reason": "lost laptop"}))
    with pytest.raises(errors.RevokedKey):
        run(state, alice.sign(ROTATE, {"new_public_key": Actor.new("z").public_key}))
    with pytest.raises(errors.InvalidState):
        run(state, operator.sign(REVOKE, {"key_id": alice.key_id, "reason": "again"}))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda op, alice: op.sign(
            ADMIT, {**Actor.new("b").admission(["trader"]), "legal_id": alice["legal_id"]}
        ),
        lambda op, alice: op.sign(ADMIT, {**alice, "legal_id": "other"}),
        lambda op, alice: op.sign(ADMIT, Actor.new("b").admission(["trader", "trader"])),
        lambda op, alice: op.sign(
            REVOKE, {"key_id": "ed25519:AAAAAAAAAAAAAAAAAAAAAA", "reason": "x"}
        ),
        lambda op, alice: op.sign(ADMIT, {**Actor.new("b").admission(["trader"]),
                                          "public_key": IDENTITY_POINT}),
    ],
    ids=["duplicate legal id", "duplicate key", "repeated role", "unknown key", "weak key"],
)
def test_refused_commands_change_nothing(world, mutate) -> None:  # type: ignore[no-untyped-def]
    state, operator = world
    alice_body = Actor.new("alice").admission(["trader"])
    run(state, operator.sign(ADMIT, alice_body))
    before = copy.deepcopy(snapshot(state))
    with pytest.raises(errors.DomainError):
        run(state, mutate(operator, alice_body))
    assert snapshot(state) == before
