"""format_utc spells every instant one way: the strftime pattern the log has always used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from dataex.core.documents.timefmt import format_utc, parse_utc

zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(minutes=-570))])


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones))
def test_format_utc_is_the_strftime_spelling(moment: datetime) -> None:
    assert format_utc(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.just(UTC)))
def test_format_utc_reads_back(moment: datetime) -> None:
    assert parse_utc(format_utc(moment)) == moment


def _parse_before(text: str) -> object:
    try:
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:
        return str(exc)


def _parse_now(text: str) -> object:
    try:
        return parse_utc(text)
    except ValueError as exc:
        return str(exc)


_digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@given(st.lists(_digits, min_size=21, max_size=21), st.integers(0, 7), st.booleans())
def test_parse_utc_reads_what_it_always_read(digits: list[str], fraction: int, z: bool) -> None:
    """Same instant (with tzinfo UTC) or the same error, for pattern-shaped text of any digits."""
    d = "".join(digits)
    text = f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:14]}"
    text += ("." + d[14:14 + fraction] if fraction else "") + ("Z" if z else "")
    now, before = _parse_now(text), _parse_before(text)
    assert now == before
    if isinstance(now, datetime):
        assert now.tzinfo is UTC
