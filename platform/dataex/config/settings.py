"""Settings, read once from DATAEX_* environment variables.

Every field has a default that works on a fresh machine and a one-line
docstring; `dataex settings` prints them. Nothing else reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any


def default_data_dir() -> Path:
    """Where keys and the embedded database live.

    The embedded PostgreSQL, run as root, runs the server as a system user and
    widens every parent folder of its data directory to g+rx,o+rx. As root we
    therefore default to /var/lib/dataex, whose parents are world-readable
    already, never to a folder under root's home.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/dataex")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dataex"


def _doc(text: str, **kw: Any) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass(frozen=True)
class Settings:
    database_url: str = _doc(
        "PostgreSQL URL; empty starts the embedded PostgreSQL in the data directory. A cluster: "
        "every node, postgresql://u@h1:5432,h2:5432/db?target_session_attrs=read-write",
        default="")
    read_database_url: str = _doc(
        "PostgreSQL URL of a read replica for public reads (market data, registry, regulator "
        "reports, the log's entries); empty reads from DATAEX_DATABASE_URL", default="")
    standby: int = _doc(
        "1: a server that finds another writing to the database serves reads and takes over "
        "when that one stops; 0: it exits with code 3", default=1)
    lock_poll_seconds: int = _doc(
        "How often a standby tries the writer's lock, and an idle writer checks it still has it",
        default=1)
    data_dir: Path = _doc(
        "Folder for keys and the embedded database", default_factory=default_data_dir
    )
    host: str = _doc("Address the HTTP server binds", default="127.0.0.1")
    port: int = _doc("Port the HTTP server binds", default=8700)
    log_origin: str = _doc("Origin line of the log's checkpoints", default="dataex.local/log")
    max_clock_skew_seconds: int = _doc("How far issued_at may be from server time", default=300)
    checkpoint_interval_seconds: int = _doc("How often a checkpoint is signed", default=10)
    notice_period_seconds: int = _doc("Public notice period of registrations", default=7 * 86400)
    maker_fee_bps: int = _doc("Maker fee in basis points", default=5)
    taker_fee_bps: int = _doc("Taker fee in basis points", default=10)
    surveillance_cancel_to_fill_ratio: int = _doc(
        "Surveillance flags a participant whose cancels per fill exceed this", default=20)
    surveillance_min_cancels: int = _doc(
        "A cancel-to-fill flag needs at least this many own cancels in the window",
        default=20)
    surveillance_self_trades_prevented: int = _doc(
        "Surveillance flags a participant with at least this many self-trades prevented",
        default=5)
    surveillance_linked_trades: int = _doc(
        "Surveillance flags a linked pair with at least this many trades between them",
        default=1)
    max_body_bytes: int = _doc("Largest request body accepted", default=64 * 1024)
    batch_max_commands: int = _doc("Most commands the sequencer commits together", default=512)
    verify_threads: int = _doc(
        "Threads that check request signatures beside the event loop; 0 checks them on the "
        "loop (faster on a busy 2-core machine, docs/benchmarks.md)", default=0)
    tile_cache_bytes: int = _doc(
        "Bytes of Merkle tile hashes the proof API keeps in memory (1M entries need ~64 MB)",
        default=96 * 1024 * 1024)
    app_role: str = _doc("Database role the service runs as (lacks UPDATE/DELETE on the log)",
                         default="dataex_app")
    log_format: str = _doc(
        "Log lines on stdout: json (one object per line: every request, every batch), text, "
        "or none (warnings only)",
        default="json")
    metrics: int = _doc("1 serves GET /metrics (Prometheus text format); 0 turns metrics off",
                        default=1)

    def __post_init__(self) -> None:
        if self.notice_period_seconds < 0:
            raise ValueError("DATAEX_NOTICE_PERIOD_SECONDS must not be negative")
        if self.log_format not in ("json", "text", "none"):
            raise ValueError("DATAEX_LOG_FORMAT must be json, text or none")
        if self.metrics not in (0, 1):
            raise ValueError("DATAEX_METRICS must be 0 or 1")
        if self.standby not in (0, 1):
            raise ValueError("DATAEX_STANDBY must be 0 or 1")
        if self.lock_poll_seconds < 1:
            raise ValueError("DATAEX_LOCK_POLL_SECONDS must be at least 1")

    @property
    def max_clock_skew(self) -> timedelta:
        return timedelta(seconds=self.max_clock_skew_seconds)

    @property
    def notice_period(self) -> timedelta:
        return timedelta(seconds=self.notice_period_seconds)

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"DATAEX_{f.name.upper()}")
            if raw is None:
                continue
            if f.type in ("int", int):
                try:
                    values[f.name] = int(raw)
                except ValueError as exc:
                    raise ValueError(f"DATAEX_{f.name.upper()} must be an integer") from exc
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw).expanduser()
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, doc) for every setting."""
        out = []
        for f in fields(cls):
            default = f.default_factory() if callable(f.default_factory) else f.default
            out.append((f"DATAEX_{f.name.upper()}", str(default), f.metadata["doc"]))
        return out
