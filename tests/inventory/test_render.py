"""Inventory presentation: table, CSV, JSON, and validation of hand-built documents."""

from __future__ import annotations

import copy
import csv
import io
import json
from typing import Any

import pytest
from rich.console import Console

from otsec.inventory.render import (
    format_time,
    identity_newest,
    identity_summary,
    render_table,
    service_text,
    to_csv,
    to_json,
    validate,
    validate_asset,
)


def _ident(value: Any, protocol: str, packet: int, seen: str) -> dict[str, Any]:
    return {
        "value": value,
        "protocol": protocol,
        "source": "pcaps/plant.pcap",
        "packet": packet,
        "seen": seen,
    }


PLC: dict[str, Any] = {
    "ip": "10.20.1.101",
    "macs": ["00-1B-1B-12-01-01"],
    "via": [],
    "vendor": "Siemens AG",
    "vlans": [10],
    "roles": ["s7_plc"],
    "services": [
        {"transport": "tcp", "port": 102, "protocol": "s7comm"},
        {"transport": "tcp", "port": 80, "protocol": "http"},
    ],
    "uses": [],
    "identity": {
        "order_number": [_ident("6ES7 315-2EH14-0AB0", "s7comm", 1907, "2024-05-01T10:00:03Z")],
        # Two firmware versions: the PLC was updated during the capture.
        "firmware_version": [
            _ident("V3.2.16", "s7comm", 5120, "2024-05-01T11:00:00Z"),
            _ident("V3.2.15", "s7comm", 1907, "2024-05-01T10:00:03Z"),
        ],
        "module_name": [_ident("PLC_1", "s7comm", 1907, "2024-05-01T10:00:03Z")],
        "rack": [_ident(0, "s7comm", 12, "2024-05-01T10:00:00Z")],
        "slot": [_ident(2, "s7comm", 12, "2024-05-01T10:00:00Z")],
    },
    "first_seen": "2024-05-01T10:00:00Z",
    "last_seen": "2024-05-01T12:00:00Z",
    "packets_sent": 1500,
    "packets_received": 1600,
    "bytes_sent": 150000,
    "bytes_received": 96000,
}

MODBUS: dict[str, Any] = {
    "ip": "10.20.1.103",
    "macs": ["00-80-F4-12-01-03", "00-80-F4-12-01-04"],
    "via": [],
    "vendor": "TELEMECANIQUE ELECTRIQUE",
    "vlans": [10],
    "roles": ["modbus_server"],
    "services": [{"transport": "tcp", "port": 502, "protocol": "modbus"}],
    "uses": [],
    "identity": {
        "vendor_name": [_ident("Schneider Electric", "modbus", 77, "2024-05-01T10:00:01Z")],
        "product_code": [_ident("BMX P34 2020", "modbus", 77, "2024-05-01T10:00:01Z")],
        "revision": [_ident("v3.1", "modbus", 77, "2024-05-01T10:00:01Z")],
    },
    "first_seen": "2024-05-01T10:00:01Z",
    "last_seen": "2024-05-01T12:00:00Z",
    "packets_sent": 3000,
    "packets_received": 3000,
    "bytes_sent": 200000,
    "bytes_received": 180000,
}

# Reached through a router: no own MAC, no vendor.
REMOTE: dict[str, Any] = {
    "ip": "192.168.50.7",
    "macs": [],
    "via": ["00-1E-7A-4C-10-01"],
    "vendor": None,
    "vlans": [],
    "roles": ["engineering_workstation", "s7_client"],
    "services": [],
    "uses": [
        {"transport": "tcp", "port": 102, "protocol": "s7comm"},
        {"transport": "udp", "port": 20000, "protocol": "dnp3"},
    ],
    "identity": {},
    "first_seen": "2024-05-01T10:30:00Z",
    "last_seen": "2024-05-01T10:45:00Z",
    "packets_sent": 40,
    "packets_received": 38,
    "bytes_sent": 4000,
    "bytes_received": 9000,
}

HMI: dict[str, Any] = {
    "ip": "10.20.1.11",
    "macs": ["D8-3A-DD-00-00-11"],
    "vendor": "Raspberry Pi Trading Ltd",
    "roles": ["hmi_scada", "modbus_client"],
    "services": [],
    "first_seen": "2024-05-01T10:00:00+00:00",
    "last_seen": "2024-05-01T12:00:00+00:00",
}


def make_doc(*assets: dict[str, Any]) -> dict[str, Any]:
    return {
        "otsec_inventory": 1,
        "generated": "2024-05-02T08:00:00Z",
        "sources": ["pcaps/plant.pcap", "pcaps/remote.pcap"],
        "assets": [copy.deepcopy(a) for a in assets],
    }


def rendered(doc: dict[str, Any], *, wide: bool = False) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    render_table(doc, console, wide=wide)
    return console.export_text()


# --- table -------------------------------------------------------------------------------


def test_table_rows_and_title() -> None:
    doc = make_doc(REMOTE, PLC, MODBUS, HMI)
    text = rendered(doc)
    assert "inventory: 4 assets from pcaps/plant.pcap, pcaps/remote.pcap" in text
    assert "generated 2024-05-02 08:00:00" in text
    lines = text.splitlines()
    # Ordered by IP numerically: .11 before .101 before .103, IPv4 192.168 last.
    order = [
        next(i for i, ln in enumerate(lines) if ip in ln)
        for ip in ("10.20.1.11 ", "10.20.1.101", "10.20.1.103", "192.168.50.7")
    ]
    assert order == sorted(order)
    plc = next(ln for ln in lines if "10.20.1.101" in ln)
    assert "00-1B-1B-12-01-01" in plc
    assert "Siemens AG" in plc
    assert "s7_plc" in plc
    assert "http/80, s7comm/102" in plc
    assert "2024-05-01 10:00:00" in plc and "2024-05-01 12:00:00" in plc
    assert "1,500 / 1,600" in plc


def test_table_identity_summary_and_change_mark() -> None:
    text = rendered(make_doc(PLC, MODBUS))
    plc = next(ln for ln in text.splitlines() if "10.20.1.101" in ln)
    # Cells wrap on narrow terminals: check the pieces, identity_summary() the whole.
    assert "6ES7 315-2EH14-0AB0" in plc
    assert "V3.2.16 (changed) · PLC_1" in text
    assert identity_summary(PLC) == "6ES7 315-2EH14-0AB0 · fw V3.2.16 (changed) · PLC_1"
    assert "V3.2.15" not in text  # only the newest value in the narrow table
    modbus = next(ln for ln in text.splitlines() if "10.20.1.103" in ln)
    # Device vendor differs from the MAC vendor, so it is shown.
    assert "Schneider Electric" in modbus
    assert identity_summary(MODBUS) == "Schneider Electric · BMX P34 2020 · rev v3.1"
    assert "00-80-F4-12-01-03 (+1)" in modbus


def test_table_asset_without_mac() -> None:
    text = rendered(make_doc(REMOTE))
    row = next(ln for ln in text.splitlines() if "192.168.50.7" in ln)
    assert "via 00-1E-7A-4C-10-01" in row
    assert "engineering_workstation, s7_client" in row
    assert "inventory: 1 asset from" in text


def test_table_wide_shows_provenance_and_history() -> None:
    text = rendered(make_doc(PLC, REMOTE, MODBUS), wide=True)
    lines = text.splitlines()
    assert "asset details (identity newest first)" in text
    newest = next(ln for ln in lines if "V3.2.16" in ln and "#5120" in ln)
    assert "firmware_version" in newest and "2024-05-01 11:00:00" in newest
    assert "newest" in newest
    earlier = next(ln for ln in lines if "V3.2.15" in ln)
    assert "#1907" in earlier and "2024-05-01 10:00:03" in earlier and "earlier" in earlier
    assert any("rack" in ln and " 0 " in ln for ln in lines)
    assert any("slot" in ln and " 2 " in ln for ln in lines)
    assert "00-80-F4-12-01-04" in text
    uses = next(ln for ln in lines if "dnp3/udp/20000" in ln)
    assert "uses" in uses and "s7comm/102" in uses
    assert any("via" in ln and "00-1E-7A-4C-10-01" in ln for ln in lines)
    assert any("vlans" in ln and " 10 " in ln for ln in lines)
    assert all(len(ln) <= 200 for ln in lines)


def test_table_empty_inventory() -> None:
    doc = make_doc()
    doc["sources"] = []
    text = rendered(doc)
    assert "inventory: 0 assets (no sources)" in text


def test_table_tolerates_sparse_assets() -> None:
    """Only the required keys: renders, no KeyError."""
    text = rendered(make_doc({"ip": "10.0.0.1", "macs": [], "roles": [], "services": []}))
    assert "10.0.0.1" in text


def test_markup_in_values_is_shown_literally() -> None:
    asset = copy.deepcopy(MODBUS)
    asset["identity"]["product_code"][0]["value"] = "[bold]X[/bold]"
    text = rendered(make_doc(asset))
    assert "[bold]X[/bold]" in text


def test_identity_helpers() -> None:
    assert identity_newest(PLC)["firmware_version"] == "V3.2.16"
    assert identity_newest(PLC)["rack"] == 0
    assert identity_newest(REMOTE) == {}
    assert identity_summary(REMOTE) == ""
    same = copy.deepcopy(MODBUS)
    same["vendor"] = "schneider electric"
    assert identity_summary(same) == "BMX P34 2020 · rev v3.1"
    dnp3 = {"ip": "10.20.2.5", "identity": {"dnp3_address": [{"value": 10}]}}
    assert identity_summary(dnp3) == "dnp3 addr 10"
    # The same value twice (seen in two captures) is not a change.
    twice = {"identity": {"module_name": [{"value": "PLC_1"}, {"value": "PLC_1"}]}}
    assert identity_summary(twice) == "PLC_1"


def test_service_text() -> None:
    assert service_text({"transport": "tcp", "port": 502, "protocol": "modbus"}) == "modbus/502"
    assert service_text({"transport": "udp", "port": 53, "protocol": "dns"}) == "dns/udp/53"
    svc = {"transport": "tcp", "port": 502, "protocol": "modbus"}
    assert service_text(svc, full=True) == "modbus/tcp/502"


def test_format_time() -> None:
    assert format_time("2024-05-01T10:00:03.123456Z") == "2024-05-01 10:00:03"
    assert format_time("2024-05-01T12:00:03+02:00") == "2024-05-01 10:00:03"
    assert format_time("yesterday") == "yesterday"
    assert format_time(None) == ""


# --- CSV ---------------------------------------------------------------------------------


def test_csv_round_trip() -> None:
    out = io.StringIO()
    to_csv(make_doc(REMOTE, PLC, MODBUS, HMI), out)
    text = out.getvalue()
    assert "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["ip"] for r in rows] == ["10.20.1.11", "10.20.1.101", "10.20.1.103", "192.168.50.7"]
    header = next(csv.reader(io.StringIO(text)))
    assert header == [
        "ip",
        "macs",
        "via",
        "vendor",
        "vlans",
        "roles",
        "services",
        "uses",
        "firmware_version",
        "module_name",
        "order_number",
        "product_code",
        "rack",
        "revision",
        "slot",
        "vendor_name",
        "identity_changed",
        "first_seen",
        "last_seen",
        "packets_sent",
        "packets_received",
        "bytes_sent",
        "bytes_received",
    ]
    hmi, plc, modbus, remote = rows
    assert plc["macs"] == "00-1B-1B-12-01-01"
    assert plc["services"] == "http/tcp/80;s7comm/tcp/102"
    assert plc["firmware_version"] == "V3.2.16"
    assert plc["identity_changed"] == "firmware_version"
    assert plc["rack"] == "0"
    assert plc["vlans"] == "10"
    assert plc["packets_sent"] == "1500"
    assert plc["bytes_received"] == "96000"
    assert plc["first_seen"] == "2024-05-01T10:00:00Z"
    assert modbus["macs"] == "00-80-F4-12-01-03 00-80-F4-12-01-04"
    assert modbus["vendor_name"] == "Schneider Electric"
    assert modbus["firmware_version"] == ""
    assert remote["macs"] == ""
    assert remote["via"] == "00-1E-7A-4C-10-01"
    assert remote["vendor"] == ""
    assert remote["roles"] == "engineering_workstation;s7_client"
    assert remote["uses"] == "s7comm/tcp/102;dnp3/udp/20000"
    assert hmi["roles"] == "hmi_scada;modbus_client"
    assert hmi["packets_sent"] == "0"  # absent counters read as 0


def test_csv_empty_inventory_has_header_only() -> None:
    out = io.StringIO()
    to_csv(make_doc(), out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ip,macs,via,vendor")


def test_csv_identity_name_clash() -> None:
    asset = copy.deepcopy(HMI)
    asset["identity"] = {"vendor": [{"value": "ACME"}]}
    out = io.StringIO()
    to_csv(make_doc(asset), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["vendor"] == "Raspberry Pi Trading Ltd"
    assert row["identity_vendor"] == "ACME"


def test_csv_is_deterministic() -> None:
    a, b = io.StringIO(), io.StringIO()
    to_csv(make_doc(PLC, MODBUS, REMOTE), a)
    to_csv(make_doc(REMOTE, MODBUS, PLC), b)
    assert a.getvalue() == b.getvalue()


# --- JSON --------------------------------------------------------------------------------


def test_json_pretty_sorted_newline() -> None:
    doc = make_doc(MODBUS, PLC)
    out = io.StringIO()
    to_json(doc, out)
    text = out.getvalue()
    assert text.endswith("}\n")
    assert text.startswith('{\n  "assets": [')
    back = json.loads(text)
    assert [a["ip"] for a in back["assets"]] == ["10.20.1.101", "10.20.1.103"]
    assert back["assets"][0] == PLC
    assert doc["assets"][0]["ip"] == "10.20.1.103"  # the input is left alone
    assert validate(back) == []


# --- validation --------------------------------------------------------------------------


def test_validate_good_documents() -> None:
    assert validate(make_doc(PLC, MODBUS, REMOTE, HMI)) == []
    assert validate(make_doc()) == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not an otsec inventory: expected a JSON object, got list"),
        ({"assets": []}, "not an otsec inventory: no 'otsec_inventory' version key"),
        ({"otsec_inventory": 2}, "unsupported inventory version 2 (this otsec reads 1)"),
        ({"otsec_inventory": "1"}, "unsupported inventory version '1' (this otsec reads 1)"),
        ({"otsec_inventory": True}, "unsupported inventory version True (this otsec reads 1)"),
        ({"otsec_inventory": 1}, "inventory: missing generated, sources, assets"),
    ],
)
def test_validate_top_level(doc: Any, message: str) -> None:
    assert validate(doc) == [message]


def test_validate_wrong_types() -> None:
    doc = make_doc(PLC)
    doc["generated"] = 17
    doc["sources"] = "pcaps/plant.pcap"
    assert validate(doc) == [
        "generated: expected an ISO-8601 timestamp, got 17",
        "sources: expected a list of strings, got str",
    ]
    doc = make_doc()
    doc["assets"] = {"10.0.0.1": {}}
    assert validate(doc) == ["assets: expected a list, got dict"]


def test_validate_asset_problems() -> None:
    bad = copy.deepcopy(PLC)
    bad["macs"] = "00-1B-1B-12-01-01"
    bad["vendor"] = 3
    bad["vlans"] = ["10"]
    bad["services"][0]["port"] = 70000
    bad["identity"]["rack"] = {"value": 0}
    bad["identity"]["slot"][0] = {"value": [2]}
    bad["packets_sent"] = -1
    bad["last_seen"] = "noon"
    del bad["roles"]
    doc = make_doc(bad, {"ip": "not-an-ip", "macs": [], "roles": [], "services": []})
    doc["assets"].insert(1, "x")
    problems = validate(doc)
    w = "assets[0] (10.20.1.101)"
    assert problems == [
        f"{w}: missing roles",
        f"{w}.macs: expected a list of strings, got str",
        f"{w}.vendor: expected a string or null",
        f"{w}.vlans: expected a list of integers",
        f"{w}.services[0].port: expected a port number 0-65535, got 70000",
        f"{w}.identity.rack: expected a list of values, got dict",
        f"{w}.identity.slot[0].value: expected a scalar, got list",
        f"{w}.last_seen: expected an ISO-8601 timestamp, got 'noon'",
        f"{w}.packets_sent: expected a non-negative integer",
        "assets[1]: expected an object, got str",
        "assets[2] (not-an-ip).ip: not an IP address: 'not-an-ip'",
    ]
    assert all("\n" not in p for p in problems)


def test_validate_duplicate_ip() -> None:
    assert validate(make_doc(PLC, PLC)) == ["assets[1]: duplicate ip 10.20.1.101"]


def test_validate_asset_alone() -> None:
    assert validate_asset(PLC) == []
    assert validate_asset(None, "x") == ["x: expected an object, got null"]


def test_render_survives_any_validated_document() -> None:
    """Whatever validate() accepts renders in all three forms."""
    for doc in (make_doc(), make_doc(PLC, MODBUS, REMOTE, HMI)):
        assert validate(doc) == []
        rendered(doc)
        rendered(doc, wide=True)
        to_csv(doc, io.StringIO())
        to_json(doc, io.StringIO())
