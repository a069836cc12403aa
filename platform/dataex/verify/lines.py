"""Read an export: JSON Lines of entries {seq, entry_hash, entry} and checkpoint lines.

A bad line in the middle is a fault; a bad last line is a torn write (an
export cut off mid-line), reported as a truncated export.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import msgspec

from dataex.core.log.chain import ChainFault, LoggedEntry


class CheckpointLine(NamedTuple):
    size: int
    note: str


Item = LoggedEntry | CheckpointLine | ChainFault


def _decode(line: str | bytes) -> LoggedEntry | CheckpointLine:
    obj = msgspec.json.decode(line)
    if "checkpoint" in obj:
        size, note = obj["size"], obj["checkpoint"]
        if type(size) is not int or not isinstance(note, str):
            raise ValueError("checkpoint line")
        return CheckpointLine(size, note)
    seq, entry, digest = obj["seq"], obj["entry"], obj["entry_hash"]
    if type(seq) is not int or not isinstance(entry, dict) or not isinstance(digest, str):
        raise ValueError("entry line")
    return LoggedEntry(seq, entry, digest)


def read_lines(lines: Iterable[str | bytes]) -> Iterator[Item]:
    """Decode each line; stop at the first bad one with a fault naming the next seq."""
    last_seq = 0
    held: str | bytes | None = None
    for line in lines:
        if not line.strip():
            continue
        if held is not None:
            item = _item(held, last_seq, last=False)
            yield item
            if isinstance(item, ChainFault):
                return
            if isinstance(item, LoggedEntry):
                last_seq = item.seq
        held = line
    if held is not None:
        yield _item(held, last_seq, last=True)


def _item(line: str | bytes, last_seq: int, *, last: bool) -> Item:
    try:
        return _decode(line)
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        if last:
            return ChainFault(last_seq + 1, f"the export is truncated: its last line, after "
                              f"entry {last_seq}, is incomplete (a torn write)")
        return ChainFault(last_seq + 1, f"the line after entry {last_seq} is not an export "
                          "line ({seq, entry_hash, entry} or {checkpoint, size})")
