"""The end-of-run summary: one dict for ``--json`` and scripts, one rich table for people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from dissectors.dnp3 import LINK_PRIMARY_FUNCTIONS, LINK_SECONDARY_FUNCTIONS
from dissectors.dnp3 import function_name as dnp3_function_name
from dissectors.modbus import function_name as modbus_function_name
from dissectors.modbus.consts import exception_name as modbus_exception_name
from otsec.capture import linktypes
from otsec.flows.session import ProtocolStats
from otsec.pipeline import Pipeline

SCHEMA_VERSION = 1


def _link_function(key: int) -> str:
    """A DNP3 link frame's PRM bit and function (``control & 0x4F``) as a name."""
    primary = bool(key & 0x40)
    table = LINK_PRIMARY_FUNCTIONS if primary else LINK_SECONDARY_FUNCTIONS
    name = table.get(key & 0x0F)
    return name if name else f"unknown-{'primary' if primary else 'secondary'}-{key & 0x0F}"


#: How histogram keys are printed (as tshark prints them); decimal by default.
_KEY_FORMATS: dict[str, Callable[[Any], str]] = {
    "functions": lambda k: f"0x{k:02x}",
    "szl_ids": lambda k: f"0x{k:04x}",
    "versions": lambda k: f"0x{k:02x}",
    "userdata": lambda k: f"{k[0]}/{k[1]}",
    "objects": lambda k: f"g{k[0]}v{k[1]}",
    "link_functions": _link_function,
}


#: Totals some protocols report beside ``pdus``: name -> the histogram they sum.
_TOTALS: dict[str, dict[str, str]] = {
    "dnp3": {"link_frames": "link_functions", "app_fragments": "function_codes"},
}


def protocol_summary(stats: dict[str, ProtocolStats]) -> dict[str, Any]:
    """Per protocol: PDUs, the protocol's histograms with keys printed as tshark prints
    them (decimal strings, hex for S7 functions and SZL ids, ``group/subfunction`` for S7
    user data), transaction outcomes."""
    out: dict[str, Any] = {}
    for name, s in stats.items():
        entry: dict[str, Any] = {"pdus": s.pdus}
        for total, hname in _TOTALS.get(name, {}).items():
            entry[total] = sum(s.histograms.get(hname, {}).values())
        for hname, hist in s.histograms.items():
            fmt = _KEY_FORMATS.get(hname, str)
            entry[hname] = {fmt(k): v for k, v in sorted(hist.items())}
        entry["transactions"] = dict(sorted(s.transactions.items()))
        out[name] = entry
    return out


def build(pipeline: Pipeline) -> dict[str, Any]:
    """Everything the run counted, as JSON-ready data with stable keys."""
    flows = pipeline.flows
    ctx = pipeline.reassembly
    elapsed = pipeline.elapsed
    by_port = {
        str(port): {
            "protocol": pipeline.settings.ics_ports.get(port)
            or pipeline.probed_ports.get(port, "unknown"),
            "flows": n,
        }
        for port, n in sorted(pipeline.flows_by_port.items())
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "files": [
            {
                "name": f.name,
                "format": f.format,
                "linktypes": [linktypes.describe(t) for t in f.linktypes],
                "packets": f.packets,
                "bytes": f.bytes,
                "truncated": f.truncated,
                "warnings": f.warnings,
                "protocols": protocol_summary(f.protocols),
            }
            for f in pipeline.files
        ],
        "packets": pipeline.packets,
        "bytes": pipeline.bytes,
        "flows": flows.created_tcp + flows.created_udp,
        "flows_tcp": flows.created_tcp,
        "flows_udp": flows.created_udp,
        "flows_by_port": by_port,
        "flow_endings": dict(sorted(flows.ended.items())),
        "protocols": protocol_summary(pipeline.protocols),
        "anomalies": dict(sorted(pipeline.anomalies.items())),
        "arp_packets": pipeline.arp_packets,
        "other_packets": dict(sorted(pipeline.other.items())),
        "reassembly": {
            "bytes_delivered": ctx.bytes_delivered,
            "retransmissions": ctx.retransmissions,
            "out_of_order_segments": ctx.ooo_segments,
            "gaps": ctx.gaps,
            "gap_bytes": ctx.gap_bytes,
        },
        "first_packet_ts": pipeline.first_ts,
        "last_packet_ts": pipeline.last_ts if pipeline.packets else None,
        "elapsed_s": round(elapsed, 6),
        "packets_per_s": round(pipeline.packets / elapsed, 1) if elapsed > 0 else 0.0,
    }


#: Names printed beside histogram keys in the human summary.
_NAMERS: dict[tuple[str, str], Callable[[str], str]] = {
    ("modbus", "function_codes"): lambda k: modbus_function_name(int(k)),
    ("modbus", "exception_codes"): lambda k: modbus_exception_name(int(k)),
    ("dnp3", "function_codes"): lambda k: dnp3_function_name(int(k)),
}


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def render(summary: dict[str, Any], console: Console) -> None:
    """Print the summary as tables."""
    live = summary.get("capture")
    title = "otsec sniff" if live else "otsec replay"
    main = Table(title=title, show_header=False, title_justify="left")
    main.add_column(style="bold")
    main.add_column(justify="right")
    if live:
        main.add_row("capture", f"{live['interface']} ({live['backend']} backend), "
                     f"{live['seconds']:,.0f} s")  # fmt: skip
        main.add_row("kernel", f"{_count(live['received'])} received, "
                     f"{_count(live['dropped_kernel'])} dropped, "
                     f"{_count(live['dropped_interface'])} dropped by the interface")  # fmt: skip
    else:
        main.add_row("files", f"{len(summary['files'])}")
    main.add_row("packets", f"{summary['packets']:,}")
    main.add_row("bytes", f"{summary['bytes']:,}")
    main.add_row(
        "flows",
        f"{summary['flows']:,} (TCP {summary['flows_tcp']:,} / UDP {summary['flows_udp']:,})",
    )
    main.add_row("ARP packets", f"{summary['arp_packets']:,}")
    other = sum(summary["other_packets"].values())
    if other:
        main.add_row("other packets", f"{other:,}")
    r = summary["reassembly"]
    main.add_row(
        "reassembled", f"{r['bytes_delivered']:,} B, {r['gaps']:,} gaps, "
        f"{r['retransmissions']:,} retransmissions",
    )  # fmt: skip
    if "events" in summary:
        ev = summary["events"]
        note = f", {ev['dropped']:,} NOT written" if ev["dropped"] else ""
        main.add_row("events", f"{ev['written']:,} to {ev['file']}{note}")
    main.add_row("elapsed", f"{summary['elapsed_s']:.2f} s")
    main.add_row("packets/s", f"{summary['packets_per_s']:,.0f}")
    console.print(main)

    if summary["flows_by_port"]:
        ports = Table(title="flows per industrial port", title_justify="left")
        ports.add_column("port", justify="right")
        ports.add_column("protocol")
        ports.add_column("flows", justify="right")
        for port, row in summary["flows_by_port"].items():
            ports.add_row(port, row["protocol"], f"{row['flows']:,}")
        console.print(ports)

    for proto, p in summary["protocols"].items():
        if not p["pdus"]:
            continue
        hists = [(k, v) for k, v in p.items() if isinstance(v, dict) and k != "transactions" and v]
        for i, (hname, hist) in enumerate(hists):
            label = hname.replace("_", " ")
            title = f"{proto}: {p['pdus']:,} PDUs by {label}" if i == 0 else f"{proto}: {label}"
            table = Table(title=title, title_justify="left")
            table.add_column(hname.rstrip("s"), justify="right")
            namer = _NAMERS.get((proto, hname))
            if namer is not None:
                table.add_column("name")
            table.add_column("count", justify="right")
            for key, count in hist.items():
                row = [key, namer(key)] if namer is not None else [key]
                table.add_row(*row, f"{count:,}")
            console.print(table)
        totals = [f"{k.replace('_', ' ')} {v:,}" for k, v in p.items()
                  if k != "pdus" and isinstance(v, int)]  # fmt: skip
        if totals:
            console.print(f"{proto}: {', '.join(totals)}")
        if p["transactions"]:
            line = ", ".join(f"{k} {n:,}" for k, n in p["transactions"].items())
            console.print(f"{proto} transactions: {line}")

    if summary["anomalies"]:
        anomalies = Table(title="anomalies", title_justify="left")
        anomalies.add_column("name")
        anomalies.add_column("count", justify="right")
        for name, count in summary["anomalies"].items():
            anomalies.add_row(name, f"{count:,}")
        console.print(anomalies)

    if len(summary["files"]) > 1:
        files = Table(title="files", title_justify="left")
        files.add_column("file")
        files.add_column("format")
        files.add_column("packets", justify="right")
        files.add_column("note")
        for f in summary["files"]:
            files.add_row(
                f["name"], f["format"], f"{f['packets']:,}", "truncated" if f["truncated"] else ""
            )
        console.print(files)
