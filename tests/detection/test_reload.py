"""Swapping the baseline of a running monitor (otsec sniff's SIGHUP): the new file is
what detection judges against from then on, and what the run raised stays raised."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsec.baseline import store
from otsec.baseline.store import Baseline, BaselineError
from otsec.capture.pcapfile import open_capture
from otsec.config import Settings, load
from otsec.detection.alerts import Alert
from otsec.monitor import Monitor
from tests.conftest import REPO

PLANT = REPO / "baselines" / "plant.json"
NORMAL = REPO / "pcaps" / "plant_normal.pcap"
#: Normal operation captured before NORMAL: the first half of a run.
EARLIER = REPO / "pcaps" / "plant_baseline.pcap"
#: The RTU whose edges and asset entry the reduced baseline leaves out.
RTU = "10.20.1.122"


def without_doc(doc: dict[str, Any], ip: str) -> dict[str, Any]:
    """A baseline document without ``ip``: its asset entry and every edge to or from it."""
    out = copy.deepcopy(doc)
    out["assets"] = [a for a in out["assets"] if a["ip"] != ip]
    out["edges"] = [e for e in out["edges"] if ip not in (e["client"], e["server"])]
    return out


def without(doc: dict[str, Any], ip: str) -> Baseline:
    return Baseline(without_doc(doc, ip), f"without-{ip}")


def replay(monitor: Monitor, capture: Path) -> None:
    with open_capture(str(capture)) as reader:
        monitor.run(reader)


def watched(baseline: Baseline, settings: Settings | None = None) -> tuple[Monitor, list[Alert]]:
    alerts: list[Alert] = []
    return Monitor(settings, baseline=baseline, alert_sinks=[alerts.append]), alerts


def about(alerts: list[Alert], ip: str) -> Counter[str]:
    return Counter(a.rule.id for a in alerts if ip in (a.source_ip, a.destination_ip))


@pytest.fixture(scope="module")
def plant() -> Baseline:
    return store.load(PLANT)


def test_a_reloaded_baseline_that_knows_more_silences_what_it_knows(plant: Baseline) -> None:
    reduced = without(plant.doc, RTU)
    alone, alone_alerts = watched(reduced)
    replay(alone, NORMAL)
    alone.close()
    assert about(alone_alerts, RTU)["otsec.baseline.new_edge"] >= 1  # the reduced file flags it

    monitor, alerts = watched(reduced)
    monitor.reload_baseline(plant)  # before any traffic: the full file is in force
    replay(monitor, NORMAL)
    monitor.close()
    assert alerts == []
    assert monitor.baseline is plant


def test_what_the_new_baseline_drops_is_judged_again(plant: Baseline) -> None:
    monitor, alerts = watched(plant)
    replay(monitor, EARLIER)
    assert alerts == []
    monitor.reload_baseline(without(plant.doc, RTU))
    replay(monitor, NORMAL)
    monitor.close()
    reasons = about(alerts, RTU)
    assert reasons["otsec.baseline.new_asset"] == 1
    assert reasons["otsec.baseline.new_edge"] == 1
    # the rest of the plant is still known
    assert {ip for a in alerts for ip in (a.source_ip, a.destination_ip)} <= {RTU, "10.20.1.40", ""}


def test_what_the_run_raised_stays_raised(plant: Baseline) -> None:
    reduced = without(plant.doc, RTU)
    monitor, alerts = watched(reduced)
    replay(monitor, EARLIER)
    first = len(alerts)
    assert first > 0
    monitor.reload_baseline(without(plant.doc, RTU))  # same content, new file
    replay(monitor, NORMAL)
    monitor.close()
    assert len(alerts) == first


def test_the_new_baseline_brings_its_zone_policy(plant: Baseline) -> None:
    doc = copy.deepcopy(plant.doc)
    doc["policy"] = {"zones": [], "conduits": []}
    no_zones = Baseline(doc, "no-zones")
    monitor, _alerts = watched(no_zones)
    assert monitor.detector.zones is None
    monitor.reload_baseline(plant)
    assert monitor.detector.zones is not None
    assert {z.name for z in monitor.settings.zones} == {"enterprise", "supervisory", "control"}


def test_configured_zones_win_over_the_reloaded_baseline(plant: Baseline) -> None:
    settings = load(REPO / "baselines" / "plant.toml")
    doc = copy.deepcopy(plant.doc)
    doc["policy"] = {"zones": [{"name": "all", "networks": ["0.0.0.0/0"]}], "conduits": []}
    monitor, _alerts = watched(plant, settings)
    zones = monitor.detector.zones
    monitor.reload_baseline(Baseline(doc, "other-policy"))
    assert monitor.detector.zones is zones


def test_an_invalid_policy_changes_nothing(plant: Baseline) -> None:
    doc = copy.deepcopy(plant.doc)
    doc["policy"] = {"zones": [{"name": "bad", "networks": ["not-a-network"]}]}
    monitor, _alerts = watched(plant)
    with pytest.raises(BaselineError, match="zone policy"):
        monitor.reload_baseline(Baseline(doc, "bad-policy"))
    assert monitor.baseline is plant
    assert monitor.detector.baseline is plant
