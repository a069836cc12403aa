"""`dataex init`, `dataex serve`, `dataex db upgrade`, `dataex settings`.

The store (SQLAlchemy, Alembic, embedded PostgreSQL) is imported inside the
commands that need it: every other `dataex` command, which only talks HTTP,
then starts in about half the time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from dataex.cli.common import EXIT_LOCKED, print_json
from dataex.config.settings import Settings

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


async def _init(s: Settings, *, demo: bool) -> dict[str, object]:
    from dataex.bootstrap.genesis import ensure_genesis, ensure_keys, operator_admitted
    from dataex.store.runtime import open_runtime

    paths, created = ensure_keys(s)
    runtime = await open_runtime(s)
    try:
        genesis = await ensure_genesis(runtime, paths)
        if not operator_admitted(runtime, paths):
            raise click.ClickException(
                f"the database already has an operator whose key is not {paths.operator}; "
                "use the data directory that initialised this database"
            )
        seeded: list[str] = []
        registry: list[str] = []
        market: list[str] = []
        if demo:
            from dataex.bootstrap.demo import seed_demo, seed_demo_market, seed_demo_registry

            seeded = await seed_demo(runtime, paths)
            registry = await seed_demo_registry(runtime)
            market = await seed_demo_market(runtime, paths)
        await runtime.checkpointer.checkpoint()  # a signed checkpoint of what init wrote
        return {
            "data_dir": str(s.data_dir),
            "operator_key": str(paths.operator),
            "log_key": str(paths.log),
            "keys_created": created,
            "genesis_written": genesis,
            "demo_participants_admitted": seeded,
            "demo_registry_seeded": registry,
            "demo_market_seeded": market,
            "notice_period_seconds": s.notice_period_seconds,
            "log_size": runtime.sequencer.head.seq,
        }
    finally:
        await runtime.close()


def _run_init(s: Settings, *, demo: bool) -> dict[str, object]:
    return asyncio.run(_init(s, demo=demo))


def _init_or_stand_by(s: Settings, *, demo: bool) -> dict[str, object] | None:
    """Initialise as the writer; None if another server writes and this one may stand by.

    A standby writes nothing now, so it needs no genesis; but when it takes
    over it signs checkpoints and licences, so the writer's keys must be here.
    """
    from dataex.keys.locations import KeyPaths
    from dataex.store.runtime import writer_present
    from dataex.store.startup import EXIT_KEYS, StartupFailure
    from dataex.store.writer.sequencer import SequencerLocked

    # Asked first, so a standby never makes keys of its own (init would).
    if not (s.standby and asyncio.run(writer_present(s))):
        try:
            return _run_init(s, demo=demo)
        except SequencerLocked:
            if not s.standby:
                raise
    log_key = KeyPaths.of(s).log
    if not log_key.exists():
        raise StartupFailure(
            EXIT_KEYS, f"another server writes to this database and this standby has no log key "
            f"at {log_key}", "copy the writer's keys/ folder into this data directory")
    return None


def starting(fn: F) -> F:
    """A failure to start is one line on stderr and a distinct exit code, never a traceback.

    The codes are in store/startup.py and docs/operators.md; `-v` logs the
    traceback as well.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from dataex.keys.files import KeyFileError
        from dataex.store.startup import EXIT_KEYS, EXIT_SETTINGS, StartupFailure
        from dataex.store.writer.sequencer import SequencerLocked

        try:
            return fn(*args, **kwargs)
        except StartupFailure as exc:
            code, message = exc.exit_code, str(exc)
        except SequencerLocked as exc:
            code, message = EXIT_LOCKED, str(exc)
        except KeyFileError as exc:
            code, message = EXIT_KEYS, f"{exc}; restore the data directory's keys/ folder"
        except SettingsError as exc:
            code, message = EXIT_SETTINGS, f"{exc}; see `dataex settings`"
        log.debug("start failed", exc_info=True)
        click.echo(f"error: {message}", err=True)
        sys.exit(code)

    return wrapper  # type: ignore[return-value]


class SettingsError(ValueError):
    """A DATAEX_* variable that does not parse."""


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc


def _check_address(host: str, port: int) -> None:
    """Fail before any work if the HTTP address cannot be bound (granian would only log it)."""
    import socket

    from dataex.store.startup import EXIT_ADDRESS, StartupFailure

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise StartupFailure(
            EXIT_ADDRESS, f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            "stop what uses it, or choose another with --port / DATAEX_PORT") from exc


DEMO_NOTICE_PERIOD_SECONDS = "0"


def _demo_defaults() -> None:
    """A demo registers its first certificate at once, so its notice period is 0 s unless set.

    Set DATAEX_NOTICE_PERIOD_SECONDS to try objections: the asset seeded as
    registered then waits under notice like any other.
    """
    os.environ.setdefault("DATAEX_NOTICE_PERIOD_SECONDS", DEMO_NOTICE_PERIOD_SECONDS)


@click.command()
@click.option("--demo", is_flag=True,
              help="Also admit the demo participants and seed the registry.")
@starting
def init(demo: bool) -> None:
    """Create the data directory, the operator and log keys, and the genesis entry.

    Safe to run again: what exists is kept.
    """
    if demo:
        _demo_defaults()
    print_json(_run_init(_settings(), demo=demo))


@click.command()
@click.option("--demo", is_flag=True,
              help="Seed demo participants (keys in DATA_DIR/demo-keys), registry and market.")
@click.option("--host", default=None, help="Bind address (default DATAEX_HOST).")
@click.option("--port", type=int, default=None, help="Port (default DATAEX_PORT).")
@starting
def serve(demo: bool, host: str | None, port: int | None) -> None:
    """Run the HTTP service (initialising and migrating the database first).

    One server writes to a database: a second `serve` on the same database
    stands by, serving reads, and takes over when the writer stops (with
    DATAEX_STANDBY=0 it exits with code 3 instead). Every other failure to start
    is one line and its own exit code (docs/operators.md).
    """
    if demo:
        _demo_defaults()
    if host:
        os.environ["DATAEX_HOST"] = host
    if port:
        os.environ["DATAEX_PORT"] = str(port)
    s = _settings()
    embedded = s.embedded
    _check_address(s.host, s.port)
    # The embedded server is started here, in the parent, and outlives the
    # worker; the worker then reaches it by URL like any external server.
    from dataex.store.runtime import resolve_database_url

    url = resolve_database_url(s)
    os.environ["DATAEX_DATABASE_URL"] = url
    s = _settings()
    facts = _init_or_stand_by(s, demo=demo)
    base = f"http://{s.host}:{s.port}"
    role = "standing by, serving reads" if facts is None else "serving"
    click.echo(f"dataex {'(demo) ' if demo else ''}{role} on {base}")
    if facts is None:
        click.echo("  another server writes to this database; this one takes over when it stops "
                   f"(role in {base}/health/ready)")
        _serve_granian(s)
        return
    click.echo(f"  pages        {base}/ (load a key on {base}/account to trade and act)")
    click.echo(f"  API docs     {base}/schema")
    click.echo(f"  health       {base}/health/ready")
    click.echo(f"  audit log    {base}/v1/audit/checkpoint (entries: dataex audit export --key)")
    click.echo(f"  participants {base}/v1/participants")
    click.echo(f"  registry     {base}/v1/registry/notice-board, {base}/v1/registry/certificates")
    click.echo(f"  market       {base}/v1/market/products, {base}/v1/market/products/SYMBOL/depth")
    click.echo(f"  data dir     {s.data_dir} (operator key {facts['operator_key']})")
    if demo:
        click.echo(f"  demo keys    {s.data_dir / 'demo-keys'}")
        click.echo(f"  notice       {s.notice_period_seconds} s (DATAEX_NOTICE_PERIOD_SECONDS)")
        for line in cast(list[str], facts["demo_registry_seeded"]):
            click.echo(f"  seeded       {line}")
        for line in cast(list[str], facts["demo_market_seeded"]):
            click.echo(f"  market       {line}")
    where = f"embedded PostgreSQL in {s.data_dir / 'pgdata'}" if embedded else "DATAEX_DATABASE_URL"
    click.echo(f"  database     {where}")
    click.echo("Press Ctrl+C to stop.", err=True)
    _serve_granian(s)


def _serve_granian(s: Settings) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "dataex.api.asgi:app_factory",
        address=s.host,
        port=s.port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,  # one sequencer per database: exactly one worker
    ).serve()


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@starting
def db_upgrade() -> None:
    """Apply the Alembic migrations up to the latest revision."""
    from dataex.store.runtime import prepare_database

    s = _settings()
    _url, has_role = asyncio.run(prepare_database(s))
    click.echo("database is at the latest revision"
               + ("" if has_role else " (no app role: the user may not create roles)"))


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@starting
def db_backup(file: Path) -> None:
    """Write a consistent backup of the database to FILE (pg_dump + a manifest).

    Works while the service runs. The keys of the data directory are not in it:
    keep them apart (docs/operators.md).
    """
    from dataex.store.database.backup import BackupError, backup
    from dataex.store.runtime import resolve_database_url

    url = resolve_database_url(_settings())
    try:
        manifest = asyncio.run(backup(url, file, _progress))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {file}: log of {manifest.log.log_size} entries, root "
               f"{manifest.log.root or '-'}, {manifest.dump_bytes} bytes of dump")


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@starting
def db_restore(file: Path) -> None:
    """Restore FILE into an empty database (the embedded one of an empty data directory,
    or DATAEX_DATABASE_URL's) and check it against the backup's manifest."""
    from dataex.keys.locations import KeyPaths
    from dataex.store.database.backup import BackupError, restore
    from dataex.store.runtime import prepare_database, resolve_database_url

    s = _settings()
    url = resolve_database_url(s)
    try:
        manifest = asyncio.run(restore(url, file, _progress))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    asyncio.run(prepare_database(s))  # grants of the app role; migrations if any are newer
    click.echo(f"restored {file}: log of {manifest.log.log_size} entries, root "
               f"{manifest.log.root or '-'} (as in its manifest)")
    keys = KeyPaths.of(s)
    missing = [str(p) for p in (keys.operator, keys.log) if not p.exists()]
    if missing:
        click.echo("before `dataex serve`, copy the original data directory's keys here: "
                   + ", ".join(missing), err=True)


def _progress(line: str) -> None:
    click.echo(f"  {line}", err=True)


@click.command("settings")
def show_settings() -> None:
    """List every DATAEX_* setting with its default and current value."""
    current = Settings.from_env()
    for var, default, doc in Settings.describe():
        value = getattr(current, var.removeprefix("DATAEX_").lower())
        click.echo(f"{var}={value}\n    {doc} (default: {default or '(empty)'})")
