"""The data fingerprint: evidence of a data asset without the data (contracts/FINGERPRINT.md).

root = RFC 9162 Merkle tree hash over one leaf per regular file, the leaf data
being the file's 32-byte SHA-256 digest, leaves in ascending order of the
files' relative paths compared as UTF-8 bytes; plus total bytes and file count.

Paths order the leaves but are not hashed: the root commits to every byte of
every file and to their order, while file names (which can themselves be
confidential) stay out of it. Reading files is I/O and lives outside core
(dataex/client/fingerprint.py); this module is the rule, so a client in another
language, the CLI and the tests all agree on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dataex.core.log.merkle import CompactRange, leaf_hash

DIGEST_BYTES = 32


class FingerprintError(ValueError):
    """Input the rule cannot fingerprint: no files, a bad path, paths out of order."""


def relative_path(parts: Sequence[str]) -> str:
    """Join path components with '/', refusing what would make the order ambiguous."""
    if not parts:
        raise FingerprintError("a file needs a name")
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\x00" in part:
            raise FingerprintError(f"path component {part!r} is not a plain file name")
    path = "/".join(parts)
    order_key(path)
    return path


def order_key(path: str) -> bytes:
    """Leaves sort by the UTF-8 bytes of the path (like `LC_ALL=C sort`)."""
    try:
        return path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FingerprintError(f"file name {path!r} is not valid UTF-8") from exc


class FingerprintBuilder:
    """Add files in path order, one digest at a time; constant memory for any tree size."""

    def __init__(self) -> None:
        self._tree = CompactRange()
        self._last: bytes | None = None
        self.total_bytes = 0

    def add(self, path: str, sha256_digest: bytes, size: int) -> None:
        key = order_key(path)
        if self._last is not None and key <= self._last:
            raise FingerprintError(f"{path!r} comes after a path it does not sort after")
        if len(sha256_digest) != DIGEST_BYTES:
            raise FingerprintError(f"the digest of {path!r} is not {DIGEST_BYTES} bytes")
        if size < 0:
            raise FingerprintError(f"{path!r} has a negative size")
        self._tree.append(leaf_hash(sha256_digest))
        self._last = key
        self.total_bytes += size

    def result(self) -> dict[str, Any]:
        """{root, total_bytes, file_count}: the `fingerprint` of a registration's asset."""
        if self._tree.size == 0:
            raise FingerprintError("there are no files to fingerprint")
        return {
            "root": self._tree.root().hex(),
            "total_bytes": self.total_bytes,
            "file_count": self._tree.size,
        }


def fingerprint(files: Iterable[tuple[str, bytes, int]]) -> dict[str, Any]:
    """The fingerprint of (relative path, SHA-256 digest, size) triples, in any order."""
    builder = FingerprintBuilder()
    for path, digest, size in sorted(files, key=lambda f: order_key(f[0])):
        builder.add(path, digest, size)
    return builder.result()
