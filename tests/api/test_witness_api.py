"""POST /v1/audit/cosignatures on the real app and database, and a witness round against it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from dataex.bootstrap.genesis import ensure_keys
from dataex.core.log.checkpoint import cosign as cosign_line
from dataex.core.log.checkpoint import format_checkpoint, parse_note, sign_note
from dataex.store.runtime import Runtime
from dataex.store.tables import cosignatures
from dataex.witness.follow import Round, follow_once
from tests.factories import REVOKE, ROTATE, Actor
from tests.platform_setup import admit, submit, with_operator

PROBLEM = "application/problem+json"
URL = "/v1/audit/cosignatures"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS = "regulator.test/witness"


async def _checkpoint(runtime: Runtime) -> str:
    """Have the log's checkpointer sign the log as it stands; its note as stored."""
    ensure_keys(runtime.settings)
    stored = await runtime.checkpointer.checkpoint()
    assert stored is not None and stored.size == runtime.sequencer.head.seq
    return stored.note


def _cosigned(note: str, key: Ed25519PrivateKey, name: str = WITNESS,
              timestamp: int | None = None) -> tuple[str, str]:
    text = parse_note(note)[0]
    line = cosign_line(text, name, key, timestamp or int(datetime.now(UTC).timestamp()))
    return f"{text}\n{line}", line


async def _stored(runtime: Runtime) -> list[Any]:
    async with runtime.engine.connect() as conn:
        return list(await conn.execute(select(cosignatures).order_by(cosignatures.c.size)))


async def _setup(runtime: Runtime) -> tuple[Actor, Actor, Actor]:
    operator = await with_operator(runtime)
    regulator = await admit(runtime, operator, "regulator", ["regulator"])
    trader = await admit(runtime, operator, "trader", ["trader"])
    return operator, regulator, trader


async def test_a_regulators_cosignature_is_stored_once(api: httpx.AsyncClient,
                                                       runtime: Runtime) -> None:
    _, regulator, _ = await _setup(runtime)
    note = await _checkpoint(runtime)
    body, line = _cosigned(note, regulator.key, timestamp=1_790_000_000)
    assert (await api.get("/v1/audit/checkpoint")).text == note  # no cosignature yet
    first = await api.post(URL, content=body, headers={"content-type": "text/plain"})
    assert first.status_code == 201, first.text
    (answer,) = first.json()["cosignatures"]
    assert answer["witness_participant_id"] == regulator.participant_id
    assert (answer["key_name"], answer["stored"], answer["timestamp"]) == (
        WITNESS, "new", 1_790_000_000)
    (row,) = await _stored(runtime)
    assert (row.size, row.signature_line + "\n", row.witness_participant_id) == (
        3, line, regulator.participant_id)

    # The same post again, or a fresh cosignature of the same checkpoint: nothing new.
    assert (await api.post(URL, content=body)).status_code == 200
    again, _ = _cosigned(note, regulator.key)
    repeat = await api.post(URL, content=note + again.split("\n\n", 1)[1])
    assert repeat.status_code == 200 and repeat.json()["cosignatures"][0]["stored"] == "already"
    assert [r.signature_line + "\n" for r in await _stored(runtime)] == [line]
    # The log serves it with the checkpoint, latest and by size.
    assert (await api.get("/v1/audit/checkpoint")).text == note + line
    assert (await api.get("/v1/audit/checkpoints/3")).text == note + line


async def _refused(api: httpx.AsyncClient, body: str, status: int, slug: str) -> None:
    response = await api.post(URL, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == f"/problems/{slug}"


async def test_cosignatures_that_are_not_a_regulators_are_refused_and_nothing_stored(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, regulator, trader = await _setup(runtime)
    note = await _checkpoint(runtime)
    await _refused(api, _cosigned(note, trader.key)[0], 403, "unknown-witness-key")
    await _refused(api, _cosigned(note, Ed25519PrivateKey.generate())[0], 403,
                   "unknown-witness-key")
    text = parse_note(note)[0]
    good = _cosigned(note, regulator.key)[1]
    sig = parse_note(f"{text}\n{good}")[1][0]
    forged = replace(sig, signature=sig.signature[:-1] + bytes([sig.signature[-1] ^ 1])).line
    await _refused(api, f"{text}\n{forged}", 422, "bad-cosignature")
    await _refused(api, note, 422, "bad-cosignature")  # the log's own signature only
    future = int(datetime.now(UTC).timestamp()) + 3600
    await _refused(api, _cosigned(note, regulator.key, timestamp=future)[0], 422,
                   "bad-cosignature")
    other = sign_note(format_checkpoint(runtime.settings.log_origin, 3, bytes(32)),
                      runtime.settings.log_origin, LOG_KEY)
    await _refused(api, _cosigned(other, regulator.key)[0], 422, "checkpoint-mismatch")
    elsewhere = sign_note(format_checkpoint(runtime.settings.log_origin, 99, bytes(32)),
                          runtime.settings.log_origin, LOG_KEY)
    await _refused(api, _cosigned(elsewhere, regulator.key)[0], 404, "not-found")
    await _refused(api, "not a note", 400, "malformed-note")
    # One bad line spoils the whole post: the regulator's good line is not kept either.
    both = f"{text}\n{good}{_cosigned(note, trader.key)[1]}"
    await _refused(api, both, 403, "unknown-witness-key")
    assert await _stored(runtime) == []


async def test_a_regulators_rotated_out_or_revoked_key_no_longer_cosigns(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    operator, regulator, _ = await _setup(runtime)
    old_key = regulator.key
    new = Actor.new("regulator-next")
    await submit(runtime, regulator.sign(ROTATE, {"new_public_key": new.public_key}))
    note = await _checkpoint(runtime)
    await _refused(api, _cosigned(note, old_key)[0], 403, "unknown-witness-key")
    assert (await api.post(URL, content=_cosigned(note, new.key)[0])).status_code == 201
    await submit(runtime, operator.sign(REVOKE, {"key_id": new.key_id, "reason": "lost"}))
    later = await _checkpoint(runtime)
    await _refused(api, _cosigned(later, new.key)[0], 403, "unknown-witness-key")


async def test_the_problem_pages_name_the_witness_problems(api: httpx.AsyncClient) -> None:
    for slug in ("unknown-witness-key", "bad-cosignature", "checkpoint-mismatch"):
        assert (await api.get(f"/problems/{slug}")).status_code == 200


async def test_witness_rounds_against_the_real_app_cosign_each_new_checkpoint(
    api: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    """`follow` rounds (the CLI's logic) against the real endpoints, in process."""
    operator, regulator, _ = await _setup(runtime)
    await _checkpoint(runtime)
    state = tmp_path / "witness.json"

    async def round_() -> Round | None:
        return await follow_once(api, state_path=state, key=regulator.key, name=WITNESS,
                                 now=lambda: int(datetime.now(UTC).timestamp()),
                                 echo=lambda _: None)

    assert await round_() == Round(3, True, True)
    await admit(runtime, operator, "second", ["trader"])
    await _checkpoint(runtime)
    assert await round_() == Round(4, True, True)
    served = (await api.get("/v1/audit/checkpoint")).text
    assert [s.name for s in parse_note(served)[1]] == [runtime.settings.log_origin, WITNESS]
    assert [(r.size, r.witness_participant_id) for r in await _stored(runtime)] == [
        (3, regulator.participant_id), (4, regulator.participant_id)]
