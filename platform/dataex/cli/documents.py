"""`dataex sign` and `dataex submit`: wrap a JSON body into a signed envelope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dataex.cli.common import (
    friendly_errors,
    key_option,
    print_json,
    read_json_argument,
    server_option,
)
from dataex.client.sdk import Client, build_document
from dataex.core.contracts import CONTRACTS
from dataex.keys.files import load_key

contract_option = click.option(
    "--contract",
    required=True,
    type=click.Choice(sorted(CONTRACTS)),
    help="Contract of the document.",
)
nonce_option = click.option("--nonce", default=None, help="Nonce (default: random).")


def _envelope(contract: str, key_path: Path, body_source: str, nonce: str | None) -> Any:
    body = read_json_argument(body_source)
    if not isinstance(body, dict):
        raise click.ClickException("the body must be a JSON object")
    return build_document(contract, body, load_key(key_path), nonce=nonce)


@click.command()
@contract_option
@key_option
@nonce_option
@click.argument("body")
@friendly_errors
def sign(contract: str, key_path: Path, nonce: str | None, body: str) -> None:
    """Sign BODY (a JSON file, '-' for stdin, or inline JSON) and print the envelope."""
    print_json(_envelope(contract, key_path, body, nonce))


@click.command()
@contract_option
@key_option
@nonce_option
@server_option
@click.argument("body")
@friendly_errors
def submit(contract: str, key_path: Path, nonce: str | None, server: str, body: str) -> None:
    """Sign BODY and POST it to the server; print the receipt (log entry)."""
    envelope = _envelope(contract, key_path, body, nonce)
    with Client(server) as client:
        print_json(client.submit(envelope))


@click.command("submit-envelope")
@server_option
@click.argument("envelope")
@friendly_errors
def submit_envelope(server: str, envelope: str) -> None:
    """POST an already signed ENVELOPE (file, '-' or inline JSON)."""
    with Client(server) as client:
        print_json(client.submit(read_json_argument(envelope)))
