"""The Elasticsearch sink against a scripted fake: for every failure mode, what is finally
stored equals what was produced (dead letters aside), and nothing is stored twice."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from otsec.sinks.elastic import DEAD_LETTER, ElasticSettings, ElasticSink, document_id
from tests.conftest import REPO
from tests.sinks.es_fake import FakeES
from tests.sinks.spool_writer import doc

FAST = {"_backoff": 0.05, "_max_backoff": 0.2}


@pytest.fixture
def fake() -> Iterator[FakeES]:
    server = FakeES()
    yield server
    server.close()


@pytest.fixture
def make_sink(tmp_path: Path) -> Iterator[Callable[..., ElasticSink]]:
    """Build sinks on ``tmp_path/spool``; every one is closed at the end of the test."""
    sinks: list[ElasticSink] = []

    def make(url: str, *, tuning: dict[str, Any] | None = None, **settings: Any) -> ElasticSink:
        settings.setdefault("spool_dir", str(tmp_path / "spool"))
        settings.setdefault("flush_seconds", 0.05)
        settings.setdefault("request_timeout", 5.0)
        sink = ElasticSink(ElasticSettings(url=url, **settings), sensor="t", **(tuning or FAST))
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close(timeout=1)
        assert not sink._thread.is_alive()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def assert_exactly_once(fake: FakeES, ids: set[str], prefix: str = "logs-otsec.") -> None:
    """Every id is stored once: the index holds exactly these ids and each was created once."""
    stored = [doc_id for _, doc_id in fake.stored(prefix)]
    assert sorted(stored) == sorted(ids)
    assert fake.created == len(ids)


def produce(sink: ElasticSink, start: int, count: int, dataset: str = "modbus") -> set[str]:
    for i in range(start, start + count):
        sink.write(doc(i), dataset)
    return {f"kill9-{i:06d}" for i in range(start, start + count)}


def test_documents_go_as_create_with_deterministic_ids(
    fake: FakeES, make_sink: Callable[..., ElasticSink]
) -> None:
    sink = make_sink(fake.url)
    ids = produce(sink, 0, 50) | produce(sink, 50, 10, "alert")
    without_id = {"@timestamp": "2026-11-21T10:00:00.000Z", "message": "no event.id"}
    sink.write(without_id, "anomaly")
    sink.close()
    assert sink.stats()["produced"] == sink.stats()["delivered"] == 61
    assert_exactly_once(fake, ids | {document_id(without_id)})
    assert {i for i, _ in fake.stored()} == {
        "logs-otsec.modbus-default",
        "logs-otsec.alert-default",
        "logs-otsec.anomaly-default",
    }
    ops = [op for r in fake.bulk_requests() for op in r["ops"]]
    assert {op for op, _, _ in ops} == {"create"} and len(ops) == 61
    assert all(r["method"] == "PUT" and r["path"] == "/_bulk" for r in fake.bulk_requests())
    assert len(document_id(without_id)) == 40  # a SHA-1 of the canonical JSON
    assert sink.error is None


def test_plain_index_names(fake: FakeES, make_sink: Callable[..., ElasticSink]) -> None:
    sink = make_sink(fake.url, data_streams=False, namespace="site_a")
    ids = produce(sink, 0, 5)
    sink.upsert_asset({"asset": {"id": "a1"}, "observer": {"name": "t"}}, "a1")
    sink.close()
    assert_exactly_once(fake, ids | {"a1"}, prefix="otsec-")
    assert {i for i, _ in fake.stored()} == {"otsec-modbus-site_a", "otsec-assets-site_a"}


@pytest.mark.parametrize(
    ("script", "why"),
    [
        (["item429", "item429", "item429"], "item-level 429 (write thread pool full)"),
        (["req429"] * 4, "whole-request 429 (indexing pressure)"),
        (["req503"] * 4, "whole-request 503"),
        (["req503"] * 14, "503 beyond the helper's retries: spooled, then resent"),
        (["drop", "drop"], "stored, but the answer was lost: resent, 409 = delivered"),
    ],
)
def test_transient_failures_lose_and_double_nothing(
    fake: FakeES, make_sink: Callable[..., ElasticSink], script: list[str], why: str
) -> None:
    fake.script.extend(script)
    sink = make_sink(fake.url)
    ids = produce(sink, 0, 120)
    wait_for(lambda: sink.stats()["delivered"] == 120)
    sink.close()
    stats = sink.stats()
    assert_exactly_once(fake, ids)
    assert stats["produced"] == stats["delivered"] == 120, why
    assert stats["dead_lettered"] == stats["dropped"] == 0
    if script[0] == "drop":
        assert stats["duplicates"] > 0  # the resent copies were answered 409
        assert "Unreachable" in (sink.error or "") or "unreachable" in (sink.error or "")
    else:
        assert stats["duplicates"] == 0
    if len(script) > 10:
        assert stats["spooled"] > 0 and stats["retries"] > 0
        assert "HTTP 503" in (sink.error or "")


def test_connection_refused_mid_run_then_back(
    fake: FakeES, make_sink: Callable[..., ElasticSink]
) -> None:
    sink = make_sink(fake.url)
    ids = produce(sink, 0, 100)
    wait_for(lambda: sink.stats()["delivered"] == 100)
    fake.stop()
    ids |= produce(sink, 100, 300)
    wait_for(lambda: sink.stats()["spooled"] == 300 and sink.stats()["retries"] >= 2)
    assert "unreachable" in (sink.error or "")
    fake.start()
    ids |= produce(sink, 400, 50)
    wait_for(lambda: sink.stats()["delivered"] == 450)
    sink.close()
    assert_exactly_once(fake, ids)
    assert sink.stats()["duplicates"] == 0
    # FIFO: the spooled documents were sent before the ones written after the outage
    order = [doc_id for r in fake.bulk_requests() for _, _, doc_id in r["ops"]]
    assert order.index("kill9-000399") < order.index("kill9-000400")


def test_missing_product_header_is_a_configuration_error(
    fake: FakeES, make_sink: Callable[..., ElasticSink], tmp_path: Path
) -> None:
    fake.product_header = False
    sink = make_sink(fake.url, tuning={**FAST, "_config_retry": 300})
    ids = produce(sink, 0, 20)
    wait_for(lambda: sink.error is not None)
    assert "configuration error" in sink.error and "not Elasticsearch" in sink.error  # type: ignore[operator]
    time.sleep(0.5)
    assert len(fake.bulk_requests()) == 1  # not retried in a loop
    ids |= produce(sink, 20, 5)  # documents written during the pause are kept too
    started = time.monotonic()
    sink.close(timeout=10)
    assert time.monotonic() - started < 2  # closing does not wait for a misconfigured server
    stats = sink.stats()
    assert stats["delivered"] == 0 and stats["spooled"] == 25
    # the fake stored the first request although the client refused its answer (as ES would);
    # once the server is right, the spooled copies are sent again and answered 409
    fake.product_header = True
    again = make_sink(fake.url)
    wait_for(lambda: again.stats()["delivered"] == 25)
    again.close()
    assert_exactly_once(fake, ids)
    assert again.stats()["duplicates"] == 20
    assert not (tmp_path / "spool" / DEAD_LETTER).exists()


def test_index_op_on_a_data_stream_is_dead_lettered(
    fake: FakeES, make_sink: Callable[..., ElasticSink], tmp_path: Path
) -> None:
    # a cluster where a template turned otsec-assets-* into data streams
    fake.data_stream_prefixes = ("logs-", "otsec-assets-")
    sink = make_sink(fake.url)
    ids = produce(sink, 0, 30)
    for n in range(3):
        sink.upsert_asset({"asset": {"id": f"a{n}"}}, f"a{n}")
    sink.close()
    stats = sink.stats()
    assert stats["produced"] == 33 and stats["delivered"] == 30 and stats["dead_lettered"] == 3
    assert_exactly_once(fake, ids)
    lines = [json.loads(x) for x in (tmp_path / "spool" / DEAD_LETTER).read_text().splitlines()]
    assert [x["_id"] for x in lines] == ["a0", "a1", "a2"]
    assert all(x["status"] == 400 and "op_type of create" in x["reason"] for x in lines)
    assert lines[0]["doc"] == {"asset": {"id": "a0"}} and lines[0]["op"] == "index"
    assert "dead-letter.jsonl" in (sink.error or "")


def test_mapping_error_is_dead_lettered_once(
    fake: FakeES, make_sink: Callable[..., ElasticSink], tmp_path: Path
) -> None:
    sink = make_sink(fake.url)
    ids = produce(sink, 0, 40)
    bad = {**doc(999), "otsec_bad": "x"}
    sink.write(bad, "modbus")
    sink.close()
    assert_exactly_once(fake, ids)
    (line,) = (tmp_path / "spool" / DEAD_LETTER).read_text().splitlines()
    dead = json.loads(line)
    assert dead["doc"] == bad and "document_parsing_exception" in dead["reason"]
    ops = [doc_id for r in fake.bulk_requests() for _, _, doc_id in r["ops"]]
    assert ops.count("kill9-000999") == 1  # never retried


def test_asset_upserts_replace_and_a_stale_view_never_wins(
    fake: FakeES, make_sink: Callable[..., ElasticSink]
) -> None:
    sink = make_sink(fake.url)
    sink.upsert_asset({"asset": {"id": "plc1", "vendor": "old"}}, "plc1")
    sink.upsert_asset({"asset": {"id": "plc1", "vendor": "new"}}, "plc1")
    sink.close()
    assert fake.stored("otsec-assets-") == [("otsec-assets-default", "plc1")]
    assert fake.source("otsec-assets-default", "plc1")["asset"]["vendor"] == "new"
    # a stale copy arriving late (say, from a spool) is refused by version and counted as settled
    (newest,) = [v for (i, _), v in fake.versions.items() if i == "otsec-assets-default"]
    old = {"index": {"_index": "otsec-assets-default", "_id": "plc1", "version": newest - 1,
                     "version_type": "external_gte"}}  # fmt: skip
    body = (json.dumps(old) + "\n" + json.dumps({"asset": {"vendor": "stale"}}) + "\n").encode()
    (item,) = fake.bulk(None, body)
    assert item["index"]["status"] == 409
    assert fake.source("otsec-assets-default", "plc1")["asset"]["vendor"] == "new"


def test_write_never_blocks_with_the_server_down_and_the_queue_full(
    make_sink: Callable[..., ElasticSink],
) -> None:
    fake = FakeES(listening=False)
    try:
        sink = make_sink(fake.url, queue_size=5)
        slowest = 0.0
        ids: set[str] = set()
        for i in range(2000):
            started = time.perf_counter()
            ids |= produce(sink, i, 1)
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.05, slowest
        stats = sink.stats()
        assert stats["produced"] == 2000 and stats["queued"] <= 5 and stats["dropped"] == 0
        fake.start()
        wait_for(lambda: sink.stats()["delivered"] == 2000)
        sink.close()
        assert_exactly_once(fake, ids)
    finally:
        fake.close()


def test_secrets_never_appear(
    fake: FakeES,
    make_sink: Callable[..., ElasticSink],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key, password = "SeCrEtApIkEy-0001", "hunter2-PaSsWoRd"
    fake.script.extend(["auth401"] * 4)
    by_key = make_sink(fake.url, tuning={**FAST, "_config_retry": 0.1}, api_key=key)
    produce(by_key, 0, 3)
    wait_for(lambda: "401" in (by_key.error or ""))
    assert fake.bulk_requests()[0]["headers"]["authorization"] == f"ApiKey {key}"
    by_key.close()
    fake.stop()
    settings = ElasticSettings(
        url=fake.url, username="otsec", password=password, spool_dir=by_key.settings.spool_dir
    )
    assert password not in repr(settings) and "password='***'" in repr(settings)
    assert key not in repr(by_key.settings) and "api_key='***'" in repr(by_key.settings)
    by_password = make_sink(fake.url, username="otsec", password=password)
    produce(by_password, 3, 3)
    wait_for(lambda: "unreachable" in (by_password.error or ""))
    by_password.close(timeout=0.2)
    for text in (by_key.error, by_password.error, caplog.text, str(settings)):
        assert key not in (text or "") and password not in (text or "")
    assert "hunter2" not in caplog.text


def test_the_spool_bound_drops_with_one_warning(
    make_sink: Callable[..., ElasticSink], caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeES(listening=False)
    try:
        sink = make_sink(fake.url, queue_size=1, spool_max_bytes=6000)
        ids = produce(sink, 0, 200)
        stats = sink.stats()
        assert 0 < stats["dropped"] < 200
        assert stats["spool_bytes"] <= 6000
        assert "is full" in (sink.error or "")
        assert sum("is full" in r.getMessage() for r in caplog.records) == 1
        fake.start()

        # A document still queued or in flight when produce() returned is spooled (or
        # dropped, the spool being full) only once the failed request returns, so the
        # drop count may still grow here: settle on fresh counters.
        def settled() -> bool:
            now = sink.stats()
            return now["delivered"] + now["dropped"] >= 200

        wait_for(settled)
        sink.close()
        stats = sink.stats()
        assert stats["delivered"] + stats["dropped"] == stats["produced"] == 200
        stored = {doc_id for _, doc_id in fake.stored()}
        assert stored <= ids and len(stored) == stats["delivered"] == fake.created
    finally:
        fake.close()


def test_settings_are_validated() -> None:
    for bad in (
        {"namespace": "Prod"},
        {"namespace": "a-b"},
        {"url": "es.example:9200"},
        {"api_key": "k", "username": "u", "password": "p"},
        {"username": "u"},
        {"queue_size": 0},
    ):
        with pytest.raises(ValueError):
            ElasticSettings(**{"url": "https://es.example:9200", **bad})


def test_a_restarted_sink_resumes_the_spool_first(
    fake: FakeES, make_sink: Callable[..., ElasticSink], tmp_path: Path
) -> None:
    fake.stop()
    first = make_sink(fake.url)
    ids = produce(first, 0, 100)
    first.close(timeout=0.2)
    assert first.stats()["spooled"] == 100
    fake.start()
    second = make_sink(fake.url)
    ids |= produce(second, 100, 10)
    wait_for(lambda: second.stats()["delivered"] == 110)
    second.close()
    assert_exactly_once(fake, ids)
    order = [doc_id for r in fake.bulk_requests() for _, _, doc_id in r["ops"]]
    assert order[:100] == sorted(ids)[:100]


def test_kill_9_loses_and_doubles_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A writer spools N documents with the server down and is killed with SIGKILL; a second
    process starts delivering and is killed mid-way; a third sink delivers the rest."""
    n = 3000
    spool = str(tmp_path / "spool")
    fake = FakeES(listening=False)
    procs: list[subprocess.Popen[str]] = []

    def run(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sinks.spool_writer", *args],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        procs.append(proc)
        return proc

    try:
        writer = run("spool", fake.url, spool, str(n))
        assert writer.stdout is not None
        line = writer.stdout.readline()
        assert line.startswith("SPOOLED "), line
        spooled = json.loads(line.split(" ", 1)[1])
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
        fake.delay = 0.2  # each answer comes late: the kill catches a request in flight
        fake.start()
        deliverer = run("deliver", fake.url, spool)
        assert deliverer.stdout is not None and deliverer.stdout.readline() == "STARTED\n"
        wait_for(lambda: fake.created >= n // 3)
        os.kill(deliverer.pid, signal.SIGKILL)
        deliverer.wait(10)
        stored_at_kill = fake.created
        fake.delay = 0
        settings = ElasticSettings(url=fake.url, spool_dir=spool, flush_seconds=0.05)
        sink = ElasticSink(settings, sensor="t", **FAST)  # type: ignore[arg-type]
        try:
            wait_for(lambda: len(fake.stored()) == n and not sink._spool.pending())
        finally:
            sink.close()
        final = sink.stats()
        assert_exactly_once(fake, {f"kill9-{i:06d}" for i in range(n)})
        assert final["dropped"] == final["dead_lettered"] == 0
        assert final["delivered"] >= n - stored_at_kill
        with capsys.disabled():
            print(
                f"\nkill -9: produced={spooled['produced']} spooled={spooled['spooled']} "
                f"stored when the deliverer was killed={stored_at_kill} "
                f"delivered after restart={final['delivered']} "
                f"(duplicates={final['duplicates']}) stored={len(fake.stored())} "
                f"created once each={fake.created == n}"
            )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
        fake.close()
