"""Request/response pairing: matching, timeout, overflow, replacement, flow-end flush."""

from __future__ import annotations

from otsec.events.transactions import Pairing


def test_response_matches_its_request() -> None:
    p = Pairing(max_pending=8, timeout=10.0)
    assert p.request(("t", 1), "req1", 1.0, 10) == []
    assert p.request(("t", 2), "req2", 1.1, 11) == []
    assert p.response(("t", 2)) == ("req2", 1.1, 11)
    assert p.response(("t", 2)) is None  # answered once
    assert list(p.pending) == [("t", 1)]


def test_old_requests_time_out_when_new_ones_arrive() -> None:
    p = Pairing(max_pending=8, timeout=5.0)
    p.request(1, "a", 0.0, 1)
    p.request(2, "b", 3.0, 2)
    assert p.request(3, "c", 4.0, 3) == []  # nothing older than 5 s yet
    gone = p.request(4, "d", 8.5, 4)  # a (t=0) and b (t=3) are over 5 s old
    assert [(g.key, g.record, g.reason) for g in gone] == [(1, "a", "timeout"), (2, "b", "timeout")]
    assert list(p.pending) == [3, 4]


def test_expiry_check_is_skipped_until_due_but_not_missed() -> None:
    p = Pairing(max_pending=8, timeout=5.0)
    p.request(1, "a", 0.0, 1)
    assert p.response(1) == ("a", 0.0, 1)
    p.request(2, "b", 1.0, 2)
    # the check time set for "a" has passed; "b" is not old yet and must stay
    assert p.request(3, "c", 5.5, 3) == []
    gone = p.request(4, "d", 6.5, 4)
    assert [g.key for g in gone] == [2]


def test_too_many_outstanding_pushes_out_the_oldest() -> None:
    p = Pairing(max_pending=3, timeout=100.0)
    for i in range(3):
        assert p.request(i, f"r{i}", float(i), i) == []
    gone = p.request(9, "r9", 3.0, 9)
    assert [(g.key, g.reason) for g in gone] == [(0, "overflow")]
    assert len(p.pending) == 3


def test_reused_key_replaces_the_unanswered_request() -> None:
    p = Pairing(max_pending=8, timeout=100.0)
    p.request(7, "first", 0.0, 1)
    gone = p.request(7, "second", 1.0, 2)
    assert [(g.record, g.reason) for g in gone] == [("first", "replaced")]
    assert p.response(7) == ("second", 1.0, 2)


def test_flush_returns_everything_and_empties() -> None:
    p = Pairing(max_pending=8, timeout=100.0)
    p.request(1, "a", 0.0, 1)
    p.request(2, "b", 0.5, 2)
    gone = p.flush()
    assert [(g.key, g.reason, g.packet) for g in gone] == [(1, "flow_end", 1), (2, "flow_end", 2)]
    assert p.pending == {} and p.flush() == []
