"""The detector on real captures against the sample plant's baseline: the rules the attack
scenarios do not exercise (new operations and function codes on known edges, identity
changes, the allow-list, monitoring without a baseline, learning with zones), severities,
and the alert documents."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from otsec.baseline import store
from otsec.capture.pcapfile import open_capture
from otsec.config import AllowRule, Settings, load
from otsec.detection.alerts import Alert
from otsec.detection.engine import dangerous_command
from otsec.monitor import Monitor
from otsec.sinks.ecs import alert_doc
from tests.conftest import REPO

PCAPS = REPO / "pcaps"
CONFIG = REPO / "baselines" / "plant.toml"
BASELINE = REPO / "baselines" / "plant.json"


def run(
    *captures: Path, baseline: store.Baseline | None = None, settings: Settings | None = None,
    learn: bool = False,
) -> tuple[Monitor, list[Alert]]:  # fmt: skip
    alerts: list[Alert] = []
    monitor = Monitor(settings or Settings(), baseline=baseline, learn=learn,
                      alert_sinks=[alerts.append])  # fmt: skip
    for capture in captures:
        with open_capture(str(capture)) as reader:
            monitor.run(reader)
    monitor.close()
    return monitor, alerts


@pytest.fixture(scope="module")
def plant() -> store.Baseline:
    return store.load(BASELINE)


def _firsts(alerts: list[Alert], rule: str) -> list[Alert]:
    return [a for a in alerts if a.rule.id == rule and a.repeat_of is None]


def test_new_operations_and_function_codes_on_a_known_edge(plant: store.Baseline) -> None:
    """modbus_functions.pcap: hmi-01 -> plc-mb-01 (a known edge) uses every function code."""
    _m, alerts = run(PCAPS / "modbus_functions.pcap", baseline=plant)
    new_ops = _firsts(alerts, "otsec.baseline.new_operation")
    on_edge = {a.subject for a in new_ops if (a.source_ip, a.destination_ip)
               == ("10.20.1.11", "10.20.1.101")}  # fmt: skip
    # the read and write classes are known there: new function codes; the CANopen MEI
    # transport (FC 43/13) is a new operation class (unknown)
    assert {"function:15", "function:16", "function:20", "function:22", "function:23"} <= on_edge
    assert "operation:unknown" in on_edge
    assert len(on_edge) == len([a for a in new_ops if a.subject in on_edge
                                and a.destination_ip == "10.20.1.101"
                                and a.source_ip == "10.20.1.11"])  # fmt: skip
    # each raised once per edge and subject, never again in the run
    keys = [(a.source_ip, a.destination_ip, a.subject) for a in new_ops]
    assert len(keys) == len(set(keys))
    # writes of an authorized class outside the learned ranges
    ranges = _firsts(alerts, "otsec.baseline.new_write_range")
    assert any(a.details["space"] == "unit1/holding_register" for a in ranges)


def test_identity_change_against_the_baseline(plant: store.Baseline) -> None:
    doc = store.load(BASELINE).doc
    for asset in doc["assets"]:
        if asset["ip"] == "10.20.1.111":
            asset["identity"]["firmware_version"][0]["value"] = "V3.2.6"
    changed = store.Baseline(doc)
    _m, alerts = run(PCAPS / "plant_normal.pcap", baseline=changed)
    assert [a.rule.id for a in alerts] == ["otsec.asset.identity_changed"]
    alert = alerts[0]
    assert alert.source_ip == "10.20.1.111" and alert.techniques == ("T0839",)
    assert alert.details["old"] == "V3.2.6" and alert.details["new"] != "V3.2.6"


def test_the_allow_list_authorizes_and_lowers_the_severity(plant: store.Baseline) -> None:
    capture = PCAPS / "attacks" / "attack_ews_download.pcap"
    _m, alerts = run(capture, baseline=plant)
    assert [(a.rule.id, a.severity) for a in alerts if a.repeat_of is None] == [
        ("otsec.policy.dangerous_command", "high")
    ]
    allow = AllowRule(("10.20.1.30",), ("10.20.1.96/27",), ("program_download",))
    settings = replace(load(CONFIG), allow=(allow,))
    _m, alerts = run(capture, baseline=plant, settings=settings)
    assert [(a.rule.id, a.severity) for a in alerts if a.repeat_of is None] == [
        ("otsec.policy.dangerous_command", "medium")
    ]
    assert alerts[0].details["authorized"] is True


def test_without_a_baseline_only_baseline_free_rules_run() -> None:
    _m, alerts = run(PCAPS / "plant_attack.pcap")
    rules = {a.rule.id for a in alerts}
    assert rules <= {"otsec.policy.dangerous_command", "otsec.recon.network_scan",
                     "otsec.recon.ics_scan", "otsec.asset.identity_changed"}  # fmt: skip
    assert "otsec.policy.dangerous_command" in rules
    assert all(a.severity == "high" for a in alerts if a.rule.id.endswith("dangerous_command"))


def test_learning_reports_zone_violations_and_scans_only() -> None:
    """Learning judges nothing against a baseline, but a flow no conduit allows, or a
    network scan, in the capture being learned is reported (and the flow not learned)."""
    settings = load(CONFIG)
    monitor, alerts = run(PCAPS / "plant_attack.pcap", settings=settings, learn=True)
    assert {a.rule.id for a in alerts} == {"otsec.policy.zone_violation",
                                           "otsec.recon.network_scan"}  # fmt: skip
    doc = monitor.baseline_doc()
    assert {(v["client"], v["server"], v["port"]) for v in doc["violations"]} == {
        ("10.20.1.66", "10.20.1.103", 22),
        ("10.20.1.66", "10.20.1.101", 80),
    }
    assert doc["policy"]["zones"] and doc["policy"]["conduits"]


def test_alert_documents(plant: store.Baseline) -> None:
    _m, alerts = run(PCAPS / "attacks" / "attack_rogue_s7_stop.pcap", baseline=plant)
    stop = next(a for a in alerts if a.subject == "plc_stop")
    doc: dict[str, Any] = alert_doc(stop)
    assert doc["event"]["kind"] == "alert"
    assert doc["event"]["category"] == ["network", "intrusion_detection"]
    assert doc["event"]["severity"] == 99 and doc["ics"]["alert"]["severity"] == "critical"
    assert doc["rule"]["id"] == "otsec.policy.dangerous_command"
    assert doc["threat"]["framework"] == "MITRE ATT&CK for ICS"
    assert doc["threat"]["technique"]["id"] == ["T0858", "T0881"]
    assert doc["threat"]["technique"]["name"] == ["Change Operating Mode", "Service Stop"]
    assert doc["source"] == {"ip": "10.20.1.66", "mac": "D8-3A-DD-66-06-66"}
    assert doc["destination"] == {"ip": "10.20.1.111", "port": 102}
    assert doc["network"]["protocol"] == "s7comm" and doc["network"]["community_id"]
    assert doc["ics"]["function"]["name"] == "plc_stop"
    assert doc["ics"]["destination_asset"]["order_number"] == "6ES7 315-2EH14-0AB0"
    assert doc["ics"]["destination_asset"]["vendor"] == "Siemens AG"
    assert doc["ics"]["source_asset"]["vendor"] == "Raspberry Pi Trading Ltd"
    assert doc["@timestamp"].startswith("2026-01-06T08:00:26.19")
    assert "stops the PLC" in doc["message"]


def test_dangerous_commands_by_protocol(plant: store.Baseline) -> None:
    monitor = Monitor(Settings())
    found: dict[str, set[str]] = {}

    def look(t: Any) -> None:
        command = dangerous_command(t)
        if command is not None:
            found.setdefault(t.protocol, set()).add(command)

    monitor.pipeline.event_handlers.append(look)
    for name in ("modbus_functions", "s7_functions", "dnp3_functions"):
        with open_capture(str(PCAPS / f"{name}.pcap")) as reader:
            monitor.run(reader)
    monitor.close()
    # the UMAS session's block transfer is 0x34, PLC -> engineering station: an upload
    assert {"force_listen_only", "restart_communications", "mode_change",
            "program_upload"} <= found["modbus"]  # fmt: skip
    assert {"plc_stop", "program_download", "program_delete"} <= found["s7comm"]
    assert {"cold_restart", "warm_restart", "disable_unsolicited"} <= found["dnp3"]


def _modbus_reads(path: Path, client: str, starts: list[int]) -> Path:
    """A Modbus/TCP session from ``client`` to plc-mb-02: FC 3 reads of 2 registers at
    each start address, answered."""
    import struct

    from tests.scapy_util import TcpSession, write_pcap

    s = TcpSession(client, "10.20.1.102", 50123, 502, ts=1_767_700_000.0).handshake()
    for tid, start in enumerate(starts, 1):
        s.send(True, struct.pack("!HHHBBHH", tid, 0, 6, 1, 3, start, 2))
        s.send(False, struct.pack("!HHHBBBHH", tid, 0, 7, 1, 3, 4, 0, 0))
    s.fin()
    return write_pcap(path, s.packets)


def test_an_address_sweep_is_reconnaissance(plant: store.Baseline, tmp_path: Path) -> None:
    sweep = _modbus_reads(tmp_path / "sweep.pcap", "10.20.1.77", list(range(0, 400, 4)))
    _m, alerts = run(sweep, baseline=plant)
    scans = [a for a in alerts if a.rule.id == "otsec.recon.ics_scan"]
    assert [a.subject for a in scans if a.repeat_of is None] == ["addresses"]
    assert scans[0].details["addresses"] == 64
    # a new poller reading the same few blocks again and again is no sweep
    poll = _modbus_reads(tmp_path / "poll.pcap", "10.20.1.78", [0, 4, 8] * 40)
    _m, alerts = run(poll, baseline=plant)
    assert not [a for a in alerts if a.rule.id == "otsec.recon.ics_scan"]


def test_repeats_fold_into_one_aggregate_per_window(plant: store.Baseline, tmp_path: Path) -> None:
    """A new host repeating an unauthorized write: one alert at once, one aggregate with
    the count when the window ends."""
    import struct

    from tests.scapy_util import TcpSession, write_pcap

    s = TcpSession("10.20.1.77", "10.20.1.101", 50200, 502, ts=1_767_700_000.0).handshake()
    for tid in range(1, 11):
        s.send(True, struct.pack("!HHHBBHH", tid, 0, 6, 1, 6, 40, tid))
        s.send(False, struct.pack("!HHHBBHH", tid, 0, 6, 1, 6, 40, tid))
        s.ts += 5.0
    s.fin()
    _m, alerts = run(write_pcap(tmp_path / "w.pcap", s.packets), baseline=plant)
    writes = [a for a in alerts if a.rule.id == "otsec.policy.unauthorized_operation"]
    assert [(a.count, a.repeat_of is None) for a in writes] == [(1, True), (9, False)]
    assert writes[1].repeat_of == writes[0].id
    assert writes[1].first_ts == writes[0].ts < writes[1].last_ts
