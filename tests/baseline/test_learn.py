"""Learning the sample plant's baseline, and baseline files: stable, atomic, refused with
a clear message when corrupt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otsec.baseline import store
from otsec.capture.pcapfile import open_capture
from otsec.config import ConduitSpec, Settings, ZoneSpec
from otsec.monitor import Monitor
from tests.conftest import REPO

BASELINE = str(REPO / "pcaps" / "plant_baseline.pcap")


def learn(*paths: str, settings: Settings | None = None) -> dict[str, Any]:
    monitor = Monitor(settings or Settings(), learn=True)
    for path in paths:
        with open_capture(path) as reader:
            monitor.run(reader)
    monitor.close()
    return monitor.baseline_doc()


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return learn(BASELINE)


def _edges(doc: dict[str, Any]) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    return {(e["client"], e["server"], e["transport"], e["port"]): e for e in doc["edges"]}


def test_edges_carry_operations_functions_ranges_and_interval(doc: dict[str, Any]) -> None:
    edges = _edges(doc)
    hmi = edges[("10.20.1.11", "10.20.1.101", "tcp", 502)]
    assert hmi["protocol"] == "modbus"
    assert set(hmi["functions"]) == {"1", "2", "3", "4", "5", "6"}
    assert hmi["functions"]["3"]["name"] == "read_holding_registers"
    assert set(hmi["operations"]) == {"read", "write"}
    assert hmi["writes"] == {"unit1/coil": [[4, 5]], "unit1/holding_register": [[12, 12]]}
    assert "unit1/holding_register" in hmi["reads"]
    assert hmi["interval"]["median"] == pytest.approx(1.0, abs=0.05)
    assert hmi["connections"] == 1 and hmi["transactions"] > 1000
    s7 = edges[("10.20.1.13", "10.20.1.111", "tcp", 102)]
    assert s7["writes"] == {"db2": [[4, 5]]}
    dnp3 = edges[("10.20.1.40", "10.20.1.123", "tcp", 20000)]
    assert dnp3["writes"] == {"g41": [[0, 2]]}
    ews = edges[("10.20.1.30", "10.20.1.111", "tcp", 102)]
    assert "identify" in ews["operations"] and ews["interval"] is None


def test_it_edges_of_ot_assets_are_kept(doc: dict[str, Any]) -> None:
    edges = _edges(doc)
    assert edges[("10.20.1.11", "10.1.0.53", "udp", 53)]["protocol"] == "dns"
    assert edges[("10.20.1.11", "10.1.0.80", "tcp", 80)]["protocol"] == "http"
    assert edges[("10.20.1.30", "10.20.1.20", "tcp", 80)]["protocol"] == "http"


def test_the_document_names_its_sources_and_window(doc: dict[str, Any]) -> None:
    assert doc["otsec_baseline"] == store.BASELINE_VERSION
    assert doc["learned"]["packets"] == 12300
    assert doc["learned"]["first_seen"].startswith("2026-01-05T08:00:00")
    assert doc["sources"][0]["path"].endswith("plant_baseline.pcap")
    assert doc["sources"][0]["packets"] == 12300
    assert len(doc["assets"]) == 18 and doc["violations"] == []
    assert store.check(doc) == []


def test_two_learnings_give_the_same_file_but_for_the_creation_time(tmp_path: Path) -> None:
    a, b = learn(BASELINE), learn(BASELINE)
    a["created"] = b["created"] = "x"
    assert store.dumps(a) == store.dumps(b)
    text = store.dumps(a)
    assert '"unit1/holding_register": [[12, 12]]' in text  # ranges stay on one line
    assert text.index('"assets"') < text.index('"edges"')  # keys sorted


def test_zone_violations_are_not_learned() -> None:
    settings = Settings(
        zones=(
            ZoneSpec("supervisory", ("10.20.1.0/24",)),
            ZoneSpec("enterprise", ("10.1.0.0/16",)),
        ),
        conduits=(ConduitSpec("supervisory", "enterprise", ("dns",)),),
    )
    doc = learn(BASELINE, settings=settings)
    edges = _edges(doc)
    assert ("10.20.1.11", "10.1.0.53", "udp", 53) in edges
    assert ("10.20.1.11", "10.1.0.80", "tcp", 80) not in edges
    violation = {(v["client"], v["server"], v["port"]) for v in doc["violations"]}
    assert ("10.20.1.11", "10.1.0.80", 80) in violation


def test_save_is_atomic_and_load_round_trips(tmp_path: Path, doc: dict[str, Any]) -> None:
    path = tmp_path / "sub" / "plant.json"
    store.save(doc, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["plant.json"]
    assert path.stat().st_mode & 0o644 == 0o644
    base = store.load(path)
    assert base.doc == json.loads(path.read_text())
    assert ("10.20.1.11", "10.20.1.101", "tcp", 502) in base.edges
    assert base.graph.number_of_nodes() == 18
    assert base.graph.has_edge("10.20.1.11", "10.20.1.101", key="tcp/502")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such baseline file"),
        ('{"otsec_baseline": 1, "assets": [', "corrupt JSON at line 1"),
        ('{"assets": []}', "not an otsec baseline file"),
        ("[1, 2]", "not an otsec baseline file"),
        ('{"otsec_baseline": 2, "assets": [], "edges": []}', "format version 2"),
        ('{"otsec_baseline": 1, "assets": "x", "edges": []}', "invalid baseline"),
        (b"\xff\xfe\x00", "cannot read"),
    ],
)
def test_bad_baseline_files_are_refused(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "b.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(store.BaselineError, match=message) as info:
        store.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_an_unwritable_target_is_a_clear_error(tmp_path: Path, doc: dict[str, Any]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(store.BaselineError, match="cannot write"):
        store.save(doc, blocker / "b.json")


def test_each_source_has_its_own_time_span() -> None:
    doc = learn(BASELINE, str(REPO / "pcaps" / "plant_normal.pcap"))
    first, second = doc["sources"]
    assert first["first"].startswith("2026-01-05T08:00:00")
    assert first["last"] == "2026-01-05T08:05:00.176599Z"
    assert second["first"].startswith("2026-01-05T20:00:00")
    assert second["last"] == "2026-01-05T20:04:00.159019Z"
    assert doc["learned"]["first_seen"] == first["first"]
    assert doc["learned"]["last_seen"] == second["last"]
