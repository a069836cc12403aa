"""`dataex registry ...` and `dataex certificate ...`: every owner and registrar action.

Thin wrappers: each builds a body of a dataex.registry.* contract, signs it with
--key and submits it, printing the receipt (the log entry). The shapes are the
contracts' (core/registry/contracts.py); nothing here re-checks them, the
server does. `decide --register` is the one with more to do: it fetches the
certificate documents the decision will produce, signs them with the
registrar's key and sends the signatures with the decision (contracts/SPEC.md §9).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import click

from dataex.cli.common import (
    EXIT_REFUSED,
    friendly_errors,
    options,
    print_json,
    read_json_argument,
    server_option,
    sign_and_submit,
    signed,
)
from dataex.cli.fingerprint import compute_fingerprint
from dataex.client.sdk import Client, build_registering_decision
from dataex.core.documents.signing import key_id, public_key_bytes
from dataex.core.documents.timefmt import format_utc
from dataex.core.registry.contracts import (
    RIGHTS,
    Classification,
    ProductForm,
    RejectReason,
    SourceType,
    UpdateFrequency,
)
from dataex.keys.files import load_key
from dataex.verify.certificates import check_certificate

PREFIX = "dataex.registry."


def _submit(server: str, key_path: Path, action: str, body: dict[str, Any]) -> None:
    sign_and_submit(server, key_path, f"{PREFIX}{action}.v1", body)


def _apply(server: str, key_path: Path, application: dict[str, Any]) -> None:
    _submit(server, key_path, "register", {"application": application})


rights_option = click.option(
    "--right", "rights", multiple=True, required=True, type=click.Choice(RIGHTS),
    help="A right (repeat for several).",
)
to_option = click.option(
    "--to", "counterparty", required=True, help="Participant id, e.g. P000004."
)


def _choice(literal: Any) -> click.Choice[str]:
    """The values of one of the contracts' Literal types (no second list to keep)."""
    return click.Choice(get_args(literal))


_asset_options = options(
    click.option("--data", "data_path", type=click.Path(exists=True, path_type=Path),
                 help="File or directory to fingerprint here (the data is never sent)."),
    click.option("--fingerprint", "fingerprint_json",
                 help="Output of `dataex fingerprint` (file, '-' or inline JSON)."),
    click.option("--title", required=True),
    click.option("--description", required=True),
    click.option("--product-form", default="dataset", show_default=True,
                 type=_choice(ProductForm)),
    click.option("--industry", required=True),
    click.option("--scenario", required=True, help="What the data is used for."),
    click.option("--update-frequency", default="static", show_default=True,
                 type=_choice(UpdateFrequency)),
    click.option("--source-type", default="self_collected", show_default=True,
                 type=_choice(SourceType)),
    click.option("--personal-information/--no-personal-information", default=False,
                 show_default=True),
    click.option("--classification", default="general", show_default=True,
                 type=_choice(Classification),
                 help="Core data is refused by the registry."),
    click.option("--proof", "proofs", multiple=True,
                 help="SHA-256 of an authorisation proof (repeat)."),
    click.option("--sample-hash", default=None, help="SHA-256 of a published sample."),
)


def _asset(data_path: Path | None, fingerprint_json: str | None, **fields: Any) -> dict[str, Any]:
    if (data_path is None) == (fingerprint_json is None):
        raise click.UsageError("give exactly one of --data PATH and --fingerprint JSON")
    fingerprint = (
        compute_fingerprint(data_path) if data_path is not None
        else read_json_argument(str(fingerprint_json))
    )
    asset: dict[str, Any] = {
        "title": fields["title"],
        "description": fields["description"],
        "fingerprint": fingerprint,
        "product_form": fields["product_form"],
        "industry": fields["industry"],
        "scenario": fields["scenario"],
        "update_frequency": fields["update_frequency"],
        "source_type": fields["source_type"],
        "personal_information": fields["personal_information"],
        "classification": fields["classification"],
        "authorisation_proofs": list(fields["proofs"]),
    }
    if fields["sample_hash"]:
        asset["sample_hash"] = fields["sample_hash"]
    return asset


@click.group()
def registry() -> None:
    """Register data assets and act on certificates (owners and registrars)."""


# ---- owners ------------------------------------------------------------------------


@registry.command()
@signed
@_asset_options
@rights_option
@click.option("--term-days", type=int, default=1095, show_default=True)
def register(key_path: Path, server: str, rights: tuple[str, ...], term_days: int,
             data_path: Path | None, fingerprint_json: str | None, **asset: Any) -> None:
    """Apply for an initial registration of a data asset."""
    application = {"kind": "initial", "asset": _asset(data_path, fingerprint_json, **asset),
                   "rights": list(rights), "term_days": term_days}
    _apply(server, key_path, application)


@registry.command()
@signed
@click.argument("certificate")
@_asset_options
def change(certificate: str, key_path: Path, server: str, data_path: Path | None,
           fingerprint_json: str | None, **asset: Any) -> None:
    """Apply to change a certificate's asset (a new description or data version)."""
    _apply(server, key_path, {"kind": "change", "certificate_number": certificate,
                              "asset": _asset(data_path, fingerprint_json, **asset)})


@registry.command()
@signed
@click.argument("registration_id")
@click.option("--reason", default=None)
def withdraw(registration_id: str, key_path: Path, server: str, reason: str | None) -> None:
    """Withdraw your registration before it is decided."""
    body: dict[str, Any] = {"registration_id": registration_id}
    if reason:
        body["reason"] = reason
    _submit(server, key_path, "withdraw", body)


@registry.command()
@signed
@click.argument("certificate")
@to_option
@rights_option
def transfer(certificate: str, key_path: Path, server: str, counterparty: str,
             rights: tuple[str, ...]) -> None:
    """Transfer rights of your certificate (the receiver must accept)."""
    _apply(server, key_path, {"kind": "transfer", "certificate_number": certificate,
                              "counterparty": counterparty, "rights": list(rights)})


@registry.command()
@click.argument("registration_id")
@signed
def accept(registration_id: str, key_path: Path, server: str) -> None:
    """Accept a transfer to you, which sends it to review."""
    _submit(server, key_path, "accept_transfer", {"registration_id": registration_id})


@registry.command()
@signed
@click.argument("certificate")
@to_option
@rights_option
@click.option("--term-days", type=int, default=365, show_default=True)
def licence(certificate: str, key_path: Path, server: str, counterparty: str,
            rights: tuple[str, ...], term_days: int) -> None:
    """License rights of your certificate to a participant."""
    _apply(server, key_path, {"kind": "licence", "certificate_number": certificate,
                              "counterparty": counterparty, "rights": list(rights),
                              "term_days": term_days})


@registry.command()
@signed
@click.argument("certificate")
@to_option
@click.option("--amount", type=int, required=True, help="Secured amount in minor units.")
def pledge(certificate: str, key_path: Path, server: str, counterparty: str, amount: int) -> None:
    """Pledge your certificate to a pledgee (it can then not be transferred or cancelled)."""
    _apply(server, key_path, {"kind": "pledge", "certificate_number": certificate,
                              "counterparty": counterparty, "secured_amount": amount})


@registry.command()
@click.argument("certificate")
@signed
def release(certificate: str, key_path: Path, server: str) -> None:
    """Apply to release the pledge on a certificate (holder or pledgee)."""
    _apply(server, key_path, {"kind": "pledge_release", "certificate_number": certificate})


@registry.command()
@signed
@click.argument("certificate")
@click.option("--term-days", type=int, default=1095, show_default=True)
def renew(certificate: str, key_path: Path, server: str, term_days: int) -> None:
    """Apply to extend a certificate's validity."""
    _apply(server, key_path, {"kind": "renewal", "certificate_number": certificate,
                              "term_days": term_days})


@registry.command()
@signed
@click.argument("certificate")
@click.option("--reason", required=True)
def cancel(certificate: str, key_path: Path, server: str, reason: str) -> None:
    """Apply to cancel a certificate."""
    _apply(server, key_path, {"kind": "cancellation", "certificate_number": certificate,
                              "reason": reason})


@registry.command("object")
@signed
@click.argument("registration_id")
@click.option("--grounds", required=True)
@click.option("--evidence", multiple=True, help="SHA-256 of a piece of evidence (repeat).")
def object_(registration_id: str, key_path: Path, server: str, grounds: str,
            evidence: tuple[str, ...]) -> None:
    """Object to a registration during its public notice."""
    _submit(server, key_path, "object", {"registration_id": registration_id, "grounds": grounds,
                                         "evidence_hashes": list(evidence)})


# ---- registrars --------------------------------------------------------------------


@registry.command()
@click.argument("registration_id")
@signed
def review(registration_id: str, key_path: Path, server: str) -> None:
    """Take a submitted registration for review (registrar)."""
    _submit(server, key_path, "take", {"registration_id": registration_id})


@registry.command()
@click.argument("registration_id")
@signed
def notice(registration_id: str, key_path: Path, server: str) -> None:
    """Start the public notice of a registration under review (registrar)."""
    _submit(server, key_path, "open_notice", {"registration_id": registration_id})


@registry.command("decide-objection")
@signed
@click.argument("objection_id")
@click.option("--uphold/--dismiss", required=True, help="Uphold rejects the registration.")
@click.option("--reasons", required=True)
def decide_objection(objection_id: str, key_path: Path, server: str, uphold: bool,
                     reasons: str) -> None:
    """Uphold or dismiss an objection (registrar)."""
    _submit(server, key_path, "decide_objection", {
        "objection_id": objection_id, "outcome": "uphold" if uphold else "dismiss",
        "reasons": reasons})


def _own_participant_id(client: Client, signer: str) -> str:
    for participant in client.get("/v1/participants", role="registrar")["participants"]:
        if any(k["key_id"] == signer for k in participant["keys"]):
            return str(participant["participant_id"])
    raise click.ClickException(f"no registrar has the key {signer}")


@registry.command()
@signed
@click.argument("registration_id")
@click.option("--register/--reject", "registering", required=True)
@click.option("--reason-code", default=None, type=_choice(RejectReason))
@click.option("--reason-text", default=None)
def decide(registration_id: str, key_path: Path, server: str, registering: bool,
           reason_code: str | None, reason_text: str | None) -> None:
    """Register (signing the certificates it produces) or reject a registration (registrar)."""
    key = load_key(key_path)
    if not registering:
        if not (reason_code and reason_text):
            raise click.UsageError("--reject needs --reason-code and --reason-text")
        _submit(server, key_path, "decide", {"registration_id": registration_id,
                                             "outcome": "reject", "reason_code": reason_code,
                                             "reason_text": reason_text})
        return
    issued_at = datetime.now(UTC)
    with Client(server) as client:
        registrar = _own_participant_id(client, key_id(public_key_bytes(key)))
        preview = client.get(
            f"/v1/registry/registrations/{registration_id}/certificate-preview",
            registrar=registrar, issued_at=format_utc(issued_at),
        )
        documents = [c["document"] for c in preview["certificates"]]
        envelope = build_registering_decision(registration_id, documents, key, issued_at)
        print_json(client.submit(envelope))


# ---- reading -----------------------------------------------------------------------


@registry.command()
@click.argument("identifier")
@server_option
@friendly_errors
def show(identifier: str, server: str) -> None:
    """Show a registration (R...) or a certificate (DX-...) with its history."""
    with Client(server) as client:
        if identifier.startswith("DX-"):
            print_json(client.get(f"/v1/registry/certificates/{identifier}/history"))
        else:
            print_json(client.get(f"/v1/registry/registrations/{identifier}"))


@registry.command("notices")
@server_option
@friendly_errors
def notices(server: str) -> None:
    """The public notice board: everything under notice now, with conflicts."""
    with Client(server) as client:
        print_json(client.get("/v1/registry/notice-board"))


@click.command("verify")
@click.argument("number")
@server_option
@friendly_errors
def verify_certificate(number: str, server: str) -> None:
    """Check a certificate's registrar signature and its log entry; exit 2 on a fault."""
    with Client(server) as client:
        report = check_certificate(client, number)
    for name, passed in report.checks:
        click.echo(f"  {'ok  ' if passed else 'FAIL'} {name}", err=True)
    if not report.ok:
        click.echo(f"FAULT: certificate {number}: {report.first_failure}", err=True)
        sys.exit(EXIT_REFUSED)
    document = report.claim["document"]
    click.echo(
        f"ok: certificate {number} revision {document['revision']} held by "
        f"{document['holder']} ({report.claim['status']}), signed by registrar "
        f"{report.claim['registrar']} with {report.claim['registrar_key_id']}, "
        f"in log entry {report.claim['seq']}"
    )


registry.add_command(verify_certificate)


@click.group()
def certificate() -> None:
    """Show and verify registry certificates."""


certificate.add_command(verify_certificate)


@certificate.command("show")
@click.argument("number")
@server_option
@friendly_errors
def show_certificate(number: str, server: str) -> None:
    """A certificate with its status now, signature, registrations and events."""
    with Client(server) as client:
        print_json(client.get(f"/v1/registry/certificates/{number}/history"))
