"""Check a certificate against a server without trusting it: `dataex certificate verify`.

The server returns the certificate's current signed document, the registrar's
signature, the registrar key id and the seq of the log entry that holds it.
Trust comes from checking, locally: the key id is the hash of the public key,
the signature verifies over the document with the certificate prefix, the log
entry hashes to its entry_hash, the decision in it is signed by that same key
and carries that signature, and its event holds exactly this document. (That
the entry belongs to the log everyone else sees is `dataex audit verify`'s
part, and later the checkpoints'.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataex.client.sdk import Client
from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.encoding import b64url_decode
from dataex.core.documents.errors import DomainError
from dataex.core.documents.signing import PUBLIC_KEY_BYTES, key_id, verify_signature
from dataex.core.log.chain import entry_hash
from dataex.core.registry.certificate_signing import certificate_signature_valid
from dataex.verify.report import CheckReport

DECIDE_CONTRACT = "dataex.registry.decide.v1"
REVISION_EVENTS = ("certificate.issued", "certificate.updated")


@dataclass
class CertificateReport(CheckReport):
    number: str
    claim: dict[str, Any] = field(default_factory=dict)


def _registrar_key(client: Client, registrar: str, wanted: str) -> bytes | None:
    participant = client.get(f"/v1/participants/{registrar}")
    for key in participant["keys"]:
        if key["key_id"] == wanted:
            return b64url_decode(key["public_key"], length=PUBLIC_KEY_BYTES)
    return None


def check_certificate(client: Client, number: str) -> CertificateReport:
    """Every check in order; stops at the first that cannot be evaluated further."""
    report = CertificateReport(number)
    claim = report.claim = client.get(f"/v1/registry/certificates/{number}/verify")
    document, signature = claim["document"], claim["signature"]
    if not report.check("the document is the certificate asked for", document["number"] == number):
        return report
    public = _registrar_key(client, claim["registrar"], claim["registrar_key_id"])
    if not report.check(
        "the registrar key is the registrar's and its id is its hash",
        public is not None and key_id(public) == claim["registrar_key_id"],
    ):
        return report
    assert public is not None
    report.check(
        "the registrar's signature verifies over the document",
        certificate_signature_valid(document, signature, public),
    )
    logged = client.get(f"/v1/audit/entries/{claim['seq']}")
    entry = logged["entry"]
    report.check(
        "the log entry hashes to its entry_hash",
        entry.get("seq") == claim["seq"]
        and entry_hash(canonical_json(entry)) == logged["entry_hash"],
    )
    envelope = entry["envelope"]
    decided = envelope["document"]
    try:
        verify_signature(decided, envelope["signature"], public)
        decision_signed = decided["signer"] == claim["registrar_key_id"]
    except DomainError:
        decision_signed = False
    report.check(
        "the entry is a registrar's decision signed by the same key",
        entry["kind"] == DECIDE_CONTRACT and decision_signed,
    )
    report.check(
        "the decision carries this certificate signature",
        {"number": number, "signature": signature}
        in decided["body"].get("certificate_signatures", []),
    )
    report.check(
        "the entry's event holds exactly this document and signature",
        any(
            e.get("type") in REVISION_EVENTS
            and e.get("certificate_number") == number
            and e.get("document") == document
            and e.get("signature") == signature
            for e in entry["events"]
        ),
    )
    return report
