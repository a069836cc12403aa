"""format_utc spells every instant one way: the strftime pattern the log has always used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from dataex.core.timefmt import format_utc, parse_utc

zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(minutes=-570))])


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones))
def test_format_utc_is_the_strftime_spelling(moment: datetime) -> None:
    assert format_utc(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.just(UTC)))
def test_format_utc_reads_back(moment: datetime) -> None:
    assert parse_utc(format_utc(moment)) == moment
