"""Put a runtime into a known state through its real front door (the sequencer)."""

from __future__ import annotations

from typing import Any

import msgspec

from dataex.core.envelope import parse_envelope
from dataex.store.runtime import Runtime
from dataex.store.writer.sequencer import Receipt
from tests.factories import ADMIT, Actor


async def submit(runtime: Runtime, envelope: dict[str, Any], *, genesis: bool = False) -> Receipt:
    parsed = parse_envelope(msgspec.json.encode(envelope), runtime.settings.max_body_bytes)
    command = runtime.sequencer.authenticate(
        parsed, max_skew=runtime.settings.max_clock_skew, allow_genesis=genesis
    )
    return await runtime.sequencer.submit(command)


async def with_operator(runtime: Runtime) -> Actor:
    operator = Actor.new("operator")
    receipt = await submit(runtime, operator.sign(ADMIT, operator.admission(["operator"])),
                           genesis=True)
    operator.participant_id = receipt.events[0]["participant_id"]
    return operator


async def admit(runtime: Runtime, operator: Actor, name: str, roles: list[str]) -> Actor:
    actor = Actor.new(name)
    receipt = await submit(runtime, operator.sign(ADMIT, actor.admission(roles)))
    actor.participant_id = receipt.events[0]["participant_id"]
    return actor
