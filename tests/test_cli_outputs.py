"""The outputs of `otsec replay` besides the console: syslog (CEF/LEEF) end to end, size
rotation of the JSON-lines files, the sensor name, and configuration errors."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from otsec.cli import main
from tests.conftest import REPO

PLANT = REPO / "baselines" / "plant.json"
ATTACK = REPO / "pcaps" / "plant_attack.pcap"


class _TcpCollector:
    """A loopback TCP listener that splits RFC 6587 octet-counted frames."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.frames: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            with conn:
                while chunk := conn.recv(65536):
                    data += chunk
            while data:
                size, _, rest = data.partition(b" ")
                self.frames.append(rest[: int(size)])
                data = rest[int(size) :]
            return  # the sink sends over one connection and closes it at the end

    def close(self) -> None:
        self.sock.close()


def test_alerts_go_to_syslog_as_cef(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    collector = _TcpCollector()
    try:
        alerts = tmp_path / "alerts.jsonl"
        assert main(["replay", "--no-progress", "--json", "--quiet", "--baseline", str(PLANT),
                     "--alerts", str(alerts), "--syslog", f"tcp://127.0.0.1:{collector.port}",
                     "--sensor-name", "sensor-07", str(ATTACK)]) == 0  # fmt: skip
        result = json.loads(capsys.readouterr().out)
    finally:
        collector.thread.join(timeout=10)
        collector.close()
    docs = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert docs and all(d["observer"]["name"] == "sensor-07" for d in docs)
    assert result["outputs"]["syslog"]["sent"] == len(docs) == len(collector.frames)
    for doc, frame in zip(docs, collector.frames, strict=True):
        header, _, msg = frame.decode().partition(" CEF:")
        assert " sensor-07 otsec " in header and header.startswith("<")
        fields = ("CEF:" + msg).split("|")
        assert fields[4] == doc["rule"]["id"]


def test_json_lines_files_rotate_by_size(tmp_path: Path) -> None:
    conf = tmp_path / "otsec.toml"
    conf.write_text("[output]\nmax_bytes = 20000\nbackups = 2\n")
    events = tmp_path / "events.jsonl"
    assert main(["replay", "--no-progress", "--quiet", "--config", str(conf), "--events",
                 str(events), str(REPO / "pcaps" / "modbus_functions.pcap")]) == 0  # fmt: skip
    files = sorted(tmp_path.glob("events.jsonl*"))
    assert [f.name for f in files] == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    for f in files:
        text = f.read_text()
        assert all(json.loads(line) for line in text.splitlines())
        assert len(text) < 20000 + 256 * 2000


@pytest.mark.parametrize(("text", "message"), [
    ("[elasticsearch]\nurl = 'http://x'\nnamespace = 'Bad-Name'\n", "namespace"),
    ("[elasticsearch]\nurl = 'http://x'\nno_such = 1\n", "unknown setting [elasticsearch] no_such"),
    ("[syslog]\nurl = 'udp://127.0.0.1:514'\nformat = 'xml'\n", "cef or leef"),
    ("[output]\nbackups = 0\n", "backups"),
])  # fmt: skip
def test_bad_output_settings_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    conf = tmp_path / "otsec.toml"
    conf.write_text(text)
    assert main(["replay", "--no-progress", "--config", str(conf), str(ATTACK)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_bad_syslog_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--no-progress", "--syslog", "http://x:1", str(ATTACK)]) == 2
    assert "Traceback" not in capsys.readouterr().err


osmem_server = pytest.importorskip("osmem_server", reason="osmem-server is not installed")


@pytest.fixture(scope="module")
def osmem() -> object:
    server = osmem_server.OsmemServer.start(japanese=False)
    yield server
    server.close()


def _es_config(tmp_path: Path, url: str) -> Path:
    conf = tmp_path / "es.toml"
    conf.write_text(
        f"[elasticsearch]\nurl = '{url}'\nnamespace = 'cli_test'\ndata_streams = false\n"
        f"server_mode = 'serverless'\nspool_dir = '{tmp_path / 'spool'}'\n"
        "[sensor]\nname = 'sensor-es'\n"
    )
    return conf


def test_replay_into_elasticsearch_reads_back_exactly(
    osmem: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """es setup installs the templates; a replay's alerts and assets are stored exactly
    (count and content) with the template's mappings."""
    from elasticsearch import Elasticsearch

    url = osmem.url  # type: ignore[attr-defined]
    conf = _es_config(tmp_path, url)
    assert main(["es", "setup", "--config", str(conf), "--plain-indices"]) == 0
    assert "otsec-assets" in capsys.readouterr().out
    alerts, inventory = tmp_path / "alerts.jsonl", tmp_path / "inventory.json"
    assert main(["replay", "--no-progress", "--json", "--quiet", "--config", str(conf),
                 "--baseline", str(PLANT), "--alerts", str(alerts), "--inventory",
                 str(inventory), str(ATTACK)]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    sent = result["outputs"]["elasticsearch"]
    produced = [json.loads(line) for line in alerts.read_text().splitlines()]
    assets = json.loads(inventory.read_text())["assets"]
    assert sent["produced"] == len(produced) + len(assets) == sent["delivered"]
    assert sent["spooled"] == sent["dead_lettered"] == sent["dropped"] == 0
    es = Elasticsearch(url, server_mode="serverless")
    es.indices.refresh(index="otsec-*")
    stored = {h["_id"]: h["_source"] for h in
              es.search(index="otsec-alert-cli_test", size=1000)["hits"]["hits"]}  # fmt: skip
    assert stored == {d["event"]["id"]: d for d in produced}
    fleet = es.search(index="otsec-assets-cli_test", size=1000)["hits"]["hits"]
    assert len(fleet) == len(assets)
    assert {h["_source"]["host"]["ip"][0] for h in fleet} == {a["ip"] for a in assets}
    assert all(h["_source"]["observer"]["name"] == "sensor-es" for h in fleet)
    mapping = es.indices.get_mapping(index="otsec-alert-cli_test")["otsec-alert-cli_test"]
    props = mapping["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["event"]["properties"]["severity"]["type"] == "long"


def test_dead_elasticsearch_spools_and_keeps_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listening: the run completes, the alerts wait in the spool, the API key
    appears nowhere."""
    monkeypatch.setenv("OTSEC_ES_API_KEY", "s3cr3t-api-key-value")
    conf = _es_config(tmp_path, "http://127.0.0.1:9")
    assert main(["replay", "--no-progress", "--json", "--quiet", "--config", str(conf),
                 "--baseline", str(PLANT), "--alerts", str(tmp_path / "a.jsonl"),
                 str(ATTACK)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    sent = json.loads(captured.out)["outputs"]["elasticsearch"]
    assert sent["produced"] > 0 and sent["delivered"] == 0
    assert sent["spooled"] == sent["produced"]
    assert "s3cr3t" not in captured.out + captured.err
    assert any((tmp_path / "spool").iterdir())


def test_es_setup_against_nothing_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTSEC_ES_PASSWORD", "pa55-word-value")
    conf = tmp_path / "es.toml"
    conf.write_text("[elasticsearch]\nurl = 'http://127.0.0.1:9'\nusername = 'otsec'\n"
                    "request_timeout = 2\n")  # fmt: skip
    assert main(["es", "setup", "--config", str(conf)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("otsec: es setup: http://127.0.0.1:9: ") and len(err.splitlines()) == 1
    assert "pa55" not in err
    assert main(["es", "setup"]) == 2  # no URL anywhere
    assert "--es-url" in capsys.readouterr().err


def test_a_spool_in_use_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two sensors on one spool folder would send each other's documents: refused."""
    from otsec.sinks.spool import Spool

    conf = _es_config(tmp_path, "http://127.0.0.1:9")
    held = Spool(tmp_path / "spool", max_bytes=1 << 20)
    try:
        assert main(["replay", "--no-progress", "--config", str(conf), str(ATTACK)]) == 2
    finally:
        held.close()
    err = capsys.readouterr().err
    assert "spool" in err and "Traceback" not in err


def test_es_setup_hides_credentials_in_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["es", "setup", "--es-url", "http://otsec:url-pa55@127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert "url-pa55" not in err and "//***@127.0.0.1:9" in err
