"""Certificates: what a registration decision creates or changes, and when a kind fits.

Status is partly a matter of time (a certificate expires at valid_until), and
core has no clock, so the stored facts are `cancelled` and `pledge` and the
status is always read at a given `now`. The signed certificate document holds
only stored facts plus valid_until, so a signature never goes stale by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from dataex.core.errors import NotFound
from dataex.core.participants import Event
from dataex.core.registry_contracts import (
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
from dataex.core.registry_errors import (
    CertificateEncumbered,
    CertificateStateMismatch,
    NotCertificateHolder,
)
from dataex.core.timefmt import format_utc

CERTIFICATE_DOCUMENT_TYPE = "dataex.certificate.v1"

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
    """The plain canonical content a registrar signs (outside core) for one revision."""
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
            status=status,
        )
    rights = getattr(application, "rights", None)
    if rights is not None and not set(rights) <= set(cert.rights):
        raise CertificateStateMismatch(
            f"certificate {cert.number} holds only {sorted(cert.rights)}; "
            f"the {kind} names {sorted(rights)}",
            certificate=cert.number,
        )


@dataclass
class CertificateBook:
    """All certificates, the global number counter and the index of live fingerprints."""

    by_number: dict[str, Certificate] = field(default_factory=dict)
    by_root: dict[str, set[str]] = field(default_factory=dict)  # not cancelled
    issued_count: int = 0

    def get(self, number: str) -> Certificate:
        cert = self.by_number.get(number)
        if cert is None:
            raise NotFound(f"no certificate {number}", certificate=number)
        return cert

    def live_with_root(self, root: str) -> list[Certificate]:
        return [self.by_number[n] for n in sorted(self.by_root.get(root, ()))]

    def apply_registered(
        self,
        registration_id: str,
        applicant: str,
        application: Application,
        now: datetime,
        registrar: str,
    ) -> tuple[list[Event], str | None]:
        """Carry out a registered application; return events and any new certificate number.

        The caller has already run check_fits at `now`, so nothing here can refuse.
        """
        if isinstance(application, InitialApplication):
            cert = self._issue(
                registration_id,
                applicant,
                tuple(sorted(application.rights)),
                application.asset,
                now,
                now + timedelta(days=application.term_days),
                registrar,
            )
            return [_issued(cert)], cert.number
        cert = self.get(application.certificate_number)
        events: list[Event] = []
        new_number: str | None = None
        if isinstance(application, ChangeApplication):
            self._unindex(cert)
            cert.asset = application.asset
            self._index(cert)
        elif isinstance(application, TransferApplication):
            moved = tuple(sorted(application.rights))
            if set(moved) == set(cert.rights):
                cert.holder = application.counterparty
            else:
                cert.rights = tuple(r for r in cert.rights if r not in moved)
                split = self._issue(
                    registration_id,
                    application.counterparty,
                    moved,
                    cert.asset,
                    now,
                    cert.valid_until,
                    registrar,
                    split_from=cert.number,
                )
                events.append(_issued(split))
                new_number = split.number
        elif isinstance(application, LicenceApplication):
            until = min(now + timedelta(days=application.term_days), cert.valid_until)
            rights = tuple(sorted(application.rights))
            cert.licences.append(
                Licence(registration_id, application.counterparty, rights, now, until)
            )
        elif isinstance(application, PledgeApplication):
            cert.pledge = Pledge(
                registration_id, application.counterparty, application.secured_amount, now
            )
        elif isinstance(application, PledgeReleaseApplication):
            cert.pledge = None
        elif isinstance(application, RenewalApplication):
            cert.valid_until = max(cert.valid_until, now) + timedelta(days=application.term_days)
        elif isinstance(application, CancellationApplication):
            cert.cancelled = True
            self._unindex(cert)
        cert.revision += 1
        cert.last_registration_id = registration_id
        cert.registrar = registrar
        update: Event = {
            "type": "certificate.updated",
            "certificate_number": cert.number,
            "registration_id": registration_id,
            "kind": kind_of(application),
            "document": certificate_document(cert),
        }
        return [update, *events], new_number

    def _issue(
        self,
        registration_id: str,
        holder: str,
        rights: tuple[str, ...],
        asset: Asset,
        now: datetime,
        valid_until: datetime,
        registrar: str,
        split_from: str | None = None,
    ) -> Certificate:
        self.issued_count += 1
        number = f"DX-{now.astimezone(UTC).year:04d}-{self.issued_count:06d}"
        cert = Certificate(
            number=number,
            holder=holder,
            rights=rights,
            asset=asset,
            issued_at=now,
            valid_until=valid_until,
            registrar=registrar,
            last_registration_id=registration_id,
            split_from=split_from,
            history=[registration_id],
        )
        self.by_number[number] = cert
        self._index(cert)
        return cert

    def _index(self, cert: Certificate) -> None:
        self.by_root.setdefault(cert.root, set()).add(cert.number)

    def _unindex(self, cert: Certificate) -> None:
        numbers = self.by_root.get(cert.root, set())
        numbers.discard(cert.number)
        if not numbers:
            self.by_root.pop(cert.root, None)

    def snapshot(self) -> dict[str, Any]:
        return {
            "issued_count": self.issued_count,
            "certificates": {
                n: {**certificate_document(c), "history": list(c.history)}
                for n, c in sorted(self.by_number.items())
            },
            "by_root": {root: sorted(ns) for root, ns in sorted(self.by_root.items())},
        }


def _issued(cert: Certificate) -> Event:
    return {
        "type": "certificate.issued",
        "certificate_number": cert.number,
        "holder": cert.holder,
        "registration_id": cert.last_registration_id,
        "document": certificate_document(cert),
    }
