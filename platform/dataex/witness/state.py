"""A witness's memory of one log, on disk: the only thing that stops it cosigning a fork.

The state (origin, pinned log keys, size, root, last cosigned checkpoint) is a
small JSON file replaced atomically: write a temp file in the same folder,
fsync it, os.replace it over the old one, fsync the folder. A crash at any
point leaves either the old or the new file, both valid. The witness persists
the new state before it releases a cosignature (c2sp.org/tlog-witness), so a
cosignature is never out without the state that produced it; a crash between
verify and persist leaves the old state, and running again simply redoes it.

An exclusive lock on "<file>.lock" keeps two witness processes from sharing
one state file, which could otherwise roll it back (the race the spec warns of).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataex.core.log.checkpoint import MalformedNote, parse_vkey
from dataex.core.log.witness import WitnessState

FORMAT = "dataex.witness-state.v1"


class StateFileError(Exception):
    """The state file is unreadable, malformed, or locked by another witness."""


@dataclass(frozen=True)
class StoredState:
    """The decision state plus the last checkpoint cosigned (for monitors and retries)."""

    state: WitnessState
    checkpoint: str | None = None  # the note with the log's signatures and ours
    cosigned_at: int | None = None  # POSIX time of our last cosignature


def _to_json(stored: StoredState) -> dict[str, Any]:
    s = stored.state
    return {
        "format": FORMAT,
        "origin": s.origin,
        "log_keys": [k.vkey for k in s.log_keys],
        "size": s.size,
        "root": base64.b64encode(s.root).decode("ascii"),
        "checkpoint": stored.checkpoint,
        "cosigned_at": stored.cosigned_at,
    }


def _from_json(path: Path, data: Any) -> StoredState:
    try:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        state = WitnessState(
            origin=str(data["origin"]),
            log_keys=tuple(parse_vkey(v) for v in data["log_keys"]),
            size=int(data["size"]),
            root=base64.b64decode(data["root"], validate=True),
        )
        checkpoint, cosigned_at = data.get("checkpoint"), data.get("cosigned_at")
        return StoredState(state, None if checkpoint is None else str(checkpoint),
                           None if cosigned_at is None else int(cosigned_at))
    except (KeyError, TypeError, ValueError, binascii.Error, MalformedNote) as exc:
        raise StateFileError(f"{path} is not a valid witness state: {exc}") from exc


def load_state(path: Path) -> StoredState | None:
    """The stored state, or None if the witness has never run with this file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(f"{path} is not JSON: {exc}") from exc
    return _from_json(path, data)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_state(path: Path, stored: StoredState) -> None:
    """Replace the state file atomically and durably; on any failure the old file stands."""
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    payload = (json.dumps(_to_json(stored), indent=2) + "\n").encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


@contextmanager
def state_lock(path: Path) -> Iterator[None]:
    """Hold "<state file>.lock" exclusively, or fail at once if another witness holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StateFileError(f"another witness process is using {path}") from exc
        yield
    finally:
        os.close(fd)  # closing releases the lock
