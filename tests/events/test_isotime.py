"""isotime formats the date once per second; its text must stay exactly what datetime
gives, rounding included."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from otsec.events.types import isotime


def reference(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.floats(min_value=-1e10, max_value=4e10, allow_nan=False))
def test_any_time_is_formatted_as_datetime_does(ts: float) -> None:
    assert isotime(ts) == reference(ts)


def test_rounding_at_the_edges() -> None:
    for ts in (1767600000.9999995, 1767600000.9999994, 1767600000.0000005, 0.0, -0.5,
               -1.0000005, 1767600000.25, 1767599999.9999999):  # fmt: skip
        assert isotime(ts) == reference(ts), ts


def test_consecutive_packets_in_one_second_and_the_next() -> None:
    base = 1767600000.0
    for i in range(3000):
        ts = base + i * 0.000997
        assert isotime(ts) == reference(ts)
