"""The registry state machine without a database: lifecycle, refusals, roles, certificates.

Bodies are built with msgspec.convert from plain dicts, the way a wire document
is decoded, so schema rules (malformed fingerprints, missing fields) and
domain rules are exercised on the same path. Every refusal also checks that
the registry's snapshot is unchanged.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import jsonschema
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.contracts import ROLES, AdmitParticipant, envelope_type
from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.encoding import b64url_encode
from dataex.core.documents.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidState,
    NotFound,
    RoleNotAllowed,
    SchemaViolation,
)
from dataex.core.documents.signing import key_id, public_key_bytes, sign_document
from dataex.core.envelope import ParsedEnvelope, authenticate
from dataex.core.participants.directory import Participants
from dataex.core.registry.certificate_signing import (
    RegistrarKey,
    certificate_signature_valid,
    sign_certificate,
)
from dataex.core.registry.certificates import (
    Certificate,
    certificate_document,
    certificate_record,
)
from dataex.core.registry.contracts import (
    REGISTRY_CONTRACTS,
    AcceptTransfer,
    DecideObjection,
    DecideRegistration,
    FileObjection,
    Fingerprint,
    OpenNotice,
    Register,
    TakeForReview,
    Withdraw,
)
from dataex.core.registry.errors import (
    CertificateEncumbered,
    CertificateSignatureMismatch,
    CertificateStateMismatch,
    CoreDataRefused,
    NotApplicant,
    NotCertificateHolder,
    NoticeClosed,
    NoticeRunning,
    ObjectionOpen,
    PartyMayNotDecide,
)
from dataex.core.registry.lifecycle import (
    DECIDE_CONTRACT,
    REGISTER_CONTRACT,
    REGISTRY_HANDLERS,
    Registry,
    apply_registry,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

OWNER, OTHER, REGISTRAR, REGISTRAR2, BANK = "P000001", "P000002", "P000003", "P000004", "P000005"
ADMITTED = {OWNER, OTHER, REGISTRAR, REGISTRAR2, BANK}
ALL_RIGHTS = ["holding", "processing_use", "product_operation"]


def root(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


Events = list[dict[str, Any]]
ROOT_A, ROOT_B = root("dataset A"), root("dataset B")


# ---- builders ------------------------------------------------------------------------


def asset(fingerprint_root: str = ROOT_A, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "Urban traffic flow 2025",
        "description": "Per-minute vehicle counts from 1,200 road sensors.",
        "fingerprint": {"root": fingerprint_root, "total_bytes": 5_000_000, "file_count": 12},
        "product_form": "dataset",
        "industry": "transport",
        "scenario": "route planning",
        "update_frequency": "daily",
        "source_type": "self_collected",
        "personal_information": False,
        "classification": "general",
    }
    return {**base, **changes}


def register(kind: str, **fields: Any) -> Register:
    return msgspec.convert({"application": {"kind": kind, **fields}}, Register)


def initial(
    fingerprint_root: str = ROOT_A,
    rights: list[str] | None = None,
    term_days: int = 1095,
    **changes: Any,
) -> Register:
    return register(
        "initial",
        asset=asset(fingerprint_root, **changes),
        rights=rights or ALL_RIGHTS,
        term_days=term_days,
    )


def signing_key(participant_id: str) -> Ed25519PrivateKey:
    """Each participant's own (fixed) key: registrars sign certificates with theirs."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(participant_id.encode()).digest())


def registrar_key(participant_id: str) -> RegistrarKey:
    public = public_key_bytes(signing_key(participant_id))
    return RegistrarKey(key_id(public), public)


def signatures(documents: list[dict[str, Any]], signer: str) -> list[dict[str, str]]:
    key = signing_key(signer)
    return [{"number": d["number"], "signature": sign_certificate(d, key)} for d in documents]


class Desk:
    """A registry plus a settable clock and notice period, with one method per action.

    A registering decision is signed the way a registrar's client does it: preview
    the certificate documents, sign each, send the signatures with the decision.
    """

    def __init__(self, notice: timedelta = timedelta(0)) -> None:
        self.registry = Registry()
        self.now = NOW
        self.notice = notice
        self.events: list[dict[str, Any]] = []

    def _run(self, action: Callable[..., list[dict[str, Any]]], who: str, body: Any) -> Events:
        events = action(who, body, self.now, self.notice)
        self.events += events
        return events

    def submit(self, who: str, body: Register) -> str:
        events = self.registry.submit(who, body, self.now, self.notice, admitted=ADMITTED)
        self.events += events
        return str(events[0]["registration_id"])

    def withdraw(self, who: str, rid: str) -> Events:
        return self._run(self.registry.withdraw, who, Withdraw(rid))

    def accept(self, who: str, rid: str) -> Events:
        return self._run(self.registry.accept_transfer, who, AcceptTransfer(rid))

    def take(self, rid: str, registrar: str = REGISTRAR) -> Events:
        return self._run(self.registry.take, registrar, TakeForReview(rid))

    def open_notice(self, rid: str, registrar: str = REGISTRAR) -> Events:
        return self._run(self.registry.open_notice, registrar, OpenNotice(rid))

    def object(self, who: str, rid: str) -> str:
        body = FileObjection(rid, "We collected this data first.", (root("contract"),))
        return str(self._run(self.registry.file_objection, who, body)[0]["objection_id"])

    def decide_objection(self, oid: str, outcome: str, registrar: str = REGISTRAR) -> Events:
        body = DecideObjection(oid, outcome, "Reviewed the evidence.")  # type: ignore[arg-type]
        return self._run(self.registry.decide_objection, registrar, body)

    def decide(self, rid: str, registrar: str = REGISTRAR, **fields: Any) -> Events:
        data = {"registration_id": rid, "outcome": "register", **fields}
        if data["outcome"] == "register" and "certificate_signatures" not in data:
            try:
                documents = self.registry.preview_decision(registrar, rid, self.now, self.now)
            except DomainError:
                documents = []  # decide() refuses it the same way
            data["certificate_signatures"] = signatures(documents, registrar)
        body = msgspec.convert(data, DecideRegistration)
        events = self.registry.decide(
            registrar,
            body,
            self.now,
            self.notice,
            decided_at=self.now,
            registrar_key=registrar_key(registrar),
        )
        self.events += events
        return events

    def reject_with(self, rid: str, registrar: str = REGISTRAR, **fields: Any) -> Events:
        return self.decide(
            rid, registrar, outcome="reject", reason_code="other", reason_text="No.", **fields
        )

    def reject(self, rid: str, registrar: str = REGISTRAR) -> Events:
        return self.decide(
            rid, registrar, outcome="reject", reason_code="other", reason_text="Not this time."
        )

    def review(self, rid: str, registrar: str = REGISTRAR) -> None:
        self.take(rid, registrar)
        self.open_notice(rid, registrar)

    def through(self, who: str, body: Register) -> str:
        """Submit, accept if a transfer, review, wait out the notice, register: the number."""
        rid = self.submit(who, body)
        reg = self.registry.registrations[rid]
        if reg.status == "awaiting_acceptance":
            self.accept(str(reg.counterparty), rid)
        self.review(rid)
        self.now += self.notice
        events = self.decide(rid)
        return str(events[0]["certificate_number"])

    def cert(self, number: str) -> Certificate:
        return self.registry.certificates.by_number[number]

    def status(self, number: str) -> str:
        return self.cert(number).status_at(self.now)


def refused(desk: Desk, error: type[DomainError], action: Callable[[], object]) -> DomainError:
    """Run an action that must be refused and prove it changed nothing."""
    before = copy.deepcopy(desk.registry.snapshot())
    with pytest.raises(error) as info:
        action()
    assert desk.registry.snapshot() == before
    return info.value


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture
def cert(desk: Desk) -> str:
    """OWNER holds a valid certificate over ROOT_A with all three rights."""
    return desk.through(OWNER, initial())


# ---- the lifecycle -------------------------------------------------------------------


def test_full_lifecycle_with_notice_objection_and_certificate() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    assert desk.registry.registrations[rid].status == "submitted"
    desk.take(rid)
    assert desk.registry.registrations[rid].status == "under_review"
    assert desk.registry.registrations[rid].reviewer == REGISTRAR
    desk.open_notice(rid)
    reg = desk.registry.registrations[rid]
    assert reg.status == "public_notice"
    assert reg.notice_ends_at == NOW + WEEK
    assert desk.registry.under_notice() == [reg]

    desk.now = NOW + DAY
    oid = desk.object(OTHER, rid)
    desk.now = NOW + WEEK
    refused(desk, ObjectionOpen, lambda: desk.decide(rid))
    desk.decide_objection(oid, "dismiss")
    events = desk.decide(rid)

    number = events[0]["certificate_number"]
    assert number == "DX-2026-000001"
    assert [e["type"] for e in events] == ["registration.registered", "certificate.issued"]
    assert reg.status == "registered"
    assert reg.issued_certificate == number
    assert reg.decision is not None and reg.decision["decided_by"] == REGISTRAR
    assert desk.registry.under_notice() == []
    cert = desk.cert(number)
    assert cert.holder == OWNER
    assert cert.rights == ("holding", "processing_use", "product_operation")
    assert cert.issued_at == NOW + WEEK
    assert cert.valid_until == NOW + WEEK + timedelta(days=1095)
    assert desk.status(number) == "valid"
    assert events[1]["document"] == certificate_document(cert)
    assert desk.registry.objections[oid].status == "dismissed"


def test_notice_period_zero_allows_an_immediate_decision(desk: Desk) -> None:
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    assert desk.registry.registrations[rid].notice_ends_at == NOW
    assert desk.decide(rid)[0]["certificate_number"] == "DX-2026-000001"


def test_decision_waits_for_the_end_of_the_notice_period() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    desk.now = NOW + WEEK - timedelta(microseconds=1)
    refused(desk, NoticeRunning, lambda: desk.decide(rid))
    desk.now = NOW + WEEK
    assert desk.decide(rid)[0]["type"] == "registration.registered"


def test_registering_needs_public_notice_but_review_may_reject(desk: Desk) -> None:
    rid = desk.submit(OWNER, initial())
    refused(desk, InvalidState, lambda: desk.decide(rid))  # not even taken
    desk.take(rid)
    refused(desk, InvalidState, lambda: desk.decide(rid))
    events = desk.reject(rid)
    assert events[0] == {
        "type": "registration.rejected",
        "registration_id": rid,
        "decided_by": REGISTRAR,
        "reason_code": "other",
        "reason_text": "Not this time.",
    }
    assert desk.registry.registrations[rid].status == "rejected"
    refused(desk, InvalidState, lambda: desk.decide(rid))
    refused(desk, InvalidState, lambda: desk.withdraw(OWNER, rid))


def test_a_rejection_needs_a_reason_and_a_registration_takes_none(desk: Desk) -> None:
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    refused(desk, SchemaViolation, lambda: desk.decide(rid, outcome="reject"))
    refused(desk, SchemaViolation, lambda: desk.decide(rid, outcome="reject", reason_code="other"))
    refused(desk, SchemaViolation, lambda: desk.decide(rid, reason_code="other"))
    with pytest.raises(msgspec.ValidationError):
        desk.decide(rid, outcome="reject", reason_code="because", reason_text="x")


def test_the_applicant_withdraws_before_a_decision_and_objections_close() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    oid = desk.object(OTHER, rid)
    refused(desk, NotApplicant, lambda: desk.withdraw(OTHER, rid))
    events = desk.withdraw(OWNER, rid)
    assert [e["type"] for e in events] == ["registration.withdrawn", "objection.closed"]
    assert desk.registry.registrations[rid].status == "withdrawn"
    assert desk.registry.objections[oid].status == "closed"
    assert desk.registry.open_by_root == {}
    refused(desk, InvalidState, lambda: desk.withdraw(OWNER, rid))
    refused(desk, InvalidState, lambda: desk.take(rid))


def test_certificate_numbers_take_the_decision_year_and_the_registration_number(
    desk: Desk,
) -> None:
    desk.submit(OTHER, initial(ROOT_B))  # R000001, never decided
    first = desk.through(OWNER, initial(ROOT_A))
    desk.now = datetime(2027, 1, 2, tzinfo=UTC)
    second = desk.through(OTHER, initial(root("dataset C")))
    assert (first, second) == ("DX-2026-000002", "DX-2027-000003")


def test_the_same_commands_give_the_same_events_and_state() -> None:
    def run() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        desk = Desk(notice=DAY)
        number = desk.through(OWNER, initial())
        desk.through(
            OWNER,
            register(
                "licence", certificate_number=number, counterparty=OTHER, rights=["processing_use"]
            ),
        )
        return desk.events, desk.registry.snapshot()

    first, second = run(), run()
    assert first == second
    assert canonical_json(first[1])  # the snapshot is plain JSON, no datetimes or floats


# ---- bad input from the issue --------------------------------------------------------


@pytest.mark.parametrize(
    "kind, fields",
    [
        ("change", {"asset": asset(description="Hijacked.")}),
        ("transfer", {"counterparty": BANK, "rights": ALL_RIGHTS}),
        ("licence", {"counterparty": BANK, "rights": ["processing_use"]}),
        ("pledge", {"counterparty": BANK, "secured_amount": 1_000_000}),
        ("pledge_release", {}),
        ("renewal", {}),
        ("cancellation", {"reason": "No longer needed."}),
    ],
)
def test_acting_on_someone_elses_certificate_is_refused(
    desk: Desk, cert: str, kind: str, fields: dict[str, Any]
) -> None:
    body = register(kind, certificate_number=cert, **fields)
    error = refused(desk, NotCertificateHolder, lambda: desk.submit(OTHER, body))
    assert error.status == 403 and error.slug == "not-certificate-holder"


def test_a_registrar_never_decides_its_own_registration(desk: Desk) -> None:
    rid = desk.submit(REGISTRAR, initial())
    refused(desk, PartyMayNotDecide, lambda: desk.take(rid, REGISTRAR))
    desk.take(rid, REGISTRAR2)
    refused(desk, PartyMayNotDecide, lambda: desk.open_notice(rid, REGISTRAR))
    desk.open_notice(rid, REGISTRAR2)
    error = refused(desk, PartyMayNotDecide, lambda: desk.decide(rid, REGISTRAR))
    assert error.status == 403
    assert desk.decide(rid, REGISTRAR2)[0]["type"] == "registration.registered"


def test_a_registrar_who_is_the_counterparty_may_not_decide(desk: Desk, cert: str) -> None:
    rid = desk.submit(
        OWNER,
        register(
            "licence", certificate_number=cert, counterparty=REGISTRAR, rights=["processing_use"]
        ),
    )
    refused(desk, PartyMayNotDecide, lambda: desk.take(rid, REGISTRAR))
    desk.review(rid, REGISTRAR2)
    refused(desk, PartyMayNotDecide, lambda: desk.decide(rid, REGISTRAR))


def test_an_objection_after_the_notice_period_is_refused() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    refused(desk, NoticeClosed, lambda: desk.object(OTHER, rid))  # not yet under notice
    desk.review(rid)
    desk.now = NOW + WEEK  # the notice runs over [opened, ends)
    error = refused(desk, NoticeClosed, lambda: desk.object(OTHER, rid))
    assert error.status == 409 and error.slug == "notice-closed"
    desk.now = NOW + WEEK - timedelta(microseconds=1)
    assert desk.object(OTHER, rid) == "O000001"


def test_no_objection_fits_a_zero_length_notice(desk: Desk) -> None:
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    refused(desk, NoticeClosed, lambda: desk.object(OTHER, rid))


def test_the_applicant_cannot_object_to_its_own_registration() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    refused(desk, Forbidden, lambda: desk.object(OWNER, rid))


def test_a_decision_while_an_objection_is_open_is_refused() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    first = desk.object(OTHER, rid)
    second = desk.object(BANK, rid)
    desk.now = NOW + WEEK
    desk.decide_objection(first, "dismiss")
    error = refused(desk, ObjectionOpen, lambda: desk.decide(rid))
    assert error.extra == {"objections": [second]}
    refused(desk, ObjectionOpen, lambda: desk.reject(rid))


def test_an_upheld_objection_rejects_the_registration_and_closes_the_rest() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    upheld, other = desk.object(OTHER, rid), desk.object(BANK, rid)
    refused(desk, PartyMayNotDecide, lambda: desk.decide_objection(upheld, "uphold", OWNER))
    events = desk.decide_objection(upheld, "uphold")
    assert [e["type"] for e in events] == [
        "objection.upheld",
        "registration.rejected",
        "objection.closed",
    ]
    reg = desk.registry.registrations[rid]
    assert reg.status == "rejected"
    assert reg.decision is not None and reg.decision["reason_code"] == "objection_upheld"
    assert desk.registry.objections[other].status == "closed"
    assert desk.registry.certificates.by_number == {}
    refused(desk, InvalidState, lambda: desk.decide_objection(other, "dismiss"))


def test_an_objector_who_is_a_registrar_may_not_decide_it() -> None:
    desk = Desk(notice=WEEK)
    rid = desk.submit(OWNER, initial())
    desk.review(rid, REGISTRAR)
    oid = desk.object(REGISTRAR2, rid)
    refused(desk, PartyMayNotDecide, lambda: desk.decide_objection(oid, "dismiss", REGISTRAR2))


def test_transfer_of_a_pledged_certificate_is_refused_until_release(desk: Desk, cert: str) -> None:
    desk.through(
        OWNER,
        register("pledge", certificate_number=cert, counterparty=BANK, secured_amount=50_000_000),
    )
    assert desk.status(cert) == "encumbered"
    transfer = register("transfer", certificate_number=cert, counterparty=OTHER, rights=ALL_RIGHTS)
    error = refused(desk, CertificateEncumbered, lambda: desk.submit(OWNER, transfer))
    assert error.status == 409 and error.slug == "certificate-encumbered"
    cancel = register("cancellation", certificate_number=cert, reason="Closing the line.")
    refused(desk, CertificateEncumbered, lambda: desk.submit(OWNER, cancel))

    desk.through(OWNER, register("pledge_release", certificate_number=cert))
    assert desk.status(cert) == "valid"
    desk.through(OWNER, transfer)
    assert desk.cert(cert).holder == OTHER


def test_registering_core_data_is_refused(desk: Desk, cert: str) -> None:
    error = refused(
        desk, CoreDataRefused, lambda: desk.submit(OTHER, initial(ROOT_B, classification="core"))
    )
    assert error.status == 422 and error.slug == "core-data-refused"
    change = register("change", certificate_number=cert, asset=asset(classification="core"))
    refused(desk, CoreDataRefused, lambda: desk.submit(OWNER, change))
    assert desk.through(OTHER, initial(ROOT_B, classification="important"))


@pytest.mark.parametrize(
    "fingerprint",
    [
        {"root": "A" * 64, "total_bytes": 1, "file_count": 1},  # upper case
        {"root": "a" * 63, "total_bytes": 1, "file_count": 1},  # too short
        {"root": "a" * 65, "total_bytes": 1, "file_count": 1},  # too long
        {"root": "a" * 64 + "\n", "total_bytes": 1, "file_count": 1},  # Python's $ allows it
        {"root": "g" * 64, "total_bytes": 1, "file_count": 1},  # not hex
        {"root": 123, "total_bytes": 1, "file_count": 1},
        {"root": "a" * 64, "total_bytes": -1, "file_count": 1},
        {"root": "a" * 64, "total_bytes": 1, "file_count": 0},
        {"root": "a" * 64, "total_bytes": 2**53, "file_count": 1},  # beyond exact JSON ints
        {"root": "a" * 64, "total_bytes": 1},
        {"root": "a" * 64, "total_bytes": 1, "file_count": 1, "algorithm": "md5"},
    ],
)
def test_a_malformed_fingerprint_is_a_schema_violation(fingerprint: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(
            {
                "application": {
                    "kind": "initial",
                    "rights": ["holding"],
                    "asset": {**asset(), "fingerprint": fingerprint},
                }
            },
            Register,
        )


def test_a_well_formed_fingerprint_passes_the_schema() -> None:
    fingerprint = msgspec.convert({"root": ROOT_A, "total_bytes": 0, "file_count": 1}, Fingerprint)
    assert fingerprint.root == ROOT_A


@pytest.mark.parametrize(
    "application",
    [
        {"kind": "initial", "asset": asset()},  # no rights
        {"kind": "initial", "asset": asset(), "rights": []},
        {"kind": "initial", "asset": asset(), "rights": ["ownership"]},
        {"kind": "initial", "asset": asset(), "rights": ["holding"], "term_days": 0},
        {"kind": "initial", "asset": asset(classification="secret"), "rights": ["holding"]},
        {"kind": "initial", "asset": asset(sample_hash="xyz"), "rights": ["holding"]},
        {"kind": "transfer", "certificate_number": "DX-2026-000001", "rights": ["holding"]},
        {
            "kind": "licence",
            "certificate_number": "DX-26-1",
            "counterparty": "P000002",
            "rights": ["holding"],
        },
        {
            "kind": "pledge",
            "certificate_number": "DX-2026-000001",
            "counterparty": "P000002",
            "secured_amount": 0,
        },
        {"kind": "gift", "certificate_number": "DX-2026-000001"},
        {"kind": "renewal", "certificate_number": "DX-2026-000001\n"},
        {"kind": "renewal", "certificate_number": "DX-２０２６-000001"},  # non-ASCII digits
        {"kind": "renewal", "certificate_number": "DX-2026-000001", "holder": "P000001"},
    ],
)
def test_other_malformed_applications_are_schema_violations(application: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"application": application}, Register)


# ---- kinds that do not fit the certificate's state -----------------------------------


def _pledge(desk: Desk, cert: str) -> None:
    desk.through(
        OWNER, register("pledge", certificate_number=cert, counterparty=BANK, secured_amount=1)
    )


def _expire(desk: Desk, cert: str) -> None:
    desk.now = desk.cert(cert).valid_until


def _cancel(desk: Desk, cert: str) -> None:
    desk.through(OWNER, register("cancellation", certificate_number=cert, reason="Done."))


SETUPS: dict[str, Callable[[Desk, str], None]] = {
    "valid": lambda desk, cert: None,
    "encumbered": _pledge,
    "expired": _expire,
    "cancelled": _cancel,
}
BODIES: dict[str, dict[str, Any]] = {
    "change": {"asset": asset(description="Now with 1,500 sensors.")},
    "transfer": {"counterparty": OTHER, "rights": ALL_RIGHTS},
    "licence": {"counterparty": OTHER, "rights": ["processing_use"]},
    "pledge": {"counterparty": BANK, "secured_amount": 1},
    "pledge_release": {},
    "renewal": {},
    "cancellation": {"reason": "Done."},
}
# Which kind fits which certificate status: the rule the issue states, written out.
FITS = {
    "change": {"valid"},
    "transfer": {"valid"},
    "licence": {"valid", "encumbered"},
    "pledge": {"valid"},
    "pledge_release": {"encumbered"},
    "renewal": {"valid", "encumbered", "expired"},
    "cancellation": {"valid", "expired"},
}


@pytest.mark.parametrize("status", list(SETUPS))
@pytest.mark.parametrize("kind", list(BODIES))
def test_each_kind_fits_only_some_certificate_states(
    desk: Desk, cert: str, kind: str, status: str
) -> None:
    SETUPS[status](desk, cert)
    assert desk.status(cert) == status
    body = register(kind, certificate_number=cert, **BODIES[kind])
    if status in FITS[kind]:
        rid = desk.submit(OWNER, body)
        assert desk.registry.registrations[rid].status in ("submitted", "awaiting_acceptance")
        return
    expected = (
        CertificateEncumbered
        if status == "encumbered" and kind in ("transfer", "cancellation")
        else CertificateStateMismatch
    )
    error = refused(desk, expected, lambda: desk.submit(OWNER, body))
    assert error.status == 409


def test_an_expired_pledged_certificate_can_be_released_but_not_cancelled(
    desk: Desk, cert: str
) -> None:
    _pledge(desk, cert)
    _expire(desk, cert)
    assert desk.status(cert) == "expired"
    cancel = register("cancellation", certificate_number=cert, reason="Done.")
    refused(desk, CertificateEncumbered, lambda: desk.submit(OWNER, cancel))
    desk.through(OWNER, register("pledge_release", certificate_number=cert))
    assert desk.cert(cert).pledge is None


def test_rights_not_held_cannot_be_transferred_or_licensed(desk: Desk) -> None:
    cert = desk.through(OWNER, initial(rights=["holding"]))
    for kind in ("transfer", "licence"):
        body = register(
            kind, certificate_number=cert, counterparty=OTHER, rights=["product_operation"]
        )
        refused(desk, CertificateStateMismatch, partial(desk.submit, OWNER, body))


def test_the_decision_checks_the_certificate_again(desk: Desk, cert: str) -> None:
    transfer = desk.submit(
        OWNER, register("transfer", certificate_number=cert, counterparty=OTHER, rights=ALL_RIGHTS)
    )
    desk.accept(OTHER, transfer)
    desk.review(transfer)
    _pledge(desk, cert)  # registered while the transfer waited
    refused(desk, CertificateEncumbered, lambda: desk.decide(transfer))
    desk.decide(transfer, outcome="reject", reason_code="state_changed", reason_text="Pledged.")
    assert desk.cert(cert).holder == OWNER


def test_an_unknown_certificate_is_not_found(desk: Desk) -> None:
    body = register("renewal", certificate_number="DX-2026-000999")
    refused(desk, NotFound, lambda: desk.submit(OWNER, body))


# ---- other refusals ------------------------------------------------------------------


def test_rights_must_not_repeat(desk: Desk) -> None:
    refused(
        desk, SchemaViolation, lambda: desk.submit(OWNER, initial(rights=["holding", "holding"]))
    )


def test_an_authorised_source_needs_proofs(desk: Desk) -> None:
    refused(desk, SchemaViolation, lambda: desk.submit(OWNER, initial(source_type="authorised")))
    proofs = [root("consent form")]
    desk.submit(OWNER, initial(source_type="authorised", authorisation_proofs=proofs))


def test_the_counterparty_must_be_another_admitted_participant(desk: Desk, cert: str) -> None:
    to_self = register("licence", certificate_number=cert, counterparty=OWNER, rights=["holding"])
    refused(desk, SchemaViolation, lambda: desk.submit(OWNER, to_self))
    to_nobody = register(
        "licence", certificate_number=cert, counterparty="P000099", rights=["holding"]
    )
    refused(desk, NotFound, lambda: desk.submit(OWNER, to_nobody))


def test_registering_a_fingerprint_twice_for_the_same_holder_is_refused(desk: Desk) -> None:
    desk.submit(OWNER, initial())
    refused(desk, Conflict, lambda: desk.submit(OWNER, initial()))


def test_unknown_registrations_and_objections_are_not_found(desk: Desk) -> None:
    refused(desk, NotFound, lambda: desk.take("R000042"))
    refused(desk, NotFound, lambda: desk.decide_objection("O000042", "dismiss"))


def test_every_refusal_leaves_the_snapshot_unchanged(desk: Desk, cert: str) -> None:
    """A mixed bag on one registry with pending work: none of them may leave a trace."""
    pending = desk.submit(
        OWNER,
        register("licence", certificate_number=cert, counterparty=OTHER, rights=["processing_use"]),
    )
    attempts: list[tuple[type[DomainError], Callable[[], object]]] = [
        (
            NotCertificateHolder,
            lambda: desk.submit(OTHER, register("renewal", certificate_number=cert)),
        ),
        (CoreDataRefused, lambda: desk.submit(OTHER, initial(ROOT_B, classification="core"))),
        (NotApplicant, lambda: desk.withdraw(OTHER, pending)),
        (InvalidState, lambda: desk.accept(OTHER, pending)),
        (PartyMayNotDecide, lambda: desk.take(pending, OWNER)),
        (InvalidState, lambda: desk.open_notice(pending)),
        (NoticeClosed, lambda: desk.object(BANK, pending)),
        (InvalidState, lambda: desk.decide(pending)),
    ]
    before = copy.deepcopy(desk.registry.snapshot())
    for error, attempt in attempts:
        with pytest.raises(error):
            attempt()
    assert desk.registry.snapshot() == before
    assert desk.registry.snapshot()["registrations"][pending]["status"] == "submitted"


# ---- kinds carried out ---------------------------------------------------------------


def test_a_transfer_waits_for_the_receiver_then_moves_the_certificate(
    desk: Desk, cert: str
) -> None:
    rid = desk.submit(
        OWNER, register("transfer", certificate_number=cert, counterparty=OTHER, rights=ALL_RIGHTS)
    )
    assert desk.registry.registrations[rid].status == "awaiting_acceptance"
    refused(desk, InvalidState, lambda: desk.take(rid))
    refused(desk, Forbidden, lambda: desk.accept(BANK, rid))
    desk.accept(OTHER, rid)
    desk.review(rid)
    events = desk.decide(rid)
    assert events[0]["certificate_number"] == cert
    assert desk.cert(cert).holder == OTHER
    assert desk.cert(cert).revision == 2
    assert events[1]["document"]["holder"] == OTHER
    refused(
        desk,
        NotCertificateHolder,
        lambda: desk.submit(OWNER, register("renewal", certificate_number=cert)),
    )


def test_transferring_some_rights_splits_the_certificate(desk: Desk, cert: str) -> None:
    desk.now = NOW + DAY
    new = desk.through(
        OWNER,
        register(
            "transfer", certificate_number=cert, counterparty=OTHER, rights=["product_operation"]
        ),
    )
    assert new == "DX-2026-000002"
    assert desk.cert(cert).rights == ("holding", "processing_use")
    assert desk.cert(cert).holder == OWNER
    split = desk.cert(new)
    assert (split.holder, split.rights, split.split_from) == (OTHER, ("product_operation",), cert)
    assert split.valid_until == desk.cert(cert).valid_until
    assert desk.registry.certificates.by_root[ROOT_A] == {cert, new}


def test_a_licence_is_recorded_and_capped_at_the_certificate(desk: Desk) -> None:
    cert = desk.through(OWNER, initial(term_days=30))
    desk.through(
        OWNER,
        register(
            "licence",
            certificate_number=cert,
            counterparty=OTHER,
            rights=["processing_use"],
            term_days=365,
        ),
    )
    (licence,) = desk.cert(cert).licences
    assert (licence.licensee, licence.rights) == (OTHER, ("processing_use",))
    assert licence.valid_until == desk.cert(cert).valid_until == NOW + timedelta(days=30)
    assert desk.cert(cert).holder == OWNER


def test_a_renewal_extends_validity_even_after_expiry(desk: Desk, cert: str) -> None:
    old_until = desk.cert(cert).valid_until
    desk.through(OWNER, register("renewal", certificate_number=cert, term_days=10))
    assert desk.cert(cert).valid_until == old_until + timedelta(days=10)
    desk.now = old_until + timedelta(days=100)
    assert desk.status(cert) == "expired"
    desk.through(OWNER, register("renewal", certificate_number=cert, term_days=10))
    assert desk.cert(cert).valid_until == desk.now + timedelta(days=10)
    assert desk.status(cert) == "valid"


def test_a_change_amends_the_asset_and_reindexes_the_fingerprint(desk: Desk, cert: str) -> None:
    desk.through(
        OWNER,
        register(
            "change", certificate_number=cert, asset=asset(ROOT_B, title="Urban traffic flow 2026")
        ),
    )
    assert desk.cert(cert).asset.title == "Urban traffic flow 2026"
    assert desk.registry.certificates.by_root == {ROOT_B: {cert}}
    document = certificate_document(desk.cert(cert))
    assert document["fingerprint"]["root"] == ROOT_B and document["revision"] == 2


def test_a_cancelled_certificate_frees_its_fingerprint(desk: Desk, cert: str) -> None:
    _cancel(desk, cert)
    assert desk.status(cert) == "cancelled"
    assert certificate_document(desk.cert(cert))["status"] == "cancelled"
    rid = desk.submit(OTHER, initial())
    assert desk.registry.registrations[rid].conflicts == []


def test_the_pledgee_may_apply_for_the_release(desk: Desk, cert: str) -> None:
    _pledge(desk, cert)
    release = register("pledge_release", certificate_number=cert)
    refused(desk, NotCertificateHolder, lambda: desk.submit(OTHER, release))
    desk.through(BANK, release)
    assert desk.status(cert) == "valid"


def test_a_registrar_who_holds_the_pledge_may_not_decide_its_release(desk: Desk, cert: str) -> None:
    desk.through(
        OWNER,
        register("pledge", certificate_number=cert, counterparty=REGISTRAR2, secured_amount=1),
    )
    rid = desk.submit(OWNER, register("pledge_release", certificate_number=cert))
    refused(desk, PartyMayNotDecide, lambda: desk.take(rid, REGISTRAR2))


# ---- conflicts -----------------------------------------------------------------------


def test_a_fingerprint_registered_for_another_holder_is_flagged(desk: Desk, cert: str) -> None:
    rid = desk.submit(OTHER, initial())
    assert desk.registry.registrations[rid].conflicts == [cert]
    assert desk.events[-1]["conflicts"] == [cert]
    refused(desk, PartyMayNotDecide, lambda: desk.take(rid, OWNER))  # the conflicting holder


def test_two_registrations_under_notice_flag_each_other() -> None:
    desk = Desk(notice=WEEK)
    first = desk.submit(OWNER, initial())
    second = desk.submit(OTHER, initial())
    assert desk.registry.registrations[second].conflicts == []  # the first is not under notice
    desk.review(first)
    desk.take(second)
    events = desk.open_notice(second)
    assert desk.registry.registrations[second].conflicts == [first]
    assert desk.registry.registrations[first].conflicts == [second]
    assert {
        "type": "registration.conflict_flagged",
        "registration_id": first,
        "conflicts": [second],
    } in events
    third = desk.submit(BANK, initial())
    assert desk.registry.registrations[third].conflicts == [first, second]


def test_a_registrar_holding_a_conflicting_certificate_may_not_decide() -> None:
    desk = Desk()
    desk.through(REGISTRAR2, initial())
    rid = desk.submit(OWNER, initial())
    refused(desk, PartyMayNotDecide, lambda: desk.take(rid, REGISTRAR2))


# ---- certificates and the market's question ------------------------------------------


def test_the_certificate_document_is_plain_canonical_json(desk: Desk, cert: str) -> None:
    document = certificate_document(desk.cert(cert))
    assert canonical_json(document)
    assert document == {
        "type": "dataex.certificate.v1",
        "number": cert,
        "revision": 1,
        "holder": OWNER,
        "rights": ALL_RIGHTS,
        "asset": {k: v for k, v in asset().items() if k != "fingerprint"}
        | {"authorisation_proofs": [], "sample_hash": None},
        "fingerprint": {"root": ROOT_A, "total_bytes": 5_000_000, "file_count": 12},
        "issued_at": "2026-11-27T12:00:00.000000Z",
        "valid_until": "2029-11-26T12:00:00.000000Z",
        "status": "valid",
        "pledge": None,
        "licences": [],
        "registrar": REGISTRAR,
        "registration_id": "R000001",
        "split_from": None,
    }


def test_listable_only_when_valid_and_under_no_open_objection(desk: Desk, cert: str) -> None:
    registry = desk.registry
    assert registry.listable(cert, desk.now)
    assert not registry.listable("DX-2026-000404", desk.now)

    desk.notice = WEEK
    rid = desk.submit(
        OWNER,
        register("licence", certificate_number=cert, counterparty=OTHER, rights=["processing_use"]),
    )
    desk.review(rid)
    oid = desk.object(BANK, rid)
    assert not registry.listable(cert, desk.now)
    assert "open objection" in str(registry.why_not_listable(cert, desk.now))
    desk.decide_objection(oid, "dismiss")
    assert registry.listable(cert, desk.now)

    desk.now += WEEK
    desk.decide(rid)
    assert registry.listable(cert, desk.now)  # licensed is still listable
    desk.notice = timedelta(0)
    _pledge(desk, cert)
    assert registry.why_not_listable(cert, desk.now) == f"certificate {cert} is encumbered"
    desk.through(OWNER, register("pledge_release", certificate_number=cert))
    assert registry.listable(cert, desk.now)
    assert not registry.listable(cert, desk.cert(cert).valid_until)
    _cancel(desk, cert)
    assert not registry.listable(cert, desk.now)


# ---- who may sign what ---------------------------------------------------------------

# The role × action table, written out cell by cell (not derived from the definitions).
COLUMNS = ("operator", "registrar", "issuer", "trader", "regulator")
ROLE_TABLE: dict[str, tuple[bool, ...]] = {
    "dataex.registry.register.v1": (True, True, True, True, True),
    "dataex.registry.withdraw.v1": (True, True, True, True, True),
    "dataex.registry.accept_transfer.v1": (True, True, True, True, True),
    "dataex.registry.object.v1": (True, True, True, True, True),
    "dataex.registry.take.v1": (False, True, False, False, False),
    "dataex.registry.open_notice.v1": (False, True, False, False, False),
    "dataex.registry.decide_objection.v1": (False, True, False, False, False),
    "dataex.registry.decide.v1": (False, True, False, False, False),
}
SAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "dataex.registry.register.v1": msgspec.json.decode(msgspec.json.encode(initial())),
    "dataex.registry.withdraw.v1": {"registration_id": "R000001"},
    "dataex.registry.accept_transfer.v1": {"registration_id": "R000001"},
    "dataex.registry.object.v1": {"registration_id": "R000001", "grounds": "Mine."},
    "dataex.registry.take.v1": {"registration_id": "R000001"},
    "dataex.registry.open_notice.v1": {"registration_id": "R000001"},
    "dataex.registry.decide_objection.v1": {
        "objection_id": "O000001",
        "outcome": "dismiss",
        "reasons": "No evidence.",
    },
    "dataex.registry.decide.v1": {"registration_id": "R000001", "outcome": "register"},
}
CONTRACTS_BY_NAME = {c.name: c for c in REGISTRY_CONTRACTS}


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


@pytest.fixture(scope="module")
def signers() -> tuple[Participants, dict[str, tuple[str, Ed25519PrivateKey]]]:
    """One participant per role, admitted with a fixed key: role → (key id, private key)."""
    participants = Participants()
    keys: dict[str, tuple[str, Ed25519PrivateKey]] = {}
    for seed, role in enumerate(ROLES, start=1):
        key = _key(seed)
        public_key = b64url_encode(public_key_bytes(key))
        body = AdmitParticipant(role, f"legal-{role}", public_key, [role])  # type: ignore[list-item]
        (event,) = participants.admit(body)
        keys[role] = (str(event["key_id"]), key)
    return participants, keys


def test_the_role_table_covers_exactly_the_registry_contracts() -> None:
    names = set(CONTRACTS_BY_NAME)
    assert set(ROLE_TABLE) == names == set(SAMPLE_BODIES)
    assert set(REGISTRY_HANDLERS) | {REGISTER_CONTRACT, DECIDE_CONTRACT} == names
    assert all(name.startswith("dataex.registry.") and name.endswith(".v1") for name in names)
    assert set(COLUMNS) == set(ROLES) and len(COLUMNS) == len(ROLES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("contract_name", list(ROLE_TABLE))
def test_role_table_cell(signers: Any, contract_name: str, role: str) -> None:
    """Sign the contract as a participant with only this role and authenticate it."""
    participants, keys = signers
    kid, key = keys[role]
    contract = CONTRACTS_BY_NAME[contract_name]
    document = {
        "contract": contract_name,
        "signer": kid,
        "nonce": f"n-{role}",
        "issued_at": "2026-11-27T12:00:00Z",
        "body": SAMPLE_BODIES[contract_name],
    }
    envelope = sign_document(document, key)
    typed = msgspec.convert(envelope, envelope_type(contract))
    parsed = ParsedEnvelope(contract, envelope, typed, canonical_json(document))
    if ROLE_TABLE[contract_name][COLUMNS.index(role)]:
        command = authenticate(parsed, participants, now=NOW, max_skew=timedelta(minutes=5))
        assert command.participant_id is not None
    else:
        with pytest.raises(RoleNotAllowed):
            authenticate(parsed, participants, now=NOW, max_skew=timedelta(minutes=5))


def test_apply_registry_dispatches_every_contract(desk: Desk) -> None:
    body = msgspec.convert(SAMPLE_BODIES[REGISTER_CONTRACT], Register)
    events = apply_registry(
        desk.registry,
        REGISTER_CONTRACT,
        OWNER,
        body,
        now=NOW,
        notice_period=timedelta(0),
        admitted=ADMITTED,
    )
    rid = events[0]["registration_id"]
    take = msgspec.convert({"registration_id": rid}, TakeForReview)
    events = apply_registry(
        desk.registry,
        "dataex.registry.take.v1",
        REGISTRAR,
        take,
        now=NOW,
        notice_period=timedelta(0),
    )
    assert events == [{"type": "registration.taken", "registration_id": rid, "reviewer": REGISTRAR}]


# ---- the published JSON Schema agrees with the msgspec types -------------------------

CERT_NO = "DX-2026-000001"
GOOD_APPLICATIONS: list[dict[str, Any]] = [
    msgspec.json.decode(msgspec.json.encode(initial()))["application"],
    {"kind": "change", "certificate_number": CERT_NO, "asset": asset(sample_hash=ROOT_B)},
    {
        "kind": "transfer",
        "certificate_number": CERT_NO,
        "counterparty": OTHER,
        "rights": ALL_RIGHTS,
    },
    {
        "kind": "licence",
        "certificate_number": CERT_NO,
        "counterparty": OTHER,
        "rights": ["holding"],
    },
    {"kind": "pledge", "certificate_number": CERT_NO, "counterparty": BANK, "secured_amount": 9},
    {"kind": "pledge_release", "certificate_number": CERT_NO},
    {"kind": "renewal", "certificate_number": CERT_NO, "term_days": 30},
    {"kind": "cancellation", "certificate_number": CERT_NO, "reason": "Done."},
]
BAD_APPLICATIONS: list[dict[str, Any]] = [
    {**GOOD_APPLICATIONS[0], "asset": asset("a" * 64 + "\n")},
    {**GOOD_APPLICATIONS[0], "asset": asset("A" * 64)},
    {**GOOD_APPLICATIONS[0], "asset": {**asset(), "owner": OWNER}},
    {**GOOD_APPLICATIONS[0], "rights": []},
    {**GOOD_APPLICATIONS[2], "kind": "licence", "rights": ["holding"], "counterparty": None},
    {"kind": "gift", "certificate_number": CERT_NO},
    {"kind": "renewal", "certificate_number": CERT_NO, "term_days": 3651},
    {"kind": "pledge_release"},
]


def _envelope(contract: str, body: dict[str, Any]) -> dict[str, Any]:
    document = {
        "contract": contract,
        "signer": "ed25519:" + "A" * 22,
        "nonce": "n1",
        "issued_at": "2026-11-27T12:00:00Z",
        "body": body,
    }
    return {"document": document, "signature": "A" * 86}


@pytest.mark.parametrize("good", [True, False], ids=["good", "bad"])
def test_schema_and_type_agree_on_registrations(good: bool) -> None:
    contract = CONTRACTS_BY_NAME[REGISTER_CONTRACT]
    envelope_cls = envelope_type(contract)
    schema = msgspec.json.schema(envelope_cls)
    for application in GOOD_APPLICATIONS if good else BAD_APPLICATIONS:
        envelope = _envelope(REGISTER_CONTRACT, {"application": application})
        if good:
            jsonschema.validate(envelope, schema)
            msgspec.convert(envelope, envelope_cls)
            continue
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(envelope, schema)
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(envelope, envelope_cls)


@pytest.mark.parametrize("contract_name", list(SAMPLE_BODIES))
def test_every_sample_body_fits_both_schema_and_type(contract_name: str) -> None:
    envelope_cls = envelope_type(CONTRACTS_BY_NAME[contract_name])
    envelope = _envelope(contract_name, SAMPLE_BODIES[contract_name])
    jsonschema.validate(envelope, msgspec.json.schema(envelope_cls))
    msgspec.convert(envelope, envelope_cls)
    extra = _envelope(contract_name, {**SAMPLE_BODIES[contract_name], "zzz": 1})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(extra, msgspec.json.schema(envelope_cls))
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(extra, envelope_cls)


# ---- the registrar's certificate signatures ------------------------------------------


def _decide_signed(
    desk: Desk, rid: str, items: list[dict[str, str]], registrar: str = REGISTRAR
) -> Events:
    body = msgspec.convert(
        {"registration_id": rid, "outcome": "register", "certificate_signatures": items},
        DecideRegistration,
    )
    return desk.registry.decide(
        registrar,
        body,
        desk.now,
        desk.notice,
        decided_at=desk.now,
        registrar_key=registrar_key(registrar),
    )


def test_registering_needs_the_registrars_signature_over_the_derived_document(
    desk: Desk,
) -> None:
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    (document,) = desk.registry.preview_decision(REGISTRAR, rid, desk.now, desk.now)
    good = signatures([document], REGISTRAR)
    other_key = signatures([document], REGISTRAR2)
    forged = signatures([{**document, "holder": OTHER}], REGISTRAR)
    extra = [*good, {"number": "DX-2026-000099", "signature": good[0]["signature"]}]
    for attempt in ([], other_key, forged, extra):
        error = refused(
            desk, CertificateSignatureMismatch, partial(_decide_signed, desk, rid, attempt)
        )
        assert error.status == 422 and error.slug == "certificate-signature"
        assert error.extra["certificates"] == [{"number": document["number"], "document": document}]
    refused(desk, SchemaViolation, partial(_decide_signed, desk, rid, [*good, *good]))
    refused(
        desk,
        SchemaViolation,
        lambda: desk.reject_with(rid, certificate_signatures=good),
    )
    events = _decide_signed(desk, rid, good)
    assert events[1]["signature"] == good[0]["signature"]
    assert events[1]["registrar_key_id"] == registrar_key(REGISTRAR).key_id


def test_the_preview_is_exactly_what_the_decision_issues_at_its_issued_at() -> None:
    desk = Desk(notice=DAY)
    rid = desk.submit(OWNER, initial(term_days=10))
    desk.review(rid)
    desk.now = NOW + DAY + timedelta(minutes=3)
    signed_at = desk.now - timedelta(minutes=2)  # the decision's issued_at, within the skew
    documents = desk.registry.preview_decision(REGISTRAR, rid, desk.now, signed_at)
    body = msgspec.convert(
        {
            "registration_id": rid,
            "outcome": "register",
            "certificate_signatures": signatures(documents, REGISTRAR),
        },
        DecideRegistration,
    )
    events = desk.registry.decide(
        REGISTRAR, body, desk.now, desk.notice, decided_at=signed_at,
        registrar_key=registrar_key(REGISTRAR),
    )
    assert [e["document"] for e in events if e["type"] == "certificate.issued"] == documents
    cert = desk.cert(documents[0]["number"])
    assert cert.issued_at == signed_at and cert.valid_until == signed_at + timedelta(days=10)
    assert cert.signature == body.certificate_signatures[0].signature


def test_a_certificate_cannot_be_dated_before_its_notice_ends() -> None:
    desk = Desk(notice=DAY)
    rid = desk.submit(OWNER, initial())
    desk.review(rid)
    desk.now = NOW + DAY + timedelta(seconds=1)  # the notice has ended by the log's clock
    early = NOW + DAY - timedelta(seconds=1)  # but the decision is dated just before
    with pytest.raises(NoticeRunning, match="dated"):
        desk.registry.preview_decision(REGISTRAR, rid, desk.now, early)
    documents = desk.registry.preview_decision(REGISTRAR, rid, desk.now, NOW + DAY)
    body = msgspec.convert(
        {"registration_id": rid, "outcome": "register",
         "certificate_signatures": signatures(documents, REGISTRAR)},
        DecideRegistration,
    )
    refused(desk, NoticeRunning, lambda: desk.registry.decide(
        REGISTRAR, body, desk.now, desk.notice, decided_at=early,
        registrar_key=registrar_key(REGISTRAR)))
    desk.registry.decide(REGISTRAR, body, desk.now, desk.notice, decided_at=NOW + DAY,
                         registrar_key=registrar_key(REGISTRAR))


def test_the_preview_refuses_what_the_decision_would(desk: Desk) -> None:
    desk.notice = WEEK
    rid = desk.submit(OWNER, initial())
    with pytest.raises(InvalidState):
        desk.registry.preview_decision(REGISTRAR, rid, desk.now, desk.now)
    desk.review(rid)
    with pytest.raises(NoticeRunning):
        desk.registry.preview_decision(REGISTRAR, rid, desk.now, desk.now)
    with pytest.raises(PartyMayNotDecide):
        desk.registry.preview_decision(OWNER, rid, desk.now + WEEK, desk.now + WEEK)


def test_every_revision_and_a_split_carry_the_registrars_signature(desk: Desk, cert: str) -> None:
    rid = desk.submit(
        OWNER,
        register("transfer", certificate_number=cert, counterparty=OTHER, rights=["holding"]),
    )
    desk.accept(OTHER, rid)
    desk.review(rid)
    documents = desk.registry.preview_decision(REGISTRAR, rid, desk.now, desk.now)
    assert [d["number"] for d in documents] == [cert, f"DX-2026-{rid[1:]}"]
    assert documents[0]["revision"] == 2 and documents[1]["split_from"] == cert
    refused(
        desk,
        CertificateSignatureMismatch,
        partial(_decide_signed, desk, rid, signatures(documents[:1], REGISTRAR)),
    )
    events = _decide_signed(desk, rid, signatures(documents, REGISTRAR))
    certificate_events = [e for e in events if e["type"].startswith("certificate.")]
    assert [e["type"] for e in certificate_events] == ["certificate.updated", "certificate.issued"]
    public = registrar_key(REGISTRAR).public_key
    for event in certificate_events:
        assert certificate_signature_valid(event["document"], event["signature"], public)


# ---- records: the store keeps views, start-up restores from them ---------------------


def _records(registry: Registry) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What the store would hold, through JSON as JSONB would keep it."""
    regs = [registry.registration_record(rid) for rid in registry.registrations]
    certs = [certificate_record(c) for c in registry.certificates.by_number.values()]
    return msgspec.json.decode(msgspec.json.encode(regs)), msgspec.json.decode(
        msgspec.json.encode(certs)
    )


def test_a_registry_restored_from_its_records_is_the_same_registry() -> None:
    desk = Desk(notice=WEEK)
    number = desk.through(OWNER, initial(ROOT_A))
    desk.through(
        OWNER,
        register("licence", certificate_number=number, counterparty=OTHER, rights=["holding"]),
    )
    desk.through(
        OWNER, register("pledge", certificate_number=number, counterparty=BANK, secured_amount=5)
    )
    conflicting = desk.submit(OTHER, initial(ROOT_A))  # flagged against the certificate
    desk.review(conflicting)
    oid = desk.object(BANK, conflicting)
    withdrawn = desk.submit(BANK, initial(ROOT_B))
    desk.withdraw(BANK, withdrawn)
    pending = desk.submit(OWNER, register("renewal", certificate_number=number))

    registry = Registry.restore(*_records(desk.registry))
    assert registry.snapshot() == desk.registry.snapshot()
    assert list(registry.registrations) == list(desk.registry.registrations)

    # And it behaves the same from here on.
    twin = Desk(notice=WEEK)
    twin.registry, twin.now = registry, desk.now
    for d in (desk, twin):
        d.decide_objection(oid, "dismiss")
        d.now += WEEK
        d.events.clear()
        d.decide(conflicting)
        d.take(pending)
    assert twin.events == desk.events
    assert twin.registry.snapshot() == desk.registry.snapshot()
