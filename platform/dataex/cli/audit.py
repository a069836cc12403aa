"""`dataex audit`: export the log and verify it, from a server or a file."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dataex.cli.common import EXIT_REFUSED, friendly_errors, server_option
from dataex.cli.export_resume import resume_point
from dataex.client.sdk import Client, ProblemError
from dataex.keys.files import load_key
from dataex.verify import Report, TrustedKeys, verify_stream

LOG_KEYS_PATH = "/.well-known/dataex/log-keys"

reader_key_option = click.option(
    "--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="Your key (PEM): a regulator's reads the whole log, a participant's its own entries.")


@click.group()
def audit() -> None:
    """Read, export and verify the audit log."""


def _bar(label: str) -> Progress:
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=Console(stderr=True), transient=True)


@audit.command("entry")
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Your key (PEM): needed unless the entry is a registry record.")
@server_option
@friendly_errors
def entry(seq: int, key_path: Path | None, server: str) -> None:
    """One log entry with its hash, as JSON (for `audit verify-proof --entry`)."""
    with Client(server) as client:
        path = f"/v1/audit/entries/{seq}"
        found = client.get(path) if key_path is None else client.signed_get(
            path, load_key(key_path))
    click.echo(json.dumps(found))


@audit.command("export")
@server_option
@click.option("--from", "from_seq", type=click.IntRange(min=1), default=None,
              help="First seq (default 1). If --out exists, the export resumes after its "
                   "last complete entry instead.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="JSON Lines file to write, or to resume.")
@reader_key_option
@friendly_errors
def export(server: str, from_seq: int | None, out: Path, key_path: Path) -> None:
    """Download the log as JSON Lines, signed by --key; resume safely.

    A regulator's key gets the whole log (entries and signed checkpoints); a
    participant's key gets its own entries with inclusion proofs (check them
    with `dataex audit verify-mine`). An existing --out is continued from its
    last complete entry's seq + 1; a torn last line is dropped first.
    """
    start = from_seq or 1
    if out.exists():
        point = resume_point(out)
        if point.dropped:
            click.echo(f"dropped a torn last line ({point.dropped} bytes) from {out}", err=True)
        if from_seq is not None and from_seq > point.next_seq:
            raise click.ClickException(
                f"{out} ends at entry {point.next_seq - 1}; --from {from_seq} would leave a gap")
        start = point.next_seq
        if point.next_seq > 1:
            click.echo(f"resuming {out} from entry {start}", err=True)
    count = 0
    with Client(server) as client, out.open("a") as f, _bar("exporting") as bar:
        size = int(client.get("/v1/audit/entries", limit=1)["size"])
        task = bar.add_task("export", total=max(size - start + 1, 0))
        for line in client.export_lines(start, load_key(key_path)):
            f.write(line + "\n")
            if line.startswith('{"seq"'):
                count += 1
                if count % 500 == 0:
                    bar.update(task, completed=count)
    click.echo(f"wrote {count} entries to {out}", err=True)


@audit.command("verify")
@server_option
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Verify this export instead of a running server.")
@click.option("--log-key", "log_keys", multiple=True, metavar="VKEY",
              help="Trust this log key (C2SP vkey); repeat for several. Default: the keys the "
                   "server publishes at /.well-known/dataex/log-keys.")
@click.option("--log-keys-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Trusted keys: that endpoint's JSON, or one vkey a line.")
@click.option("--witness-key", "witness_keys", multiple=True, metavar="VKEY",
              help="A witness's cosignature/v1 vkey: its cosignatures must verify.")
@click.option("--trusted-checkpoint", "trusted", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A signed checkpoint seen before (e.g. witness-cosigned): the log must "
                   "agree with it.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Processes for signature checks (default: one per core; 0: inline).")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A regulator's key: needed to read the whole log from a server "
              "(not for --file).")
@friendly_errors
def verify(server: str, export_file: Path | None, log_keys: tuple[str, ...],
           log_keys_file: Path | None, witness_keys: tuple[str, ...], trusted: tuple[Path, ...],
           workers: int | None, key_path: Path | None) -> None:
    """Check the chain, the Merkle root against every signed checkpoint, every signature,
    and replay every command through core/; name the first fault and its seq.

    A regulator verifies a server's whole log (--key) or an export of it (--file).
    Exit code 0 when everything verifies, 2 when a fault is found.
    """
    keys = _trusted(log_keys, log_keys_file, witness_keys)
    notes = [path.read_text() for path in trusted]
    if export_file is None and key_path is None:
        raise click.UsageError("reading the whole log from a server needs a regulator's --key "
                               "(or verify an export with --file)")
    if export_file is not None:
        if not keys.log:
            keys.log = _served_keys(server).log
        with export_file.open("rb") as handle:
            total = sum(1 for line in handle if line.startswith(b'{"seq"'))
        with export_file.open("rb") as handle:
            report = _run(handle, total, keys, notes, None, workers)
    else:
        with Client(server) as client:
            if not keys.log:
                keys.log = _served_keys(server).log
            size = int(client.get("/v1/audit/entries", limit=1)["size"])
            assert key_path is not None
            report = _run(client.export_lines(1, load_key(key_path)), size, keys, notes, size,
                          workers)
    _print(report)


@audit.command("verify-mine")
@server_option
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="An own-entries export (`dataex audit export --key` with a "
              "participant's key) instead of asking the server.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Your key: fetch your entries from the server.")
@click.option("--participant", default=None,
              help="Also check every entry names this participant id.")
@click.option("--log-key", "log_keys", multiple=True, metavar="VKEY",
              help="Trust this log key (default: the keys the server publishes).")
@click.option("--log-keys-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Trusted keys: the log-keys JSON, or one vkey a line.")
@click.option("--witness-key", "witness_keys", multiple=True, metavar="VKEY",
              help="A witness's cosignature/v1 vkey: its cosignature must be on the checkpoint.")
@friendly_errors
def verify_mine(server: str, export_file: Path | None, key_path: Path | None,
                participant: str | None, log_keys: tuple[str, ...], log_keys_file: Path | None,
                witness_keys: tuple[str, ...]) -> None:
    """Check your own log entries against a signed checkpoint, reading nobody else's.

    Each entry's hash and its inclusion proof in the latest signed checkpoint,
    the checkpoint's log signature, and (with --witness-key) that each named
    witness cosigned it. Exit 0 when all verify, 2 at the first fault.
    """
    from dataex.verify.own_entries import verify_own_entries

    keys = _trusted(log_keys, log_keys_file, witness_keys)
    if not keys.log:
        keys.log = _served_keys(server).log
    if export_file is not None:
        with export_file.open("rb") as handle:
            report = verify_own_entries(handle, keys, participant)
    elif key_path is not None:
        with Client(server) as client:
            report = verify_own_entries(client.export_lines(1, load_key(key_path)), keys,
                                        participant)
    else:
        raise click.UsageError("give --file EXPORT or --key YOUR_KEY")
    if not report.ok:
        where = f" at entry {report.fault_seq}" if report.fault_seq is not None else ""
        click.echo(f"FAULT{where}: {report.fault}", err=True)
        sys.exit(EXIT_REFUSED)
    assert report.checkpoint is not None
    missing = [w for w in (_witness_label(k) for k in keys.witnesses)
               if w not in report.checkpoint.cosigned_by]
    if missing:
        click.echo(f"FAULT: the checkpoint is not cosigned by {', '.join(missing)}", err=True)
        sys.exit(EXIT_REFUSED)
    cp = report.checkpoint.checkpoint
    click.echo(f"ok: {len(report.verified)} of your entries are in checkpoint {cp.size} "
               f"(root {cp.root.hex()}), signed by {report.checkpoint.log_key}"
               + "".join(f", cosigned by {w}" for w in report.checkpoint.cosigned_by))


def _witness_label(verifier: object) -> str:
    return f"{verifier.name}+{verifier.key_hash.hex()}"  # type: ignore[attr-defined]


def _trusted(log_keys: tuple[str, ...], log_keys_file: Path | None,
             witness_keys: tuple[str, ...]) -> TrustedKeys:
    keys = TrustedKeys().add_all([*log_keys, *witness_keys])
    if log_keys_file is not None:
        from_file = TrustedKeys.from_file(log_keys_file)
        keys.log += from_file.log
        keys.witnesses += from_file.witnesses
    return keys


def _served_keys(server: str) -> TrustedKeys:
    """The keys the server publishes; none (and a warning) if it publishes none."""
    try:
        with Client(server) as client:
            keys = TrustedKeys.from_well_known(client.get(LOG_KEYS_PATH))
    except (httpx.HTTPError, ProblemError) as exc:
        click.echo(f"no log keys given and none from {server} ({exc}); "
                   "checkpoints cannot be checked", err=True)
        return TrustedKeys()
    click.echo(f"trusting the log keys {server} publishes: "
               + ", ".join(f"{k.name}+{k.key_hash.hex()}" for k in keys.log), err=True)
    return keys


def _run(lines: Iterable[str | bytes], total: int | None, keys: TrustedKeys, notes: list[str],
         expected_size: int | None, workers: int | None) -> Report:
    with _bar("verifying") as bar:
        task = bar.add_task("verify", total=total)
        return verify_stream(lines, keys=keys, trusted_checkpoints=notes,
                             expected_size=expected_size, workers=workers,
                             progress=lambda seq: bar.update(task, completed=seq))


def _print(report: Report) -> None:
    if report.ok:
        click.echo(f"ok: {report.verified} entries verified; head {report.last_seq} "
                   f"{report.head_hash}")
        click.echo(f"root {report.root}; {report.checkpoints_verified} checkpoints verified"
                   + (f", the last at size {report.last_checkpoint_size}"
                      if report.checkpoints_verified else ""))
        for witness, count in sorted(report.cosignatures.items()):
            click.echo(f"cosigned by {witness}: {count} checkpoints")
        if report.last_checkpoint_size < report.last_seq:
            click.echo(f"note: entries {report.last_checkpoint_size + 1}..{report.last_seq} "
                       "are after the last signed checkpoint (chained and replayed, not yet "
                       "under a signed root)")
        return
    assert report.fault is not None
    click.echo(f"FAULT at entry {report.fault.seq}: {report.fault.reason}", err=True)
    click.echo(f"({report.verified} entries before it verified)", err=True)
    sys.exit(EXIT_REFUSED)
