"""`dataex audit proof` and `dataex audit verify-proof`: one entry's proof, fetched and checked.

The proof file is a c2sp.org/tlog-proof; verifying it needs no server, only
the log's verifier key(s) and the entry (its hash is the Merkle leaf).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dataex.cli.common import EXIT_REFUSED, friendly_errors, server_option
from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import DomainError
from dataex.core.log.chain import entry_hash
from dataex.core.log.checkpoint import NoteVerifier, parse_vkey
from dataex.core.log.tlog_proof import parse_tlog_proof, verify_tlog_proof


@click.command("proof")
@server_option
@click.option("--seq", type=click.IntRange(min=1), required=True, help="The entry.")
@click.option("--size", type=click.IntRange(min=1), default=None,
              help="A checkpointed tree size (default: the latest checkpoint).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")
@friendly_errors
def proof(server: str, seq: int, size: int | None, out: Path | None) -> None:
    """Download the C2SP tlog-proof of entry SEQ: inclusion proof plus signed checkpoint."""
    from dataex.client.sdk import Client, _check

    params = {} if size is None else {"size": size}
    with Client(server) as client:
        response = client.http.get(f"/v1/audit/proof-file/{seq}", params=params)
        if response.status_code >= 400:
            _check(response)
    if out is None:
        click.echo(response.text, nl=False)
    else:
        out.write_text(response.text)
        click.echo(f"wrote the proof of entry {seq} to {out}", err=True)


def _vkeys(values: tuple[str, ...]) -> list[NoteVerifier]:
    keys = []
    for value in values:
        path = Path(value)
        text = path.read_text().strip() if "+" not in value and path.is_file() else value
        keys.append(parse_vkey(text))
    return keys


def _leaf_from_entry(path: Path) -> tuple[int, bytes]:
    """(seq, leaf hash) of an exported entry: an export line or GET /v1/audit/entries/{seq}."""
    try:
        logged = json.loads(path.read_text())
        entry = logged.get("entry", logged)
        return int(entry["seq"]), bytes.fromhex(entry_hash(canonical_json(entry)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise click.ClickException(f"{path} is not an exported log entry: {exc}") from exc


@click.command("verify-proof")
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--log-key", "log_keys", multiple=True, required=True,
              help="The log's verifier key (C2SP vkey, or a file holding one); repeatable.")
@click.option("--entry", "entry_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="The entry as exported (JSON); its hash is recomputed and must be the leaf.")
@click.option("--leaf-hash", default=None, help="Hex leaf hash, instead of --entry.")
def verify_proof(proof_file: Path, log_keys: tuple[str, ...], entry_file: Path | None,
                 leaf_hash: str | None) -> None:
    """Verify a tlog-proof offline: the log's signature, then the entry's inclusion.

    Exit code 0 when it verifies, 2 when it does not.
    """
    if (entry_file is None) == (leaf_hash is None):
        raise click.UsageError("give exactly one of --entry and --leaf-hash")
    seq = None
    if entry_file is not None:
        seq, leaf = _leaf_from_entry(entry_file)
    else:
        try:
            leaf = bytes.fromhex(leaf_hash or "")
        except ValueError as exc:
            raise click.UsageError("--leaf-hash must be hex") from exc
    text = proof_file.read_text()
    try:
        index = parse_tlog_proof(text).index
        if seq is not None and seq != index + 1:
            raise DomainError(f"the proof is for entry {index + 1}, the entry given is {seq}")
        parsed, checkpoint = verify_tlog_proof(text, leaf, _vkeys(log_keys))
    except DomainError as exc:
        click.echo(f"FAIL: {exc.detail}", err=True)
        sys.exit(EXIT_REFUSED)
    click.echo(f"ok: entry {parsed.index + 1} (leaf {leaf.hex()}) is in {checkpoint.origin} "
               f"tree of size {checkpoint.size}, root {checkpoint.root.hex()}")
