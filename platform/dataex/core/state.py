"""The platform's whole in-memory state and the one function that changes it.

`apply` is deterministic: the same state and command always give the same
events and the same next state. The sequencer calls it live; the offline
verifier calls it again over the exported log. A command that raises leaves
the state untouched (every handler validates before it mutates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dataex.core.envelope import Command
from dataex.core.participants import Event, Participants


@dataclass
class PlatformState:
    participants: Participants = field(default_factory=Participants)


Handler = Callable[[PlatformState, Command], list[Event]]


def _admit(state: PlatformState, command: Command) -> list[Event]:
    return state.participants.admit(command.parsed.body)


def _rotate(state: PlatformState, command: Command) -> list[Event]:
    return state.participants.rotate(command.parsed.signer, command.parsed.body)


def _revoke(state: PlatformState, command: Command) -> list[Event]:
    return state.participants.revoke(command.parsed.body)


HANDLERS: dict[str, Handler] = {
    "dataex.participant.admit.v1": _admit,
    "dataex.key.rotate.v1": _rotate,
    "dataex.key.revoke.v1": _revoke,
}


def apply(state: PlatformState, command: Command) -> list[Event]:
    """Apply one authenticated command; raise a DomainError to refuse it."""
    return HANDLERS[command.contract_name](state, command)


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
    }
