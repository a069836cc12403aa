"""`dataex audit`: export the log and verify it, from a server or a file."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dataex.cli.common import EXIT_REFUSED, friendly_errors, server_option
from dataex.client import Client
from dataex.verifier import Report, verify_export


@click.group()
def audit() -> None:
    """Read, export and verify the audit log."""


@audit.command("export")
@server_option
@click.option("--from", "from_seq", type=click.IntRange(min=1), default=1, show_default=True,
              help="First seq (resume an export with the last seq + 1).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (appended to when --from > 1).")
@friendly_errors
def export(server: str, from_seq: int, out: Path) -> None:
    """Download the log as JSON Lines."""
    count = 0
    with Client(server) as client, out.open("a" if from_seq > 1 else "w") as f:
        for line in client.export_lines(from_seq):
            f.write(line + "\n")
            count += 1
    click.echo(f"wrote {count} entries to {out}", err=True)


@audit.command("verify")
@server_option
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Verify this export instead of a running server.")
@friendly_errors
def verify(server: str, export_file: Path | None) -> None:
    """Check order, hashes, chain and signatures, and replay every command; name the first fault.

    Exit code 0 when everything verifies, 2 when a fault is found.
    """
    if export_file is not None:
        with export_file.open("rb") as handle:
            total = sum(1 for line in handle if line.strip())  # for the bar; then stream
        with export_file.open() as handle:
            report = _run(handle, total, expected_size=None)
    else:
        with Client(server) as client:
            size = int(client.get("/v1/audit/entries", limit=1)["size"])
            report = _run(client.export_lines(), size, expected_size=size)
    if report.ok:
        click.echo(f"ok: {report.verified} entries verified; head {report.last_seq} "
                   f"{report.head_hash}")
        return
    assert report.fault is not None
    click.echo(f"FAULT at entry {report.fault.seq}: {report.fault.reason}", err=True)
    click.echo(f"({report.verified} entries before it verified)", err=True)
    sys.exit(EXIT_REFUSED)


def _run(lines: Iterable[str], total: int | None, *, expected_size: int | None) -> Report:
    columns = [TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("verify", total=total)
        return verify_export(lines, progress=lambda seq: bar.update(task, completed=seq),
                             expected_size=expected_size)
