"""The Elasticsearch sink over real HTTP: real ECS documents from a capture are written and
read back exactly, and an asset upserted twice is one document with the newer content.

Runs against osmem-server (an in-memory server speaking the Elasticsearch/OpenSearch REST
API; plain indices, since it has no data streams) and, when ``OTSEC_TEST_ES_URL`` names a
real Elasticsearch, against it with data streams (credentials from
``OTSEC_TEST_ES_API_KEY`` or ``OTSEC_TEST_ES_USER``/``OTSEC_TEST_ES_PASSWORD``, CA from
``OTSEC_TEST_ES_CA``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otsec.cli import main
from otsec.sinks.elastic import ElasticSettings, ElasticSink
from tests.conftest import REPO

elasticsearch = pytest.importorskip("elasticsearch")
helpers = pytest.importorskip("elasticsearch.helpers")

PER_PROTOCOL = 150


@dataclass
class Backend:
    url: str
    server_mode: str
    data_streams: bool
    auth: dict[str, Any]

    def client(self) -> Any:
        return elasticsearch.Elasticsearch(
            self.url, server_mode=self.server_mode, request_timeout=60, **self.client_auth()
        )

    def client_auth(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.auth.get("api_key"):
            out["api_key"] = self.auth["api_key"]
        if self.auth.get("username"):
            out["basic_auth"] = (self.auth["username"], self.auth["password"])
        if self.auth.get("ca_file"):
            out["ca_certs"] = self.auth["ca_file"]
        return out


@pytest.fixture(scope="module", params=["osmem", "elasticsearch"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "elasticsearch":
        url = os.environ.get("OTSEC_TEST_ES_URL")
        if not url:
            pytest.skip("set OTSEC_TEST_ES_URL to run against a real Elasticsearch")
        auth = {
            "api_key": os.environ.get("OTSEC_TEST_ES_API_KEY"),
            "username": os.environ.get("OTSEC_TEST_ES_USER"),
            "password": os.environ.get("OTSEC_TEST_ES_PASSWORD"),
            "ca_file": os.environ.get("OTSEC_TEST_ES_CA"),
        }
        yield Backend(url, "stack", True, auth)
        return
    osmem_server = pytest.importorskip("osmem_server", reason="osmem-server is not installed")
    server = osmem_server.OsmemServer.start(japanese=False)
    try:
        yield Backend(server.url, "serverless", False, {})
    finally:
        server.close()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, Any]]]:
    """(dataset, ECS document) of every event and alert of the plant attack capture."""
    tmp = tmp_path_factory.mktemp("ecs")
    events, alerts = tmp / "events.jsonl", tmp / "alerts.jsonl"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["replay", "--no-progress", "--quiet", "--json", "--events", str(events),
                     "--alerts", str(alerts), "--baseline", str(REPO / "baselines" / "plant.json"),
                     str(REPO / "pcaps" / "plant_attack.pcap")]) == 0  # fmt: skip
    out: list[tuple[str, dict[str, Any]]] = []
    for path in (events, alerts):
        for line in path.read_text().splitlines():
            doc = json.loads(line)
            if doc["event"]["kind"] == "alert":
                dataset = "alert"
            else:
                dataset = doc["event"]["dataset"].removeprefix("otsec.")
            out.append((dataset, doc))
    return out


@pytest.fixture(scope="module")
def documents(replayed: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Every alert and the first transactions of each protocol."""
    out: list[tuple[str, dict[str, Any]]] = []
    taken: Counter[str] = Counter()
    for dataset, doc in replayed:
        taken[dataset] += 1
        if dataset == "alert" or taken[dataset] <= PER_PROTOCOL:
            out.append((dataset, doc))
    return out


def test_event_ids_are_unique(replayed: list[tuple[str, dict[str, Any]]]) -> None:
    """The sink stores by event.id: two events with one id would lose one (S7 PDUs
    sharing a packet once did, before the PDU reference joined the id)."""
    ids = Counter(doc["event"]["id"] for _, doc in replayed)
    assert [i for i, n in ids.items() if n > 1] == []


def _sink(backend: Backend, tmp_path: Path, namespace: str) -> ElasticSink:
    settings = ElasticSettings(
        url=backend.url,
        namespace=namespace,
        data_streams=backend.data_streams,
        spool_dir=str(tmp_path / "spool"),
        flush_seconds=0.1,
        api_key=backend.auth.get("api_key"),
        username=backend.auth.get("username"),
        password=backend.auth.get("password"),
        ca_file=backend.auth.get("ca_file"),
    )
    return ElasticSink(settings, sensor="it", _server_mode=backend.server_mode, _backoff=0.1)


@pytest.fixture
def namespace(backend: Backend) -> Iterator[str]:
    ns = "t" + uuid.uuid4().hex[:12]
    yield ns
    es = backend.client()
    with contextlib.suppress(elasticsearch.ApiError):
        if backend.data_streams:
            es.indices.delete_data_stream(name=f"logs-otsec.*-{ns}")
        else:
            es.indices.delete(index=f"otsec-*-{ns}", ignore_unavailable=True)
    with contextlib.suppress(elasticsearch.ApiError):
        es.indices.delete(index=f"otsec-assets-{ns}", ignore_unavailable=True)
    es.close()


def test_ecs_documents_are_stored_exactly(
    backend: Backend,
    documents: list[tuple[str, dict[str, Any]]],
    namespace: str,
    tmp_path: Path,
) -> None:
    assert 300 <= len(documents) <= 1000
    sink = _sink(backend, tmp_path, namespace)
    for dataset, doc in documents:
        sink.write(doc, dataset)
    end = time.monotonic() + 120
    while sink.stats()["delivered"] < len(documents) and time.monotonic() < end:
        time.sleep(0.05)
    sink.close()
    stats = sink.stats()
    assert stats["delivered"] == stats["produced"] == len(documents), sink.error
    assert stats["duplicates"] == stats["dead_lettered"] == stats["dropped"] == 0
    pattern = f"logs-otsec.*-{namespace}" if backend.data_streams else f"otsec-*-{namespace}"
    es = backend.client()
    try:
        es.indices.refresh(index=pattern)
        hits = list(helpers.scan(es, index=pattern, query={"query": {"match_all": {}}}))
    finally:
        es.close()
    stored = {h["_id"]: h["_source"] for h in hits}
    assert len(hits) == len(stored) == len(documents)  # nothing doubled
    assert stored == {d["event"]["id"]: d for _, d in documents}  # nothing lost or altered
    per_index = {h["_index"] for h in hits}
    if not backend.data_streams:
        assert per_index == {f"otsec-{d}-{namespace}" for d in ("alert", "modbus", "s7comm",
                                                               "dnp3")}  # fmt: skip


def test_an_asset_upserted_twice_is_one_document_with_the_newer_content(
    backend: Backend, namespace: str, tmp_path: Path
) -> None:
    sink = _sink(backend, tmp_path, namespace)
    older = {"asset": {"id": "10.0.0.5", "vendor": "Siemens"}, "observer": {"name": "it"}}
    newer = {"asset": {"id": "10.0.0.5", "vendor": "Siemens", "model": "S7-1500"},
             "observer": {"name": "it"}}  # fmt: skip
    sink.upsert_asset(older, "it:10.0.0.5")
    sink.upsert_asset(newer, "it:10.0.0.5")
    sink.close()
    assert sink.stats()["delivered"] == 2, sink.error
    es = backend.client()
    try:
        index = f"otsec-assets-{namespace}"
        es.indices.refresh(index=index)
        found = es.search(index=index, query={"match_all": {}})["hits"]["hits"]
    finally:
        es.close()
    assert [(h["_id"], h["_source"]) for h in found] == [("it:10.0.0.5", newer)]
