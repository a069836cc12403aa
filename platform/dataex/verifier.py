"""Offline verification of an exported log: no database, no trust in the server.

The implementation lives in dataex.verify; this keeps the old entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dataex.verify import Report, TrustedKeys, verify_stream

__all__ = ["Report", "TrustedKeys", "verify_export", "verify_stream"]


def verify_export(
    lines: Iterable[str | bytes],
    *,
    progress: Callable[[int], None] | None = None,
    expected_size: int | None = None,
    keys: TrustedKeys | None = None,
) -> Report:
    """Verify a whole export from seq 1, inline (no worker processes)."""
    return verify_stream(lines, keys=keys, expected_size=expected_size, progress=progress,
                         workers=0)
