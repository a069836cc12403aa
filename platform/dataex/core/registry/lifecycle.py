"""The registration lifecycle: application, review, public notice, objections, decision.

    awaiting_acceptance (transfers only, until the receiver accepts)
      → submitted → under_review (a registrar takes it)
      → public_notice (notice_period, 0 allowed) → registered | rejected
    withdrawn: by the applicant, any time before a decision
    rejected: also straight from review, or when an objection is upheld

Every method validates fully before it changes anything, so a refused command
leaves the registry exactly as it was (tests compare snapshots). Times come in
as `now`; ids come from counters, so replaying the log gives the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dataex.core.documents.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    SchemaViolation,
)
from dataex.core.documents.timefmt import format_utc
from dataex.core.participants.directory import Event
from dataex.core.registry.certificate_signing import RegistrarKey, certificate_signature_valid
from dataex.core.registry.certificates import (
    Certificate,
    CertificateBook,
    certificate_document,
    check_fits,
)
from dataex.core.registry.contracts import (
    AcceptTransfer,
    Asset,
    DecideObjection,
    DecideRegistration,
    FileObjection,
    InitialApplication,
    LicenceApplication,
    OpenNotice,
    Register,
    TakeForReview,
    TransferApplication,
    Withdraw,
    kind_of,
)
from dataex.core.registry.errors import (
    CertificateSignatureMismatch,
    CoreDataRefused,
    NotApplicant,
    NoticeClosed,
    NoticeRunning,
    ObjectionOpen,
    PartyMayNotDecide,
)
from dataex.core.registry.records import (
    OPEN_STATUSES,
    Objection,
    Registration,
    decision_record,
    objection_from_view,
    objection_view,
    registration_from_view,
    registration_view,
)

# Who "decides" a licence registration a market trade records: the platform, not a registrar.
MARKET_RECORDER = "platform:market"


@dataclass
class Registry:
    """Registrations, objections and certificates, with the indexes conflicts need."""

    registrations: dict[str, Registration] = field(default_factory=dict)
    objections: dict[str, Objection] = field(default_factory=dict)
    certificates: CertificateBook = field(default_factory=CertificateBook)
    # Undecided registrations that carry an asset, by fingerprint root: conflicts and
    # duplicates are found here without scanning every registration ever filed.
    open_by_root: dict[str, set[str]] = field(default_factory=dict)

    # ---- owner actions -------------------------------------------------------------

    def submit(
        self,
        participant_id: str,
        body: Register,
        now: datetime,
        notice_period: timedelta,
        *,
        admitted: Container[str] | None = None,
    ) -> list[Event]:
        """File an application; `admitted`, when given, must contain the counterparty."""
        app = body.application
        kind = kind_of(app)
        rights = getattr(app, "rights", None)
        if rights is not None and len(set(rights)) != len(rights):
            raise SchemaViolation("rights must not repeat")
        asset = getattr(app, "asset", None)
        if asset is not None:
            _check_asset(asset)
        counterparty = getattr(app, "counterparty", None)
        if counterparty is not None:
            if counterparty == participant_id:
                raise SchemaViolation(f"the counterparty of a {kind} must be someone else")
            if admitted is not None and counterparty not in admitted:
                raise NotFound(f"counterparty {counterparty} is not an admitted participant")
        cert = None
        if isinstance(app, InitialApplication):
            self._refuse_duplicate(participant_id, app.asset.fingerprint.root)
        else:
            cert = self.certificates.get(app.certificate_number)
            check_fits(cert, participant_id, app, now)
        conflicts = (
            self._conflicts(asset.fingerprint.root, participant_id, None)
            if asset is not None
            else []
        )
        rid = self.next_registration_id()
        status = "awaiting_acceptance" if isinstance(app, TransferApplication) else "submitted"
        self.registrations[rid] = Registration(
            rid, participant_id, app, now, status, conflicts=conflicts
        )
        if cert is not None:
            cert.history.append(rid)
        if asset is not None:
            self.open_by_root.setdefault(asset.fingerprint.root, set()).add(rid)
        return [
            {
                "type": "registration.submitted",
                "registration_id": rid,
                "kind": kind,
                "applicant": participant_id,
                "certificate_number": None if cert is None else cert.number,
                "counterparty": counterparty,
                "status": status,
                "conflicts": list(conflicts),
            }
        ]

    def withdraw(
        self, participant_id: str, body: Withdraw, now: datetime, notice_period: timedelta
    ) -> list[Event]:
        reg = self._get(body.registration_id)
        if reg.applicant != participant_id:
            raise NotApplicant(f"only {reg.applicant} may withdraw {reg.registration_id}")
        self._require_open(reg)
        reg.status = "withdrawn"
        events: list[Event] = [
            {
                "type": "registration.withdrawn",
                "registration_id": reg.registration_id,
                "reason": body.reason,
            }
        ]
        return events + self._end(reg, now)

    def accept_transfer(
        self, participant_id: str, body: AcceptTransfer, now: datetime, notice_period: timedelta
    ) -> list[Event]:
        reg = self._get(body.registration_id)
        if reg.kind != "transfer":
            raise InvalidState(f"{reg.registration_id} is a {reg.kind}, not a transfer")
        if reg.counterparty != participant_id:
            raise Forbidden(f"only the receiver {reg.counterparty} may accept this transfer")
        if reg.status != "awaiting_acceptance":
            raise InvalidState(f"{reg.registration_id} is {reg.status}, not awaiting acceptance")
        reg.status = "submitted"
        reg.accepted_at = now
        return [
            {
                "type": "registration.transfer_accepted",
                "registration_id": reg.registration_id,
                "receiver": participant_id,
            }
        ]

    def file_objection(
        self, participant_id: str, body: FileObjection, now: datetime, notice_period: timedelta
    ) -> list[Event]:
        """Any participant but the applicant may object while the notice runs."""
        reg = self._get(body.registration_id)
        if reg.status != "public_notice" or reg.notice_ends_at is None:
            raise NoticeClosed(f"{reg.registration_id} is {reg.status}, not under public notice")
        if now >= reg.notice_ends_at:
            raise NoticeClosed(
                f"the notice of {reg.registration_id} ended at {format_utc(reg.notice_ends_at)}"
            )
        if participant_id == reg.applicant:
            raise Forbidden("an applicant cannot object to its own registration")
        oid = f"O{len(self.objections) + 1:06d}"
        self.objections[oid] = Objection(
            oid, reg.registration_id, participant_id, body.grounds, tuple(body.evidence_hashes), now
        )
        reg.objection_ids.append(oid)
        return [
            {
                "type": "objection.filed",
                "objection_id": oid,
                "registration_id": reg.registration_id,
                "objector": participant_id,
                "grounds": body.grounds,
                "evidence_hashes": list(body.evidence_hashes),
            }
        ]

    # ---- registrar actions ---------------------------------------------------------

    def take(
        self, participant_id: str, body: TakeForReview, now: datetime, notice_period: timedelta
    ) -> list[Event]:
        reg = self._get(body.registration_id)
        self._require_impartial(participant_id, reg)
        if reg.status != "submitted":
            raise InvalidState(f"{reg.registration_id} is {reg.status}, not submitted")
        reg.status = "under_review"
        reg.reviewer = participant_id
        return [
            {
                "type": "registration.taken",
                "registration_id": reg.registration_id,
                "reviewer": participant_id,
            }
        ]

    def open_notice(
        self, participant_id: str, body: OpenNotice, now: datetime, notice_period: timedelta
    ) -> list[Event]:
        if notice_period < timedelta(0):
            raise ValueError("the notice period cannot be negative")
        reg = self._get(body.registration_id)
        self._require_impartial(participant_id, reg)
        if reg.status != "under_review":
            raise InvalidState(f"{reg.registration_id} is {reg.status}, not under review")
        events: list[Event] = []
        reg.status = "public_notice"
        reg.notice_opened_at = now
        reg.notice_ends_at = now + notice_period
        if reg.asset is not None:
            root = reg.asset.fingerprint.root
            found = self._conflicts(root, reg.applicant, reg.registration_id)
            reg.conflicts = sorted(set(reg.conflicts) | set(found))
            for other_id in sorted(self.open_by_root.get(root, ())):
                other = self.registrations[other_id]
                if other.status != "public_notice" or other.applicant == reg.applicant:
                    continue
                if reg.registration_id not in other.conflicts:
                    other.conflicts = sorted([*other.conflicts, reg.registration_id])
                    events.append(
                        {
                            "type": "registration.conflict_flagged",
                            "registration_id": other_id,
                            "conflicts": list(other.conflicts),
                        }
                    )
        opened: Event = {
            "type": "registration.notice_opened",
            "registration_id": reg.registration_id,
            "notice_opened_at": format_utc(now),
            "notice_ends_at": format_utc(reg.notice_ends_at),
            "conflicts": list(reg.conflicts),
        }
        return [opened, *events]

    def decide_objection(
        self, participant_id: str, body: DecideObjection, now: datetime, notice_period: timedelta
    ) -> list[Event]:
        objection = self.objections.get(body.objection_id)
        if objection is None:
            raise NotFound(f"no objection {body.objection_id}")
        reg = self.registrations[objection.registration_id]
        self._require_impartial(participant_id, reg)
        if objection.status != "open":
            raise InvalidState(f"{objection.objection_id} is already {objection.status}")
        objection.status = "upheld" if body.outcome == "uphold" else "dismissed"
        objection.reasons = body.reasons
        objection.decided_by = participant_id
        objection.decided_at = now
        events: list[Event] = [
            {
                "type": f"objection.{objection.status}",
                "objection_id": objection.objection_id,
                "registration_id": reg.registration_id,
                "decided_by": participant_id,
                "reasons": body.reasons,
            }
        ]
        if body.outcome == "uphold":
            events += self._reject(reg, participant_id, now, "objection_upheld", body.reasons)
        return events

    def decide(
        self,
        participant_id: str,
        body: DecideRegistration,
        now: datetime,
        notice_period: timedelta,
        *,
        decided_at: datetime,
        registrar_key: RegistrarKey,
    ) -> list[Event]:
        """Register after the notice ends with no open objection; reject from review or notice.

        `decided_at` is the decision document's issued_at: the certificate documents
        use it (not the entry's time) so that the registrar can sign them ahead. A
        registration is accepted only with the registrar's signature, under the key
        that signed the decision, over every certificate document it produces.
        """
        rejecting = body.outcome == "reject"
        if rejecting and (body.reason_code is None or body.reason_text is None):
            raise SchemaViolation("a rejection needs reason_code and reason_text")
        if not rejecting and (body.reason_code is not None or body.reason_text is not None):
            raise SchemaViolation("reason_code and reason_text belong to a rejection only")
        if rejecting and body.certificate_signatures:
            raise SchemaViolation("a rejection issues no certificate: no certificate_signatures")
        reg = self._get(body.registration_id)
        self._check_decidable(participant_id, reg, now, rejecting=rejecting)
        if rejecting:
            assert body.reason_code is not None and body.reason_text is not None
            return self._reject(reg, participant_id, now, body.reason_code, body.reason_text)
        revisions = self._plan(reg, participant_id, now, decided_at)
        signatures = _checked_signatures(revisions, body, registrar_key)
        events = self.certificates.commit(revisions, reg.kind, signatures, registrar_key.key_id)
        issued = next((c.number for c in revisions if c.number != reg.certificate_number), None)
        reg.status = "registered"
        reg.issued_certificate = issued
        reg.decision = decision_record("register", participant_id, now, None, None)
        registered: Event = {
            "type": "registration.registered",
            "registration_id": reg.registration_id,
            "decided_by": participant_id,
            "certificate_number": issued or reg.certificate_number,
        }
        return [registered, *events, *self._end(reg, now)]

    def preview_decision(
        self, registrar: str, registration_id: str, now: datetime, decided_at: datetime
    ) -> list[dict[str, Any]]:
        """The certificate documents registering now would produce, for the registrar to sign.

        Raises what `decide` would raise before the signature check (notice running,
        objection open, certificate state...), so a registrar learns early.
        """
        reg = self._get(registration_id)
        self._check_decidable(registrar, reg, now, rejecting=False)
        return [certificate_document(c) for c in self._plan(reg, registrar, now, decided_at)]

    # ---- licences made by the market -------------------------------------------------

    def next_registration_id(self) -> str:
        return f"R{len(self.registrations) + 1:06d}"

    def record_market_licence(
        self,
        *,
        certificate_number: str,
        licensor: str,
        licensee: str,
        rights: tuple[str, ...],
        term_days: int,
        now: datetime,
        market: dict[str, Any],
    ) -> list[Event]:
        """Record a licence a market trade made as a registered licence registration.

        No review or notice: the market checked the certificate when the product was
        listed and again at the fill (Market.check_certificate), and the platform signs
        the licence document. The registration joins the certificate's history, so
        the registry's history, search and registration views show it; the
        certificate's registrar-signed document is left as it is (its `licences`
        are the registrar's). Called by the fill, in the same command, so a replay
        records the same registration with the same id.
        """
        cert = self.certificates.get(certificate_number)
        rid = self.next_registration_id()
        application = LicenceApplication(
            certificate_number=certificate_number,
            counterparty=licensee,
            rights=rights,  # type: ignore[arg-type]  # the template's rights, checked at load
            term_days=term_days,
        )
        self.registrations[rid] = Registration(
            rid,
            licensor,
            application,
            now,
            "registered",
            decision=decision_record("register", MARKET_RECORDER, now, None, None),
            market=dict(market),
        )
        cert.history.append(rid)
        return [
            {
                "type": "registration.licence_recorded",
                "registration_id": rid,
                "kind": "licence",
                "certificate_number": certificate_number,
                "applicant": licensor,
                "counterparty": licensee,
                "rights": list(rights),
                "market": dict(market),
            }
        ]

    def end_market_licence(
        self, registration_id: str, status: str, trade_id: str
    ) -> list[Event]:
        """A market licence ended (resold on, or sold back to the issuer): say so on its record.

        The registration stays `registered` (it happened); its `market` part says
        the licence is over and which trade ended it.
        """
        reg = self.registrations[registration_id]
        assert reg.market is not None, f"{registration_id} is not a market licence"
        reg.market = {**reg.market, "status": status, "ended_by_trade": trade_id}
        return [
            {
                "type": "registration.licence_ended",
                "registration_id": registration_id,
                "certificate_number": reg.certificate_number,
                "licence_id": reg.market["licence_id"],
                "status": status,
                "trade_id": trade_id,
            }
        ]

    # ---- queries ---------------------------------------------------------------------

    def why_not_listable(self, certificate_number: str, now: datetime) -> str | None:
        """Why the market may not list this certificate now, or None if it may."""
        cert = self.certificates.by_number.get(certificate_number)
        if cert is None:
            return f"no certificate {certificate_number}"
        status = cert.status_at(now)
        if status != "valid":
            return f"certificate {certificate_number} is {status}"
        for rid in cert.history:
            for oid in self.registrations[rid].objection_ids:
                if self.objections[oid].status == "open":
                    return f"certificate {certificate_number} is under open objection {oid}"
        return None

    def listable(self, certificate_number: str, now: datetime) -> bool:
        """Valid (not pledged, expired or cancelled) and under no open objection."""
        return self.why_not_listable(certificate_number, now) is None

    def under_notice(self) -> list[Registration]:
        """The public notice board, oldest first (expired notices stay until decided)."""
        return [r for r in self.registrations.values() if r.status == "public_notice"]

    def registration_record(self, registration_id: str) -> dict[str, Any]:
        """One registration with its objections, as plain JSON: what the store keeps."""
        reg = self.registrations[registration_id]
        return {
            "registration_id": registration_id,
            **registration_view(reg),
            "objections": [
                {"objection_id": oid, **objection_view(self.objections[oid])}
                for oid in reg.objection_ids
            ],
        }

    @classmethod
    def restore(
        cls, registrations: list[dict[str, Any]], certificates: list[dict[str, Any]]
    ) -> Registry:
        """Rebuild a registry from registration_record() and certificate_record() values.

        The indexes are derived again: undecided registrations with an asset are
        open by their root, and uncancelled certificates are live by theirs.
        """
        registry = cls(certificates=CertificateBook.restore(certificates))
        for record in sorted(registrations, key=lambda r: _serial(r["registration_id"])):
            rid = record["registration_id"]
            reg = registration_from_view(rid, record)
            registry.registrations[rid] = reg
            for objection in record["objections"]:
                oid = objection["objection_id"]
                registry.objections[oid] = objection_from_view(oid, objection)
            if reg.asset is not None and reg.status in OPEN_STATUSES:
                registry.open_by_root.setdefault(reg.asset.fingerprint.root, set()).add(rid)
        registry.objections = dict(sorted(registry.objections.items(), key=lambda i: _serial(i[0])))
        return registry

    def snapshot(self) -> dict[str, Any]:
        """A plain, comparable picture of everything the registry holds."""
        return {
            "registrations": {
                rid: registration_view(r) for rid, r in sorted(self.registrations.items())
            },
            "objections": {oid: objection_view(o) for oid, o in sorted(self.objections.items())},
            "certificates": self.certificates.snapshot(),
            "open_by_root": {r: sorted(ids) for r, ids in sorted(self.open_by_root.items())},
        }

    # ---- helpers ---------------------------------------------------------------------

    def _get(self, registration_id: str) -> Registration:
        reg = self.registrations.get(registration_id)
        if reg is None:
            raise NotFound(f"no registration {registration_id}")
        return reg

    @staticmethod
    def _require_open(reg: Registration) -> None:
        if reg.status not in OPEN_STATUSES:
            raise InvalidState(f"{reg.registration_id} is already {reg.status}")

    def _parties(self, reg: Registration) -> set[str]:
        """Everyone whose interest a decision touches; none of them may act as its registrar.

        Beyond applicant and counterparty: the holder and pledgee of the certificate acted
        on, whoever holds or applies for a conflicting fingerprint, and every objector.
        """
        parties = {reg.applicant}
        if reg.counterparty is not None:
            parties.add(reg.counterparty)
        numbers = [n for n in reg.conflicts if n.startswith("DX-")]
        if reg.certificate_number is not None:
            numbers.append(reg.certificate_number)
        for number in numbers:
            cert = self.certificates.get(number)
            parties.add(cert.holder)
            if cert.pledge is not None:
                parties.add(cert.pledge.pledgee)
        parties.update(self.registrations[r].applicant for r in reg.conflicts if r.startswith("R"))
        parties.update(self.objections[o].objector for o in reg.objection_ids)
        return parties

    def _require_impartial(self, registrar: str, reg: Registration) -> None:
        if registrar in self._parties(reg):
            raise PartyMayNotDecide(
                f"{registrar} is party to {reg.registration_id} and may not act on it as registrar"
            )

    def _refuse_duplicate(self, applicant: str, root: str) -> None:
        for cert in self.certificates.live_with_root(root):
            if cert.holder == applicant:
                raise Conflict(f"{applicant} already holds {cert.number} for this fingerprint")
        for rid in sorted(self.open_by_root.get(root, ())):
            if self.registrations[rid].applicant == applicant:
                raise Conflict(f"{rid} already applies for this fingerprint")

    def _conflicts(self, root: str, applicant: str, own_id: str | None) -> list[str]:
        """Certificates and registrations under notice with this root for another holder."""
        found = [c.number for c in self.certificates.live_with_root(root) if c.holder != applicant]
        found += [
            rid
            for rid in sorted(self.open_by_root.get(root, ()))
            if rid != own_id
            and self.registrations[rid].status == "public_notice"
            and self.registrations[rid].applicant != applicant
        ]
        return sorted(found)

    def _check_decidable(
        self, registrar: str, reg: Registration, now: datetime, *, rejecting: bool
    ) -> None:
        self._require_impartial(registrar, reg)
        if reg.status == "under_review" and not rejecting:
            raise InvalidState(f"{reg.registration_id} must go through public notice first")
        if reg.status not in ("under_review", "public_notice"):
            raise InvalidState(f"{reg.registration_id} is {reg.status}; nothing to decide")
        if reg.status == "public_notice":
            assert reg.notice_ends_at is not None
            if now < reg.notice_ends_at:
                raise NoticeRunning(
                    f"the notice of {reg.registration_id} runs until "
                    f"{format_utc(reg.notice_ends_at)}"
                )
            open_ids = [o for o in reg.objection_ids if self.objections[o].status == "open"]
            if open_ids:
                raise ObjectionOpen(
                    f"decide the open objections first: {', '.join(open_ids)}", objections=open_ids
                )

    def _plan(
        self, reg: Registration, registrar: str, now: datetime, decided_at: datetime
    ) -> list[Certificate]:
        """Check the certificate again (it may have changed since filing) and plan revisions."""
        if reg.notice_ends_at is not None and decided_at < reg.notice_ends_at:
            # `now` passed the notice's end, but the decision is dated (within the clock
            # skew) before it: its certificates would predate the end of the notice.
            raise NoticeRunning(
                f"the decision is dated {format_utc(decided_at)}, before the notice of "
                f"{reg.registration_id} ends at {format_utc(reg.notice_ends_at)}"
            )
        if not isinstance(reg.application, InitialApplication):
            check_fits(
                self.certificates.get(reg.application.certificate_number),
                reg.applicant,
                reg.application,
                now,
            )
        return self.certificates.plan(
            reg.registration_id, reg.applicant, reg.application, decided_at, registrar
        )

    def _reject(
        self, reg: Registration, registrar: str, now: datetime, code: str, text: str
    ) -> list[Event]:
        reg.status = "rejected"
        reg.decision = decision_record("reject", registrar, now, code, text)
        rejected: Event = {
            "type": "registration.rejected",
            "registration_id": reg.registration_id,
            "decided_by": registrar,
            "reason_code": code,
            "reason_text": text,
        }
        return [rejected, *self._end(reg, now)]

    def _end(self, reg: Registration, now: datetime) -> list[Event]:
        """Leave the open index and close objections that no longer have anything to decide."""
        if reg.asset is not None:
            root = reg.asset.fingerprint.root
            ids = self.open_by_root.get(root, set())
            ids.discard(reg.registration_id)
            if not ids:
                self.open_by_root.pop(root, None)
        events: list[Event] = []
        for oid in reg.objection_ids:
            objection = self.objections[oid]
            if objection.status == "open":
                objection.status = "closed"
                objection.decided_at = now
                events.append(
                    {
                        "type": "objection.closed",
                        "objection_id": oid,
                        "registration_id": reg.registration_id,
                        "status": reg.status,
                    }
                )
        return events


Handler = Callable[[Registry, str, Any, datetime, timedelta], list[Event]]

# Contract name → transition. `register` and `decide` need more than the others (the
# admitted participants; the decision's issued_at and the registrar's key), so
# apply_registry calls them itself.
REGISTRY_HANDLERS: dict[str, Handler] = {
    "dataex.registry.withdraw.v1": Registry.withdraw,
    "dataex.registry.accept_transfer.v1": Registry.accept_transfer,
    "dataex.registry.object.v1": Registry.file_objection,
    "dataex.registry.take.v1": Registry.take,
    "dataex.registry.open_notice.v1": Registry.open_notice,
    "dataex.registry.decide_objection.v1": Registry.decide_objection,
}
REGISTER_CONTRACT = "dataex.registry.register.v1"
DECIDE_CONTRACT = "dataex.registry.decide.v1"


def apply_registry(
    registry: Registry,
    contract_name: str,
    participant_id: str,
    body: Any,
    *,
    now: datetime,
    notice_period: timedelta,
    admitted: Container[str] | None = None,
    issued_at: datetime | None = None,
    signer_key: RegistrarKey | None = None,
) -> list[Event]:
    """One entry point for the state's handler table: every registry contract lands here.

    `issued_at` and `signer_key` (the signed document's issued_at and its signer's
    key) are needed by `decide` only.
    """
    if contract_name == REGISTER_CONTRACT:
        return registry.submit(participant_id, body, now, notice_period, admitted=admitted)
    if contract_name == DECIDE_CONTRACT:
        if issued_at is None or signer_key is None:
            raise ValueError("a decision needs the document's issued_at and the signer's key")
        return registry.decide(
            participant_id,
            body,
            now,
            notice_period,
            decided_at=issued_at,
            registrar_key=signer_key,
        )
    return REGISTRY_HANDLERS[contract_name](registry, participant_id, body, now, notice_period)


def _checked_signatures(
    revisions: list[Certificate], body: DecideRegistration, key: RegistrarKey
) -> dict[str, str]:
    """Number → signature, once every revision carries a valid registrar signature."""
    given: dict[str, str] = {}
    for item in body.certificate_signatures:
        if item.number in given:
            raise SchemaViolation(f"certificate_signatures names {item.number} twice")
        given[item.number] = item.signature
    documents = {c.number: certificate_document(c) for c in revisions}
    expected = {
        "certificates": [{"number": n, "document": d} for n, d in documents.items()],
    }
    missing = sorted(set(documents) - set(given))
    extra = sorted(set(given) - set(documents))
    if missing or extra:
        raise CertificateSignatureMismatch(
            f"this decision produces {', '.join(documents)}; "
            + (f"signatures are missing for {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"{', '.join(extra)} is not produced by it" if extra else ""),
            **expected,
        )
    for number, document in documents.items():
        if not certificate_signature_valid(document, given[number], key.public_key):
            raise CertificateSignatureMismatch(
                f"the signature for {number} does not verify under {key.key_id} over the "
                "certificate document this decision produces (see certificates; sign it with "
                "the prefix dataex-certificate-v1)",
                **expected,
            )
    return given


def _serial(identifier: str) -> int:
    """R000012 → 12: ids sort by number (filing order) even past six digits."""
    return int(identifier[1:])


def _check_asset(asset: Asset) -> None:
    if asset.classification == "core":
        raise CoreDataRefused("core data may not be registered or traded")
    if asset.source_type == "authorised" and not asset.authorisation_proofs:
        raise SchemaViolation("an authorised source needs at least one authorisation proof hash")
