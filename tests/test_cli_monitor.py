"""The monitoring commands: baseline learn/show/diff, inventory show, and replay with a
baseline, alerts and inventory files; bad files give one line and exit code 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from otsec.cli import main
from tests.conftest import REPO

PCAPS = REPO / "pcaps"
PLANT = REPO / "baselines" / "plant.json"
CONFIG = REPO / "baselines" / "plant.toml"
STOP = PCAPS / "attacks" / "attack_rogue_s7_stop.pcap"


def test_learn_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.json"
    assert main(["baseline", "learn", "--no-progress", "--json", "-o", str(out),
                 str(PCAPS / "plant_baseline.pcap")]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["edges"] == 23 and result["assets"] == 18 and result["packets"] == 12300
    assert main(["baseline", "show", str(out)]) == 0
    text = capsys.readouterr().out
    assert "10.20.1.11 -> 10.20.1.101" in text and "modbus tcp/502" in text
    assert main(["baseline", "show", "--json", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["otsec_baseline"] == 1


def test_diff_of_two_learnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "attack.json"
    assert main(["baseline", "learn", "--no-progress", "-o", str(other),
                 str(PCAPS / "plant_attack.pcap")]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["baseline", "diff", "--json", str(PLANT), str(other)]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert "10.20.1.66" in json.dumps(diff["assets"]["added"])
    assert not diff["empty"]
    assert main(["baseline", "diff", str(PLANT), str(PLANT)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_replay_with_a_baseline_writes_alerts_and_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the default alerts file lands in ./otsec-out/
    inventory = tmp_path / "inv.json"
    assert main(["replay", "--no-progress", "--baseline", str(PLANT), "--inventory",
                 str(inventory), str(STOP)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "CRITICAL" in out and "stops the PLC" in out
    alerts = (tmp_path / "otsec-out" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(a)["rule"]["id"] for a in alerts] == [
        "otsec.baseline.new_asset", "otsec.baseline.new_edge", "otsec.policy.dangerous_command",
    ]  # fmt: skip
    doc = json.loads(inventory.read_text())
    assert doc["otsec_inventory"] == 1 and any(a["ip"] == "10.20.1.66" for a in doc["assets"])
    assert main(["inventory", "show", str(inventory)]) == 0
    assert "10.20.1.66" in capsys.readouterr().out
    assert main(["inventory", "show", "--csv", str(inventory)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["ip"] for r in rows} >= {"10.20.1.66", "10.20.1.111"}
    assert main(["inventory", "show", "--json", str(PLANT)]) == 0  # a baseline's inventory
    assert len(json.loads(capsys.readouterr().out)["assets"]) == 18


def test_quiet_and_json_summaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alerts = tmp_path / "a.jsonl"
    assert main(["replay", "--no-progress", "--quiet", "--json", "--baseline", str(PLANT),
                 "--alerts", str(alerts), str(STOP)]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["alerts"]["total"] == 3 and summary["alerts"]["written"] == 3
    assert summary["alerts"]["by_rule"]["otsec.policy.dangerous_command"] == {"critical": 1}
    assert main(["replay", "--no-progress", "--baseline", str(PLANT), "--alerts", "-",
                 str(STOP)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3 and "packets" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "--baseline", "{tmp}/missing.json", str(STOP)], "no such baseline file"),
        (["replay", "--baseline", "{tmp}/corrupt.json", str(STOP)], "corrupt JSON"),
        (["baseline", "show", "{tmp}/corrupt.json"], "corrupt JSON"),
        (["baseline", "diff", str(PLANT), "{tmp}/corrupt.json"], "corrupt JSON"),
        (["inventory", "show", "{tmp}/corrupt.json"], "corrupt JSON"),
        (["inventory", "show", "{tmp}/list.json"], "not an otsec inventory"),
        (["replay", "--alerts", "-", "--json", str(STOP)], "pick one"),
        (["replay", "--alerts", "{tmp}/no/such/dir/a.jsonl", str(STOP)], "cannot write alerts"),
        (["baseline", "learn", "-o", "{tmp}/b.json", "{tmp}/missing.pcap"], "missing.pcap"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "corrupt.json").write_text('{"otsec_baseline": 1, "assets": [')
    (tmp_path / "list.json").write_text("[1, 2]")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_learning_an_unwritable_baseline_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["baseline", "learn", "--no-progress", "-o", str(blocker / "b.json"),
                 str(STOP)]) == 2  # fmt: skip
    assert "cannot write" in capsys.readouterr().err


def test_no_stage_fails_on_any_sample_capture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every stage after the dissectors (inventory, detection, Sigma, learner, document
    sinks) handles every record of every bundled capture: a stage that raises is counted
    as an ``otsec.sink_error`` anomaly, and there must be none (an S7comm-plus PDU once
    lacked the ``address`` the polling cadence reads)."""
    captures = [str(p) for p in (*sorted(PCAPS.glob("*.pcap")),
                                 *sorted((PCAPS / "attacks").glob("*.pcap")))]  # fmt: skip
    assert main(["baseline", "learn", "--no-progress", "--json", "-o",
                 str(tmp_path / "b.json"), *captures]) == 0  # fmt: skip
    learned = json.loads(capsys.readouterr().out)
    assert learned["packets"] > 0 and "otsec.sink_error" not in learned.get("anomalies", {})
    assert main(["replay", "--no-progress", "--json", "--quiet", "--baseline", str(PLANT),
                 "--rules", "default", "--events", str(tmp_path / "e.jsonl"), "--alerts",
                 str(tmp_path / "a.jsonl"), "--inventory", str(tmp_path / "i.json"),
                 *captures]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["protocols"] and "otsec.sink_error" not in result["anomalies"]
    events = (tmp_path / "e.jsonl").read_text().splitlines()
    anomalies = [e for e in map(json.loads, events) if e["event"]["dataset"] == "otsec.anomaly"]
    assert len(anomalies) == sum(result["anomalies"].values())
