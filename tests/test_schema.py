"""The output schema is documented: every field an emitted document carries is in
docs/schema.md with its type, and no documented field changes type.

``python -m tests.test_schema`` prints the fields the sample captures produce that the
document lacks (name, type, example), to help keep docs/schema.md complete.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "schema.md"
CAPTURES = sorted((REPO / "pcaps").glob("*.pcap"))

IP_FIELDS = {"source.ip", "destination.ip", "related.ip", "ics.alert.details.hosts",
             "ics.alert.details.devices", "host.ip"}  # fmt: skip
DATE_FIELDS = {"@timestamp", "event.start", "event.end", "ics.asset.first_seen",
               "ics.asset.last_seen"}  # fmt: skip
PLANT_CONFIG = REPO / "baselines" / "plant.toml"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([a-z_]+)\s*\|")


def documented() -> dict[str, str]:
    """field name -> type, from the tables of docs/schema.md."""
    fields: dict[str, str] = {}
    for line in DOC.read_text().splitlines():
        m = _ROW.match(line)
        if m:
            fields[m.group(1)] = m.group(2)
    return fields


def _type(path: str, value: Any) -> str:
    if path in DATE_FIELDS:
        return "date"
    if path in IP_FIELDS:
        return "ip"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "keyword"


def flatten(doc: Any, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """(dotted path, type, example value) for every leaf; arrays take their elements'
    type (as in Elasticsearch), arrays of objects are walked into."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(doc, list):
        for item in doc:
            yield from flatten(item, prefix)
    elif doc is not None:  # a null has no type (Elasticsearch indexes it as absent)
        yield prefix, _type(prefix, doc), doc


def alert_files(tmp: Path) -> list[Path]:
    """Alerts (built-in and Sigma) of the sample captures and the attack captures against
    the baseline learned from plant_baseline."""
    from otsec.cli import main

    base = tmp / "plant.json"
    assert main(["baseline", "learn", "--no-progress", "--config", str(PLANT_CONFIG), "-o",
                 str(base), str(REPO / "pcaps" / "plant_baseline.pcap")]) == 0  # fmt: skip
    out = tmp / "alerts.jsonl"
    args = [
        "replay",
        "--json",
        "--config",
        str(PLANT_CONFIG),
        "--baseline",
        str(base),
        "--alerts",
        str(out),
    ]  # fmt: skip  (the config turns the Sigma pack on)
    attacks = sorted((REPO / "pcaps" / "attacks").glob("*.pcap"))
    inventory = tmp / "inventory.json"
    assert main([*args, "--inventory", str(inventory), *map(str, CAPTURES),
                 *map(str, attacks)]) == 0  # fmt: skip
    return [out, asset_file(inventory, tmp)]


def asset_file(inventory: Path, tmp: Path) -> Path:
    """The fleet-inventory documents of an inventory, one per line."""
    from otsec.sinks.ecs import asset_doc, observer

    out = tmp / "assets.jsonl"
    doc = json.loads(inventory.read_text())
    with out.open("w") as f:
        for asset in doc["assets"]:
            f.write(json.dumps(asset_doc(asset, obs=observer("sensor-01", "eth1"))) + "\n")
    return out


def emitted(tmp: Path) -> dict[str, tuple[str, Any]]:
    """Every field of every document the sample captures produce (transactions and
    alerts): path -> (type, example)."""
    from otsec.cli import main

    out = tmp / "events.jsonl"
    assert main(["replay", "--json", "--events", str(out), *map(str, CAPTURES)]) == 0
    fields: dict[str, tuple[str, Any]] = {}
    for path in [out, *alert_files(tmp)]:
        _collect(path, fields)
    return fields


def _collect(out: Path, fields: dict[str, tuple[str, Any]]) -> None:
    with out.open() as f:
        for line in f:
            for path, typ, value in flatten(json.loads(line)):
                seen = fields.get(path)
                if seen is None:
                    fields[path] = (typ, value)
                elif typ not in seen[0].split("|"):
                    fields[path] = ("|".join(sorted({*seen[0].split("|"), typ})), value)


@pytest.fixture(scope="module")
def fields(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Any]]:
    return emitted(tmp_path_factory.mktemp("schema"))


def test_sample_captures_produce_documents(fields: dict[str, tuple[str, Any]]) -> None:
    assert "ics.modbus.transaction_id" in fields and "event.action" in fields
    assert "rule.id" in fields and "ics.alert.severity" in fields
    assert "ics.anomaly.name" in fields and "ics.asset.roles" in fields
    assert "observer.name" in fields and "observer.ingress.interface.name" in fields


def test_elasticsearch_mappings_follow_this_page() -> None:
    """otsec/sinks/es_mappings.json is generated from this page (python -m
    otsec.sinks.es_setup) and must be current: `otsec es setup` maps every field."""
    from otsec.sinks.es_setup import MAPPINGS_FILE, documented_fields, mappings_from

    want = mappings_from(documented_fields(DOC.read_text()))
    assert json.loads(MAPPINGS_FILE.read_text()) == want, "run python -m otsec.sinks.es_setup"


def test_every_emitted_field_is_documented(fields: dict[str, tuple[str, Any]]) -> None:
    docs = documented()
    missing = sorted(f for f in fields if f not in docs)
    assert not missing, f"document these in docs/schema.md: {missing}"


def _fits(documented_type: str, emitted_type: str) -> bool:
    """A double field takes JSON integers too (Elasticsearch maps them as the double they
    are): DNP3 analog values are floats where Modbus registers are integers."""
    if documented_type == "double":
        return set(emitted_type.split("|")) <= {"double", "long"}
    return documented_type == emitted_type


def test_documented_types_hold(fields: dict[str, tuple[str, Any]]) -> None:
    docs = documented()
    wrong = {f: (docs[f], t) for f, (t, _) in fields.items() if f in docs and not _fits(docs[f], t)}
    assert not wrong, f"field: (documented, emitted) = {wrong}"


def test_output_is_deterministic(tmp_path: Path) -> None:
    from otsec.cli import main

    outs = []
    for i in range(2):
        out = tmp_path / f"e{i}.jsonl"
        assert main(["replay", "--no-progress", "--events", str(out), *map(str, CAPTURES)]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0]


def test_alerts_are_deterministic(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        runs.append(alert_files(tmp_path / name)[0].read_bytes())
    assert runs[0] == runs[1] and runs[0].count(b"\n") > 10


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        found = emitted(Path(tmp))
    docs = documented()
    for name, (typ, example) in sorted(found.items()):
        if name not in docs or docs[name] != typ:
            print(f"| `{name}` | {typ} | | `{json.dumps(example)[:60]}` |")
    sys.exit(0)
