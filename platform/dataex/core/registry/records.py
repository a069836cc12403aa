"""Registrations and objections as the registry keeps them, and their plain views.

Separate from registry.py so the state machine reads as transitions only; these
are the records it moves between states. Each view has an inverse (`*_from_view`):
the store keeps the views and start-up rebuilds the registry from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from dataex.core.documents.timefmt import format_utc, parse_utc
from dataex.core.registry.certificates import plain_json
from dataex.core.registry.contracts import Application, Asset, kind_of

OPEN_STATUSES = frozenset({"awaiting_acceptance", "submitted", "under_review", "public_notice"})
REGISTRATION_STATUSES: tuple[str, ...] = (
    *sorted(OPEN_STATUSES),
    "registered",
    "rejected",
    "withdrawn",
)


@dataclass
class Objection:
    objection_id: str
    registration_id: str
    objector: str
    grounds: str
    evidence_hashes: tuple[str, ...]
    filed_at: datetime
    status: str = "open"  # open | upheld | dismissed | closed (its registration ended)
    reasons: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass
class Registration:
    registration_id: str
    applicant: str
    application: Application
    submitted_at: datetime
    status: str
    conflicts: list[str] = field(default_factory=list)  # certificate numbers, registration ids
    objection_ids: list[str] = field(default_factory=list)
    reviewer: str | None = None
    accepted_at: datetime | None = None
    notice_opened_at: datetime | None = None
    notice_ends_at: datetime | None = None
    decision: dict[str, Any] | None = None
    issued_certificate: str | None = None
    # A licence made by a market trade (Registry.record_market_licence): its licence id,
    # trade, product, document hash and parent licence. None for every filed registration.
    market: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return kind_of(self.application)

    @property
    def certificate_number(self) -> str | None:
        """The certificate this registration acts on (None for an initial one)."""
        return getattr(self.application, "certificate_number", None)

    @property
    def counterparty(self) -> str | None:
        return getattr(self.application, "counterparty", None)

    @property
    def asset(self) -> Asset | None:
        return getattr(self.application, "asset", None)


def decision_record(
    outcome: str, registrar: str, now: datetime, code: str | None, text: str | None
) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "decided_by": registrar,
        "decided_at": format_utc(now),
        "reason_code": code,
        "reason_text": text,
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_utc(moment)


def registration_view(reg: Registration) -> dict[str, Any]:
    view = {
        "kind": reg.kind,
        "applicant": reg.applicant,
        "application": plain_json(reg.application),
        "submitted_at": format_utc(reg.submitted_at),
        "status": reg.status,
        "conflicts": list(reg.conflicts),
        "objection_ids": list(reg.objection_ids),
        "reviewer": reg.reviewer,
        "accepted_at": _time(reg.accepted_at),
        "notice_opened_at": _time(reg.notice_opened_at),
        "notice_ends_at": _time(reg.notice_ends_at),
        "decision": None if reg.decision is None else dict(reg.decision),
        "issued_certificate": reg.issued_certificate,
    }
    if reg.market is not None:  # only market licences carry the key: older views are unchanged
        view["market"] = dict(reg.market)
    return view


def objection_view(o: Objection) -> dict[str, Any]:
    return {
        "registration_id": o.registration_id,
        "objector": o.objector,
        "grounds": o.grounds,
        "evidence_hashes": list(o.evidence_hashes),
        "filed_at": format_utc(o.filed_at),
        "status": o.status,
        "reasons": o.reasons,
        "decided_by": o.decided_by,
        "decided_at": _time(o.decided_at),
    }


def _moment(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


def registration_from_view(registration_id: str, view: dict[str, Any]) -> Registration:
    """The inverse of registration_view."""
    return Registration(
        registration_id=registration_id,
        applicant=view["applicant"],
        application=msgspec.convert(view["application"], Application),
        submitted_at=parse_utc(view["submitted_at"]),
        status=view["status"],
        conflicts=list(view["conflicts"]),
        objection_ids=list(view["objection_ids"]),
        reviewer=view["reviewer"],
        accepted_at=_moment(view["accepted_at"]),
        notice_opened_at=_moment(view["notice_opened_at"]),
        notice_ends_at=_moment(view["notice_ends_at"]),
        decision=None if view["decision"] is None else dict(view["decision"]),
        issued_certificate=view["issued_certificate"],
        market=None if view.get("market") is None else dict(view["market"]),
    )


def objection_from_view(objection_id: str, view: dict[str, Any]) -> Objection:
    """The inverse of objection_view."""
    return Objection(
        objection_id=objection_id,
        registration_id=view["registration_id"],
        objector=view["objector"],
        grounds=view["grounds"],
        evidence_hashes=tuple(view["evidence_hashes"]),
        filed_at=parse_utc(view["filed_at"]),
        status=view["status"],
        reasons=view["reasons"],
        decided_by=view["decided_by"],
        decided_at=_moment(view["decided_at"]),
    )
