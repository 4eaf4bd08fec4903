"""The pack means the same in the SIEM as in the sensor: the ECS documents of the scenario
captures are indexed into osmem-server (an in-memory server speaking the
Elasticsearch/OpenSearch REST API), every rule's exported Lucene query is run, and its hits
are exactly the documents the in-monitor evaluator matches, rule by rule."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sigma.collection import SigmaCollection

from otsec.cli import main
from otsec.detection.sigma import CompiledRule, load_pipeline, load_rules
from otsec.detection.sigma_export import _convert, export
from tests.conftest import REPO

osmem_server = pytest.importorskip("osmem_server", reason="osmem-server is not installed")
elasticsearch = pytest.importorskip("elasticsearch")
helpers = pytest.importorskip("elasticsearch.helpers")

RULES = REPO / "rules"
PIPELINE = RULES / "pipelines" / "otsec.yml"
ATTACK = RULES / "attack" / "ics-attack.json"
PCAPS = REPO / "pcaps"
CAPTURES = [
    *sorted((PCAPS / "attacks").glob("*.pcap")),
    *(PCAPS / f"{name}.pcap" for name in ("plant_attack", "plant_normal", "modbus_functions",
                                          "s7_functions", "dnp3_functions")),
]  # fmt: skip
INDEX = "otsec-sigma-test"
#: Keyword strings (compared exactly, as otsec's index template will), ip-typed addresses.
MAPPINGS = {
    "dynamic_templates": [
        {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}
    ],
    "properties": {
        "source": {"properties": {"ip": {"type": "ip"}}},
        "destination": {"properties": {"ip": {"type": "ip"}}},
        "related": {"properties": {"ip": {"type": "ip"}}},
    },
}


def _documents(tmp: Path) -> Iterator[dict[str, Any]]:
    """Transaction, anomaly and built-in alert documents of every capture."""
    for capture in CAPTURES:
        events, alerts = tmp / f"{capture.stem}.events", tmp / f"{capture.stem}.alerts"
        assert main(["replay", "--no-progress", "--quiet", "--json", "--events", str(events),
                     "--baseline", str(REPO / "baselines" / "plant.json"), "--alerts",
                     str(alerts), str(capture)]) == 0  # fmt: skip
        for path in (events, alerts):
            for line in path.read_text().splitlines():
                yield json.loads(line)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("lucene")
    with contextlib.redirect_stdout(io.StringIO()):
        docs = {d["event"]["id"]: d for d in _documents(tmp)}
    server = osmem_server.OsmemServer.start(japanese=False)
    es = elasticsearch.Elasticsearch(server.url, server_mode="serverless", request_timeout=300)
    es.indices.create(index=INDEX, mappings=MAPPINGS)
    actions = ({"_index": INDEX, "_id": i, "_source": d} for i, d in docs.items())
    ok, errors = helpers.bulk(es, actions, chunk_size=2000, raise_on_error=False)
    es.indices.refresh(index=INDEX)
    assert ok == len(docs) and not errors
    yield es, docs
    server.close()


def _pack() -> list[CompiledRule]:
    report = load_rules([RULES], load_pipeline(PIPELINE))
    assert not report.errors
    return report.rules


@pytest.mark.parametrize("rule", _pack(), ids=lambda r: Path(r.path).stem)
def test_lucene_hits_equal_local_matches(
    corpus: tuple[Any, dict[str, dict[str, Any]]], rule: CompiledRule
) -> None:
    es, docs = corpus
    if rule.alerts:
        (query,), problems, _ = export([rule.path], PIPELINE, ATTACK, "lucene")
        assert not problems
    else:  # a correlation's base rule is no SIEM rule of its own: convert it alone
        base = SigmaCollection.from_yaml(Path(rule.path).read_text(), resolve_references=False)
        only = next(r for r in base.rules if str(r.id) == rule.id)
        (query,) = _convert(only, load_pipeline(PIPELINE), "lucene", "default")
    found = helpers.scan(es, index=INDEX, query={"query": {"query_string": {"query": query}}},
                         size=5000, _source=False)  # fmt: skip
    hits = {h["_id"] for h in found}
    local = {i for i, d in docs.items() if rule.match(d)}
    assert hits == local, query


def test_the_corpus_exercises_the_pack(corpus: tuple[Any, dict[str, dict[str, Any]]]) -> None:
    _es, docs = corpus
    matched = [r for r in _pack() if any(r.match(d) for d in docs.values())]
    assert len(docs) > 10_000 and len(matched) >= 20
