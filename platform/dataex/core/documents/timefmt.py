"""RFC 3339 UTC timestamps as used on documents and log entries.

Core never reads the clock; callers pass `now` in, so replay is deterministic.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# The schemas' timestamp pattern: fromisoformat reads the Z of exactly this form as UTC.
_DOCUMENTED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")


def parse_utc(text: str) -> datetime:
    """Parse 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' (already pattern-checked by the schema)."""
    if _DOCUMENTED.fullmatch(text):  # same instant, same errors; skips a slow .replace()
        return datetime.fromisoformat(text)
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


_last: tuple[datetime | None, str] = (None, "")  # a batch spells its one `now` many times


def format_utc(moment: datetime) -> str:
    """Microsecond precision, always with a Z: one spelling per instant."""
    global _last
    last = _last
    if last[0] is moment:  # the very same (immutable) datetime as last time
        return last[1]
    text = _format_utc(moment)
    _last = (moment, text)
    return text


def _format_utc(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    if utc.year < 1000:  # strftime does not pad the year to four digits; isoformat does
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # the same text as the strftime above, in half the time: "+00:00" becomes "Z"
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"
