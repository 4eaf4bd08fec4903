"""`otsec sniff` on a veth pair between two network namespaces the test creates: the
alerts of live traffic equal those of the same capture replayed from file, SIGTERM leaves
flushed alerts and a valid baseline checkpoint, a second signal exits at once, SIGHUP
reloads the baseline, and the sensor documents follow docs/schema.md."""

from __future__ import annotations

import json
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsec.baseline import store
from otsec.capture.pcapfile import open_capture
from otsec.cli import main
from otsec.monitor import Monitor
from otsec.sinks.spool import Spool
from tests.conftest import REPO
from tests.detection.test_reload import EARLIER, NORMAL, RTU, without, without_doc
from tests.netns import VethPair, available  # veth: the fixture in tests/conftest.py
from tests.test_schema import _fits, documented, flatten

why = available() or (None if shutil.which("tcpreplay") else "needs tcpreplay")
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")
OTSEC = [sys.executable, "-m", "otsec.cli"]
PLANT = REPO / "baselines" / "plant.json"
STOP = REPO / "pcaps" / "attacks" / "attack_rogue_s7_stop.pcap"


def _start(veth: VethPair, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """``otsec sniff`` on the capture end of the pair (``prefix``: run it through this
    command, such as setpriv)."""
    proc = subprocess.Popen(
        veth.command(veth.ns_b, [*prefix, *OTSEC, "sniff", "-i", veth.veth_b, *args]),
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the capture is open once this is printed
    assert "otsec sniff: live:" in line, line + proc.stderr.read()
    return proc


def _send(veth: VethPair, capture: Path) -> None:
    veth.run(veth.ns_a, ["tcpreplay", "-q", "-i", veth.veth_a, "--pps=3000", str(capture)],
             timeout=120)  # fmt: skip


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    time.sleep(0.5)  # the last frames reach the socket
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _rules(path: Path) -> Counter[tuple[Any, ...]]:
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    return Counter((d["rule"]["id"], d["source"].get("ip"), d.get("destination", {}).get("ip"))
                   for d in docs)  # fmt: skip


def test_sniff_raises_the_alerts_of_the_file(
    veth: VethPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live.jsonl"
    proc = _start(veth, "--baseline", str(PLANT), "--alerts", str(live), "--json", "--quiet")
    _send(veth, STOP)
    code, out, err = _stop(proc)
    assert code == 0, err
    result = json.loads(out)
    assert result["capture"]["dropped_kernel"] == 0 and result["capture"]["received"] > 2000
    assert "tcp" in result["capture"]["filter"]
    offline = tmp_path / "file.jsonl"
    assert main(["replay", "--no-progress", "--quiet", "--baseline", str(PLANT), "--alerts",
                 str(offline), str(STOP)]) == 0  # fmt: skip
    capsys.readouterr()
    assert _rules(live) == _rules(offline) and _rules(live)


#: Zones that refuse the plant's DNP3 from the front end to the three RTUs.
ZONES = """
[zones.control]
networks = ["10.20.1.96/27"]
[zones.supervisory]
networks = ["10.20.1.0/26"]
[[conduits]]
from = "supervisory"
to = "control"
protocols = ["modbus", "s7comm"]
"""


def test_sigterm_while_learning_leaves_a_valid_checkpoint(veth: VethPair, tmp_path: Path) -> None:
    """A learning sensor also tells the SIEM it is alive (sensor documents, the fleet
    inventory) and writes its events; its only alerts are zone violations."""
    out, events, alerts = (tmp_path / n for n in ("learned.json", "events.jsonl", "a.jsonl"))
    conf = _spool_conf(tmp_path)
    conf.write_text(conf.read_text() + ZONES)
    proc = _start(veth, "--learn", "1h", "-o", str(out), "--checkpoint", "1s", "--json",
                  "--events", str(events), "--alerts", str(alerts),
                  "--es-url", "http://127.0.0.1:9", "--config", str(conf))  # fmt: skip
    _send(veth, NORMAL)
    time.sleep(1.5)
    checkpoint = store.load(out)  # written while the capture runs
    assert checkpoint.doc["edges"]
    code, stdout, err = _stop(proc)
    assert code == 0, err
    final = store.load(out)
    assert len(final.doc["edges"]) >= len(checkpoint.doc["edges"])
    result = json.loads(stdout)
    assert result["baseline"]["edges"] == len(final.doc["edges"])
    assert result["alerts"]["total"] == 3
    assert _rules(alerts) == Counter(("otsec.policy.zone_violation", "10.20.1.40", f"10.20.1.{n}")
                                     for n in (121, 122, 123))  # fmt: skip
    assert len(final.doc["violations"]) == 3  # and not learned
    assert result["outputs"]["elasticsearch"]["spooled"] > 0  # unreachable: all kept

    written = [json.loads(line) for line in events.read_text().splitlines()]
    sensor = [d for d in written if d["event"]["dataset"] == "otsec.sensor"]
    assert [d["event"]["action"] for d in sensor] == ["capture-started", "capture-stopped"]
    assert {d["ics"]["sensor"]["mode"] for d in sensor} == {"learn"}
    assert sensor[-1]["ics"]["sensor"]["learning"]["edges"] == len(final.doc["edges"])
    assert sum(d["event"]["dataset"] in ("otsec.modbus", "otsec.s7comm", "otsec.dnp3")
               for d in written) > 1000  # fmt: skip
    spool = Spool(tmp_path / "spool", max_bytes=1 << 30)
    records = [e.record for e in spool.read(100_000).entries]
    spool.close()
    sent = Counter(r["index"] for r in records)
    assert sent["logs-otsec.sensor-default"] == 2  # events stay local without --es-events
    assert sent["logs-otsec.alert-default"] == 3
    assert sent["otsec-assets-default"] == len(final.doc["assets"])  # the inventory, once
    assert len(sent) == 3


def test_a_second_signal_exits_at_once(veth: VethPair, tmp_path: Path) -> None:
    alerts = tmp_path / "a.jsonl"
    conf = str(_spool_conf(tmp_path))
    proc = _start(veth, "--baseline", str(PLANT), "--alerts", str(alerts), "--quiet",
                  "--es-url", "http://127.0.0.1:9", "--config", conf)  # fmt: skip
    _send(veth, STOP)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode in (0, 130)
    for line in alerts.read_text().splitlines():
        json.loads(line)  # whole lines only


def _spool_conf(tmp_path: Path) -> Path:
    conf = tmp_path / "c.toml"
    conf.write_text(f"[elasticsearch]\nspool_dir = '{tmp_path / 'spool'}'\n")
    return conf


def _wait_line(proc: subprocess.Popen[str], text: str, timeout: float = 30) -> str:
    """The first line of the process's standard error holding ``text``."""
    assert proc.stderr is not None
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            seen.append(line)
            if text in line:
                return line
    raise AssertionError(f"no line with {text!r} within {timeout} s: {seen}")


def _without(ip: str) -> dict[str, Any]:
    return without_doc(store.load(PLANT).doc, ip)


def _offline_reload() -> Counter[tuple[Any, ...]]:
    """The alerts of the same sequence offline: EARLIER with the plant baseline, then
    NORMAL with the baseline that lacks the RTU."""
    alerts: list[Any] = []
    monitor = Monitor(baseline=store.load(PLANT), alert_sinks=[alerts.append])
    for capture, base in ((EARLIER, None), (NORMAL, without(store.load(PLANT).doc, RTU))):
        if base is not None:
            monitor.reload_baseline(base)
        with open_capture(str(capture)) as reader:
            monitor.run(reader)
    monitor.close()
    return Counter((a.rule.id, a.source_ip or None, a.destination_ip or None) for a in alerts)


def test_sighup_reloads_the_baseline(veth: VethPair, tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    shutil.copy(PLANT, base)
    alerts, events, conf = tmp_path / "alerts.jsonl", tmp_path / "events.jsonl", tmp_path / "c.toml"
    conf.write_text('[capture]\nstatus_every = "1s"\n')
    rules = tmp_path / "rules"  # a rule the capture never matches; SIGHUP reloads it too
    rules.mkdir()
    shutil.copy(REPO / "rules" / "dnp3" / "restart.yml", rules)
    proc = _start(veth, "--baseline", str(base), "--alerts", str(alerts), "--events",
                  str(events), "--config", str(conf), "--quiet", "--rules", str(rules))  # fmt: skip
    _send(veth, EARLIER)
    base.write_text("{ not json")
    proc.send_signal(signal.SIGHUP)
    assert "previous one stays in force" in _wait_line(proc, "baseline not reloaded")
    _wait_line(proc, "Sigma rules reloaded: 1 rule, 0 correlations")
    store.save(_without(RTU), base)
    shutil.copy(REPO / "rules" / "s7comm" / "plc_stop.yml", rules)
    proc.send_signal(signal.SIGHUP)
    line = _wait_line(proc, "baseline reloaded")
    assert f"{len(_without(RTU)['assets'])} assets" in line
    _wait_line(proc, "Sigma rules reloaded: 2 rules, 0 correlations")
    _send(veth, NORMAL)
    code, _out, err = _stop(proc)
    assert code == 0, err
    live = _rules(alerts)
    assert live == _offline_reload()
    assert {r for r, *_ in live} >= {"otsec.baseline.new_asset", "otsec.baseline.new_edge"}

    sensor = [d for line in events.read_text().splitlines()
              if (d := json.loads(line))["event"]["dataset"] == "otsec.sensor"]  # fmt: skip
    actions = [d["event"]["action"] for d in sensor]
    assert actions[0] == "capture-started" and actions[-1] == "capture-stopped"
    assert actions.index("baseline-reload-failed") < actions.index("baseline-reloaded")
    assert actions.count("rules-reloaded") == 2 and sensor[-1]["ics"]["sensor"]["rules"] == 2
    assert "status" in actions
    last = sensor[-1]
    assert last["observer"]["ingress"]["interface"]["name"] == veth.veth_b
    assert last["ics"]["sensor"]["capture"]["received"] >= 9848 + 12000 * 0.9
    assert last["ics"]["sensor"]["capture"]["dropped_kernel"] == 0
    assert last["ics"]["sensor"]["baseline"] == str(base)
    docs = documented()
    for doc in sensor:
        for path, typ, _value in flatten(doc):
            assert path in docs, f"{path} of a sensor document is not in docs/schema.md"
            assert _fits(docs[path], typ), (path, typ)


#: An unprivileged user holding CAP_NET_RAW alone: what systemd's AmbientCapabilities
#: gives the otsec service (deploy/otsec.service).
NET_RAW_ONLY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "--inh-caps=-all,+net_raw", "--ambient-caps=-all,+net_raw",
                "--bounding-set=-all,+net_raw")  # fmt: skip


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
@pytest.mark.parametrize("how", ["cap_net_raw_only", "root_then_user"])
def test_capture_needs_only_cap_net_raw(veth: VethPair, tmp_path: Path, how: str) -> None:
    # pytest's own folders are root's alone: nobody writes its alerts in one of /tmp's
    out = Path(tempfile.mkdtemp(prefix="otsec-nobody-", dir="/tmp"))
    try:
        out.chmod(0o777)
        _sniff_as_nobody(veth, out / "alerts.jsonl", tmp_path, how)
    finally:
        shutil.rmtree(out)


def _sniff_as_nobody(veth: VethPair, alerts: Path, tmp_path: Path, how: str) -> None:
    args = ["--baseline", str(PLANT), "--alerts", str(alerts), "--json", "--quiet"]
    if how == "root_then_user":
        proc = _start(veth, *args, "--user", "nobody")
    else:
        proc = _start(veth, *args, prefix=NET_RAW_ONLY)
    _send(veth, STOP)
    code, stdout, err = _stop(proc)
    assert code == 0, err
    assert json.loads(stdout)["capture"]["dropped_kernel"] == 0
    assert alerts.stat().st_uid != 0  # written by nobody, not root
    offline = tmp_path / "file.jsonl"
    assert main(["replay", "--no-progress", "--quiet", "--baseline", str(PLANT), "--alerts",
                 str(offline), str(STOP)]) == 0  # fmt: skip
    assert _rules(alerts) == _rules(offline) and _rules(alerts)


def test_the_console_summary_gives_the_kernel_counters(veth: VethPair) -> None:
    proc = _start(veth, "--duration", "5s", "--quiet", "--bpf", "")
    _send(veth, STOP)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "otsec sniff" in out and f"{veth.veth_b} (pcap backend)" in out
    kernel = next(line for line in out.splitlines() if "received" in line and "dropped" in line)
    assert "2,526 received, 0 dropped, 0 dropped by the interface" in kernel


def test_a_restarted_sensor_appends_to_its_files(veth: VethPair, tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    kept = '{"rule":{"id":"earlier"}}\n'
    alerts.write_text(kept + '{"rule":{"id":"torn')  # as a killed sensor may leave it
    proc = _start(veth, "--baseline", str(PLANT), "--alerts", str(alerts), "--quiet")
    _send(veth, STOP)
    code, _out, err = _stop(proc)
    assert code == 0, err
    text = alerts.read_text()
    assert text.startswith(kept) and text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["rule"]["id"] == "earlier" and len(lines) > 1
