"""Aggregation of repeated alerts, and the sliding windows of the reconnaissance rules."""

from __future__ import annotations

from otsec.config import AllowRule
from otsec.detection import rules as R
from otsec.detection.alerts import Aggregator, Alert
from otsec.detection.engine import AllowList, DistinctWindow


def _alert(ts: float, subject: str = "write", dst: str = "10.0.0.2") -> Alert:
    return Alert(
        rule=R.UNAUTHORIZED, severity="high", techniques=R.UNAUTHORIZED.techniques, ts=ts,
        message="m", source_ip="10.0.0.1", destination_ip=dst, destination_port=502,
        subject=subject,
    )  # fmt: skip


def test_first_alert_at_once_repeats_folded_into_one_aggregate() -> None:
    out: list[Alert] = []
    agg = Aggregator(60.0, out.append)
    agg.add(_alert(0.0))
    assert len(out) == 1 and out[0].count == 1 and out[0].repeat_of is None
    for ts in (1.0, 2.0, 30.0):
        agg.add(_alert(ts))
    assert len(out) == 1
    agg.tick(59.0)
    assert len(out) == 1  # the window is still open
    agg.tick(60.0)
    assert len(out) == 2
    summary = out[1]
    assert summary.count == 3 and summary.repeat_of == out[0].id
    assert summary.first_ts == 0.0 and summary.last_ts == 30.0 and summary.ts == 30.0
    assert "repeated 3 more times" in summary.message
    assert agg.raised == 2 and agg.folded == 3


def test_other_subjects_and_edges_are_separate_alerts() -> None:
    out: list[Alert] = []
    agg = Aggregator(60.0, out.append)
    agg.add(_alert(0.0))
    agg.add(_alert(1.0, subject="control"))
    agg.add(_alert(2.0, dst="10.0.0.3"))
    assert len(out) == 3


def test_a_repeat_after_the_window_opens_a_new_one() -> None:
    out: list[Alert] = []
    agg = Aggregator(10.0, out.append)
    agg.add(_alert(0.0))
    agg.add(_alert(5.0))
    agg.add(_alert(11.0))  # closes the first window (summary), raises anew
    assert [a.count for a in out] == [1, 1, 1]
    assert out[1].repeat_of == out[0].id and out[2].repeat_of is None
    agg.flush()
    assert len(out) == 3  # nothing folded in the second window


def test_alert_ids_are_deterministic_and_distinct() -> None:
    assert _alert(1.0).id == _alert(1.0).id
    assert _alert(1.0).id != _alert(2.0).id


def test_distinct_window_slides() -> None:
    w = DistinctWindow(10.0)
    assert w.add(0.0, "a") == 1
    assert w.add(1.0, "b") == 2
    assert w.add(2.0, "a") == 2
    assert w.add(10.5, "c") == 3  # "a"@0 left, "b"@1 and "a"@2 stay
    assert w.add(12.5, "d") == 2  # only c, d remain
    assert w.distinct() == ["c", "d"]


def test_allow_list_matches_networks_and_operations() -> None:
    allow = AllowList((AllowRule(("10.20.1.30/32",), ("10.20.1.96/27",), ("program_download",)),))
    assert allow.allows("10.20.1.30", "10.20.1.111", "program_download")
    assert not allow.allows("10.20.1.30", "10.20.1.111", "mode_change")
    assert not allow.allows("10.20.1.31", "10.20.1.111", "program_download")
    assert not allow.allows("10.20.1.30", "10.20.1.12", "program_download")
    assert not allow.allows("not-an-ip", "10.20.1.111", "program_download")
    assert not AllowList(()).allows("10.20.1.30", "10.20.1.111", "write")
