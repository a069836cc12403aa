"""A regulator's actions on participants: freeze, unfreeze, link, unlink.

Freezing is a status of the participant (``frozen``), kept with the other
participant data: core/envelope.py refuses every document a frozen
participant signs (``participant-frozen``, 403) before it reaches a handler,
while its signed reads still work (core/participants/request_auth.py). The freeze command
itself cancels the participant's resting orders, oldest first, releasing
each hold (``order.cancelled`` with reason ``participant_frozen``), so the
book and the ledger change in the same log entry. Cash and units are kept:
a freeze stops acting, it does not seize, and while it lasts the operator
cannot withdraw the participant's cash either (``frozen-funds``). Others may
still act towards it (a deposit, an issuer's usage report of its tokens).

Links are the regulator's declaration that two participants share an owner
or control (core/supervision/contracts.py). They live here, keyed by the
sorted pair, and a removed link is remembered so that linking the pair again
updates its row instead of adding one (store/writer/projection.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataex.core.documents.errors import (
    Conflict,
    DomainError,
    InvalidState,
    NotFound,
    SchemaViolation,
)
from dataex.core.market import orders
from dataex.core.market.errors import UnknownParticipant
from dataex.core.market.state import Market
from dataex.core.participants.directory import Participant, Participants
from dataex.core.supervision.contracts import (
    FreezeParticipant,
    LinkParticipants,
    UnfreezeParticipant,
    UnlinkParticipants,
)

Event = dict[str, Any]

ACTIVE = "active"
FROZEN = "frozen"
FROZEN_REASON = "participant_frozen"  # the reason on each order a freeze cancels


class CannotFreezeSelf(DomainError):
    status = 409
    slug = "cannot-freeze-self"
    title = "A regulator cannot freeze itself"


class FrozenFunds(DomainError):
    status = 409
    slug = "frozen-funds"
    title = "The participant is frozen: its cash cannot be withdrawn until it is unfrozen"


def refuse_frozen_withdrawal(participants: Participants, participant_id: str) -> None:
    """A freeze keeps the funds on the platform: the operator cannot pay them out."""
    found = participants.by_id.get(participant_id)
    if found is not None and found.status == FROZEN:
        raise FrozenFunds(f"{participant_id} is frozen", participant_id=participant_id)


@dataclass
class Link:
    basis: str
    active: bool = True


@dataclass
class Supervision:
    """Declared links between participants, by sorted pair (freezes live on Participant)."""

    links: dict[tuple[str, str], Link] = field(default_factory=dict)

    def linked_pairs(self) -> list[tuple[str, str]]:
        return sorted(pair for pair, link in self.links.items() if link.active)

    def snapshot(self) -> dict[str, Any]:
        return {
            link_id(pair): {"basis": link.basis, "active": link.active}
            for pair, link in sorted(self.links.items())
        }

    @classmethod
    def restore(cls, rows: list[dict[str, Any]]) -> Supervision:
        """From link rows: participant_a, participant_b, basis, status."""
        return cls(
            {
                (r["participant_a"], r["participant_b"]): Link(r["basis"], r["status"] == ACTIVE)
                for r in rows
            }
        )


def link_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}~{pair[1]}"


def freeze(
    participants: Participants, market: Market, regulator: str, body: FreezeParticipant
) -> list[Event]:
    target = _participant(participants, body.participant_id)
    if target.participant_id == regulator:
        raise CannotFreezeSelf(f"{regulator} cannot freeze itself")
    if target.status == FROZEN:
        raise InvalidState(f"{target.participant_id} is already frozen")
    events: list[Event] = [
        {
            "type": "participant.frozen",
            "participant_id": target.participant_id,
            "by": regulator,
            "reason": body.reason,
        }
    ]
    events += orders.cancel_all_of(market, target.participant_id, FROZEN_REASON)
    target.status = FROZEN
    return events


def unfreeze(participants: Participants, regulator: str, body: UnfreezeParticipant) -> list[Event]:
    target = _participant(participants, body.participant_id)
    if target.status != FROZEN:
        raise InvalidState(f"{target.participant_id} is not frozen")
    target.status = ACTIVE
    return [
        {
            "type": "participant.unfrozen",
            "participant_id": target.participant_id,
            "by": regulator,
            "reason": body.reason,
        }
    ]


def link(
    supervision: Supervision, participants: Participants, regulator: str, body: LinkParticipants
) -> list[Event]:
    pair = _pair(participants, body.participant_id, body.linked_participant_id)
    existing = supervision.links.get(pair)
    if existing is not None and existing.active:
        raise Conflict(f"{pair[0]} and {pair[1]} are already linked")
    supervision.links[pair] = Link(body.basis)
    return [
        {
            "type": "participants.linked",
            "link_id": link_id(pair),
            "participant_a": pair[0],
            "participant_b": pair[1],
            "basis": body.basis,
            "by": regulator,
            "relinked": existing is not None,
        }
    ]


def unlink(
    supervision: Supervision, participants: Participants, regulator: str, body: UnlinkParticipants
) -> list[Event]:
    pair = _pair(participants, body.participant_id, body.linked_participant_id)
    existing = supervision.links.get(pair)
    if existing is None or not existing.active:
        raise NotFound(f"{pair[0]} and {pair[1]} are not linked")
    existing.active = False
    return [
        {
            "type": "participants.unlinked",
            "link_id": link_id(pair),
            "participant_a": pair[0],
            "participant_b": pair[1],
            "reason": body.reason,
            "by": regulator,
        }
    ]


def _participant(participants: Participants, pid: str) -> Participant:
    found = participants.by_id.get(pid)
    if found is None:
        raise UnknownParticipant(f"{pid} is not an admitted participant")
    return found


def _pair(participants: Participants, a: str, b: str) -> tuple[str, str]:
    if a == b:
        raise SchemaViolation("a participant cannot be linked to itself")
    _participant(participants, a)
    _participant(participants, b)
    return (a, b) if a < b else (b, a)
