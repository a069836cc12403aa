"""The gateway's durable memory of usage: served tokens, and the reports that burn them.

SQLite (the standard library's; WAL, synchronous=FULL: a commit is on disk when
it returns) in one file. A metered answer is recorded before it is returned to
the caller, so a crash after serving loses nothing. Reports are cut from the
meters in one transaction that also stores the signed consumption document; the
document is sent as stored until dataex acknowledges it, so a crash between
sending and marking it re-sends the very same document, which dataex answers as
a replay (same nonce, same bytes): nothing is burned twice.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, holder TEXT NOT NULL,
    tokens INTEGER NOT NULL, served_at TEXT NOT NULL, request_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meters (
    symbol TEXT NOT NULL, holder TEXT NOT NULL,
    served_tokens INTEGER NOT NULL DEFAULT 0, reported_tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (symbol, holder));
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, holder TEXT NOT NULL,
    units INTEGER NOT NULL, envelope TEXT NOT NULL, status TEXT NOT NULL,
    seq INTEGER, detail TEXT, created_at TEXT NOT NULL);
"""
PENDING, DONE, REFUSED = "pending", "done", "refused"

Signer = Callable[[str, str, int, str], dict[str, Any]]  # symbol, holder, units, report id


@dataclass(frozen=True)
class Report:
    report_id: str
    symbol: str
    holder: str
    units: int
    envelope: dict[str, Any]


class Journal:
    """One connection, one lock: calls are short and the proxy runs them off its loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    def record_usage(self, symbol: str, holder: str, tokens: int, request_id: str) -> None:
        """Durably note that `holder` used `tokens` of `symbol` (before answering the call)."""
        self.record_many([(symbol, holder, tokens, request_id)])

    def record_many(self, rows: list[tuple[str, str, int, str]]) -> None:
        """Several calls' usage in one transaction: one fsync for all (the proxy's group commit)."""
        served_at = datetime.now(UTC).isoformat()

        def work(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO usage (symbol, holder, tokens, served_at, request_id) "
                           "VALUES (?, ?, ?, ?, ?)",
                           [(s, h, t, served_at, r) for s, h, t, r in rows])
            db.executemany("INSERT INTO meters (symbol, holder, served_tokens) VALUES (?, ?, ?) "
                           "ON CONFLICT (symbol, holder) DO UPDATE "
                           "SET served_tokens = served_tokens + excluded.served_tokens",
                           [(s, h, t) for s, h, t, _ in rows])
        self._transaction(work)

    def cut_reports(self, tokens_per_unit: int, sign: Signer) -> list[Report]:
        """Whole units of unreported usage become signed reports, stored before any is sent."""
        def work(db: sqlite3.Connection) -> list[Report]:
            cut = []
            rows = db.execute("SELECT symbol, holder, served_tokens - reported_tokens FROM meters "
                              "WHERE served_tokens - reported_tokens >= ? ORDER BY symbol, holder",
                              (tokens_per_unit,)).fetchall()
            for symbol, holder, pending in rows:
                units = pending // tokens_per_unit
                report_id = uuid.uuid4().hex
                envelope = sign(symbol, holder, units, report_id)
                db.execute("INSERT INTO reports (report_id, symbol, holder, units, envelope, "
                           "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (report_id, symbol, holder, units,
                            msgspec.json.encode(envelope).decode(), PENDING,
                            datetime.now(UTC).isoformat()))
                db.execute("UPDATE meters SET reported_tokens = reported_tokens + ? "
                           "WHERE symbol = ? AND holder = ?",
                           (units * tokens_per_unit, symbol, holder))
                cut.append(Report(report_id, symbol, holder, units, envelope))
            return cut
        result: list[Report] = self._transaction(work)
        return result

    def pending(self) -> list[Report]:
        with self._lock:
            rows = self._db.execute(
                "SELECT report_id, symbol, holder, units, envelope FROM reports "
                "WHERE status = ? ORDER BY created_at, report_id", (PENDING,)).fetchall()
        return [Report(r, s, h, u, msgspec.json.decode(e)) for r, s, h, u, e in rows]

    def settle(self, report_id: str, status: str, seq: int | None, detail: str | None) -> None:
        self._transaction(lambda db: db.execute(
            "UPDATE reports SET status = ?, seq = ?, detail = ? WHERE report_id = ?",
            (status, seq, detail, report_id)))

    def unreflected_units(self, symbol: str, holder: str, snapshot_seq: int) -> int:
        """Units reported that the holder snapshot read at `snapshot_seq` does not show yet."""
        with self._lock:
            (units,) = self._db.execute(
                "SELECT COALESCE(SUM(units), 0) FROM reports WHERE symbol = ? AND holder = ? "
                "AND (status = ? OR (status = ? AND seq > ?))",
                (symbol, holder, PENDING, DONE, snapshot_seq)).fetchone()
        return int(units)

    def unreported_tokens(self, symbol: str, holder: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT served_tokens - reported_tokens FROM meters "
                "WHERE symbol = ? AND holder = ?",
                (symbol, holder)).fetchone()
        return int(row[0]) if row else 0

    def totals(self) -> dict[str, int]:
        """For health and metrics: tokens served, units reported, acknowledged, refused."""
        with self._lock:
            served = self._db.execute("SELECT COALESCE(SUM(tokens), 0) FROM usage").fetchone()[0]
            by_status = dict(self._db.execute(
                "SELECT status, COALESCE(SUM(units), 0) FROM reports GROUP BY status").fetchall())
        return {"tokens_served": int(served), "units_pending": int(by_status.get(PENDING, 0)),
                "units_burned": int(by_status.get(DONE, 0)),
                "units_refused": int(by_status.get(REFUSED, 0))}
