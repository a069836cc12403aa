"""Registry refusals with their own slugs, so clients can tell them apart.

They derive from DomainError directly (not from Forbidden or InvalidState) so the
status, slug and title travel with each one exactly as core/documents/errors.py does.
"""

from __future__ import annotations

from dataex.core.documents.errors import DomainError


class CoreDataRefused(DomainError):
    status = 422
    slug = "core-data-refused"
    title = "Core data cannot be registered"


class NotCertificateHolder(DomainError):
    status = 403
    slug = "not-certificate-holder"
    title = "Only the certificate's holder may apply for this"


class NotApplicant(DomainError):
    status = 403
    slug = "not-applicant"
    title = "Only the applicant may do this"


class PartyMayNotDecide(DomainError):
    status = 403
    slug = "party-may-not-decide"
    title = "A registrar may not act on a registration or objection it is party to"


class NoticeClosed(DomainError):
    status = 409
    slug = "notice-closed"
    title = "The registration is not in its public notice period"


class NoticeRunning(DomainError):
    status = 409
    slug = "notice-running"
    title = "The public notice period has not ended yet"


class ObjectionOpen(DomainError):
    status = 409
    slug = "objection-open"
    title = "An open objection blocks the decision"


class CertificateEncumbered(DomainError):
    status = 409
    slug = "certificate-encumbered"
    title = "The certificate is pledged; release the pledge first"


class CertificateStateMismatch(DomainError):
    status = 409
    slug = "certificate-state"
    title = "The registration kind does not fit the certificate's state"


class CertificateSignatureMismatch(DomainError):
    status = 422
    slug = "certificate-signature"
    title = "The registrar's signatures do not match the certificates this decision produces"
