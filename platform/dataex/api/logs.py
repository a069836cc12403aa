"""Log lines for machines (one JSON object per line, the default) or for people (text).

`DATAEX_LOG_FORMAT=json|text`. Records may carry `extra={"fields": {...}}`:
the access log (`dataex.access`, one line per request) and the batch log
(`dataex.batches`, one per committed batch) put their figures there, and both
formats print them as fields rather than inside the message.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, BinaryIO

import msgspec

FORMATS = ("json", "text", "none")  # none: warnings only, as text (benchmarks)
_encoder = msgspec.json.Encoder()


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _time(record), "level": record.levelname.lower(),
                                "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


class Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        extra = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        line = f"{_time(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line} {extra}" if extra else line
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RequestLog:
    """The access log: one line per request, written without the logging module.

    A LogRecord, a formatter and a flushed write per request cost about 70 us of
    CPU each under load (docs/benchmarks.md); here a line is encoded and
    buffered, and the buffer is written at most FLUSH_SECONDS later (or once
    64 KiB wait), so a crash loses at most that much of the access log.
    """

    FLUSH_SECONDS = 0.2
    FLUSH_BYTES = 64 * 1024

    def __init__(self, log_format: str, out: BinaryIO | None = None) -> None:
        self.enabled = log_format in ("json", "text")
        self.json = log_format == "json"
        self.out = out
        self._buffer = bytearray()
        self._scheduled = False
        if self.enabled:
            atexit.register(self.flush)  # what waits in the buffer is written at a clean exit

    def write(self, fields: dict[str, Any]) -> None:
        stamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
        if self.json:
            line = _encoder.encode({"time": stamp[:-6] + "Z", "level": "info",
                                    "logger": "dataex.access", "message": "request", **fields})
        else:
            extra = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
            line = f"{stamp[:-6]}Z INFO    dataex.access: request {extra}".encode()
        self._buffer += line + b"\n"
        if len(self._buffer) >= self.FLUSH_BYTES:
            self.flush()
        elif not self._scheduled:
            try:
                asyncio.get_running_loop().call_later(self.FLUSH_SECONDS, self.flush)
                self._scheduled = True
            except RuntimeError:  # no loop: write at once
                self.flush()

    def flush(self) -> None:
        self._scheduled = False
        if self._buffer:
            out = self.out or sys.stdout.buffer
            out.write(bytes(self._buffer))
            out.flush()
            self._buffer.clear()


def configure_logging(log_format: str) -> None:
    """One handler on stdout for the process; dataex's own loggers at INFO, others at WARNING."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines() if log_format == "json" else Text())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("dataex").setLevel(logging.WARNING if log_format == "none" else logging.INFO)
