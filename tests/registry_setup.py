"""Drive the registry through a runtime's real front door (the sequencer), as clients do.

A registering decision is built the way `dataex registry decide` builds it:
preview the certificate documents for an issued_at, sign each with the
registrar's key, and send the signatures in the decision signed by that key.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta
from typing import Any

from dataex.client.sdk import build_registering_decision
from dataex.store.runtime import Runtime
from tests.factories import Actor, now
from tests.platform_setup import submit

REGISTER = "dataex.registry.register.v1"
WITHDRAW = "dataex.registry.withdraw.v1"
ACCEPT = "dataex.registry.accept_transfer.v1"
OBJECT = "dataex.registry.object.v1"
TAKE = "dataex.registry.take.v1"
NOTICE = "dataex.registry.open_notice.v1"
DECIDE_OBJECTION = "dataex.registry.decide_objection.v1"
DECIDE = "dataex.registry.decide.v1"
ALL_RIGHTS = ["holding", "processing_use", "product_operation"]

_roots = itertools.count(1)


class ShiftedClock:
    """The sequencer's clock, ahead of real time by `offset`: lets a notice period pass.

    Documents are still signed at real time, so the offset must stay within the
    allowed clock skew (300 s by default).
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return now() + self.offset

    def advance(self, seconds: int) -> None:
        self.offset += timedelta(seconds=seconds)


def fresh_root() -> str:
    return hashlib.sha256(f"test dataset {next(_roots)}".encode()).hexdigest()


def asset(root: str | None = None, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Urban traffic flow 2025",
        "description": "Per-minute vehicle counts from 1,200 road sensors.",
        "fingerprint": {"root": root or fresh_root(), "total_bytes": 5_000_000, "file_count": 12},
        "product_form": "dataset",
        "industry": "transport",
        "scenario": "route planning",
        "update_frequency": "daily",
        "source_type": "self_collected",
        "personal_information": False,
        "classification": "general",
        **changes,
    }


def initial(root: str | None = None, rights: list[str] | None = None, **changes: Any) -> dict:  # type: ignore[type-arg]
    return {"kind": "initial", "asset": asset(root, **changes), "rights": rights or ALL_RIGHTS}


async def act(runtime: Runtime, actor: Actor, contract: str, body: dict[str, Any]) -> list[Any]:
    """Sign and submit; return the events of the log entry."""
    return (await submit(runtime, actor.sign(contract, body))).events


async def register(runtime: Runtime, applicant: Actor, application: dict[str, Any]) -> str:
    events = await act(runtime, applicant, REGISTER, {"application": application})
    return str(events[0]["registration_id"])


def decision(runtime: Runtime, registrar: Actor, rid: str) -> dict[str, Any]:
    """A signed `register` decision for rid, as a registrar's client builds it.

    Dated by the sequencer's clock (a registrar's clock agrees with the server's
    within the skew); a decision dated before the notice ends is refused.
    """
    issued_at = runtime.sequencer.clock()
    documents = runtime.sequencer.state.registry.preview_decision(
        str(registrar.participant_id), rid, runtime.sequencer.clock(), issued_at
    )
    return build_registering_decision(rid, documents, registrar.key, issued_at)


async def review(runtime: Runtime, registrar: Actor, rid: str) -> None:
    await act(runtime, registrar, TAKE, {"registration_id": rid})
    await act(runtime, registrar, NOTICE, {"registration_id": rid})


async def decide(runtime: Runtime, registrar: Actor, rid: str) -> list[Any]:
    return (await submit(runtime, decision(runtime, registrar, rid))).events


async def through(
    runtime: Runtime, applicant: Actor, registrar: Actor, application: dict[str, Any],
    receiver: Actor | None = None,
) -> str:
    """Register an application all the way; return the certificate number.

    With a notice period, the sequencer's clock must be a ShiftedClock: it is
    moved past the end of the notice before the decision.
    """
    rid = await register(runtime, applicant, application)
    if receiver is not None:
        await act(runtime, receiver, ACCEPT, {"registration_id": rid})
    await review(runtime, registrar, rid)
    period = runtime.settings.notice_period_seconds
    if period:
        clock = runtime.sequencer.clock
        assert isinstance(clock, ShiftedClock), "a notice period needs a ShiftedClock"
        clock.advance(period)
    events = await decide(runtime, registrar, rid)
    return str(events[0]["certificate_number"])
