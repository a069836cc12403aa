"""`dataex licence ...`: read, save and verify the licences market trades make.

A licence is public (its id, parties and contract text are on the log), so no
key is needed: `show` prints the licence answer (save it with --json > FILE),
`verify` checks it (verify/licences.py) and exits 2 on a fault, and `templates`
lists the licence templates a data-licence product may name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dataex.cli.common import EXIT_REFUSED, friendly_errors, print_json, server_option, signed
from dataex.client.sdk import Client
from dataex.keys.files import load_key
from dataex.verify.licences import check_licence


@click.group()
def licence() -> None:
    """Market licences: show, verify; the licence templates."""


@licence.command()
@click.argument("licence_id")
@click.option("--json", "as_json", is_flag=True, help="The whole answer (for verify --file).")
@signed
def show(licence_id: str, as_json: bool, key_path: Path, server: str) -> None:
    """LICENCE_ID's contract text and links (--json: document, hash, signature, links).

    --key: the licensee's, the licensor's or a regulator's key (licences are not public).
    """
    with Client(server) as client:
        claim = client.signed_get(f"/v1/market/licences/{licence_id}", load_key(key_path))
    if as_json:
        print_json(claim)
        return
    d = claim["document"]
    click.echo(d["text"])
    click.echo("")
    click.echo(f"status:        {claim['status']}")
    click.echo(f"document hash: {claim['document_hash']}")
    click.echo(f"signed by:     {claim['platform_key_id']}")
    click.echo(f"certificate:   {d['certificate_number']}")
    click.echo(f"registry:      {d['registration_id']}")
    click.echo(f"trade:         {d['trade_id']}   log entry: {claim['seq']}")


@licence.command()
@click.argument("licence_id")
@click.option("--file", "file_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A saved `licence show --json` answer to check instead of the server's.")
@click.option("--platform-key-id", default=None,
              help="The platform log key id you trust; the licence must be signed by it.")
@click.option("--offline", is_flag=True,
              help="With --file: skip the server (registry record, log entry, rendering).")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The licensee's, licensor's or a regulator's key (PEM): it "
              "signs the reads of the licence and its log entry (not needed with --offline).")
@server_option
@friendly_errors
def verify(licence_id: str, file_path: Path | None, platform_key_id: str | None, offline: bool,
           key_path: Path | None, server: str) -> None:
    """Check LICENCE_ID's hash, platform signature, text and registry record; exit 2 on a fault."""
    if offline and file_path is None:
        raise click.UsageError("--offline needs --file")
    if not offline and key_path is None:
        raise click.UsageError("--key is needed to read the licence from the server "
                               "(or check a saved answer with --file ... --offline)")
    claim = None if file_path is None else json.loads(file_path.read_text(encoding="utf-8"))
    if offline:
        report, claim = check_licence(None, licence_id, claim=claim, pinned_key_id=platform_key_id)
    else:
        assert key_path is not None
        with Client(server) as client:
            report, claim = check_licence(
                client, licence_id, key=load_key(key_path), claim=claim,
                pinned_key_id=platform_key_id,
            )
    for name, passed in report.checks:
        click.echo(f"  {'ok  ' if passed else 'FAIL'} {name}", err=True)
    if not report.ok:
        click.echo(f"FAULT: licence {licence_id}: {report.first_failure}", err=True)
        sys.exit(EXIT_REFUSED)
    d = claim["document"]
    click.echo(
        f"ok: licence {licence_id} of {d['certificate_number']} from {d['licensor']} to "
        f"{d['licensee']} (trade {d['trade_id']}, template {d['licence_template_id']}), "
        f"signed by {claim['platform_key_id']}"
        + ("" if offline else f", registry record {d['registration_id']}")
    )


@licence.command()
@server_option
@friendly_errors
def templates(server: str) -> None:
    """The licence templates listings may name, with their hashes."""
    with Client(server) as client:
        found = client.get("/v1/market/licence-templates")
    for item in found["templates"]:
        click.echo(f"{item['ref']}  {item['hash']}  {item['template']['title']}")
