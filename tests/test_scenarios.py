"""The scenario captures end to end: learn the sample plant's baseline, replay a different
stretch of normal operation (no alert at all), replay each attack capture (exactly the
alerts its expectation file lists), and the committed baseline is what learning gives."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsec.baseline import store
from otsec.cli import main
from tests.conftest import REPO

PCAPS = REPO / "pcaps"
CONFIG = REPO / "baselines" / "plant.toml"
COMMITTED = REPO / "baselines" / "plant.json"
ATTACKS = [
    *sorted((PCAPS / "attacks").glob("*.expected.json")),
    PCAPS / "plant_attack.expected.json",
]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "plant.json"
    assert main(["baseline", "learn", "--no-progress", "--config", str(CONFIG), "-o", str(out),
                 str(PCAPS / "plant_baseline.pcap")]) == 0  # fmt: skip
    return out


def replay(
    baseline: Path, capture: Path, tmp: Path, *options: str, tag: str = "alerts"
) -> list[dict[str, Any]]:
    """The alert documents of one capture replayed against the baseline."""
    alerts = tmp / f"{capture.stem}.{tag}.jsonl"
    args = ["replay", "--no-progress", "--quiet", *options, "--baseline", str(baseline)]
    assert main([*args, "--alerts", str(alerts), str(capture)]) == 0
    return [json.loads(line) for line in alerts.read_text().splitlines()]


def first_alerts(docs: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    """(rule, source, destination) of every alert that is not an aggregate of repeats."""
    return Counter(
        (d["rule"]["id"], d["source"]["ip"], d.get("destination", {}).get("ip", ""))
        for d in docs
        if "repeat_of" not in d["ics"]["alert"]
    )


def test_normal_operation_raises_no_alert(baseline: Path, tmp_path: Path) -> None:
    docs = replay(baseline, PCAPS / "plant_normal.pcap", tmp_path)
    assert docs == [], [d["message"] for d in docs]


def test_the_baseline_capture_itself_raises_no_alert(baseline: Path, tmp_path: Path) -> None:
    docs = replay(baseline, PCAPS / "plant_baseline.pcap", tmp_path)
    assert docs == [], [d["message"] for d in docs]


@pytest.mark.parametrize("expected", ATTACKS, ids=lambda p: p.name.split(".")[0])
def test_attack_raises_exactly_its_expected_alerts(
    baseline: Path, tmp_path: Path, expected: Path
) -> None:
    spec = json.loads(expected.read_text())
    docs = replay(baseline, expected.parent / spec["capture"], tmp_path)
    want = Counter((a["rule"], a["source"], a["destination"]) for a in spec["alerts"])
    got = first_alerts(docs)
    assert got == want, [d["message"] for d in docs]
    for doc in docs:  # every alert names its rule, technique and assets
        assert doc["event"]["kind"] == "alert"
        assert doc["threat"]["technique"]["id"]
        assert doc["message"]


def test_s7_stop_evasion_does_not_work(baseline: Path, tmp_path: Path) -> None:
    """A PLC stop cut into TCP segments of a few bytes, and one spread over several COTP
    DT TPDUs, are both decoded and alerted."""
    docs = replay(baseline, PCAPS / "attacks" / "attack_s7_stop_evasion.pcap", tmp_path)
    stops = {d["destination"]["ip"] for d in docs if d["ics"]["alert"].get("subject") == "plc_stop"}
    assert stops == {"10.20.1.111", "10.20.1.112"}


def test_the_committed_baseline_is_what_learning_gives(baseline: Path) -> None:
    learned = json.loads(baseline.read_text())
    committed = json.loads(COMMITTED.read_text())
    for doc in (learned, committed):
        doc["created"] = ""
        doc["sources"] = [{**s, "path": Path(s["path"]).name} for s in doc["sources"]]
        for asset in doc["assets"]:
            for facts in asset["identity"].values():
                for fact in facts:
                    fact["source"] = Path(fact["source"]).name
    assert learned == committed, "run: make baselines (see baselines/README.md)"
    assert store.load(COMMITTED).edges


def test_one_run_over_every_attack_capture(baseline: Path, tmp_path: Path) -> None:
    """Several captures in one run: nothing is lost between files, and every command alert
    of the separate runs is raised (new assets and edges count once per run)."""
    captures = sorted((PCAPS / "attacks").glob("*.pcap"))
    alerts = tmp_path / "all.jsonl"
    args = ["replay", "--no-progress", "--quiet", "--json", "--baseline", str(baseline)]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*args, "--alerts", str(alerts), *map(str, captures)]) == 0
    summary = json.loads(buf.getvalue())
    assert summary["reassembly"]["retransmissions"] == 0 and summary["reassembly"]["gaps"] == 0
    docs = [json.loads(line) for line in alerts.read_text().splitlines()]

    def commands(ds: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
        return {
            (d["rule"]["id"], d["source"]["ip"], d["destination"]["ip"],
             d["ics"]["alert"]["subject"])
            for d in ds
            if d["rule"]["id"] in ("otsec.policy.dangerous_command",
                                   "otsec.policy.unauthorized_operation")
        }  # fmt: skip

    separate: set[tuple[str, str, str, str]] = set()
    for capture in captures:
        separate |= commands(replay(baseline, capture, tmp_path))
    assert commands(docs) == separate and len(separate) >= 8


def replay_sigma(baseline: Path, capture: Path, tmp: Path) -> list[dict[str, Any]]:
    """Alerts with the Sigma pack and the plant's allow-lists (baselines/plant.toml)."""
    return replay(baseline, capture, tmp, "--config", str(CONFIG), "--rules", "default",
                  tag="sigma")  # fmt: skip


def test_normal_operation_raises_no_sigma_alert(baseline: Path, tmp_path: Path) -> None:
    docs = replay_sigma(baseline, PCAPS / "plant_normal.pcap", tmp_path)
    assert docs == [], [d["message"] for d in docs]


@pytest.mark.parametrize("expected", ATTACKS, ids=lambda p: p.name.split(".")[0])
def test_attack_raises_its_expected_sigma_alerts(
    baseline: Path, tmp_path: Path, expected: Path
) -> None:
    spec = json.loads(expected.read_text())
    docs = replay_sigma(baseline, expected.parent / spec["capture"], tmp_path)
    want = Counter((a["rule"], a["source"], a["destination"]) for a in spec["sigma"])
    got = Counter(
        (d["rule"]["id"], d.get("source", {}).get("ip", ""), d.get("destination", {}).get("ip", ""))
        for d in docs
        if d["rule"]["ruleset"] == "otsec-sigma" and "repeat_of" not in d["ics"]["alert"]
    )
    assert got == want
    # the built-in alerts are the same with the Sigma pack on
    builtin = Counter(
        (d["rule"]["id"], d["source"]["ip"], d.get("destination", {}).get("ip", ""))
        for d in docs
        if d["rule"]["ruleset"] == "otsec-builtin" and "repeat_of" not in d["ics"]["alert"]
    )
    assert builtin == Counter((a["rule"], a["source"], a["destination"]) for a in spec["alerts"])
