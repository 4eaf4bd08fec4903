"""Presenting a baseline document (``otsec baseline show FILE``) and validating it.

A baseline document is::

    {"otsec_baseline": 1, "created": ISO,
     "learned": {"first_seen": ISO, "last_seen": ISO, "packets": int},
     "sources": [{"path": str, "packets": int, "first": ISO, "last": ISO}, ...],
     "assets": [ASSET, ...],          # as in an inventory document
     "edges": [EDGE, ...]}

and an EDGE, identified by (client, server, transport, port), is::

    {"client": "10.20.1.11", "server": "10.20.1.101", "transport": "tcp", "port": 502,
     "protocol": "modbus", "first_seen": ISO, "last_seen": ISO, "connections": int,
     "packets": int, "bytes": int, "transactions": int,
     "operations": {"read": 120, "write": 3},
     "functions": {"3": {"name": "read_holding_registers", "count": 100}},
     "reads": {"unit1/holding_register": [[0, 9], [100, 119]]},
     "writes": {...}, "interval": {"median": 1.0, "samples": 299} | null}

``reads``/``writes`` map an address space to sorted, merged, inclusive integer ranges.

The summary prints a header (version, creation time, learning window, sources), the asset
count by role and a table of edges. :func:`edge_label` and :func:`ranges_text` are the
compact forms other commands reuse. Output is deterministic (sorted).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeGuard

from rich.console import Console
from rich.table import Table
from rich.text import Text

from otsec.inventory.render import (
    asset_sort_key,
    format_time,
    ip_sort_key,
    is_time,
    validate_asset,
)

__all__ = [
    "BASELINE_VERSION",
    "EDGE_REQUIRED",
    "edge_key",
    "edge_label",
    "edge_sort_key",
    "functions_text",
    "interval_text",
    "ranges_text",
    "render_summary",
    "validate",
    "validate_edge",
    "writes_text",
]

#: The ``otsec_baseline`` value this module reads.
BASELINE_VERSION = 1

#: Keys every edge must carry (its identity and protocol); the others are optional but
#: type-checked when present.
EDGE_REQUIRED: tuple[str, ...] = ("client", "server", "transport", "port", "protocol")

_EDGE_COUNTERS = ("connections", "packets", "bytes", "transactions")


# --- compact text forms ------------------------------------------------------------------


def edge_key(edge: Mapping[str, Any]) -> tuple[str, str, str, int]:
    """An edge's identity: (client, server, transport, port)."""
    port = edge.get("port")
    return (
        str(edge.get("client", "")),
        str(edge.get("server", "")),
        str(edge.get("transport", "")),
        port if isinstance(port, int) else -1,
    )


def edge_sort_key(edge: Mapping[str, Any]) -> tuple[Any, ...]:
    """Order of edges: client IP, server IP (numerically), transport, port."""
    client, server, transport, port = edge_key(edge)
    return (ip_sort_key(client), ip_sort_key(server), transport, port)


def edge_label(edge: Mapping[str, Any]) -> str:
    """``10.20.1.11 -> 10.20.1.101 modbus tcp/502``."""
    client, server, transport, _ = edge_key(edge)
    proto = edge.get("protocol") or transport
    return f"{client} -> {server} {proto} {transport}/{edge.get('port', '?')}"


def ranges_text(ranges: object) -> str:
    """Inclusive ranges as ``8-9,12`` (sorted; a one-address range as one number)."""
    if not isinstance(ranges, list | tuple):
        return ""
    pairs = sorted(
        (r[0], r[1])
        for r in ranges
        if isinstance(r, list | tuple) and len(r) == 2 and all(_is_int(x) for x in r)
    )
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in pairs)


def _code_key(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (1 << 30, code)


def functions_text(functions: object, *, sep: str = ", ") -> str:
    """Function codes as ``3:read_holding_registers, 16:write_multiple_registers`` (by
    code)."""
    if not isinstance(functions, Mapping):
        return ""
    out = []
    for code in sorted(functions, key=lambda c: _code_key(str(c))):
        info = functions[code]
        name = info.get("name") if isinstance(info, Mapping) else None
        out.append(f"{code}:{name}" if name else str(code))
    return sep.join(out)


def writes_text(spaces: object, *, sep: str = "\n") -> str:
    """Address spaces with their ranges, ``unit1/holding_register 8-9,12``, one per line."""
    if not isinstance(spaces, Mapping):
        return ""
    return sep.join(f"{space} {ranges_text(spaces[space])}" for space in sorted(spaces))


def interval_text(interval: object) -> str:
    """A median polling interval as ``1.00 s`` (``250 ms`` below a second), or ``""``."""
    if not isinstance(interval, Mapping):
        return ""
    median = interval.get("median")
    if not isinstance(median, int | float) or isinstance(median, bool):
        return ""
    return f"{median * 1000:.0f} ms" if median < 1 else f"{median:.2f} s"


def _count(value: object) -> str:
    return f"{value:,}" if _is_int(value) else "-"


# --- the summary ------------------------------------------------------------------------


def _duration(first: object, last: object) -> str:
    try:
        seconds = (
            datetime.fromisoformat(str(last)) - datetime.fromisoformat(str(first))
        ).total_seconds()
    except (TypeError, ValueError):
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def render_summary(doc: Mapping[str, Any], console: Console) -> None:
    """Print a baseline: header, assets by role, then one table row per edge (client ->
    server, protocol transport/port, operation classes, function codes, written ranges,
    median interval, connections and transactions)."""
    header = Table(title="otsec baseline", show_header=False, title_justify="left")
    header.add_column(style="bold")
    header.add_column()
    header.add_row("version", str(doc.get("otsec_baseline")))
    header.add_row("created", format_time(doc.get("created")))
    learned = doc.get("learned")
    if isinstance(learned, Mapping):
        first, last = learned.get("first_seen"), learned.get("last_seen")
        span = _duration(first, last)
        header.add_row(
            "learned",
            f"{format_time(first)} .. {format_time(last)}"
            + (f" ({span})" if span else "")
            + f", {_count(learned.get('packets'))} packets",
        )
    sources = [s for s in doc.get("sources") or [] if isinstance(s, Mapping)]
    for i, src in enumerate(sorted(sources, key=lambda s: str(s.get("path")))):
        window = ""
        if src.get("first") or src.get("last"):
            window = f" ({format_time(src.get('first'))} .. {format_time(src.get('last'))})"
        header.add_row(
            "sources" if i == 0 else "",
            Text(f"{src.get('path')}: {_count(src.get('packets'))} packets{window}"),
        )
    assets = sorted(
        (a for a in doc.get("assets") or [] if isinstance(a, Mapping)), key=asset_sort_key
    )
    edges = sorted((e for e in doc.get("edges") or [] if isinstance(e, Mapping)), key=edge_sort_key)
    header.add_row("assets", f"{len(assets):,}")
    header.add_row("edges", f"{len(edges):,}")
    console.print(header)

    roles: Counter[str] = Counter()
    for asset in assets:
        asset_roles = asset.get("roles")
        names = [str(r) for r in asset_roles] if isinstance(asset_roles, list) else []
        roles.update(set(names) or {"(no role)"})
    if roles:
        by_role = Table(title="assets by role", title_justify="left")
        by_role.add_column("role")
        by_role.add_column("assets", justify="right")
        for role, n in sorted(roles.items(), key=lambda kv: (-kv[1], kv[0])):
            by_role.add_row(Text(role), f"{n:,}")
        console.print(by_role)

    console.print(Text(f"edges ({len(edges):,})", style="italic"))
    for edge in edges:
        console.print(_edge_lines(edge), soft_wrap=False)


def _edge_lines(edge: Mapping[str, Any]) -> Text:
    """One edge as a short block that reads at any terminal width: the edge, its
    cadence and counts, then its operations, function codes and written ranges."""
    client, server, transport, _ = edge_key(edge)
    out = Text()
    out.append(f"{client} -> {server}", style="bold")
    out.append(f"  {edge.get('protocol') or transport} {transport}/{edge.get('port', '?')}")
    interval = interval_text(edge.get("interval"))
    if interval:
        out.append(f"  every {interval}", style="cyan")
    out.append(
        f"  {_count(edge.get('connections'))} conn, {_count(edge.get('transactions'))} txn",
        style="dim",
    )
    ops = edge.get("operations")
    if isinstance(ops, Mapping) and ops:
        out.append(
            "\n    operations: " + ", ".join(f"{op} {_count(ops[op])}" for op in sorted(ops))
        )
    functions = functions_text(edge.get("functions"))
    if functions:
        out.append("\n    functions:  " + functions)
    writes = writes_text(edge.get("writes")).replace("\n", "; ")
    if writes:
        out.append("\n    writes:     " + writes, style="yellow")
    return out


# --- validation --------------------------------------------------------------------------


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_ranges(spaces: object, where: str, problems: list[str]) -> None:
    if not isinstance(spaces, dict):
        problems.append(f"{where}: expected an object of address spaces, got {_type_name(spaces)}")
        return
    for space, ranges in sorted(spaces.items()):
        ok = isinstance(ranges, list) and all(
            isinstance(r, list) and len(r) == 2 and _is_int(r[0]) and _is_int(r[1]) and r[0] <= r[1]
            for r in ranges
        )
        if not ok:
            problems.append(f"{where}.{space}: expected a list of [first, last] integer ranges")


def validate_edge(edge: object, where: str = "edge") -> list[str]:
    """Problems with one edge record (empty when it is fine); ``where`` prefixes every
    message."""
    if not isinstance(edge, dict):
        return [f"{where}: expected an object, got {_type_name(edge)}"]
    problems: list[str] = []
    missing = [k for k in EDGE_REQUIRED if k not in edge]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    for key in ("client", "server", "transport", "protocol"):
        if key in edge and not isinstance(edge[key], str):
            problems.append(f"{where}.{key}: expected a string, got {_type_name(edge[key])}")
    port = edge.get("port", 0)
    if not _is_int(port) or not 0 <= port <= 65535:
        problems.append(f"{where}.port: expected a port number 0-65535, got {port!r:.30}")
    for key in ("first_seen", "last_seen"):
        if key in edge and not is_time(edge[key]):
            problems.append(f"{where}.{key}: expected an ISO-8601 timestamp")
    for key in _EDGE_COUNTERS:
        if key in edge and (not _is_int(edge[key]) or edge[key] < 0):
            problems.append(f"{where}.{key}: expected a non-negative integer")
    ops = edge.get("operations", {})
    if not isinstance(ops, dict) or not all(_is_int(v) for v in ops.values()):
        problems.append(f"{where}.operations: expected an object of integer counts")
    functions = edge.get("functions", {})
    if not isinstance(functions, dict) or not all(
        isinstance(v, dict)
        and isinstance(v.get("name", ""), str | None)
        and _is_int(v.get("count", 0))
        for v in functions.values()
    ):
        problems.append(f"{where}.functions: expected an object of {{name, count}} objects")
    for key in ("reads", "writes"):
        if key in edge:
            _check_ranges(edge[key], f"{where}.{key}", problems)
    interval = edge.get("interval")
    if interval is not None and (
        not isinstance(interval, dict) or not _is_number(interval.get("median"))
    ):
        problems.append(f"{where}.interval: expected null or an object with a numeric median")
    return problems


def validate(doc: object) -> list[str]:
    """Problems that make ``doc`` unusable as a baseline document, one line each (empty
    when it is fine): not an object, missing or unsupported ``otsec_baseline`` version,
    missing keys, wrong types (assets checked as inventory assets), duplicate assets or
    edges."""
    if not isinstance(doc, dict):
        return [f"not an otsec baseline: expected a JSON object, got {_type_name(doc)}"]
    if "otsec_baseline" not in doc:
        return ["not an otsec baseline: no 'otsec_baseline' version key"]
    version = doc["otsec_baseline"]
    if version != BASELINE_VERSION or not _is_int(version):
        return [
            f"unsupported baseline version {version!r:.30} (this otsec reads {BASELINE_VERSION})"
        ]
    problems: list[str] = []
    missing = [k for k in ("created", "learned", "sources", "assets", "edges") if k not in doc]
    if missing:
        problems.append(f"baseline: missing {', '.join(missing)}")
    if "created" in doc and not is_time(doc["created"]):
        problems.append("created: expected an ISO-8601 timestamp")
    if "learned" in doc:
        learned = doc["learned"]
        if not isinstance(learned, dict):
            problems.append(f"learned: expected an object, got {_type_name(learned)}")
        else:
            for key in ("first_seen", "last_seen"):
                if learned.get(key) is not None and not is_time(learned[key]):
                    problems.append(f"learned.{key}: expected an ISO-8601 timestamp")
            if "packets" in learned and not _is_int(learned["packets"]):
                problems.append("learned.packets: expected an integer")
    sources = doc.get("sources", [])
    if not isinstance(sources, list):
        problems.append(f"sources: expected a list, got {_type_name(sources)}")
    else:
        for i, src in enumerate(sources):
            if not isinstance(src, dict) or not isinstance(src.get("path"), str):
                problems.append(f"sources[{i}]: expected an object with a 'path' string")
            elif "packets" in src and not _is_int(src["packets"]):
                problems.append(f"sources[{i}].packets: expected an integer")
    for key, check in (("assets", validate_asset), ("edges", validate_edge)):
        items = doc.get(key, [])
        if not isinstance(items, list):
            problems.append(f"{key}: expected a list, got {_type_name(items)}")
            continue
        seen: set[Any] = set()
        for i, item in enumerate(items):
            item_problems = check(item, f"{key}[{i}]")
            problems += item_problems
            if item_problems or not isinstance(item, dict):
                continue
            ident: Any = item["ip"] if key == "assets" else edge_key(item)
            if ident in seen:
                shown = ident if key == "assets" else edge_label(item)
                problems.append(f"{key}[{i}]: duplicate {key[:-1]} {shown}")
            seen.add(ident)
    return problems
