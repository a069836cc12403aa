"""Market refusals with their own slugs, beside those of products, matching and the ledger.

Each names what a client should do differently: a listing refused for its
certificate (fix the certificate), an action by someone who is not the
product's issuer (ask the issuer), an order that is not yours.
"""

from __future__ import annotations

from dataex.core.documents.errors import DomainError


class SymbolTaken(DomainError):
    status = 409
    slug = "symbol-taken"
    title = "A product with this symbol already exists"


class ListingRefused(DomainError):
    status = 403
    slug = "listing-refused"
    title = "The certificate does not allow listing: not valid, or no product_operation right"


class NotProductIssuer(DomainError):
    status = 403
    slug = "not-product-issuer"
    title = "Only the product's issuer may do this"


class WrongProductKind(DomainError):
    status = 409
    slug = "wrong-product-kind"
    title = "The action does not apply to this kind of product"


class ExclusiveLicenceLimit(DomainError):
    status = 409
    slug = "exclusive-licence-limit"
    title = "An exclusive or sole licence product issues at most one licence unit"


class LicencesExpired(DomainError):
    status = 409
    slug = "licences-expired"
    title = "The seller's unexpired licences do not cover the quantity offered"


class NotOrderOwner(DomainError):
    status = 403
    slug = "not-order-owner"
    title = "The order belongs to another participant"


class UnknownParticipant(DomainError):
    status = 404
    slug = "unknown-participant"
    title = "No admitted participant has this id"


class CertificateNotTradable(DomainError):
    status = 409
    slug = "certificate-not-tradable"
    title = "The product's certificate no longer allows trading or issuing its licences"
