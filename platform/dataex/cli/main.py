"""`dataex`: the command line of the platform."""

from __future__ import annotations

import logging

import click

from dataex import __version__
from dataex.cli.audit import audit
from dataex.cli.audit_proofs import proof, verify_proof
from dataex.cli.cluster import cluster
from dataex.cli.contracts import contracts
from dataex.cli.documents import sign, submit, submit_envelope
from dataex.cli.fingerprint import fingerprint
from dataex.cli.gateway import call, gateway
from dataex.cli.keys import keys
from dataex.cli.ledger import ledger
from dataex.cli.licence import licence
from dataex.cli.log_rotation import finish_log_rotation, rotate_log
from dataex.cli.market import market
from dataex.cli.registry import certificate, registry
from dataex.cli.regulator import regulator
from dataex.cli.server import db, init, serve, show_settings
from dataex.cli.witness import witness


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dataex")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def cli(verbose: bool) -> None:
    """dataex: data property registration and trading with a verifiable audit log."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


for command in (init, serve, db, keys, sign, submit, submit_envelope, audit, contracts,
                show_settings, fingerprint, registry, certificate, ledger,
                market, licence, regulator, witness, gateway, call, cluster):
    cli.add_command(command)
audit.add_command(proof)
audit.add_command(verify_proof)
keys.add_command(rotate_log)
keys.add_command(finish_log_rotation)


def main() -> None:
    cli()
