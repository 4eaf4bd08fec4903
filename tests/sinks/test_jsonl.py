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
