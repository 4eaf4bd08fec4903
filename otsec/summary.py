"""The end-of-run summary: one dict for ``--json`` and scripts, one rich table for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from otsec.capture import linktypes
from otsec.pipeline import Pipeline

SCHEMA_VERSION = 1


def build(pipeline: Pipeline) -> dict[str, Any]:
    """Everything the run counted, as JSON-ready data with stable keys."""
    flows = pipeline.flows
    ctx = pipeline.reassembly
    elapsed = pipeline.elapsed
    by_port = {
        str(port): {"protocol": pipeline.settings.ics_ports.get(port, "unknown"), "flows": n}
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


def render(summary: dict[str, Any], console: Console) -> None:
    """Print the summary as tables."""
    main = Table(title="otsec replay", show_header=False, title_justify="left")
    main.add_column(style="bold")
    main.add_column(justify="right")
    n_files = len(summary["files"])
    main.add_row("files", f"{n_files}")
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

    if summary["anomalies"]:
        anomalies = Table(title="anomalies", title_justify="left")
        anomalies.add_column("name")
        anomalies.add_column("count", justify="right")
        for name, count in summary["anomalies"].items():
            anomalies.add_row(name, f"{count:,}")
        console.print(anomalies)

    if n_files > 1:
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
