"""Fingerprint a file or a directory on disk: the I/O half of core/registry/fingerprint.py.

The walk is strict so that the same tree gives the same root on every machine:
symbolic links are never followed (below the PATH given) and, like sockets or
devices, make the fingerprint fail with their name instead of being skipped
silently. Files are read in 1 MiB chunks, in path order, so memory stays flat.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataex.core.registry.fingerprint import (
    FingerprintBuilder,
    FingerprintError,
    order_key,
    relative_path,
)

CHUNK = 1 << 20


@dataclass(frozen=True)
class FoundFile:
    relative: str
    path: Path
    size: int


def find_files(root: Path) -> list[FoundFile]:
    """Every regular file under `root` (or `root` itself), in fingerprint order."""
    if root.is_file():
        return [FoundFile(relative_path([root.name]), root, root.stat().st_size)]
    if not root.is_dir():
        raise FingerprintError(f"{root} is neither a regular file nor a directory")
    found: list[FoundFile] = []
    pending: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while pending:
        folder, parts = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                names = (*parts, entry.name)
                if entry.is_symlink():
                    raise FingerprintError(
                        f"{entry.path} is a symbolic link; links are not followed "
                        "(copy the data or fingerprint the target instead)"
                    )
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), names))
                elif entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                    found.append(FoundFile(relative_path(names), Path(entry.path), size))
                else:
                    raise FingerprintError(f"{entry.path} is not a regular file")
    return sorted(found, key=lambda f: order_key(f.relative))


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.digest()


def fingerprint_files(
    files: list[FoundFile], progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """{root, total_bytes, file_count} of files found by find_files; `progress` gets bytes read.

    total_bytes counts what was read, so a file that changes size while it is
    read cannot leave the count and the root describing different data.
    """
    builder = FingerprintBuilder()
    for found in files:
        read = 0

        def counted(n: int) -> None:
            nonlocal read
            read += n
            if progress is not None:
                progress(n)

        digest = sha256_file(found.path, counted)
        builder.add(found.relative, digest, read)
    return builder.result()


def fingerprint_path(path: Path) -> dict[str, Any]:
    return fingerprint_files(find_files(path))
