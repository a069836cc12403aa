"""`dataex keys`: make and show Ed25519 keys."""

from __future__ import annotations

from pathlib import Path

import click

from dataex.cli.common import friendly_errors, print_json
from dataex.keys.files import describe, load_key, new_key


@click.group()
def keys() -> None:
    """Make and inspect Ed25519 signing keys."""


@keys.command("new")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@friendly_errors
def keys_new(path: Path) -> None:
    """Write a new private key to PATH (mode 0600) and print its public facts."""
    print_json(describe(new_key(path)))


@keys.command("show")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@friendly_errors
def keys_show(path: Path) -> None:
    """Print the key id and public key of the key in PATH."""
    print_json(describe(load_key(path)))
