"""`dataex fingerprint PATH`: the evidence a registration carries, computed locally."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from dataex.cli.common import print_json
from dataex.client.fingerprint import find_files, fingerprint_files
from dataex.core.registry.fingerprint import FingerprintError

# Below this a progress bar would only flicker.
PROGRESS_FROM_BYTES = 64 << 20


def compute_fingerprint(path: Path) -> dict[str, object]:
    """Walk and hash PATH, with a progress bar on stderr for large trees."""
    try:
        files = find_files(path)
        total = sum(f.size for f in files)
        if total < PROGRESS_FROM_BYTES:
            return fingerprint_files(files)
        columns = [
            TextColumn(f"hashing {len(files)} files"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("hash", total=total)
            return fingerprint_files(files, progress=lambda n: bar.advance(task, n))
    except FingerprintError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read {exc.filename}: {exc.strerror}") from exc


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def fingerprint(path: Path) -> None:
    """Print the fingerprint {root, total_bytes, file_count} of a file or directory.

    root is the RFC 9162 Merkle root over the SHA-256 of each regular file, in
    the byte order of their '/'-joined relative paths (contracts/FINGERPRINT.md).
    Symbolic links are refused, not followed. Pass the output to
    `dataex registry register --fingerprint FILE`, or use `--data PATH` there.
    """
    print_json(compute_fingerprint(path))
