"""What a live capture does between packets (otsec.cli._Live), with a stand-in for the
capture socket: drop reports (at once, then at most once a minute), status documents
with the packet rate and the fleet inventory, SIGHUP reloads of the baseline and of the
Sigma rules, learning checkpoints, and a failure in that work never ending the capture."""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from otsec.baseline import store
from otsec.capture.live import CaptureStats
from otsec.capture.pcapfile import open_capture
from otsec.cli import DROP_REPORT_EVERY, _Live, _sigma_pack
from otsec.config import Settings
from otsec.detection.sigma import SigmaEngine
from otsec.monitor import Monitor
from otsec.sinks.ecs import observer
from tests.conftest import REPO

PLANT = REPO / "baselines" / "plant.json"


class FakeCapture:
    interface, backend, filter = "eth9", "pcap", "tcp port 502"

    def __init__(self) -> None:
        self.packets = 0
        self.dropped = 0
        self.stopped = False

    def stats(self) -> CaptureStats:
        return CaptureStats(self.packets + self.dropped, self.dropped, 0)

    def stop(self) -> None:
        self.stopped = True


class FakeRemote:
    def __init__(self) -> None:
        self.inventories: list[dict[str, Any]] = []

    def assets(self, inventory: dict[str, Any]) -> int:
        self.inventories.append(inventory)
        return len(inventory["assets"])


def _live(monitor: Monitor, docs: list[dict[str, Any]], **kw: Any) -> tuple[_Live, FakeCapture]:
    capture = FakeCapture()
    options: dict[str, Any] = {
        "learn_for": None, "stop_after": None, "checkpoint": None, "output": None,
        "status_every": 300.0, "dashboard": None,
    }  # fmt: skip
    options.update(kw)
    live = _Live(capture, monitor, sensor_out=docs.append,  # type: ignore[arg-type]
                 obs=observer("s1", "eth9"), **options)  # fmt: skip
    return live, capture


def test_drops_are_reported_at_once_then_once_a_minute(capsys: pytest.CaptureFixture[str]) -> None:
    docs: list[dict[str, Any]] = []
    live, capture = _live(Monitor(), docs)
    t0 = live.started
    live._tick(t0 + 1)
    assert docs == []
    capture.dropped = 100
    live._tick(t0 + 2)
    capture.dropped = 150
    live._tick(t0 + 3)  # within the minute: kept for the next report
    live._tick(t0 + 2 + DROP_REPORT_EVERY)
    drops = [d for d in docs if d["event"]["action"] == "capture-drops"]
    assert [d["ics"]["sensor"]["capture"]["dropped_new"] for d in drops] == [100, 50]
    assert [d["ics"]["sensor"]["capture"]["dropped_kernel"] for d in drops] == [100, 150]
    assert drops[0]["event"]["severity"] == 47 and drops[0]["observer"]["name"] == "s1"
    err = capsys.readouterr().err
    assert err.count("warning: the kernel dropped") == 2


def test_status_carries_the_rate_and_refreshes_the_fleet_inventory() -> None:
    docs: list[dict[str, Any]] = []
    remote = FakeRemote()
    live, capture = _live(Monitor(), docs, status_every=10.0, remote=remote)
    capture.packets = 5000
    live._tick(live.started + 10)
    capture.packets = 8000
    live._tick(live.started + 15)  # not yet
    live._tick(live.started + 20)
    status = [d for d in docs if d["event"]["action"] == "status"]
    rates = [d["ics"]["sensor"]["capture"]["packets_per_second"] for d in status]
    assert rates == pytest.approx([500.0, 300.0])
    assert status[0]["event"]["kind"] == "metric" and status[0]["ics"]["sensor"]["packets"] == 5000
    assert len(remote.inventories) == 2


def test_sighup_reloads_or_keeps_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.json"
    shutil.copy(PLANT, path)
    monitor = Monitor(baseline=store.load(path))
    first = monitor.baseline
    docs: list[dict[str, Any]] = []
    live, _ = _live(monitor, docs)
    path.write_text("[]")
    live.on_hangup(1, None)
    live._tick(live.started + 1)
    assert monitor.baseline is first
    assert "baseline not reloaded" in capsys.readouterr().err
    shutil.copy(PLANT, path)
    live.on_hangup(1, None)
    live._tick(live.started + 2)
    assert monitor.baseline is not first and monitor.baseline is not None
    assert [d["event"]["action"] for d in docs] == ["baseline-reload-failed", "baseline-reloaded"]


def test_sighup_while_learning_writes_a_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "learned.json"
    live, _ = _live(Monitor(learn=True), [], output=str(out), checkpoint=3600.0)
    live.on_hangup(1, None)
    live._tick(live.started + 1)
    assert store.load(out).doc["otsec_baseline"]


def test_a_failing_tick_warns_once_and_the_capture_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(_doc: dict[str, Any]) -> None:
        raise OSError("sink gone")

    live, capture = _live(Monitor(), [], status_every=1e-9, stop_after=3600.0)
    live.sensor_out = broken
    live.tick()
    live.tick()
    assert capsys.readouterr().err.count("periodic work failed") == 1
    assert not capture.stopped


def test_duration_stops_the_capture() -> None:
    live, capture = _live(Monitor(), [], stop_after=1e-9)
    live.tick()
    assert capture.stopped


STOP = REPO / "pcaps" / "attacks" / "attack_rogue_s7_stop.pcap"
PLC_STOP = "4d1d54de-0c4a-451e-99dc-5ea5850e0755"  # rules/s7comm/plc_stop.yml


def _sigma_alerts(monitor: Monitor) -> set[str]:
    before = set(monitor.alert_counts)
    with open_capture(str(STOP)) as reader:
        monitor.run(reader)
    return {rule for rule, _ in set(monitor.alert_counts) - before}


def _hangup(live: _Live) -> None:
    """SIGHUP, the tick that starts the rules loader, and the tick that applies its work
    (the same tick, when the loader is already done by then)."""
    live.on_hangup(1, None)
    live._tick(time.monotonic())
    if live.rules_loader is not None:
        live.rules_loader.join(60)
        live._tick(time.monotonic())
    assert live.rules_loader is None


def test_sighup_reloads_the_sigma_rules_or_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(REPO / "rules" / "dnp3" / "restart.yml", rules)
    args = argparse.Namespace(rules=[str(rules)])
    monitor = Monitor(sigma=_sigma_pack(args, Settings()))
    docs: list[dict[str, Any]] = []
    live, _ = _live(monitor, docs, rules=lambda: _sigma_pack(args, Settings(), strict=True))
    assert PLC_STOP not in _sigma_alerts(monitor)

    shutil.copy(REPO / "rules" / "s7comm" / "plc_stop.yml", rules)
    _hangup(live)
    assert "Sigma rules reloaded: 2 rules, 0 correlations" in capsys.readouterr().err
    assert docs[-1]["event"]["action"] == "rules-reloaded"
    assert docs[-1]["ics"]["sensor"]["rules"] == 2
    assert PLC_STOP in _sigma_alerts(monitor)  # the new rule runs

    in_force = monitor.sigma.engine if monitor.sigma is not None else None
    (rules / "broken.yml").write_text("title: half a rule\ndetection: [\n")
    _hangup(live)
    assert "the previous ones stay in force: " in capsys.readouterr().err
    assert docs[-1]["event"]["action"] == "rules-reload-failed"
    assert docs[-1]["event"]["severity"] == 47 and "broken.yml" in docs[-1]["message"]
    assert monitor.sigma is not None and monitor.sigma.engine is in_force


def test_a_sighup_during_a_rules_load_loads_them_once_more() -> None:
    gate, loads = threading.Event(), []
    engine = _sigma_pack(argparse.Namespace(rules=["default"]), Settings())
    assert engine is not None

    def slow() -> SigmaEngine:
        loads.append(1)
        gate.wait(30)
        return engine

    monitor = Monitor(sigma=engine)
    live, _ = _live(monitor, [], rules=slow)
    live.on_hangup(1, None)
    live._tick(time.monotonic())
    first = live.rules_loader
    live.on_hangup(1, None)  # the files changed again while loading
    live._tick(time.monotonic())
    assert live.rules_loader is first and live.rules_again
    gate.set()
    assert first is not None
    first.join(30)
    live._tick(time.monotonic())  # applies the first load, starts the second
    assert live.rules_loader is not None and live.rules_loader is not first
    live.rules_loader.join(30)
    live._tick(time.monotonic())
    assert len(loads) == 2 and live.rules_loader is None and not live.rules_again


def test_sighup_without_baseline_or_rules_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    live, _ = _live(Monitor(), [])
    live.on_hangup(1, None)
    live._tick(live.started + 1)
    assert "SIGHUP ignored: nothing to reload" in capsys.readouterr().err


def test_a_learning_sensor_reports_its_progress() -> None:
    monitor = Monitor(learn=True)
    with open_capture(str(REPO / "pcaps" / "plant_normal.pcap")) as reader:
        monitor.run(reader)
    monitor.close()
    docs: list[dict[str, Any]] = []
    live, capture = _live(monitor, docs, learn_for=14 * 86400.0, status_every=10.0)
    capture.packets = 12300
    live._tick(live.started + 10)
    (status,) = docs
    learning = status["ics"]["sensor"]["learning"]
    edges = monitor.baseline_doc()["edges"]  # what the baseline file will hold
    assert learning["edges"] == len(edges) == 23
    assert learning["newest_edge"] == max(e["first_seen"] for e in edges)
    ends = datetime.fromisoformat(learning["ends"]).timestamp()
    assert abs(ends - (time.time() + 14 * 86400)) < 60
    newest = learning["newest_edge"]
    assert f"learning: 23 edges, the newest first seen {newest}" in status["message"]
    assert status["ics"]["sensor"]["mode"] == "learn"


def test_a_monitoring_sensor_has_no_learning_progress() -> None:
    docs: list[dict[str, Any]] = []
    live, _ = _live(Monitor(), docs, status_every=10.0)
    live._tick(live.started + 10)
    assert "learning" not in docs[0]["ics"]["sensor"] and "learning" not in docs[0]["message"]
