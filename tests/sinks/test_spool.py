"""The on-disk spool: FIFO, acknowledgements survive a restart, a torn last line is cut
off, the size bound refuses appends, one process at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otsec.sinks.spool import Spool, SpoolError


def rec(i: int) -> dict[str, object]:
    return {"index": "logs-otsec.modbus-default", "op": "create", "id": f"e{i}", "doc": {"n": i}}


def ids(spool: Spool, limit: int = 1000) -> list[object]:
    return [e.record["id"] for e in spool.read(limit).entries]


def test_append_read_ack_and_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    assert not spool.pending()
    for i in range(10):
        assert spool.append(rec(i))
    assert spool.pending()
    batch = spool.read(4)
    assert [e.record for e in batch.entries] == [rec(i) for i in range(4)]
    assert ids(spool) == [f"e{i}" for i in range(10)]  # reading does not consume
    spool.ack(batch.end)
    assert ids(spool, 2) == ["e4", "e5"]
    spool.close()
    again = Spool(tmp_path, max_bytes=1 << 20)  # a restart resumes at the persisted cursor
    assert ids(again) == [f"e{i}" for i in range(4, 10)]
    again.ack(again.read(100).end)
    assert not again.pending() and again.size_bytes() == 0  # drained: the segment is gone
    again.append(rec(10))
    again.close()
    assert ids(Spool(tmp_path, max_bytes=1 << 20)) == ["e10"]


def test_the_cursor_is_replaced_atomically(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(3):
        spool.append(rec(i))
    first = spool.read(1).entries[0]
    spool.ack(first.end)
    cursor = json.loads((tmp_path / "cursor.json").read_text())
    assert (cursor["segment"], cursor["offset"]) == first.end == spool.cursor
    assert not (tmp_path / "cursor.json.tmp").exists()
    spool.close()
    (tmp_path / "cursor.json").write_text("{garbage")  # unreadable: everything is sent again
    assert ids(Spool(tmp_path, max_bytes=1 << 20)) == ["e0", "e1", "e2"]


def test_a_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(3):
        spool.append(rec(i))
    spool.close()
    (segment,) = tmp_path.glob("seg-*.jsonl")
    with open(segment, "ab") as f:
        f.write(b'{"index":"logs-otsec.modbus-default","op":"cre')  # the crash came here
    again = Spool(tmp_path, max_bytes=1 << 20)
    assert again.torn == 1
    assert ids(again) == ["e0", "e1", "e2"]
    again.append(rec(3))  # appends continue on a line boundary
    assert ids(again) == ["e0", "e1", "e2", "e3"]


def test_a_corrupt_line_is_skipped(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(rec(0))
    spool.close()
    (segment,) = tmp_path.glob("seg-*.jsonl")
    with open(segment, "ab") as f:
        f.write(b"\x00\x00not json\n")
    again = Spool(tmp_path, max_bytes=1 << 20)
    again.append(rec(1))
    batch = again.read(10)
    assert [e.record["id"] for e in batch.entries] == ["e0", "e1"] and again.corrupt == 1
    again.ack(batch.end)
    assert not again.pending()


def test_the_size_bound(tmp_path: Path) -> None:
    line = len(json.dumps(rec(0), separators=(",", ":"))) + 1
    spool = Spool(tmp_path, max_bytes=line * 5)
    accepted = [spool.append(rec(i)) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert spool.size_bytes() <= line * 5
    spool.ack(spool.read(5).end)  # consumed segments are deleted, making room
    assert spool.append(rec(8))
    assert ids(spool) == ["e8"]


def test_segments_roll_and_consumed_ones_are_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=200)
    for i in range(30):
        spool.append(rec(i))
    assert len(list(tmp_path.glob("seg-*.jsonl"))) > 5
    batch = spool.read(20)
    assert [e.record["id"] for e in batch.entries] == [f"e{i}" for i in range(20)]
    spool.ack(batch.end)
    left = len(list(tmp_path.glob("seg-*.jsonl")))
    spool.close()
    again = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=200)
    assert ids(again) == [f"e{i}" for i in range(20, 30)]
    assert left < 5


def test_one_process_at_a_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    with pytest.raises(SpoolError, match="in use"):
        Spool(tmp_path, max_bytes=1 << 20)
    spool.close()
    Spool(tmp_path, max_bytes=1 << 20).close()


def test_closed_spool_refuses_appends(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.close()
    spool.close()
    assert not spool.append(rec(0))
