"""Bodies of the regulator's signed documents: freeze, unfreeze, link and unlink participants.

Only a regulator signs them (halting and resuming a product are market
contracts the operator or a regulator signs, core/market/contracts.py). What
depends on state (the participant exists, is not already frozen, is not the
signer) is checked in core/supervision/freezes.py.

"Linked" participants are a regulator's declaration, not an inference: a
regulator signs a link document naming two participants and the basis (a
shared beneficial owner, a parent company, ...). Surveillance then reports
trading between linked pairs. A link document is logged like any other, so
who declared which link, and when, is part of the audit trail.
"""

from __future__ import annotations

from dataex.core.documents.contract import Body, Contract, LongText
from dataex.core.registry.contracts import ParticipantId

REGULATOR: frozenset[str] = frozenset({"regulator"})

FREEZE = "dataex.regulator.participant.freeze.v1"
UNFREEZE = "dataex.regulator.participant.unfreeze.v1"
LINK = "dataex.regulator.participant.link.v1"
UNLINK = "dataex.regulator.participant.unlink.v1"


class FreezeParticipant(Body, frozen=True):
    participant_id: ParticipantId
    reason: LongText


class UnfreezeParticipant(Body, frozen=True):
    participant_id: ParticipantId
    reason: LongText


class LinkParticipants(Body, frozen=True):
    participant_id: ParticipantId
    linked_participant_id: ParticipantId
    basis: LongText


class UnlinkParticipants(Body, frozen=True):
    participant_id: ParticipantId
    linked_participant_id: ParticipantId
    reason: LongText


SUPERVISION_CONTRACTS: tuple[Contract, ...] = (
    Contract(
        FREEZE,
        FreezeParticipant,
        REGULATOR,
        "A regulator freezes a participant: its documents are refused and its open orders "
        "are cancelled (holds released); funds and units stay.",
    ),
    Contract(
        UNFREEZE, UnfreezeParticipant, REGULATOR, "A regulator lets a frozen participant act again."
    ),
    Contract(
        LINK,
        LinkParticipants,
        REGULATOR,
        "A regulator declares two participants linked (shared owner or control); "
        "surveillance reports trading between them.",
    ),
    Contract(UNLINK, UnlinkParticipants, REGULATOR, "A regulator removes a declared link."),
)
