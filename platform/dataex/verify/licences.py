"""Check a market licence without trusting the server: `dataex licence verify`.

The first checks need nothing but the licence answer (GET /v1/market/licences/ID,
or a copy saved by `dataex licence show`): the document hashes to its
document_hash, the platform key's id is its hash (and the id the caller pinned,
if any), and the platform's signature verifies over the document with the
licence prefix (SPEC §11). The contract text is then rendered again locally from
the product's copy of its template, which must have the hash the document
names. With a server, the licence registration it names must exist in the
registry and point back at this licence, trade, buyer and document hash, and
the log entry that granted it must hash to its entry_hash and hold this document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.client.sdk import Client
from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.encoding import b64url_decode
from dataex.core.documents.errors import BadEncoding
from dataex.core.documents.signing import PUBLIC_KEY_BYTES, key_id
from dataex.core.log.chain import entry_hash
from dataex.core.market.licence_signing import licence_signature_valid
from dataex.core.market.licence_templates import InvalidLicenceTemplate, template_from_json
from dataex.core.market.licences import render_text
from dataex.core.market.records import document_hash, licence_from_view
from dataex.verify.report import CheckReport


@dataclass
class LicenceReport(CheckReport):
    licence_id: str


def _public_key(claim: dict[str, Any]) -> bytes | None:
    try:
        return b64url_decode(
            str(claim.get("platform_public_key")), field="platform_public_key",
            length=PUBLIC_KEY_BYTES,
        )
    except BadEncoding:
        return None


def check_claim(
    claim: dict[str, Any], licence_id: str, pinned_key_id: str | None = None
) -> LicenceReport:
    """The checks that need only the licence answer itself (offline)."""
    report = LicenceReport(licence_id)
    document = claim.get("document") or {}
    if not report.check(
        "the document is the licence asked for", document.get("licence_id") == licence_id
    ):
        return report
    report.check(
        "the document hashes (SHA-256, canonical JSON) to its document_hash",
        document_hash(document) == claim.get("document_hash"),
    )
    public = _public_key(claim)
    if not report.check(
        "the platform key's id is its hash"
        + (" and the id pinned" if pinned_key_id is not None else ""),
        public is not None
        and key_id(public) == claim.get("platform_key_id")
        and pinned_key_id in (None, claim.get("platform_key_id")),
    ):
        return report
    assert public is not None
    report.check(
        "the platform's signature verifies over the document",
        licence_signature_valid(document, str(claim.get("platform_signature")), public),
    )
    return report


def check_rendering(report: LicenceReport, claim: dict[str, Any], product: dict[str, Any]) -> None:
    """The text is the product's template copy rendered with the document's facts."""
    document = claim["document"]
    try:
        template = template_from_json(product["data_licence"]["licence_template"])
    except (KeyError, TypeError, InvalidLicenceTemplate):
        report.check("the product carries its licence template", False)
        return
    if not report.check(
        "the product's template has the hash the document names",
        template.ref == document["licence_template_id"]
        and template.hash == document["licence_template_hash"],
    ):
        return
    try:
        lic = licence_from_view({"document": document, "status": "active", "ended_by_trade": None})
        rendered = render_text(template, lic)
    except (KeyError, TypeError, ValueError):
        rendered = None
    report.check("the text is the template rendered with the licence's facts",
                 rendered == document["text"])


def check_server_records(report: LicenceReport, client: Client, claim: dict[str, Any],
                         key: Ed25519PrivateKey) -> None:
    """The registry's licence registration and the log entry agree with the document.

    The log entry is the trade's, readable by its parties and regulators: `key`
    signs the read (contracts/SPEC.md section 12).
    """
    document = claim["document"]
    record = client.get(f"/v1/registry/registrations/{document['registration_id']}")
    market = record.get("market") or {}
    application = record.get("application") or {}
    report.check(
        f"registry record {document['registration_id']} is a registered licence of "
        f"{document['certificate_number']} linking this licence, trade, buyer and hash",
        record.get("kind") == "licence"
        and record.get("status") == "registered"
        and application.get("certificate_number") == document["certificate_number"]
        and application.get("counterparty") == document["licensee"]
        and record.get("applicant") == document["licensor"]
        and market.get("licence_id") == document["licence_id"]
        and market.get("trade_id") == document["trade_id"]
        and market.get("document_hash") == claim["document_hash"],
    )
    logged = client.signed_get(f"/v1/audit/entries/{claim['seq']}", key)
    entry = logged["entry"]
    report.check(
        "the log entry hashes to its entry_hash",
        entry.get("seq") == claim["seq"]
        and entry_hash(canonical_json(entry)) == logged["entry_hash"],
    )
    report.check(
        "the log entry granted exactly this document and recorded its registration",
        any(
            e.get("type") == "licence.granted" and e.get("document") == document
            for e in entry.get("events", [])
        )
        and any(
            e.get("type") == "registration.licence_recorded"
            and e.get("registration_id") == document["registration_id"]
            for e in entry.get("events", [])
        ),
    )


def check_licence(
    client: Client | None,
    licence_id: str,
    *,
    key: Ed25519PrivateKey | None = None,
    claim: dict[str, Any] | None = None,
    pinned_key_id: str | None = None,
) -> tuple[LicenceReport, dict[str, Any]]:
    """Every check in order; ``claim`` given (a saved answer) and no client: offline only.

    With a client, ``key`` (the licensee's, the licensor's or a regulator's) signs
    the reads of the licence and of its trade's log entry.
    """
    if claim is None:
        assert client is not None and key is not None
        claim = client.signed_get(f"/v1/market/licences/{licence_id}", key)
    report = check_claim(claim, licence_id, pinned_key_id)
    if report.ok and client is not None:
        assert key is not None
        product = client.get(f"/v1/market/products/{claim['document']['symbol']}")
        check_rendering(report, claim, product)
        check_server_records(report, client, claim, key)
    return report, claim
