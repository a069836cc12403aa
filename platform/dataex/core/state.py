"""The platform's whole in-memory state and the one function that changes it.

`apply` is deterministic: the same state, command and `now` always give the
same events and the same next state. The sequencer calls it live with the
batch's time (which is also the log entry's `time`); the offline verifier can
call it again over the exported log with each entry's time. A command that
raises leaves the state untouched (every handler validates before it mutates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dataex.core.documents.timefmt import parse_utc
from dataex.core.envelope import Command
from dataex.core.market.commands import apply_market
from dataex.core.market.contracts import MARKET_CONTRACTS, WITHDRAW
from dataex.core.market.state import Market
from dataex.core.participants.directory import Event, Participants
from dataex.core.registry.certificate_signing import RegistrarKey
from dataex.core.registry.contracts import REGISTRY_CONTRACTS
from dataex.core.registry.lifecycle import Registry, apply_registry
from dataex.core.supervision.contracts import FREEZE, LINK, UNFREEZE, UNLINK
from dataex.core.supervision.freezes import Supervision, refuse_frozen_withdrawal
from dataex.core.supervision.freezes import freeze as freeze_participant
from dataex.core.supervision.freezes import link as link_participants
from dataex.core.supervision.freezes import unfreeze as unfreeze_participant
from dataex.core.supervision.freezes import unlink as unlink_participants


@dataclass
class PlatformState:
    participants: Participants = field(default_factory=Participants)
    registry: Registry = field(default_factory=Registry)
    # The market's default fees are settings too; the store sets them on state.market.
    market: Market = field(default_factory=Market)
    # Declared links between participants (a freeze is a participant's status).
    supervision: Supervision = field(default_factory=Supervision)
    # A setting (DATAEX_NOTICE_PERIOD_SECONDS), not history: the store sets it at start.
    notice_period: timedelta = timedelta(days=7)


Handler = Callable[[PlatformState, Command, datetime], list[Event]]


def _admit(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    return state.participants.admit(command.parsed.body)


def _rotate(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    return state.participants.rotate(command.parsed.signer, command.parsed.body)


def _revoke(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    return state.participants.revoke(command.parsed.body)


def _registry(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    assert command.participant_id is not None  # only genesis has none, and it is an admission
    key = state.participants.keys[command.parsed.signer]
    return apply_registry(
        state.registry,
        command.contract_name,
        command.participant_id,
        command.parsed.body,
        now=now,
        notice_period=state.notice_period,
        admitted=state.participants.by_id,
        issued_at=parse_utc(command.parsed.typed.document.issued_at),
        signer_key=RegistrarKey(key.key_id, key.public_key),
    )


def _market(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    assert command.participant_id is not None
    participant = state.participants.by_id[command.participant_id]
    if command.contract_name == WITHDRAW:
        refuse_frozen_withdrawal(state.participants, command.parsed.body.participant_id)
    return apply_market(
        state.market,
        command.contract_name,
        command.participant_id,
        participant.roles,
        command.parsed.body,
        now,
        state.registry,
        admitted=state.participants.by_id,
    )


def _freeze(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    assert command.participant_id is not None
    return freeze_participant(
        state.participants, state.market, command.participant_id, command.parsed.body
    )


def _unfreeze(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    assert command.participant_id is not None
    return unfreeze_participant(state.participants, command.participant_id, command.parsed.body)


def _link(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    assert command.participant_id is not None
    return link_participants(
        state.supervision, state.participants, command.participant_id, command.parsed.body
    )


def _unlink(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    assert command.participant_id is not None
    return unlink_participants(
        state.supervision, state.participants, command.participant_id, command.parsed.body
    )


HANDLERS: dict[str, Handler] = {
    "dataex.participant.admit.v1": _admit,
    "dataex.key.rotate.v1": _rotate,
    "dataex.key.revoke.v1": _revoke,
    **{contract.name: _registry for contract in REGISTRY_CONTRACTS},
    **{contract.name: _market for contract in MARKET_CONTRACTS},
    FREEZE: _freeze,
    UNFREEZE: _unfreeze,
    LINK: _link,
    UNLINK: _unlink,
}


def apply(state: PlatformState, command: Command, now: datetime) -> list[Event]:
    """Apply one authenticated command at `now`; raise a DomainError to refuse it."""
    return HANDLERS[command.contract_name](state, command, now)


def snapshot(state: PlatformState) -> dict[str, Any]:
    """A plain, comparable picture of the state (for restart and replay checks)."""
    p = state.participants
    return {
        "participants": {
            pid: {
                "display_name": x.display_name,
                "legal_id": x.legal_id,
                "roles": sorted(x.roles),
                "active_key_id": x.active_key_id,
                "status": x.status,
            }
            for pid, x in sorted(p.by_id.items())
        },
        "keys": {
            kid: {"participant_id": k.participant_id, "status": k.status}
            for kid, k in sorted(p.keys.items())
        },
        "registry": state.registry.snapshot(),
        "market": state.market.snapshot(),
        "links": state.supervision.snapshot(),
    }
