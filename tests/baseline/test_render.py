"""``otsec baseline show``: the summary, the compact text forms, validation."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
from rich.console import Console

from otsec.baseline.render import (
    edge_label,
    functions_text,
    interval_text,
    ranges_text,
    render_summary,
    validate,
    validate_edge,
    writes_text,
)
from tests.baseline.test_diff import HMI, PLC, POLL, RTU, SETPOINT, asset, baseline, edge

DOC = baseline([RTU, PLC, HMI, asset("10.20.1.250")], [SETPOINT, POLL])


def rendered(doc: dict[str, Any]) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    render_summary(doc, console)
    return console.export_text()


# --- compact forms -----------------------------------------------------------------------


def test_edge_label() -> None:
    assert edge_label(POLL) == "10.20.1.11 -> 10.20.1.101 modbus tcp/502"
    dns = {
        "client": "10.20.1.11",
        "server": "10.20.1.1",
        "transport": "udp",
        "port": 53,
        "protocol": "dns",
    }
    assert edge_label(dns) == "10.20.1.11 -> 10.20.1.1 dns udp/53"
    no_proto = {"client": "a", "server": "b", "transport": "tcp", "port": 1, "protocol": ""}
    assert edge_label(no_proto) == "a -> b tcp tcp/1"


@pytest.mark.parametrize(
    ("ranges", "text"),
    [
        ([[8, 9], [12, 12]], "8-9,12"),
        ([[12, 12], [8, 9]], "8-9,12"),
        ([[0, 0]], "0"),
        ([], ""),
        ([[0, 65535]], "0-65535"),
        ([(1, 2)], "1-2"),
        ([[1, "x"], [3, 3]], "3"),
        (None, ""),
    ],
)
def test_ranges_text(ranges: Any, text: str) -> None:
    assert ranges_text(ranges) == text


def test_functions_writes_interval_text() -> None:
    assert (
        functions_text(SETPOINT["functions"]) == "3:read_holding_registers, 6:write_single_register"
    )
    funcs = {"16": {"name": "w", "count": 1}, "4": {"name": "r", "count": 1}, "x": {}}
    assert functions_text(funcs) == "4:r, 16:w, x"
    assert functions_text(None) == ""
    writes = {"unit2/coil": [[0, 3]], "unit1/holding_register": [[8, 9], [12, 12]]}
    assert writes_text(writes) == "unit1/holding_register 8-9,12\nunit2/coil 0-3"
    assert interval_text({"median": 1.0, "samples": 3}) == "1.00 s"
    assert interval_text({"median": 0.25, "samples": 3}) == "250 ms"
    assert interval_text(None) == ""
    assert interval_text({"median": None}) == ""


# --- the summary -------------------------------------------------------------------------


def test_summary_header() -> None:
    text = rendered(DOC)
    assert "otsec baseline" in text
    assert "version" in text and " 1 " in text
    assert "│ created │ 2024-05-02 08:00:00" in text
    assert "│ learned │ 2024-05-01 10:00:00 .. 2024-05-01 12:00:00 (2.0 h), 12,345 packets" in text
    assert "pcaps/a.pcap: 12,345 packets (2024-05-01 10:00:00 .. 2024-05-01 12:00:00)" in text


def test_summary_roles() -> None:
    lines = rendered(DOC).splitlines()
    start = next(i for i, ln in enumerate(lines) if "assets by role" in ln)
    rows = [ln.split("│") for ln in lines[start:] if ln.startswith("│")]
    counts = [(r[1].strip(), r[2].strip()) for r in rows[:5]]
    assert counts == [
        ("modbus_server", "2"),
        ("(no role)", "1"),
        ("hmi_scada", "1"),
        ("modbus_client", "1"),
        ("s7_plc", "1"),
    ]


def test_summary_edges() -> None:
    text = rendered(DOC)
    assert "edges (2)" in text
    blocks = text.split("edges (2)")[1].split("\n10.20.1.")
    poll = next(b for b in blocks if "11 -> 10.20.1.101" in b)
    setpoint = next(b for b in blocks if "11 -> 10.20.1.103" in b)
    assert blocks.index(poll) < blocks.index(setpoint)  # sorted by server IP
    assert "modbus tcp/502" in poll and "every 1.00 s" in poll
    assert "read 300" in poll and "300 txn" in poll
    assert "3:read_holding_registers" in poll
    assert "read 100, write 3" in setpoint
    assert "unit1/holding_register 8-9,12" in setpoint
    assert "6:write_single_register" in text


def test_summary_empty_and_sparse() -> None:
    text = rendered(baseline([], []))
    assert "edges (0)" in text
    bare = {
        "otsec_baseline": 1,
        "edges": [{"client": "a", "server": "b", "transport": "tcp", "port": 1, "protocol": "tcp"}],
    }
    assert "a -> b" in rendered(bare)


# --- validation --------------------------------------------------------------------------


def test_validate_good() -> None:
    assert validate(DOC) == []
    assert validate(baseline([], [])) == []
    extra = copy.deepcopy(DOC) | {"violations": []}  # unknown keys are allowed
    assert validate(extra) == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{}", "not an otsec baseline: expected a JSON object, got str"),
        ({"otsec_inventory": 1}, "not an otsec baseline: no 'otsec_baseline' version key"),
        ({"otsec_baseline": 2}, "unsupported baseline version 2 (this otsec reads 1)"),
        ({"otsec_baseline": 1}, "baseline: missing created, learned, sources, assets, edges"),
    ],
)
def test_validate_top_level(doc: Any, message: str) -> None:
    assert validate(doc) == [message]


def test_validate_problems() -> None:
    doc = copy.deepcopy(DOC)
    doc["created"] = "today"
    doc["learned"]["packets"] = "many"
    doc["sources"][0]["packets"] = 1.5
    doc["assets"][0]["macs"] = None
    e = doc["edges"][0]
    e["port"] = "502"
    e["writes"] = {"unit1/coil": [[3, 1]]}
    e["reads"] = []
    e["functions"] = {"3": 3}
    e["interval"] = {"median": "1s"}
    e["transactions"] = -1
    del e["protocol"]
    doc["edges"].append(copy.deepcopy(POLL))
    doc["edges"].append(42)
    assert validate(doc) == [
        "created: expected an ISO-8601 timestamp",
        "learned.packets: expected an integer",
        "sources[0].packets: expected an integer",
        "assets[0] (10.20.1.103).macs: expected a list of strings, got null",
        "edges[0]: missing protocol",
        "edges[0].port: expected a port number 0-65535, got '502'",
        "edges[0].transactions: expected a non-negative integer",
        "edges[0].functions: expected an object of {name, count} objects",
        "edges[0].reads: expected an object of address spaces, got list",
        "edges[0].writes.unit1/coil: expected a list of [first, last] integer ranges",
        "edges[0].interval: expected null or an object with a numeric median",
        "edges[2]: duplicate edge 10.20.1.11 -> 10.20.1.101 modbus tcp/502",
        "edges[3]: expected an object, got int",
    ]


def test_validate_duplicate_asset() -> None:
    doc = baseline([PLC, copy.deepcopy(PLC)], [])
    assert validate(doc) == ["assets[1]: duplicate asset 10.20.1.101"]


def test_validate_edge_alone() -> None:
    assert validate_edge(SETPOINT) == []
    assert validate_edge(edge("10.0.0.1", "10.0.0.2", port=70000)) == [
        "edge.port: expected a port number 0-65535, got 70000"
    ]


def test_render_survives_validated_documents() -> None:
    for doc in (DOC, baseline([], [])):
        assert validate(doc) == []
        rendered(doc)
