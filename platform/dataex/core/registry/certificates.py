"""Certificates: what a registration decision creates or changes, and when a kind fits.

Status is partly a matter of time (a certificate expires at valid_until), and
core has no clock, so the stored facts are `cancelled` and `pledge` and the
status is always read at a given `now`. The signed certificate document holds
only stored facts plus valid_until, so a signature never goes stale by itself.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from dataex.core.documents.errors import NotFound
from dataex.core.documents.timefmt import format_utc, parse_utc
from dataex.core.participants.directory import Event
from dataex.core.registry.contracts import (
    Application,
    Asset,
    CancellationApplication,
    ChangeApplication,
    InitialApplication,
    LicenceApplication,
    PledgeApplication,
    PledgeReleaseApplication,
    RenewalApplication,
    TransferApplication,
    kind_of,
)
from dataex.core.registry.errors import (
    CertificateEncumbered,
    CertificateStateMismatch,
    NotCertificateHolder,
)

CERTIFICATE_DOCUMENT_TYPE = "dataex.certificate.v1"
# As read at a moment (status_at); a document only ever says valid, encumbered or cancelled.
CERTIFICATE_STATUSES: tuple[str, ...] = ("valid", "encumbered", "expired", "cancelled")

# Which certificate statuses each kind may act on (read at the time of the action).
FITTING_STATUSES: dict[str, frozenset[str]] = {
    "change": frozenset({"valid"}),
    "transfer": frozenset({"valid"}),
    "licence": frozenset({"valid", "encumbered"}),
    "pledge": frozenset({"valid"}),
    "pledge_release": frozenset({"encumbered", "expired"}),
    "renewal": frozenset({"valid", "encumbered", "expired"}),
    "cancellation": frozenset({"valid", "expired"}),
}
# Kinds a pledge blocks outright: the pledgee's security must not move or vanish.
BLOCKED_BY_PLEDGE = frozenset({"transfer", "cancellation"})


@dataclass
class Licence:
    registration_id: str
    licensee: str
    rights: tuple[str, ...]
    granted_at: datetime
    valid_until: datetime


@dataclass
class Pledge:
    registration_id: str
    pledgee: str
    secured_amount: int
    since: datetime


@dataclass
class Certificate:
    number: str
    holder: str
    rights: tuple[str, ...]
    asset: Asset
    issued_at: datetime
    valid_until: datetime
    registrar: str
    last_registration_id: str
    split_from: str | None = None
    revision: int = 1
    cancelled: bool = False
    pledge: Pledge | None = None
    licences: list[Licence] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # every registration id touching it
    signature: str | None = None  # the registrar's, over certificate_document() of this revision
    signing_key_id: str | None = None  # the registrar key that made it

    @property
    def root(self) -> str:
        return self.asset.fingerprint.root

    def stored_status(self) -> str:
        """The status without reading time: what the signed document says."""
        if self.cancelled:
            return "cancelled"
        return "encumbered" if self.pledge is not None else "valid"

    def status_at(self, now: datetime) -> str:
        if self.cancelled:
            return "cancelled"
        if now >= self.valid_until:
            return "expired"
        return "encumbered" if self.pledge is not None else "valid"


def plain_json(value: msgspec.Struct) -> dict[str, Any]:
    """A struct as JSON types only (tuples become lists), ready for canonical JSON."""
    return msgspec.json.decode(msgspec.json.encode(value))  # type: ignore[no-any-return]


def certificate_document(cert: Certificate) -> dict[str, Any]:
    """The plain canonical content the registrar signs for one revision (certificate_signing)."""
    asset = plain_json(cert.asset)
    fingerprint = asset.pop("fingerprint")
    pledge = cert.pledge
    return {
        "type": CERTIFICATE_DOCUMENT_TYPE,
        "number": cert.number,
        "revision": cert.revision,
        "holder": cert.holder,
        "rights": sorted(cert.rights),
        "asset": asset,
        "fingerprint": fingerprint,
        "issued_at": format_utc(cert.issued_at),
        "valid_until": format_utc(cert.valid_until),
        "status": cert.stored_status(),
        "pledge": None
        if pledge is None
        else {
            "registration_id": pledge.registration_id,
            "pledgee": pledge.pledgee,
            "secured_amount": pledge.secured_amount,
            "since": format_utc(pledge.since),
        },
        "licences": [
            {
                "registration_id": lic.registration_id,
                "licensee": lic.licensee,
                "rights": sorted(lic.rights),
                "granted_at": format_utc(lic.granted_at),
                "valid_until": format_utc(lic.valid_until),
            }
            for lic in cert.licences
        ],
        "registrar": cert.registrar,
        "registration_id": cert.last_registration_id,
        "split_from": cert.split_from,
    }


def check_fits(cert: Certificate, applicant: str, application: Application, now: datetime) -> None:
    """Refuse an application on a certificate it may not act on (checked again at decision)."""
    kind = kind_of(application)
    pledgee = cert.pledge.pledgee if cert.pledge is not None else None
    may_apply = {cert.holder, pledgee} if kind == "pledge_release" else {cert.holder}
    if applicant not in may_apply:
        raise NotCertificateHolder(
            f"{applicant} does not hold certificate {cert.number}", certificate=cert.number
        )
    if kind in BLOCKED_BY_PLEDGE and cert.pledge is not None:
        raise CertificateEncumbered(
            f"certificate {cert.number} is pledged to {pledgee}; a {kind} needs the pledge "
            "released first",
            certificate=cert.number,
        )
    status = cert.status_at(now)
    if status not in FITTING_STATUSES[kind] or (kind == "pledge_release" and pledgee is None):
        raise CertificateStateMismatch(
            f"a {kind} does not fit certificate {cert.number}, which is {status}",
            certificate=cert.number,
            certificate_status=status,
        )
    rights = getattr(application, "rights", None)
    if rights is not None and not set(rights) <= set(cert.rights):
        raise CertificateStateMismatch(
            f"certificate {cert.number} holds only {sorted(cert.rights)}; "
            f"the {kind} names {sorted(rights)}",
            certificate=cert.number,
        )


def certificate_number(registration_id: str, issued_at: datetime) -> str:
    """DX-<year issued>-<digits of the registration that issues it>.

    A registration issues at most one new certificate, so its number is known
    before the decision is applied: the registrar can sign the document ahead
    (GET .../certificate-preview) without racing a global counter.
    """
    return f"DX-{issued_at.astimezone(UTC).year:04d}-{registration_id[1:]}"


@dataclass
class CertificateBook:
    """All certificates and the index of live (not cancelled) fingerprints."""

    by_number: dict[str, Certificate] = field(default_factory=dict)
    by_root: dict[str, set[str]] = field(default_factory=dict)  # not cancelled

    def get(self, number: str) -> Certificate:
        cert = self.by_number.get(number)
        if cert is None:
            raise NotFound(f"no certificate {number}", certificate=number)
        return cert

    def live_with_root(self, root: str) -> list[Certificate]:
        return [self.by_number[n] for n in sorted(self.by_root.get(root, ()))]

    def plan(
        self,
        registration_id: str,
        applicant: str,
        application: Application,
        decided_at: datetime,
        registrar: str,
    ) -> list[Certificate]:
        """The certificate revisions registering an application produces; changes nothing.

        Everything in them is a function of the book, the registration and the
        decision (its registrar and issued_at), so a registrar can be shown the
        exact documents to sign before it decides. The caller has run check_fits.
        """
        if isinstance(application, InitialApplication):
            return [
                self._new(
                    registration_id,
                    applicant,
                    tuple(sorted(application.rights)),
                    application.asset,
                    decided_at,
                    decided_at + timedelta(days=application.term_days),
                    registrar,
                )
            ]
        cert = copy.deepcopy(self.get(application.certificate_number))
        revisions = [cert]
        if isinstance(application, ChangeApplication):
            cert.asset = application.asset
        elif isinstance(application, TransferApplication):
            moved = tuple(sorted(application.rights))
            if set(moved) == set(cert.rights):
                cert.holder = application.counterparty
            else:
                cert.rights = tuple(r for r in cert.rights if r not in moved)
                revisions.append(
                    self._new(
                        registration_id,
                        application.counterparty,
                        moved,
                        cert.asset,
                        decided_at,
                        cert.valid_until,
                        registrar,
                        split_from=cert.number,
                    )
                )
        elif isinstance(application, LicenceApplication):
            until = min(decided_at + timedelta(days=application.term_days), cert.valid_until)
            rights = tuple(sorted(application.rights))
            cert.licences.append(
                Licence(registration_id, application.counterparty, rights, decided_at, until)
            )
        elif isinstance(application, PledgeApplication):
            cert.pledge = Pledge(
                registration_id, application.counterparty, application.secured_amount, decided_at
            )
        elif isinstance(application, PledgeReleaseApplication):
            cert.pledge = None
        elif isinstance(application, RenewalApplication):
            cert.valid_until = max(cert.valid_until, decided_at) + timedelta(
                days=application.term_days
            )
        elif isinstance(application, CancellationApplication):
            cert.cancelled = True
        cert.revision += 1
        cert.last_registration_id = registration_id
        cert.registrar = registrar
        cert.signature = cert.signing_key_id = None
        return revisions

    def commit(
        self, revisions: list[Certificate], kind: str, signatures: dict[str, str], key_id: str
    ) -> list[Event]:
        """Install planned revisions with their registrar signatures; return their events."""
        events: list[Event] = []
        for cert in revisions:
            cert.signature = signatures[cert.number]
            cert.signing_key_id = key_id
            old = self.by_number.get(cert.number)
            if old is not None:
                self._unindex(old)
            self.by_number[cert.number] = cert
            if not cert.cancelled:
                self._index(cert)
            event: Event = {
                "type": "certificate.issued" if old is None else "certificate.updated",
                "certificate_number": cert.number,
                "registration_id": cert.last_registration_id,
            }
            if old is None:
                event["holder"] = cert.holder
            else:
                event["kind"] = kind
            event["document"] = certificate_document(cert)
            event["signature"] = cert.signature
            event["registrar_key_id"] = key_id
            events.append(event)
        return events

    @staticmethod
    def _new(
        registration_id: str,
        holder: str,
        rights: tuple[str, ...],
        asset: Asset,
        issued_at: datetime,
        valid_until: datetime,
        registrar: str,
        split_from: str | None = None,
    ) -> Certificate:
        return Certificate(
            number=certificate_number(registration_id, issued_at),
            holder=holder,
            rights=rights,
            asset=asset,
            issued_at=issued_at,
            valid_until=valid_until,
            registrar=registrar,
            last_registration_id=registration_id,
            split_from=split_from,
            history=[registration_id],
        )

    def _index(self, cert: Certificate) -> None:
        self.by_root.setdefault(cert.root, set()).add(cert.number)

    def _unindex(self, cert: Certificate) -> None:
        numbers = self.by_root.get(cert.root, set())
        numbers.discard(cert.number)
        if not numbers:
            self.by_root.pop(cert.root, None)

    @classmethod
    def restore(cls, records: list[dict[str, Any]]) -> CertificateBook:
        """Rebuild the book (and its index) from certificate_record() values."""
        book = cls()
        for record in records:
            cert = certificate_from_record(record)
            book.by_number[cert.number] = cert
            if not cert.cancelled:
                book._index(cert)
        return book

    def snapshot(self) -> dict[str, Any]:
        return {
            "certificates": {n: certificate_record(c) for n, c in sorted(self.by_number.items())},
            "by_root": {root: sorted(ns) for root, ns in sorted(self.by_root.items())},
        }


def certificate_record(cert: Certificate) -> dict[str, Any]:
    """Everything the registry keeps about a certificate, as plain JSON (stored as is)."""
    return {
        **certificate_document(cert),
        "history": list(cert.history),
        "signature": cert.signature,
        "registrar_key_id": cert.signing_key_id,
    }


def certificate_from_record(record: dict[str, Any]) -> Certificate:
    """The inverse of certificate_record (restart reads the stored records)."""
    pledge = record["pledge"]
    return Certificate(
        number=record["number"],
        holder=record["holder"],
        rights=tuple(record["rights"]),
        asset=msgspec.convert({**record["asset"], "fingerprint": record["fingerprint"]}, Asset),
        issued_at=parse_utc(record["issued_at"]),
        valid_until=parse_utc(record["valid_until"]),
        registrar=record["registrar"],
        last_registration_id=record["registration_id"],
        split_from=record["split_from"],
        revision=record["revision"],
        cancelled=record["status"] == "cancelled",
        pledge=None
        if pledge is None
        else Pledge(
            pledge["registration_id"],
            pledge["pledgee"],
            pledge["secured_amount"],
            parse_utc(pledge["since"]),
        ),
        licences=[
            Licence(
                lic["registration_id"],
                lic["licensee"],
                tuple(lic["rights"]),
                parse_utc(lic["granted_at"]),
                parse_utc(lic["valid_until"]),
            )
            for lic in record["licences"]
        ],
        history=list(record["history"]),
        signature=record["signature"],
        signing_key_id=record["registrar_key_id"],
    )
