"""Comparing two baselines: ranges arithmetic, what counts as a difference, the text and
JSON forms."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from otsec.baseline.diff import (
    BaselineDiff,
    diff,
    diff_json,
    merge_ranges,
    render_diff,
    subtract_ranges,
)
from otsec.baseline.render import validate


def _ident(value: Any, seen: str = "2024-05-01T10:00:03Z") -> dict[str, Any]:
    return {
        "value": value,
        "protocol": "s7comm",
        "source": "pcaps/a.pcap",
        "packet": 7,
        "seen": seen,
    }


def asset(ip: str, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ip": ip,
        "macs": [],
        "via": [],
        "vendor": None,
        "vlans": [],
        "roles": [],
        "services": [],
        "uses": [],
        "identity": {},
        "first_seen": "2024-05-01T10:00:00Z",
        "last_seen": "2024-05-01T12:00:00Z",
        "packets_sent": 10,
        "packets_received": 10,
        "bytes_sent": 1000,
        "bytes_received": 1000,
    }
    doc.update(fields)
    return doc


def edge(client: str, server: str, port: int = 502, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "client": client,
        "server": server,
        "transport": "tcp",
        "port": port,
        "protocol": "modbus",
        "first_seen": "2024-05-01T10:00:00Z",
        "last_seen": "2024-05-01T12:00:00Z",
        "connections": 1,
        "packets": 600,
        "bytes": 40000,
        "transactions": 300,
        "operations": {"read": 300},
        "functions": {"3": {"name": "read_holding_registers", "count": 300}},
        "reads": {"unit1/holding_register": [[0, 9]]},
        "writes": {},
        "interval": {"median": 1.0, "samples": 299},
    }
    doc.update(fields)
    return doc


def baseline(assets: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "otsec_baseline": 1,
        "created": "2024-05-02T08:00:00Z",
        "learned": {
            "first_seen": "2024-05-01T10:00:00Z",
            "last_seen": "2024-05-01T12:00:00Z",
            "packets": 12345,
        },
        "sources": [
            {
                "path": "pcaps/a.pcap",
                "packets": 12345,
                "first": "2024-05-01T10:00:00Z",
                "last": "2024-05-01T12:00:00Z",
            }
        ],
        "assets": assets,
        "edges": edges,
    }


HMI = asset(
    "10.20.1.11",
    macs=["D8-3A-DD-00-00-11"],
    vendor="Raspberry Pi Trading Ltd",
    roles=["hmi_scada", "modbus_client"],
)
PLC = asset(
    "10.20.1.101",
    macs=["00-1B-1B-12-01-01"],
    vendor="Siemens AG",
    roles=["modbus_server", "s7_plc"],
    services=[
        {"transport": "tcp", "port": 102, "protocol": "s7comm"},
        {"transport": "tcp", "port": 502, "protocol": "modbus"},
    ],
    identity={"firmware_version": [_ident("V3.2.15")], "module_name": [_ident("PLC_1")]},
)
RTU = asset(
    "10.20.1.103",
    macs=["00-80-F4-12-01-03"],
    vendor="TELEMECANIQUE ELECTRIQUE",
    roles=["modbus_server"],
    services=[{"transport": "tcp", "port": 502, "protocol": "modbus"}],
)

POLL = edge("10.20.1.11", "10.20.1.101")
SETPOINT = edge(
    "10.20.1.11",
    "10.20.1.103",
    operations={"read": 100, "write": 3},
    functions={
        "3": {"name": "read_holding_registers", "count": 100},
        "6": {"name": "write_single_register", "count": 3},
    },
    writes={"unit1/holding_register": [[8, 9], [12, 12]]},
)

A = baseline([HMI, PLC, RTU], [POLL, SETPOINT])


def text_of(d: BaselineDiff) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    render_diff(d, console, "a.json", "b.json")
    return console.export_text()


# --- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "a", "rest"),
    [
        ([], [], []),
        ([], [[0, 10]], []),
        ([[0, 10]], [], [[0, 10]]),
        ([[5, 5]], [[5, 5]], []),
        ([[5, 5]], [[6, 6]], [[5, 5]]),
        # nested: a inside b leaves both ends; b inside a leaves nothing
        ([[0, 100]], [[10, 20]], [[0, 9], [21, 100]]),
        ([[10, 20]], [[0, 100]], []),
        # touching edges
        ([[0, 9]], [[10, 19]], [[0, 9]]),
        ([[10, 19]], [[0, 9]], [[10, 19]]),
        ([[0, 10]], [[10, 19]], [[0, 9]]),
        ([[0, 10]], [[0, 0]], [[1, 10]]),
        ([[0, 10]], [[10, 10]], [[0, 9]]),
        ([[0, 10]], [[0, 10]], []),
        # several holes, several b ranges, a ranges spanning b gaps
        ([[0, 100]], [[10, 20], [50, 50], [90, 200]], [[0, 9], [21, 49], [51, 89]]),
        ([[0, 9], [20, 29], [40, 49]], [[5, 24], [45, 45]], [[0, 4], [25, 29], [40, 44], [46, 49]]),
        # unsorted, overlapping and adjacent inputs are normalised first
        ([[20, 29], [0, 9], [10, 12], [5, 15]], [], [[0, 15], [20, 29]]),
        ([[0, 9]], [[6, 7], [2, 3], [3, 4]], [[0, 1], [5, 5], [8, 9]]),
        # tuples work as well as lists
        ([(0, 3)], [(1, 1)], [[0, 0], [2, 3]]),
        # malformed ranges are ignored
        ([[5, 1], [0, 2]], [[1, "x"]], [[0, 2]]),
        # large addresses (S7 DB byte offsets, 32-bit registers)
        ([[0, 2**32]], [[1, 2**32 - 1]], [[0, 0], [2**32, 2**32]]),
    ],
)
def test_subtract_ranges(b: list[Any], a: list[Any], rest: list[list[int]]) -> None:
    assert subtract_ranges(b, a) == rest


def test_merge_ranges() -> None:
    assert merge_ranges([]) == []
    assert merge_ranges([[3, 4], [0, 1], [2, 2]]) == [[0, 4]]
    assert merge_ranges([[0, 1], [3, 4]]) == [[0, 1], [3, 4]]
    assert merge_ranges([[0, 10], [2, 3]]) == [[0, 10]]
    assert merge_ranges([[1, 0], [True, 2], [1, 2, 3], "ab"]) == []  # type: ignore[list-item]


_RANGE = st.tuples(st.integers(0, 60), st.integers(0, 8)).map(lambda t: [t[0], t[0] + t[1]])


def _points(ranges: list[list[int]]) -> set[int]:
    return {x for lo, hi in ranges for x in range(lo, hi + 1)}


@given(st.lists(_RANGE, max_size=6), st.lists(_RANGE, max_size=6))
def test_subtract_ranges_is_set_difference(b: list[list[int]], a: list[list[int]]) -> None:
    rest = subtract_ranges(b, a)
    assert _points(rest) == _points(b) - _points(a)
    assert rest == merge_ranges(rest)  # sorted, merged, nothing touching


# --- what is (and is not) a difference ---------------------------------------------------


def test_identical_baselines() -> None:
    d = diff(A, copy.deepcopy(A))
    assert d.empty
    assert "no differences" in text_of(d)
    assert diff_json(d)["empty"] is True


def test_counts_and_times_are_not_differences() -> None:
    b = copy.deepcopy(A)
    b["created"] = "2024-06-01T00:00:00Z"
    b["learned"]["packets"] = 99
    for x in b["assets"]:
        x["packets_sent"] += 1000
        x["bytes_received"] = 5
        x["first_seen"] = x["last_seen"] = "2024-06-01T00:00:00Z"
    for e in b["edges"]:
        e["connections"] += 3
        e["packets"] = e["bytes"] = e["transactions"] = 1
        e["first_seen"] = "2024-06-01T00:00:00Z"
        e["operations"] = {k: v * 7 for k, v in e["operations"].items()}
        for f in e["functions"].values():
            f["count"] += 1
        e["interval"]["samples"] = 3
        e["interval"]["median"] *= 1.4  # within 50%
    # list order carries no meaning either, nor the spelling of a MAC address
    b["assets"][0]["macs"] = ["d8:3a:dd:00:00:11"]
    b["assets"].reverse()
    b["assets"][0]["roles"].reverse()
    assert diff(A, b).empty


def test_assets_added_removed() -> None:
    newcomer = asset("10.20.1.200", macs=["02-00-00-00-00-01"], roles=["modbus_client"])
    b = baseline([PLC, HMI, newcomer], [POLL, SETPOINT])
    d = diff(A, b)
    assert [x["ip"] for x in d.assets_added] == ["10.20.1.200"]
    assert [x["ip"] for x in d.assets_removed] == ["10.20.1.103"]
    assert not d.assets_changed
    text = text_of(d)
    assert "+ asset 10.20.1.200 (02-00-00-00-00-01; roles modbus_client)" in text
    assert (
        "- asset 10.20.1.103 (00-80-F4-12-01-03; TELEMECANIQUE ELECTRIQUE; roles "
        "modbus_server; serves modbus/502)" in text
    )


def test_asset_changes() -> None:
    plc = copy.deepcopy(PLC)
    plc["macs"] = ["00-1B-1B-12-01-02"]
    plc["roles"] = ["s7_plc"]
    plc["services"].append({"transport": "tcp", "port": 80, "protocol": "http"})
    plc["uses"] = [{"transport": "udp", "port": 53, "protocol": "dns"}]
    plc["identity"]["firmware_version"].insert(0, _ident("V3.2.16", "2024-05-03T00:00:00Z"))
    plc["identity"]["serial_number"] = [_ident("S C-X4U421302009")]
    del plc["identity"]["module_name"]
    hmi = copy.deepcopy(HMI)
    hmi["vendor"] = None
    d = diff(A, baseline([hmi, plc, RTU], [POLL, SETPOINT]))
    assert [c.ip for c in d.assets_changed] == ["10.20.1.11", "10.20.1.101"]
    hmi_change, plc_change = d.assets_changed
    assert [(f.name, f.old, f.new) for f in hmi_change.fields] == [
        ("vendor", "Raspberry Pi Trading Ltd", None)
    ]
    fields = {f.name: f for f in plc_change.fields}
    assert list(fields) == [
        "macs",
        "roles",
        "services",
        "uses",
        "identity.firmware_version",
        "identity.module_name",
        "identity.serial_number",
    ]
    assert fields["macs"].added == ["00-1B-1B-12-01-02"]
    assert fields["macs"].removed == ["00-1B-1B-12-01-01"]
    assert fields["roles"].removed == ["modbus_server"] and fields["roles"].added == []
    assert fields["services"].added == [{"transport": "tcp", "port": 80, "protocol": "http"}]
    assert fields["identity.firmware_version"].old == "V3.2.15"
    assert fields["identity.firmware_version"].new == "V3.2.16"
    assert fields["identity.module_name"].new is None
    assert fields["identity.serial_number"].old is None

    text = text_of(d)
    for line in (
        "~ asset 10.20.1.11: vendor Raspberry Pi Trading Ltd -> (none)",
        "~ asset 10.20.1.101: macs + 00-1B-1B-12-01-02, - 00-1B-1B-12-01-01",
        "~ asset 10.20.1.101: roles - modbus_server",
        "~ asset 10.20.1.101: services + http/80",
        "~ asset 10.20.1.101: uses + dns/udp/53",
        "~ asset 10.20.1.101: firmware_version V3.2.15 -> V3.2.16",
        "~ asset 10.20.1.101: module_name PLC_1 -> (not observed)",
        "~ asset 10.20.1.101: serial_number (not observed) -> S C-X4U421302009",
    ):
        assert line in text, line


def test_identity_history_only_newest_counts() -> None:
    """An older value appearing in the history is not a difference; the newest is."""
    plc = copy.deepcopy(PLC)
    plc["identity"]["firmware_version"].append(_ident("V3.2.10", "2024-04-01T00:00:00Z"))
    assert diff(A, baseline([HMI, plc, RTU], [POLL, SETPOINT])).empty


def test_edges_added_removed() -> None:
    new = edge(
        "10.20.1.11",
        "10.20.1.103",
        port=502,
        functions={
            "4": {"name": "read_input_registers", "count": 5},
            "3": {"name": "read_holding_registers", "count": 5},
        },
    )
    ssh = edge(
        "10.20.1.11",
        "10.20.1.101",
        port=22,
        protocol="ssh",
        operations={},
        functions={},
        reads={},
        interval=None,
    )
    b = baseline([HMI, PLC, RTU], [POLL, ssh, new])
    d = diff(A, b)
    assert [(e["server"], e["port"]) for e in d.edges_added] == [("10.20.1.101", 22)]
    assert d.edges_removed == []
    assert len(d.edges_changed) == 1  # the 10.20.1.103 edge lost writes, gained fc 4
    text = text_of(d)
    assert "+ edge 10.20.1.11 -> 10.20.1.101 ssh tcp/22" in text
    d2 = diff(baseline([], []), b)
    assert "+ edge 10.20.1.11 -> 10.20.1.103 modbus tcp/502 (functions 3, 4)" in text_of(d2)
    d3 = diff(b, baseline([], []))
    assert [x["ip"] for x in d3.assets_removed] == ["10.20.1.11", "10.20.1.101", "10.20.1.103"]
    assert "- edge 10.20.1.11 -> 10.20.1.101 modbus tcp/502 (functions 3)" in text_of(d3)


def test_edge_key_includes_port_and_transport() -> None:
    b = copy.deepcopy(A)
    b["edges"][0]["transport"] = "udp"
    d = diff(A, b)
    assert len(d.edges_added) == 1 and len(d.edges_removed) == 1
    assert not d.edges_changed


def test_edge_changes() -> None:
    setpoint = copy.deepcopy(SETPOINT)
    setpoint["operations"] = {"read": 100, "write": 4, "diagnostic": 1}
    setpoint["functions"] = {
        "3": {"name": "read_holding_registers", "count": 100},
        "6": {"name": "write_single_register", "count": 3},
        "16": {"name": "write_multiple_registers", "count": 1},
        "8": {"name": "diagnostics", "count": 1},
    }
    setpoint["writes"] = {"unit1/holding_register": [[8, 12], [40, 40]], "unit1/coil": [[0, 0]]}
    setpoint["reads"] = {"unit1/input_register": [[0, 3]]}
    setpoint["interval"] = {"median": 5.0, "samples": 20}
    poll = copy.deepcopy(POLL)
    poll["protocol"] = "tcp"
    poll["operations"] = {}
    poll["functions"] = {}
    poll["interval"] = {"median": 0.4, "samples": 100}
    d = diff(A, baseline([HMI, PLC, RTU], [setpoint, poll]))
    assert [c.key for c in d.edges_changed] == [
        ("10.20.1.11", "10.20.1.101", "tcp", 502),
        ("10.20.1.11", "10.20.1.103", "tcp", 502),
    ]
    p, s = d.edges_changed
    assert p.protocol == ("modbus", "tcp")
    assert p.operations_removed == ["read"]
    assert p.functions_removed == {"3": "read_holding_registers"}
    assert p.interval == (1.0, 0.4)
    assert p.label == "10.20.1.11 -> 10.20.1.101 tcp tcp/502"
    assert s.operations_added == ["diagnostic"] and s.operations_removed == []
    assert s.functions_added == {"8": "diagnostics", "16": "write_multiple_registers"}
    assert list(s.functions_added) == ["8", "16"]  # numeric order
    assert s.writes_added == {
        "unit1/coil": [[0, 0]],
        "unit1/holding_register": [[10, 11], [40, 40]],
    }
    assert s.writes_removed == {}
    assert s.reads_added == ["unit1/input_register"]
    assert s.reads_removed == ["unit1/holding_register"]
    assert s.interval == (1.0, 5.0)

    text = text_of(d)
    label = "~ edge 10.20.1.11 -> 10.20.1.103 modbus tcp/502:"
    for line in (
        f"{label} + operation diagnostic",
        f"{label} + function 8 diagnostics",
        f"{label} + function 16 write_multiple_registers",
        f"{label} + write unit1/coil 0",
        f"{label} + write unit1/holding_register 10-11,40",
        f"{label} + read unit1/input_register",
        f"{label} - read unit1/holding_register",
        f"{label} interval 1 s -> 5 s",
        "~ edge 10.20.1.11 -> 10.20.1.101 tcp tcp/502: protocol modbus -> tcp",
        "~ edge 10.20.1.11 -> 10.20.1.101 tcp tcp/502: - operation read",
        "~ edge 10.20.1.11 -> 10.20.1.101 tcp tcp/502: - function 3 read_holding_registers",
        "assets: 0 added, 0 removed, 0 changed; edges: 0 added, 0 removed, 2 changed",
    ):
        assert line in text, line


def test_single_write_added() -> None:
    """The example from the brief: one new register written."""
    setpoint = copy.deepcopy(SETPOINT)
    setpoint["writes"] = {"unit1/holding_register": [[8, 9], [12, 12], [40, 40]]}
    text = text_of(diff(A, baseline([HMI, PLC, RTU], [POLL, setpoint])))
    assert (
        "~ edge 10.20.1.11 -> 10.20.1.103 modbus tcp/502: + write unit1/holding_register 40" in text
    )


def test_writes_removed() -> None:
    setpoint = copy.deepcopy(SETPOINT)
    setpoint["writes"] = {"unit1/holding_register": [[9, 9]]}
    d = diff(A, baseline([HMI, PLC, RTU], [POLL, setpoint]))
    assert d.edges_changed[0].writes_removed == {"unit1/holding_register": [[8, 8], [12, 12]]}
    assert d.edges_changed[0].writes_added == {}
    setpoint["writes"] = {}
    d = diff(A, baseline([HMI, PLC, RTU], [POLL, setpoint]))
    assert d.edges_changed[0].writes_removed == {"unit1/holding_register": [[8, 9], [12, 12]]}
    assert "- write unit1/holding_register 8-9,12" in text_of(d)


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        (1.0, 1.5, False),  # exactly 50%: not more than
        (1.0, 1.51, True),
        (1.0, 0.5, False),
        (1.0, 0.49, True),
        (10.0, 4.0, True),
        (0.0, 0.0, False),
        (0.0, 0.1, True),
        (None, 1.0, False),  # only compared when both have a regular interval
        (1.0, None, False),
    ],
)
def test_interval_threshold(old: float | None, new: float | None, changed: bool) -> None:
    a, b = copy.deepcopy(POLL), copy.deepcopy(POLL)
    a["interval"] = None if old is None else {"median": old, "samples": 10}
    b["interval"] = None if new is None else {"median": new, "samples": 10}
    d = diff(baseline([], [a]), baseline([], [b]))
    assert (not d.empty) is changed
    if changed:
        assert d.edges_changed[0].interval == (old, new)


def test_tolerates_sparse_documents() -> None:
    """Missing optional keys are read as empty, never a KeyError."""
    bare_edge = {
        "client": "10.0.0.1",
        "server": "10.0.0.2",
        "transport": "tcp",
        "port": 502,
        "protocol": "modbus",
    }
    a = {"otsec_baseline": 1, "assets": [{"ip": "10.0.0.1"}], "edges": [bare_edge]}
    b = copy.deepcopy(A)
    d = diff(a, b)
    assert len(d.assets_added) == 3 and len(d.assets_removed) == 1
    text_of(d)
    assert diff({}, {}).empty
    full = copy.deepcopy(bare_edge) | {"writes": {"x": [[1, 2]]}, "functions": {"5": {}}}
    d = diff(baseline([], [bare_edge]), baseline([], [full]))
    assert d.edges_changed[0].writes_added == {"x": [[1, 2]]}
    assert d.edges_changed[0].functions_added == {"5": ""}
    assert "+ function 5" in text_of(d)


def test_markup_in_names_is_literal() -> None:
    b = copy.deepcopy(A)
    b["assets"][0]["roles"] = ["[red]x[/red]"]
    assert "[red]x[/red]" in text_of(diff(A, b))


def test_render_colours() -> None:
    setpoint = copy.deepcopy(SETPOINT)
    setpoint["writes"] = {"unit1/holding_register": [[40, 40]]}
    plc = copy.deepcopy(PLC)
    plc["vendor"] = "Siemens"
    d = diff(A, baseline([HMI, plc], [POLL, setpoint]))
    console = Console(
        record=True, width=200, file=io.StringIO(), force_terminal=True, color_system="standard"
    )
    render_diff(d, console, "a.json", "b.json")
    html = console.export_html(inline_styles=True)
    styles = {"red": "color: #800000", "green": "color: #008000", "yellow": "color: #808000"}
    for line, colour in (
        ("- asset 10.20.1.103", "red"),
        ("~ asset 10.20.1.101: vendor Siemens AG -&gt; Siemens", "yellow"),
        ("~ edge 10.20.1.11 -&gt; 10.20.1.103 modbus tcp/502: + write", "green"),
        ("~ edge 10.20.1.11 -&gt; 10.20.1.103 modbus tcp/502: - write", "red"),
    ):
        span = next(part for part in html.split("<span") if line in part)
        assert styles[colour] in span, (line, span)


# --- JSON form ---------------------------------------------------------------------------


def test_diff_json() -> None:
    setpoint = copy.deepcopy(SETPOINT)
    setpoint["writes"] = {"unit1/holding_register": [[8, 9], [12, 12], [40, 40]]}
    plc = copy.deepcopy(PLC)
    plc["roles"] = ["s7_plc"]
    d = diff(A, baseline([HMI, plc], [POLL, setpoint]))
    out = diff_json(d)
    json.dumps(out)  # JSON-ready
    assert out["otsec_baseline_diff"] == 1
    assert out["empty"] is False
    assert [x["ip"] for x in out["assets"]["removed"]] == ["10.20.1.103"]
    assert out["assets"]["changed"] == [
        {
            "ip": "10.20.1.101",
            "changes": {
                "roles": {
                    "old": ["modbus_server", "s7_plc"],
                    "new": ["s7_plc"],
                    "added": [],
                    "removed": ["modbus_server"],
                }
            },
        },
    ]
    (change,) = out["edges"]["changed"]
    assert change == {
        "client": "10.20.1.11",
        "server": "10.20.1.103",
        "transport": "tcp",
        "port": 502,
        "label": "10.20.1.11 -> 10.20.1.103 modbus tcp/502",
        "protocol": None,
        "operations": {"added": [], "removed": []},
        "functions": {"added": {}, "removed": {}},
        "writes": {"added": {"unit1/holding_register": [[40, 40]]}, "removed": {}},
        "reads": {"added": [], "removed": []},
        "interval": None,
    }


def test_sample_documents_are_valid() -> None:
    assert validate(A) == []
