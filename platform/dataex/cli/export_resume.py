"""Where to resume an export file: after its last complete entry line.

A line is complete when it ends in a newline; anything after the last newline
is a torn write (the previous export was cut off) and is cut from the file.
Only the tail is read, so resuming a multi-gigabyte export is instant.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

_BLOCK = 1 << 16


@dataclass(frozen=True)
class ResumePoint:
    next_seq: int  # the first seq the file lacks
    dropped: int  # bytes of a torn last line cut from the file


def resume_point(path: Path) -> ResumePoint:
    with path.open("r+b") as f:
        size = f.seek(0, os.SEEK_END)
        end = _last_newline_end(f, size)
        dropped = size - end
        if dropped:
            f.truncate(end)
        return ResumePoint(_last_seq(f, end) + 1, dropped)


def _last_newline_end(f: BinaryIO, size: int) -> int:
    """The offset just after the file's last newline (0 if it has none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - _BLOCK)
        f.seek(start)
        block = f.read(pos - start)
        index = block.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        pos = start
    return 0


def _last_seq(f: BinaryIO, end: int) -> int:
    """The seq of the last entry line before `end` (checkpoint lines have none); 0 if none."""
    read = _BLOCK
    while True:
        start = max(0, end - read)
        f.seek(start)
        lines = f.read(end - start).split(b"\n")
        if start > 0:
            lines = lines[1:]  # may begin mid-line
        for line in reversed(lines):
            if line.startswith(b'{"seq"'):
                return int(msgspec.json.decode(line)["seq"])
        if start == 0:
            return 0
        read *= 4
