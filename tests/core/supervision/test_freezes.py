"""Freeze, unfreeze, link and unlink in core alone: the state, its events and its refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from dataex.core.documents.errors import DomainError
from dataex.core.envelope import authenticate_signer, parse_envelope
from dataex.core.state import PlatformState, apply, snapshot
from dataex.core.supervision.contracts import FREEZE, LINK, UNFREEZE, UNLINK
from dataex.store.supervision.surveillance import Thresholds, flag, ratio
from tests.factories import ADMIT, Actor

SUPERVISION_SAMPLE_BODIES: dict[str, dict[str, Any]] = {
    FREEZE: {"participant_id": "P000002", "reason": "Suspected spoofing."},
    UNFREEZE: {"participant_id": "P000002", "reason": "Inquiry closed."},
    LINK: {"participant_id": "P000002", "linked_participant_id": "P000003",
           "basis": "Same beneficial owner (filing 2026-118)."},
    UNLINK: {"participant_id": "P000002", "linked_participant_id": "P000003",
             "reason": "Ownership ended."},
}
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _run(state: PlatformState, actor: Actor, contract: str, body: dict[str, Any],
         genesis: bool = False) -> list[dict[str, Any]]:
    parsed = parse_envelope(msgspec.json.encode(actor.sign(contract, body)), 65536)
    return apply(state, authenticate_signer(parsed, state.participants, allow_genesis=genesis),
                 NOW)


@pytest.fixture
def people() -> tuple[PlatformState, Actor, Actor, Actor]:
    state = PlatformState()
    op, reg, alice = Actor.new("op"), Actor.new("reg"), Actor.new("alice")
    op.participant_id = _run(state, op, ADMIT, op.admission(["operator"]),
                             genesis=True)[0]["participant_id"]
    for actor, roles in ((alice, ["trader"]), (reg, ["regulator"])):
        actor.participant_id = _run(state, op, ADMIT, actor.admission(roles))[0]["participant_id"]
    return state, op, reg, alice


def test_a_frozen_participant_signs_nothing_until_unfrozen(people: Any) -> None:
    state, _, reg, alice = people
    body = {"participant_id": alice.participant_id, "reason": "Spoofing."}
    events = _run(state, reg, FREEZE, body)
    assert events == [{"type": "participant.frozen", "participant_id": alice.participant_id,
                       "by": reg.participant_id, "reason": "Spoofing."}]
    assert snapshot(state)["participants"][alice.participant_id]["status"] == "frozen"
    with pytest.raises(DomainError) as refused:
        _run(state, alice, "dataex.key.rotate.v1", {"new_public_key": Actor.new("x").public_key})
    assert (refused.value.status, refused.value.slug) == (403, "participant-frozen")
    _run(state, reg, UNFREEZE, body)
    assert snapshot(state)["participants"][alice.participant_id]["status"] == "active"


def test_links_are_pairs_declared_once_and_removable(people: Any) -> None:
    state, op, reg, alice = people
    a, b = sorted((alice.participant_id, op.participant_id))
    link = {"participant_id": b, "linked_participant_id": a, "basis": "Parent company."}
    (event,) = _run(state, reg, LINK, link)
    assert (event["link_id"], event["relinked"]) == (f"{a}~{b}", False)
    for body, slug in ((link, "conflict"),
                       ({**link, "linked_participant_id": b}, "schema-violation"),
                       ({**link, "participant_id": "P000099"}, "unknown-participant")):
        before = snapshot(state)
        with pytest.raises(DomainError) as refused:
            _run(state, reg, LINK, body)
        assert refused.value.slug == slug
        assert snapshot(state) == before
    _run(state, reg, UNLINK, {"participant_id": a, "linked_participant_id": b, "reason": "Sold."})
    assert state.supervision.linked_pairs() == []
    (again,) = _run(state, reg, LINK, link)
    assert again["relinked"] is True and state.supervision.linked_pairs() == [(a, b)]


def test_flags_fire_at_their_thresholds_and_not_below() -> None:
    t = Thresholds(cancel_to_fill_ratio=10, min_cancels=20, self_trades_prevented=3,
                   linked_trades=2)
    report = {
        "self_trades_prevented": [
            {"participant_id": "P1", "symbol": "A", "orders_cancelled": 2, "entries": 2},
            {"participant_id": "P1", "symbol": "B", "orders_cancelled": 1, "entries": 1},
            {"participant_id": "P2", "symbol": "A", "orders_cancelled": 2, "entries": 1},
        ],
        "linked_trading": [{"link_id": "P1~P2", "trades": 1}, {"link_id": "P3~P4", "trades": 2}],
        "cancel_to_fill": [
            {"participant_id": "P1", "cancels": 20, "fills": 2, "ratio": ratio(20, 2)},  # =10
            {"participant_id": "P2", "cancels": 21, "fills": 2, "ratio": ratio(21, 2)},
            {"participant_id": "P3", "cancels": 19, "fills": 0, "ratio": None},
            {"participant_id": "P4", "cancels": 20, "fills": 0, "ratio": None},
        ],
    }
    assert [(f["kind"], f["subject"]) for f in flag(report, t)] == [
        ("self_trades_prevented", "P1"),
        ("linked_trading", "P3~P4"),
        ("cancel_to_fill", "P2"),
        ("cancel_to_fill", "P4"),
    ]
