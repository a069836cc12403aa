"""Who may do what in the registry (role × action), cell by cell, through the sequencer.

Every cell runs a real setup in which the action is valid for its signer, so an
allowed cell must succeed and a denied cell must fail only for the role, with
`role-not-allowed` and nothing changed. The expected table is the one written
out by hand in tests/core/registry/test_lifecycle.py (ROLE_TABLE).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dataex.config.settings import Settings
from dataex.core.documents.errors import RoleNotAllowed
from dataex.core.state import snapshot
from dataex.store.runtime import Runtime, open_runtime
from tests.conftest import cloned_database
from tests.core.registry.test_lifecycle import COLUMNS, ROLE_TABLE
from tests.factories import Actor
from tests.platform_setup import admit, submit, with_operator
from tests.registry_setup import (
    ACCEPT,
    DECIDE,
    DECIDE_OBJECTION,
    NOTICE,
    OBJECT,
    REGISTER,
    TAKE,
    WITHDRAW,
    ShiftedClock,
    act,
    decision,
    initial,
    register,
    review,
    through,
)

pytestmark = pytest.mark.db

# Objections need a running notice; the shifted clock skips it to decide. Ten cells skip
# it (five decide, five accept set-ups): 100 s, well within the 300 s clock skew.
NOTICE_SECONDS = 10


@dataclass
class Desk:
    runtime: Runtime
    by_role: dict[str, Actor]  # one participant holding only that role
    owner: Actor  # a trader who applies, so that no cell's signer is a party
    objector: Actor
    registrar: Actor  # does the set-up reviews


@pytest.fixture(scope="module")
async def desk(
    server_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Desk]:
    """One database for the whole table: each cell works on registrations of its own."""
    async with cloned_database(server_url, template_database) as url:
        data_dir: Path = tmp_path_factory.mktemp("roles") / "data"
        settings = Settings(
            database_url=url, data_dir=data_dir, notice_period_seconds=NOTICE_SECONDS
        )
        runtime = await open_runtime(settings)
        runtime.sequencer.clock = ShiftedClock()
        try:
            operator = await with_operator(runtime)
            by_role = {role: await admit(runtime, operator, role, [role]) for role in COLUMNS}
            owner = await admit(runtime, operator, "owner", ["trader"])
            objector = await admit(runtime, operator, "objector", ["trader"])
            registrar = await admit(runtime, operator, "helper registrar", ["registrar"])
            yield Desk(runtime, by_role, owner, objector, registrar)
        finally:
            await runtime.close()


Setup = Callable[[Desk, Actor], Awaitable[tuple[dict[str, Any], str]]]


async def _register(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    return signer.sign(REGISTER, {"application": initial()}), "registration.submitted"


async def _withdraw(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    rid = await register(d.runtime, signer, initial())
    return signer.sign(WITHDRAW, {"registration_id": rid}), "registration.withdrawn"


async def _accept(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    number = await through(d.runtime, d.owner, d.registrar, initial())
    transfer = {"kind": "transfer", "certificate_number": number,
                "counterparty": signer.participant_id, "rights": ["holding"]}
    rid = await register(d.runtime, d.owner, transfer)
    return signer.sign(ACCEPT, {"registration_id": rid}), "registration.transfer_accepted"


async def _object(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    rid = await register(d.runtime, d.owner, initial())
    await review(d.runtime, d.registrar, rid)
    body = {"registration_id": rid, "grounds": "We hold this data."}
    return signer.sign(OBJECT, body), "objection.filed"


async def _take(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    rid = await register(d.runtime, d.owner, initial())
    return signer.sign(TAKE, {"registration_id": rid}), "registration.taken"


async def _open_notice(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    rid = await register(d.runtime, d.owner, initial())
    await act(d.runtime, d.registrar, TAKE, {"registration_id": rid})
    return signer.sign(NOTICE, {"registration_id": rid}), "registration.notice_opened"


async def _decide_objection(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    rid = await register(d.runtime, d.owner, initial())
    await review(d.runtime, d.registrar, rid)
    events = await act(d.runtime, d.objector, OBJECT, {"registration_id": rid, "grounds": "No."})
    body = {"objection_id": events[0]["objection_id"], "outcome": "dismiss", "reasons": "None."}
    return signer.sign(DECIDE_OBJECTION, body), "objection.dismissed"


async def _decide(d: Desk, signer: Actor) -> tuple[dict[str, Any], str]:
    rid = await register(d.runtime, d.owner, initial())
    await review(d.runtime, d.registrar, rid)
    clock = d.runtime.sequencer.clock
    assert isinstance(clock, ShiftedClock)
    clock.advance(NOTICE_SECONDS)
    if signer is d.by_role["registrar"]:
        return decision(d.runtime, signer, rid), "registration.registered"
    # Not a registrar, so no preview: the decision is refused before its signatures matter.
    return signer.sign(DECIDE, {"registration_id": rid, "outcome": "register"}), ""


SETUPS: dict[str, Setup] = {
    REGISTER: _register,
    WITHDRAW: _withdraw,
    ACCEPT: _accept,
    OBJECT: _object,
    TAKE: _take,
    NOTICE: _open_notice,
    DECIDE_OBJECTION: _decide_objection,
    DECIDE: _decide,
}


def test_every_registry_contract_has_a_setup() -> None:
    assert set(SETUPS) == set(ROLE_TABLE)


@pytest.mark.parametrize("role", COLUMNS)
@pytest.mark.parametrize("contract", list(ROLE_TABLE))
async def test_role_table_cell_through_the_sequencer(desk: Desk, contract: str, role: str) -> None:
    signer = desk.by_role[role]
    envelope, expected_event = await SETUPS[contract](desk, signer)
    allowed = ROLE_TABLE[contract][COLUMNS.index(role)]
    if allowed:
        receipt = await submit(desk.runtime, envelope)
        assert receipt.kind == contract
        assert receipt.events[0]["type"] == expected_event
        return
    head, state = desk.runtime.sequencer.head, copy.deepcopy(snapshot(desk.runtime.sequencer.state))
    with pytest.raises(RoleNotAllowed):
        await submit(desk.runtime, envelope)
    assert desk.runtime.sequencer.head == head
    assert snapshot(desk.runtime.sequencer.state) == state
