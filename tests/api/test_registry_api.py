"""The registry over HTTP: each bad input of the issue is a 4xx problem+json that changes
nothing, and the read API answers from the committed tables."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dataex.client.sdk import build_registering_decision
from dataex.config.settings import Settings
from dataex.core.documents.encoding import b64url_decode
from dataex.core.registry.certificate_signing import certificate_signature_valid, sign_certificate
from dataex.core.state import snapshot
from dataex.store.runtime import Runtime
from dataex.store.tables import certificates, registrations
from tests.factories import Actor, encode, now
from tests.platform_setup import admit, submit, with_operator
from tests.registry_setup import (
    ACCEPT,
    DECIDE,
    OBJECT,
    REGISTER,
    TAKE,
    ShiftedClock,
    act,
    decision,
    fresh_root,
    initial,
    register,
    review,
    through,
)

PROBLEM = "application/problem+json"
NOTICE_SECONDS = 60


@pytest.fixture
def notice_seconds() -> int:
    return 0


@pytest.fixture
def settings(database_url: str, tmp_path: Path, notice_seconds: int) -> Settings:
    return Settings(
        database_url=database_url, data_dir=tmp_path / "data", notice_period_seconds=notice_seconds
    )


@dataclass
class World:
    runtime: Runtime
    operator: Actor
    registrar: Actor
    registrar2: Actor
    alice: Actor
    bob: Actor
    bank: Actor
    certificate: str  # alice's, all three rights, valid

    @property
    def clock(self) -> ShiftedClock:
        clock = self.runtime.sequencer.clock
        assert isinstance(clock, ShiftedClock)
        return clock


@pytest.fixture
async def world(runtime: Runtime) -> World:
    runtime.sequencer.clock = ShiftedClock()
    operator = await with_operator(runtime)
    registrar = await admit(runtime, operator, "registrar", ["registrar"])
    registrar2 = await admit(runtime, operator, "registrar2", ["registrar"])
    alice = await admit(runtime, operator, "alice", ["trader"])
    bob = await admit(runtime, operator, "bob", ["trader"])
    bank = await admit(runtime, operator, "bank", ["trader"])
    number = await through(runtime, alice, registrar, initial())
    return World(runtime, operator, registrar, registrar2, alice, bob, bank, number)


async def _log_size(api: Any) -> int:
    return int((await api.get("/v1/audit/entries", params={"limit": 1})).json()["size"])


async def _tables(runtime: Runtime) -> list[Any]:
    async with runtime.engine.connect() as conn:
        regs = (await conn.execute(select(registrations).order_by("registration_id"))).all()
        certs = (await conn.execute(select(certificates).order_by("number"))).all()
    return [*map(tuple, regs), *map(tuple, certs)]


# ---- bad input: a problem, and nothing changes ---------------------------------------

Prepare = Callable[[World], Awaitable[dict[str, Any]]]


async def _someone_elses_certificate(w: World) -> dict[str, Any]:
    application = {"kind": "licence", "certificate_number": w.certificate,
                   "counterparty": w.bank.participant_id, "rights": ["processing_use"]}
    return w.bob.sign(REGISTER, {"application": application})


async def _deciding_ones_own_registration(w: World) -> dict[str, Any]:
    rid = await register(w.runtime, w.registrar, initial())
    await review(w.runtime, w.registrar2, rid)
    body = {"registration_id": rid, "outcome": "register"}
    return w.registrar.sign(DECIDE, body)


async def _objection_after_the_notice(w: World) -> dict[str, Any]:
    rid = await register(w.runtime, w.alice, initial())
    await review(w.runtime, w.registrar, rid)
    w.clock.advance(NOTICE_SECONDS)
    return w.bob.sign(OBJECT, {"registration_id": rid, "grounds": "Too late, but mine."})


async def _decision_while_an_objection_is_open(w: World) -> dict[str, Any]:
    rid = await register(w.runtime, w.alice, initial())
    await review(w.runtime, w.registrar, rid)
    await act(w.runtime, w.bob, OBJECT, {"registration_id": rid, "grounds": "Mine."})
    w.clock.advance(NOTICE_SECONDS)
    return w.registrar.sign(DECIDE, {"registration_id": rid, "outcome": "register"})


async def _transfer_of_a_pledged_certificate(w: World) -> dict[str, Any]:
    pledge = {"kind": "pledge", "certificate_number": w.certificate,
              "counterparty": w.bank.participant_id, "secured_amount": 5_000_000}
    await through(w.runtime, w.alice, w.registrar, pledge)
    transfer = {"kind": "transfer", "certificate_number": w.certificate,
                "counterparty": w.bob.participant_id, "rights": ["holding"]}
    return w.alice.sign(REGISTER, {"application": transfer})


async def _core_data(w: World) -> dict[str, Any]:
    return w.alice.sign(REGISTER, {"application": initial(classification="core")})


async def _malformed_fingerprint(w: World) -> dict[str, Any]:
    application = initial()
    application["asset"]["fingerprint"]["root"] = "not-a-sha256"
    return w.alice.sign(REGISTER, {"application": application})


async def _kind_not_fitting_the_state(w: World) -> dict[str, Any]:
    release = {"kind": "pledge_release", "certificate_number": w.certificate}  # never pledged
    return w.alice.sign(REGISTER, {"application": release})


async def _forged_certificate_signature(w: World) -> dict[str, Any]:
    rid = await register(w.runtime, w.alice, initial())
    await review(w.runtime, w.registrar, rid)
    envelope = decision(w.runtime, w.registrar, rid)
    body = envelope["document"]["body"]
    other = body["certificate_signatures"][0]["signature"]
    forged = sign_certificate({"number": "DX-2026-000001"}, w.registrar.key)
    assert forged != other
    body["certificate_signatures"][0]["signature"] = forged
    return w.registrar.sign(DECIDE, body, issued_at=now())


async def _certificate_signed_for_another_time(w: World) -> dict[str, Any]:
    rid = await register(w.runtime, w.alice, initial())
    await review(w.runtime, w.registrar, rid)
    preview_at = now()
    documents = w.runtime.sequencer.state.registry.preview_decision(
        str(w.registrar.participant_id), rid, w.clock(), preview_at
    )
    return build_registering_decision(
        rid, documents, w.registrar.key, preview_at + timedelta(seconds=1)
    )


async def _counterparty_unknown(w: World) -> dict[str, Any]:
    application = {"kind": "licence", "certificate_number": w.certificate,
                   "counterparty": "P000999", "rights": ["holding"]}
    return w.alice.sign(REGISTER, {"application": application})


async def _trader_takes_for_review(w: World) -> dict[str, Any]:
    rid = await register(w.runtime, w.alice, initial())
    return w.bob.sign(TAKE, {"registration_id": rid})


BAD_INPUTS: dict[str, tuple[Prepare, int, str, int]] = {
    # name: (prepare, status, slug, notice period in seconds)
    "acting on someone else's certificate": (
        _someone_elses_certificate, 403, "not-certificate-holder", 0),
    "deciding one's own registration": (
        _deciding_ones_own_registration, 403, "party-may-not-decide", 0),
    "objection after the notice period": (
        _objection_after_the_notice, 409, "notice-closed", NOTICE_SECONDS),
    "decision while an objection is open": (
        _decision_while_an_objection_is_open, 409, "objection-open", NOTICE_SECONDS),
    "transfer of a pledged certificate": (
        _transfer_of_a_pledged_certificate, 409, "certificate-encumbered", 0),
    "registering core data": (_core_data, 422, "core-data-refused", 0),
    "a malformed fingerprint": (_malformed_fingerprint, 422, "schema-violation", 0),
    "a kind that does not fit the certificate's state": (
        _kind_not_fitting_the_state, 409, "certificate-state", 0),
    "a certificate signature over another document": (
        _forged_certificate_signature, 422, "certificate-signature", 0),
    "a certificate signed for another issued_at": (
        _certificate_signed_for_another_time, 422, "certificate-signature", 0),
    "a counterparty who is not admitted": (_counterparty_unknown, 404, "not-found", 0),
    "a trader taking a registration for review": (
        _trader_takes_for_review, 403, "role-not-allowed", 0),
}


@pytest.mark.parametrize(
    "case, notice_seconds",
    [(name, case[3]) for name, case in BAD_INPUTS.items()],
    ids=list(BAD_INPUTS),
)
async def test_bad_input_is_a_problem_and_changes_nothing(api, world: World, case: str) -> None:  # type: ignore[no-untyped-def]
    prepare, status, slug, _ = BAD_INPUTS[case]
    envelope = await prepare(world)
    size, state = await _log_size(api), snapshot(world.runtime.sequencer.state)
    tables = await _tables(world.runtime)

    response = await api.post("/v1/documents", content=encode(envelope))

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["type"] == f"/problems/{slug}"
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert await _log_size(api) == size
    assert snapshot(world.runtime.sequencer.state) == state
    assert await _tables(world.runtime) == tables
    assert (await api.get(f"/problems/{slug}")).status_code == 200


async def test_a_signature_problem_lists_the_documents_to_sign(api, world: World) -> None:  # type: ignore[no-untyped-def]
    rid = await register(world.runtime, world.alice, initial())
    await review(world.runtime, world.registrar, rid)
    unsigned = world.registrar.sign(DECIDE, {"registration_id": rid, "outcome": "register"})
    problem = (await api.post("/v1/documents", content=encode(unsigned))).json()
    assert problem["type"] == "/problems/certificate-signature"
    (expected,) = problem["certificates"]
    assert expected["number"].endswith(rid[1:]) and expected["document"]["holder"] == "P000004"


# ---- the read API --------------------------------------------------------------------


async def test_registrations_and_certificates_are_searchable(api, world: World) -> None:  # type: ignore[no-untyped-def]
    rt, w = world.runtime, world
    weather = initial(title="Regional weather radar", industry="meteorology",
                      description="Radar sweeps every five minutes.", rights=["holding"])
    bob_number = await through(rt, w.bob, w.registrar, weather)
    pending = await register(rt, w.alice, initial(industry="finance", title="Card spending"))

    async def regs(**params: Any) -> list[str]:
        answer = await api.get("/v1/registry/registrations", params=params)
        assert answer.status_code == 200, answer.text
        return [r["registration_id"] for r in answer.json()["registrations"]]

    async def certs(**params: Any) -> list[str]:
        answer = await api.get("/v1/registry/certificates", params=params)
        assert answer.status_code == 200, answer.text
        return [c["number"] for c in answer.json()["certificates"]]

    assert await regs(applicant=w.alice.participant_id, status="submitted") == [pending]
    assert await regs(industry="finance") == [pending]
    assert await regs(text="RADAR") == await regs(applicant=w.bob.participant_id)
    assert await regs(kind="initial", right="processing_use", status="registered") == ["R000001"]
    assert await regs(certificate=bob_number) == await regs(text="weather")
    assert await certs(holder=w.alice.participant_id) == [w.certificate]
    assert await certs(right="processing_use") == [w.certificate]
    assert await certs(industry="meteorology") == await certs(text="five minutes") == [bob_number]
    assert await certs(status="valid") == sorted([w.certificate, bob_number])
    assert await certs(status="cancelled") == []
    assert await certs(status="valid", limit=1, offset=1) == [max(w.certificate, bob_number)]
    for path, params in [
        ("/v1/registry/certificates", {"status": "lost"}),
        ("/v1/registry/certificates", {"right": "everything"}),
        ("/v1/registry/registrations", {"kind": "gift"}),
        ("/v1/registry/registrations", {"status": "done"}),
    ]:
        refused = await api.get(path, params=params)
        assert refused.status_code == 422 and refused.json()["type"] == "/problems/schema-violation"


@pytest.mark.parametrize("notice_seconds", [NOTICE_SECONDS])
async def test_the_notice_board_shows_registrations_under_notice(api, world: World) -> None:  # type: ignore[no-untyped-def]
    rt, w = world.runtime, world
    root = fresh_root()
    first = await register(rt, w.alice, initial(root))
    second = await register(rt, w.bob, initial(root))
    await review(rt, w.registrar, first)
    await review(rt, w.registrar, second)
    await act(rt, w.bank, OBJECT, {"registration_id": first, "grounds": "Ours, in fact."})
    board = (await api.get("/v1/registry/notice-board")).json()["registrations"]
    assert [r["registration_id"] for r in board] == [first, second]
    assert board[0]["conflicts"] == [second] and board[1]["conflicts"] == [first]
    assert board[0]["objections"][0]["objector"] == w.bank.participant_id
    assert board[0]["objections"][0]["status"] == "open"
    assert not board[0]["notice_ended"]
    one = (await api.get(f"/v1/registry/registrations/{first}")).json()
    assert {k: v for k, v in one.items() if k != "updated_seq"} == {
        k: v for k, v in board[0].items() if k not in ("updated_seq", "notice_ended")
    }


async def test_a_certificates_history_lists_every_registration_and_event(api, world: World) -> None:  # type: ignore[no-untyped-def]
    rt, w = world.runtime, world
    licence = {"kind": "licence", "certificate_number": w.certificate,
               "counterparty": w.bob.participant_id, "rights": ["processing_use"]}
    await through(rt, w.alice, w.registrar, licence)
    pledge = {"kind": "pledge", "certificate_number": w.certificate,
              "counterparty": w.bank.participant_id, "secured_amount": 100}
    await through(rt, w.alice, w.registrar, pledge)

    history = (await api.get(f"/v1/registry/certificates/{w.certificate}/history")).json()
    assert history["certificate"]["status"] == "encumbered"
    assert history["certificate"]["document"]["revision"] == 3
    assert [r["kind"] for r in history["registrations"]] == ["initial", "licence", "pledge"]
    seqs = [e["seq"] for e in history["events"]]
    assert seqs == sorted(seqs)
    kinds = [e["type"] for e in history["events"]]
    assert kinds.count("registration.submitted") == 3
    assert kinds.count("certificate.issued") == 1 and kinds.count("certificate.updated") == 2
    # Each event's seq is the log entry that holds it.
    for event in history["events"]:
        entry = (await api.get(f"/v1/audit/entries/{event['seq']}")).json()["entry"]
        assert {k: v for k, v in event.items() if k != "seq"} in entry["events"]


async def test_verify_returns_the_signed_document_and_its_log_entry(api, world: World) -> None:  # type: ignore[no-untyped-def]
    answer = (await api.get(f"/v1/registry/certificates/{world.certificate}/verify")).json()
    assert answer["registrar"] == world.registrar.participant_id
    assert answer["registrar_key_id"] == world.registrar.key_id
    participant = (await api.get(f"/v1/participants/{answer['registrar']}")).json()
    (key,) = [k for k in participant["keys"] if k["key_id"] == answer["registrar_key_id"]]
    public = b64url_decode(key["public_key"])
    assert certificate_signature_valid(answer["document"], answer["signature"], public)
    entry = (await api.get(f"/v1/audit/entries/{answer['seq']}")).json()["entry"]
    assert entry["kind"] == DECIDE
    (issued,) = [e for e in entry["events"] if e["type"] == "certificate.issued"]
    assert (issued["document"], issued["signature"]) == (answer["document"], answer["signature"])


async def test_unknown_registrations_and_certificates_are_404(api, world: World) -> None:  # type: ignore[no-untyped-def]
    for path in ["/v1/registry/registrations/R000999", "/v1/registry/certificates/DX-2026-000999",
                 "/v1/registry/certificates/DX-2026-000999/history",
                 "/v1/registry/certificates/DX-2026-000999/verify"]:
        response = await api.get(path)
        assert response.status_code == 404 and response.json()["type"] == "/problems/not-found"


async def test_the_preview_is_what_a_registrar_signs(api, world: World) -> None:  # type: ignore[no-untyped-def]
    rt, w = world.runtime, world
    rid = await register(rt, w.alice, initial())
    await review(rt, w.registrar, rid)
    issued_at = "2099-11-27T12:00:00.5Z"  # any time after the notice ended

    async def preview(**params: Any) -> Any:
        return await api.get(f"/v1/registry/registrations/{rid}/certificate-preview",
                             params={"registrar": w.registrar.participant_id,
                                     "issued_at": issued_at, **params})

    answer = (await preview()).json()
    (item,) = answer["certificates"]
    assert item["document"]["issued_at"] == "2099-11-27T12:00:00.500000Z"
    assert item["number"] == f"DX-2099-{rid[1:]}"
    assert item["document"]["registrar"] == w.registrar.participant_id
    assert (await preview()).json() == answer  # deterministic; nothing changed
    for params, status, slug in [
        ({"registrar": "P000999"}, 404, "not-found"),
        ({"registrar": w.alice.participant_id}, 403, "role-not-allowed"),
        ({"issued_at": "yesterday"}, 422, "schema-violation"),
        ({"issued_at": "2026-02-30T00:00:00Z"}, 422, "schema-violation"),
    ]:
        refused = await preview(**params)
        assert refused.status_code == status and refused.json()["type"] == f"/problems/{slug}"
    # The preview refuses what the decision would: here the applicant as its own registrar.
    own = await register(rt, w.registrar2, initial())
    await review(rt, w.registrar, own)
    refused = await api.get(f"/v1/registry/registrations/{own}/certificate-preview",
                            params={"registrar": w.registrar2.participant_id,
                                    "issued_at": issued_at})
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/party-may-not-decide"


async def test_a_transfer_accepted_moves_the_certificate_in_the_tables(api, world: World) -> None:  # type: ignore[no-untyped-def]
    rt, w = world.runtime, world
    transfer = {"kind": "transfer", "certificate_number": w.certificate,
                "counterparty": w.bob.participant_id, "rights": ["holding", "processing_use",
                                                                "product_operation"]}
    rid = await register(rt, w.alice, transfer)
    listed = (await api.get(f"/v1/registry/registrations/{rid}")).json()
    assert listed["status"] == "awaiting_acceptance"
    await act(rt, w.bob, ACCEPT, {"registration_id": rid})
    await review(rt, w.registrar, rid)
    await submit(rt, decision(rt, w.registrar, rid))
    cert = (await api.get(f"/v1/registry/certificates/{w.certificate}")).json()
    assert cert["holder"] == w.bob.participant_id and cert["document"]["revision"] == 2
    assert await api_certificates(api, holder=w.bob.participant_id) == [w.certificate]
    assert await api_certificates(api, holder=w.alice.participant_id) == []


async def api_certificates(api: Any, **params: Any) -> list[str]:
    answer = (await api.get("/v1/registry/certificates", params=params)).json()
    return [c["number"] for c in answer["certificates"]]


async def test_a_problems_extra_members_never_replace_its_own(api, world: World) -> None:  # type: ignore[no-untyped-def]
    """certificate-state names the certificate's status without clobbering `status` (409)."""
    envelope = await _kind_not_fitting_the_state(world)
    problem = (await api.post("/v1/documents", content=encode(envelope))).json()
    assert problem["status"] == 409 and problem["type"] == "/problems/certificate-state"
    assert problem["certificate"] == world.certificate
    assert problem["certificate_status"] == "valid"


class _Recorded:
    """The server's real answers for one certificate, replayed to the checker (editable)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def get(self, path: str, **params: Any) -> Any:
        return copy.deepcopy(self.answers[path])


async def _recorded(api: Any, number: str) -> _Recorded:
    claim = (await api.get(f"/v1/registry/certificates/{number}/verify")).json()
    paths = [f"/v1/registry/certificates/{number}/verify",
             f"/v1/participants/{claim['registrar']}", f"/v1/audit/entries/{claim['seq']}"]
    return _Recorded({p: (await api.get(p)).json() for p in paths})


def _tamper(recorded: _Recorded, number: str, what: str) -> None:
    claim = recorded.answers[f"/v1/registry/certificates/{number}/verify"]
    entry = recorded.answers[f"/v1/audit/entries/{claim['seq']}"]
    if what == "holder":
        claim["document"]["holder"] = "P000999"
    elif what == "key":
        other = Actor.new("impostor")
        participant = recorded.answers[f"/v1/participants/{claim['registrar']}"]
        participant["keys"][0]["public_key"] = other.public_key
    elif what == "entry":
        entry["entry"]["time"] = "2020-01-01T00:00:00.000000Z"
    elif what == "event":
        for event in entry["entry"]["events"]:
            event.pop("signature", None)
        from dataex.core.documents.canonical import canonical_json
        from dataex.core.log.chain import entry_hash

        entry["entry_hash"] = entry_hash(canonical_json(entry["entry"]))


@pytest.mark.parametrize("what, failing", [
    ("holder", "the registrar's signature verifies over the document"),
    ("key", "the registrar key is the registrar's and its id is its hash"),
    ("entry", "the log entry hashes to its entry_hash"),
    ("event", "the entry's event holds exactly this document and signature"),
])
async def test_certificate_verify_catches_what_was_changed(  # type: ignore[no-untyped-def]
    api, world: World, what: str, failing: str
) -> None:
    from dataex.verify.certificates import check_certificate

    genuine = await _recorded(api, world.certificate)
    report = check_certificate(genuine, world.certificate)  # type: ignore[arg-type]
    assert report.ok and len(report.checks) == 7
    _tamper(genuine, world.certificate, what)
    report = check_certificate(genuine, world.certificate)  # type: ignore[arg-type]
    assert not report.ok and report.first_failure == failing
