"""The JSON-lines event file: deterministic lines, a full disk does not stop the run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from otsec.cli import main
from otsec.sinks.jsonl import JsonlSink, SinkError
from tests.conftest import REPO

CAPTURE = str(REPO / "pcaps" / "modbus_functions.pcap")


def test_lines_are_compact_utf8_json(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "e.jsonl")
    sink.write({"a": 1, "b": "é"})
    sink.write({"c": [1, 2]})
    sink.close()
    assert (tmp_path / "e.jsonl").read_text(encoding="utf-8") == '{"a":1,"b":"é"}\n{"c":[1,2]}\n'
    assert sink.written == 2 and sink.dropped == 0 and sink.error is None


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_a_warning_and_the_run_completes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--json", "--events", "/dev/full", CAPTURE]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["packets"] == 940  # every packet was still processed
    assert summary["events"]["dropped"] > 0
    # 349 transactions and 4 anomalies
    assert summary["events"]["written"] + summary["events"]["dropped"] == 353
    assert "warning: /dev/full: write failed" in captured.err


def test_unwritable_events_path_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "--events", str(tmp_path / "no" / "such" / "dir.jsonl"), CAPTURE]) == 2
    assert "cannot write events" in capsys.readouterr().err


def test_events_to_stdout_and_summary_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--no-progress", "--events", "-", CAPTURE]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 353 and all(json.loads(line)["ics"] for line in lines)
    assert "packets" in captured.err


def test_events_stdout_conflicts_with_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--json", "--events", "-", CAPTURE]) == 2


def test_sink_error_type() -> None:
    with pytest.raises(SinkError):
        JsonlSink("/proc/definitely/not/here.jsonl")


def test_rotation_by_size_keeps_whole_lines_and_backups(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    sink = JsonlSink(path, max_bytes=2000, backups=2)
    for i in range(300):
        sink.write({"n": i, "pad": "x" * 40})
        if i % 50 == 49:
            sink.flush()
    sink.close()
    files = [path, tmp_path / "a.jsonl.1", tmp_path / "a.jsonl.2"]
    assert all(f.exists() for f in files) and not (tmp_path / "a.jsonl.3").exists()
    assert sink.rotations >= 3 and sink.written == 300
    numbers = []
    for f in reversed(files):
        text = f.read_text()
        assert not text or text.endswith("\n")
        numbers += [json.loads(line)["n"] for line in text.splitlines()]
    assert numbers == list(range(300 - len(numbers), 300))  # the newest lines, in order


def test_append_mends_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":2}\n{"n":')  # what a crashed writer might leave
    sink = JsonlSink(path, append=True)
    sink.write({"n": 3})
    sink.close()
    assert path.read_text() == '{"n":1}\n{"n":2}\n{"n":3}\n'


def test_kill_9_leaves_at_most_a_torn_last_line_that_append_mends(tmp_path: Path) -> None:
    """A writer killed at a random moment leaves whole lines, but for the last one when
    the kill cut a write short; reopening in append mode cuts that one off."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "a.jsonl"
    code = (
        "import sys\nfrom otsec.sinks.jsonl import JsonlSink\n"
        f"s = JsonlSink({str(path)!r}, max_bytes=1 << 20, backups=3)\n"
        "i = 0\nwhile True:\n    s.write({'n': i, 'pad': 'y' * (i % 500)})\n    i += 1\n"
    )
    for delay in (0.3, 0.55, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for f in tmp_path.glob("a.jsonl*"):
            lines = f.read_bytes().split(b"\n")
            for line in lines[:-1]:  # every line but an unterminated last one is whole
                json.loads(line)
            JsonlSink(f, append=True).close()
            data = f.read_bytes()
            assert not data or data.endswith(b"\n"), f
            assert data.split(b"\n")[:-1] == lines[:-1]  # nothing whole was lost
