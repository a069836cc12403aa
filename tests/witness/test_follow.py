"""The witness's disk state, `follow` rounds and the add-checkpoint service.

`follow` is driven against a small real Litestar app that plays the log's
audit endpoints (key listing, checkpoint, consistency proof, cosignatures)
from core/log/merkle.py and core/log/checkpoint.py, so a test can make it fork, roll
back or change keys at will. The same rounds against the real server are in
tests/api/test_witness_api.py and tests/e2e/test_witness_e2e.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar, Request, Response, get, post
from litestar.params import QueryParameter
from litestar.testing import TestClient

from dataex.api.problems import EXCEPTION_HANDLERS
from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.checkpoint import (
    SIG_TYPE_ED25519,
    NoteVerifier,
    format_checkpoint,
    parse_note,
    sign_note,
    verify_cosignature,
)
from dataex.core.log.merkle import EMPTY_ROOT, consistency_proof, leaf_hash, root
from dataex.core.log.witness import (
    AddCheckpoint,
    WitnessKey,
    WitnessState,
    accept_cosignatures,
    format_add_checkpoint,
)
from dataex.witness.follow import Round, WitnessRefused, follow_once
from dataex.witness.serve import create_witness_app
from dataex.witness.state import StateFileError, StoredState, load_state, save_state, state_lock

ORIGIN = "fake.test/log"
WITNESS = "regulator.test/witness"
T = 1_790_000_000


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _vkey(key: Ed25519PrivateKey) -> NoteVerifier:
    return NoteVerifier(ORIGIN, SIG_TYPE_ED25519, public_key_bytes(key))


class FakeLog:
    """The log's side, computed from a list of leaves; tests rewrite it to misbehave."""

    def __init__(self) -> None:
        self.leaves = [leaf_hash(f"entry {i}".encode()) for i in range(5)]
        self.size = 5
        self.signers = [_key(1)]
        self.listed = [_key(1)]
        self.posted: list[str] = []
        self.witness = _key(9)

    def grow(self, n: int) -> None:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"entry {i}".encode()) for i in range(start, start + n)]
        self.size = len(self.leaves)

    def fork(self, at: int, size: int) -> None:
        """Rewrite history from leaf `at` and serve a tree of `size`."""
        self.leaves = self.leaves[:at] + [leaf_hash(f"forged {i}".encode())
                                          for i in range(at, size)]
        self.size = size

    def note(self) -> str:
        text = format_checkpoint(ORIGIN, self.size, root(self.leaves[:self.size]))
        lines = "".join(sign_note(text, ORIGIN, k).split("\n\n", 1)[1] for k in self.signers)
        return f"{text}\n{lines}"

    def served(self) -> str:
        """The note with the cosignatures the log took for this tree, as a log serves it."""
        text = parse_note(self.note())[0]
        mine = [parse_note(p)[1] for p in self.posted if parse_note(p)[0] == text]
        return self.note() + "".join(s.line for sigs in mine[:1] for s in sigs)

    def app(self) -> Litestar:
        log = self

        @get("/.well-known/dataex/log-keys")
        async def keys() -> dict[str, Any]:
            return {"origin": ORIGIN, "keys": [{"vkey": _vkey(k).vkey, "status": "active"}
                                               for k in log.listed]}

        @get("/v1/audit/checkpoint", media_type="text/plain")
        async def checkpoint() -> str:
            return log.served()

        @get("/v1/audit/proof/consistency")
        async def consistency(old: Annotated[int, QueryParameter()],
                              new: Annotated[int, QueryParameter()]) -> dict[str, Any]:
            proof = consistency_proof(log.leaves, old, new)
            return {"old_size": old, "new_size": new, "proof": [h.hex() for h in proof]}

        @post("/v1/audit/cosignatures")
        async def cosignatures(request: Request[Any, Any, Any]) -> Response[Any]:
            body = (await request.body()).decode()
            accept_cosignatures(log.note(), body,
                                [WitnessKey("P000002", public_key_bytes(log.witness))],
                                now=T, max_future_seconds=300)
            log.posted.append(body)
            return Response({"stored": 1}, status_code=201)

        return Litestar([keys, checkpoint, consistency, cosignatures],
                        exception_handlers=EXCEPTION_HANDLERS)


@pytest.fixture
def log() -> FakeLog:
    return FakeLog()


@pytest.fixture
async def http(log: FakeLog) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=log.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://log.test") as client:
        yield client


async def run(http: httpx.AsyncClient, log: FakeLog, state: Path,
              lines: list[str] | None = None) -> Round | None:
    return await follow_once(http, state_path=state, key=log.witness, name=WITNESS,
                             now=lambda: T, echo=(lines if lines is not None else []).append)


# --- the state file ----------------------------------------------------------------------


def _stored(size: int = 3) -> StoredState:
    leaves = [leaf_hash(bytes([i])) for i in range(size)]
    return StoredState(WitnessState(ORIGIN, (_vkey(_key(1)),), size, root(leaves)), "note", T)


def test_the_state_file_round_trips_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "w" / "state.json"
    assert load_state(path) is None
    save_state(path, _stored(3))
    save_state(path, _stored(4))
    assert load_state(path) == _stored(4)
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]
    assert json.loads(path.read_text())["format"] == "dataex.witness-state.v1"


def test_a_failed_replace_keeps_the_old_state_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    save_state(path, _stored(3))
    before = path.read_bytes()

    def crash(*_: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        save_state(path, _stored(4))
    assert path.read_bytes() == before and load_state(path) == _stored(3)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize("text", ["{", "[]", '{"format": "other"}',
                                  '{"format": "dataex.witness-state.v1", "origin": "x"}'])
def test_a_damaged_state_file_is_an_error_not_a_fresh_start(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(StateFileError):
        load_state(path)


def test_two_witnesses_cannot_share_a_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with state_lock(path), pytest.raises(StateFileError, match="another witness"), \
            state_lock(path):
        pass
    with state_lock(path):  # released
        pass


# --- follow ------------------------------------------------------------------------------


async def test_first_round_pins_the_keys_cosigns_and_delivers(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    lines: list[str] = []
    done = await run(http, log, state, lines)
    assert done == Round(5, True, True)
    assert lines[0].startswith("log keys: pinned 1 key(s) of fake.test/log on first use")
    assert lines[-1] == f"cosignature: delivered for size 5 ({WITNESS})"
    stored = load_state(state)
    assert stored is not None
    assert (stored.state.size, stored.state.root) == (5, root(log.leaves))
    assert stored.state.log_keys == (_vkey(_key(1)),)
    # The stored checkpoint carries the log's signature and the witness's cosignature.
    text, sigs = parse_note(stored.checkpoint or "")
    assert [s.name for s in sigs] == [ORIGIN, WITNESS]
    (posted,) = log.posted
    assert posted == f"{text}\n{sigs[1].line}"
    assert verify_cosignature(text, sigs[1].line, WITNESS, public_key_bytes(log.witness)) == T


async def test_later_rounds_check_a_consistency_proof_from_the_witnessed_size(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    await run(http, log, state)
    log.grow(12)
    lines: list[str] = []
    assert await run(http, log, state, lines) == Round(17, True, True)
    assert "consistency: proof of 6 hashes from 5 to 17" in lines
    assert "verified: 17 extends the witnessed 5" in lines
    assert len(log.posted) == 2


async def test_a_crash_between_verify_and_persist_keeps_the_old_state_and_a_retry_succeeds(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state.json"
    await run(http, log, state)
    before = state.read_bytes()
    log.grow(4)

    def crash(*_: object) -> None:
        raise OSError("killed while persisting")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="killed"):
            await run(http, log, state)
    assert state.read_bytes() == before  # the old state stands, valid
    assert len(log.posted) == 1  # and no cosignature of size 9 was released
    assert await run(http, log, state) == Round(9, True, True)
    stored = load_state(state)
    assert stored is not None and stored.state.size == 9
    assert len(log.posted) == 2


async def test_a_round_with_nothing_new_sends_nothing(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    await run(http, log, state)
    before = state.read_bytes()
    lines: list[str] = []
    assert await run(http, log, state, lines) == Round(5, cosigned=False, delivered=True)
    assert lines[-1] == "cosignature: the log already serves ours for size 5"
    assert state.read_bytes() == before and len(log.posted) == 1


async def test_a_crash_after_persist_before_delivery_is_redone_without_a_proof(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    await run(http, log, state)
    log.posted.clear()  # as if the POST never arrived
    assert await run(http, log, state) == Round(5, True, True)
    assert len(log.posted) == 1


@pytest.mark.parametrize(("misbehave", "reason"), [
    (lambda log: log.fork(at=2, size=9), "not consistent with the witnessed tree"),
    (lambda log: log.fork(at=0, size=5), "not consistent with the witnessed tree"),
    (lambda log: setattr(log, "size", 3), "went backwards"),
    (lambda log: (setattr(log, "signers", [_key(2)]), setattr(log, "listed", [_key(2)])),
     "no signature by a pinned log key"),
    (lambda log: setattr(log, "signers", [_key(2)]), "no signature by a pinned log key"),
])
async def test_a_misbehaving_log_is_refused_and_nothing_is_saved_or_sent(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path, misbehave: Any, reason: str
) -> None:
    state = tmp_path / "state.json"
    await run(http, log, state)
    before = state.read_bytes()
    misbehave(log)
    with pytest.raises(WitnessRefused, match=reason):
        await run(http, log, state)
    assert state.read_bytes() == before and len(log.posted) == 1


async def test_a_rotation_signed_by_old_and_new_keys_is_adopted_and_pinned(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    await run(http, log, state)
    log.listed = log.signers = [_key(1), _key(2)]
    log.grow(1)
    lines: list[str] = []
    await run(http, log, state, lines)
    assert f"log keys: adopted {_vkey(_key(2)).vkey} (it signed beside a pinned key)" in lines
    log.signers = [_key(2)]  # the switch is over: only the new key signs
    log.grow(1)
    assert await run(http, log, state) == Round(7, True, True)
    stored = load_state(state)
    assert stored is not None and stored.state.log_keys == (_vkey(_key(1)), _vkey(_key(2)))


async def test_a_cosignature_the_log_refuses_is_reported_after_the_state_is_saved(
    http: httpx.AsyncClient, log: FakeLog, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    stranger = _key(7)  # not the regulator's key
    done = await follow_once(http, state_path=state, key=stranger, name=WITNESS, now=lambda: T,
                             echo=lambda _: None)
    assert done is not None and not done.delivered and done.problem is not None
    assert done.problem["status"] == 403
    stored = load_state(state)
    assert stored is not None and stored.state.size == 5


# --- the add-checkpoint service (logs that push) ------------------------------------------


def _pushed(log: FakeLog, old: int) -> str:
    proof = tuple(consistency_proof(log.leaves, old, log.size)) if 0 < old < log.size else ()
    return format_add_checkpoint(AddCheckpoint(old, proof, log.note()))


@pytest.fixture
def witness_service(log: FakeLog, tmp_path: Path) -> Any:
    state = tmp_path / "state.json"
    save_state(state, StoredState(WitnessState(ORIGIN, (_vkey(_key(1)),))))
    with TestClient(create_witness_app(state, log.witness, WITNESS, now=lambda: T)) as client:
        yield client


def test_add_checkpoint_cosigns_then_follows_with_proofs(
    witness_service: TestClient[Any], log: FakeLog
) -> None:
    first = witness_service.post("/add-checkpoint", content=_pushed(log, 0))
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
    text = parse_note(log.note())[0]
    assert verify_cosignature(text, first.text, WITNESS, public_key_bytes(log.witness)) == T
    log.grow(10)
    assert witness_service.post("/add-checkpoint", content=_pushed(log, 5)).status_code == 200
    import hashlib

    monitored = witness_service.get(f"/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint")
    assert monitored.status_code == 200
    assert [s.name for s in parse_note(monitored.text)[1]] == [ORIGIN, WITNESS]
    assert parse_note(monitored.text)[0] == parse_note(log.note())[0]
    assert witness_service.get(f"/{'0' * 64}/checkpoint").status_code == 404


def test_add_checkpoint_with_a_stale_old_size_is_409_with_the_size(
    witness_service: TestClient[Any], log: FakeLog
) -> None:
    witness_service.post("/add-checkpoint", content=_pushed(log, 0))
    log.grow(3)
    stale = witness_service.post("/add-checkpoint", content=_pushed(log, 0))
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("text/x.tlog.size")
    assert stale.text == "5\n"


def test_add_checkpoint_refusals_carry_the_spec_statuses(
    witness_service: TestClient[Any], log: FakeLog
) -> None:
    assert witness_service.post("/add-checkpoint", content="old 1\n").status_code == 400
    witness_service.post("/add-checkpoint", content=_pushed(log, 0))
    log.fork(at=1, size=8)
    forged = AddCheckpoint(5, tuple(consistency_proof(log.leaves, 5, 8)), log.note())
    assert witness_service.post("/add-checkpoint",
                                content=format_add_checkpoint(forged)).status_code == 422
    log.signers = [_key(3)]
    assert witness_service.post("/add-checkpoint", content=_pushed(log, 5)).status_code == 403
    other = sign_note(format_checkpoint("other.test/log", 0, EMPTY_ROOT), "other.test/log",
                      _key(1))
    unknown = format_add_checkpoint(AddCheckpoint(0, (), other))
    assert witness_service.post("/add-checkpoint", content=unknown).status_code == 404



# --- the CLI's local side ------------------------------------------------------------------


def test_witness_init_makes_or_reuses_a_key_and_prints_its_vkey(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dataex.cli.main import cli

    key = tmp_path / "keys" / "regulator.pem"
    made = CliRunner().invoke(cli, ["witness", "init", "--key", str(key), "--name", WITNESS])
    assert made.exit_code == 0, made.output
    facts = json.loads(made.output)
    assert facts["vkey"].startswith(f"{WITNESS}+") and facts["name"] == WITNESS
    assert (tmp_path / "keys" / "regulator.pem.vkey").read_text() == facts["vkey"] + "\n"
    again = CliRunner().invoke(cli, ["witness", "init", "--key", str(key), "--name", WITNESS])
    assert json.loads(again.output)["public_key"] == facts["public_key"]
    bad = CliRunner().invoke(cli, ["witness", "init", "--key", str(key), "--name", "a b"])
    assert bad.exit_code == 1 and "not a valid key name" in bad.output


def test_witness_follow_explains_local_problems(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dataex.cli.main import cli

    key, other = tmp_path / "w.pem", tmp_path / "other.pem"
    runner = CliRunner()
    runner.invoke(cli, ["witness", "init", "--key", str(key), "--name", WITNESS])
    runner.invoke(cli, ["witness", "init", "--key", str(other), "--name", WITNESS])
    (tmp_path / "w.pem.vkey").write_text((tmp_path / "other.pem.vkey").read_text())
    args = ["witness", "follow", "--once", "--server", "http://127.0.0.1:9",
            "--state", str(tmp_path / "s.json")]
    mismatch = runner.invoke(cli, [*args, "--key", str(key)])
    assert mismatch.exit_code == 1 and "is not the vkey of" in mismatch.output
    down = runner.invoke(cli, [*args, "--key", str(other)])
    assert down.exit_code == 1 and "log unavailable" in down.output
    assert not (tmp_path / "s.json").exists()
