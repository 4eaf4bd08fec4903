"""Comparing two baseline documents: what appeared, disappeared or behaves differently.

Assets are matched by IP address, edges by (client, server, transport, port). Only
behaviour is compared; counters and times (packets, bytes, connections, transactions,
first/last seen, per-operation and per-function counts) always differ between two
learning runs and are never reported.

* An asset changes when its MACs, vendor, roles, served services, used services, or the
  newest value of an identity field differ.
* An edge changes when its protocol differs, when it gains or loses an operation class or
  a function code, when it writes addresses the other did not (per address space, the
  parts of one side's write ranges the other side's do not cover), when it reads an
  address space the other does not, or when its median polling interval moved by more
  than 50% (relative to the first baseline; only when both have one).

:func:`diff` returns a :class:`BaselineDiff`; :func:`render_diff` prints it git-diff style
(``+`` green, ``-`` red, ``~`` yellow) and :func:`diff_json` gives the machine-readable
form. :func:`subtract_ranges` and :func:`merge_ranges` work on inclusive integer ranges.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from otsec.baseline.render import edge_key, edge_label, edge_sort_key, ranges_text
from otsec.events.regions import merge_ranges
from otsec.inventory.render import asset_sort_key, identity_newest, ip_sort_key, service_text

__all__ = [
    "INTERVAL_CHANGE",
    "AssetChange",
    "BaselineDiff",
    "EdgeChange",
    "FieldChange",
    "diff",
    "diff_json",
    "merge_ranges",
    "render_diff",
    "subtract_ranges",
]

#: Relative change of the median polling interval above which an edge counts as changed.
INTERVAL_CHANGE = 0.5

#: Asset fields compared as sets (their values are lists whose order means nothing).
_ASSET_SET_FIELDS = ("macs", "roles", "services", "uses")

EdgeKey = tuple[str, str, str, int]


# --- ranges ------------------------------------------------------------------------------


def subtract_ranges(
    b_ranges: Iterable[Sequence[int]], a_ranges: Iterable[Sequence[int]]
) -> list[list[int]]:
    """The addresses in ``b_ranges`` that no range of ``a_ranges`` covers, as sorted,
    merged inclusive ranges. Neither input needs to be sorted or merged.

    >>> subtract_ranges([[0, 100]], [[10, 20], [50, 50]])
    [[0, 9], [21, 49], [51, 100]]
    """
    b = merge_ranges(b_ranges)
    a = merge_ranges(a_ranges)
    out: list[list[int]] = []
    j = 0
    for lo, hi in b:
        start = lo
        while j < len(a) and a[j][1] < start:
            j += 1
        k = j
        while k < len(a) and a[k][0] <= hi:
            if a[k][0] > start:
                out.append([start, a[k][0] - 1])
            start = max(start, a[k][1] + 1)
            if start > hi:
                break
            k += 1
        if start <= hi:
            out.append([start, hi])
    return out


# --- the result --------------------------------------------------------------------------


@dataclass
class FieldChange:
    """One asset field that differs: ``name`` is ``macs``, ``vendor``, ``roles``,
    ``services``, ``uses`` or ``identity.<name>``; ``old``/``new`` are the values in the
    first/second baseline (``None`` when absent). For list fields ``added``/``removed``
    hold the elements only the second/first has."""

    name: str
    old: Any
    new: Any
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)


@dataclass
class AssetChange:
    """An asset present in both baselines whose behaviour or identity differs."""

    ip: str
    fields: list[FieldChange]


@dataclass
class EdgeChange:
    """An edge present in both baselines that behaves differently.

    ``functions_*`` map a function code (decimal string) to its name; ``writes_*`` map an
    address space to the ranges only one side writes; ``reads_*`` list address spaces only
    one side reads; ``protocol`` and ``interval`` are ``(old, new)`` when they changed."""

    key: EdgeKey
    label: str
    protocol: tuple[str, str] | None = None
    operations_added: list[str] = field(default_factory=list)
    operations_removed: list[str] = field(default_factory=list)
    functions_added: dict[str, str] = field(default_factory=dict)
    functions_removed: dict[str, str] = field(default_factory=dict)
    writes_added: dict[str, list[list[int]]] = field(default_factory=dict)
    writes_removed: dict[str, list[list[int]]] = field(default_factory=dict)
    reads_added: list[str] = field(default_factory=list)
    reads_removed: list[str] = field(default_factory=list)
    interval: tuple[float, float] | None = None

    @property
    def empty(self) -> bool:
        """True when nothing differs."""
        return not (
            self.protocol
            or self.operations_added
            or self.operations_removed
            or self.functions_added
            or self.functions_removed
            or self.writes_added
            or self.writes_removed
            or self.reads_added
            or self.reads_removed
            or self.interval
        )


@dataclass
class BaselineDiff:
    """What differs from baseline A to baseline B; every list is sorted (assets by IP,
    edges by client, server, transport, port)."""

    assets_added: list[dict[str, Any]] = field(default_factory=list)
    assets_removed: list[dict[str, Any]] = field(default_factory=list)
    assets_changed: list[AssetChange] = field(default_factory=list)
    edges_added: list[dict[str, Any]] = field(default_factory=list)
    edges_removed: list[dict[str, Any]] = field(default_factory=list)
    edges_changed: list[EdgeChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the two baselines describe the same behaviour."""
        return not (
            self.assets_added
            or self.assets_removed
            or self.assets_changed
            or self.edges_added
            or self.edges_removed
            or self.edges_changed
        )


# --- computing ---------------------------------------------------------------------------


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _service_tuple(s: object) -> tuple[str, str, int]:
    if not isinstance(s, Mapping):
        return ("", "", -1)
    port = s.get("port")
    return (
        str(s.get("protocol", "")),
        str(s.get("transport", "")),
        port if isinstance(port, int) else -1,
    )


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _list_field(a: Mapping[str, Any], b: Mapping[str, Any], name: str) -> FieldChange | None:
    old_raw, new_raw = _list(a.get(name)), _list(b.get(name))
    if name in ("services", "uses"):
        old = {_service_tuple(s): s for s in old_raw}
        new = {_service_tuple(s): s for s in new_raw}
        if old.keys() == new.keys():
            return None
        order = sorted(set(old) | set(new), key=lambda t: (t[2], t[1], t[0]))
        return FieldChange(
            name,
            [old[t] for t in order if t in old],
            [new[t] for t in order if t in new],
            added=[new[t] for t in order if t not in old],
            removed=[old[t] for t in order if t not in new],
        )
    if name == "macs":  # the ECS form, whatever case or separator a writer used
        old_raw = [str(v).upper().replace(":", "-") for v in old_raw]
        new_raw = [str(v).upper().replace(":", "-") for v in new_raw]
    old_set, new_set = {str(v) for v in old_raw}, {str(v) for v in new_raw}
    if old_set == new_set:
        return None
    return FieldChange(
        name,
        sorted(old_set),
        sorted(new_set),
        added=sorted(new_set - old_set),
        removed=sorted(old_set - new_set),
    )


def _asset_change(a: Mapping[str, Any], b: Mapping[str, Any]) -> AssetChange | None:
    changes: list[FieldChange] = []
    for name in ("macs", "roles"):
        change = _list_field(a, b, name)
        if change is not None:
            changes.append(change)
    if (a.get("vendor") or None) != (b.get("vendor") or None):
        changes.append(FieldChange("vendor", a.get("vendor"), b.get("vendor")))
    for name in ("services", "uses"):
        change = _list_field(a, b, name)
        if change is not None:
            changes.append(change)
    old_id, new_id = identity_newest(a), identity_newest(b)
    for name in sorted(set(old_id) | set(new_id)):
        old, new = old_id.get(name), new_id.get(name)
        if _canon(old) != _canon(new):
            changes.append(FieldChange(f"identity.{name}", old, new))
    return AssetChange(str(a.get("ip", "")), changes) if changes else None


def _mapping(edge: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = edge.get(key)
    return value if isinstance(value, Mapping) else {}


def _code_order(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (1 << 30, code)


def _function_names(functions: Mapping[str, Any], codes: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code in sorted(codes, key=_code_order):
        info = functions[code]
        name = info.get("name") if isinstance(info, Mapping) else None
        out[code] = str(name) if name else ""
    return out


def _ranges_only_in(x: Mapping[str, Any], y: Mapping[str, Any]) -> dict[str, list[list[int]]]:
    out: dict[str, list[list[int]]] = {}
    for space in sorted(x):
        x_ranges = x[space] if isinstance(x[space], list) else []
        y_ranges = y.get(space) if isinstance(y.get(space), list) else []
        rest = subtract_ranges(x_ranges, y_ranges or [])
        if rest:
            out[space] = rest
    return out


def _median(edge: Mapping[str, Any]) -> float | None:
    interval = edge.get("interval")
    if not isinstance(interval, Mapping):
        return None
    median = interval.get("median")
    if isinstance(median, bool) or not isinstance(median, int | float):
        return None
    return float(median)


def _interval_changed(old: float, new: float) -> bool:
    if old <= 0:
        return new > 0
    return abs(new - old) / old > INTERVAL_CHANGE


def _edge_change(a: Mapping[str, Any], b: Mapping[str, Any]) -> EdgeChange:
    change = EdgeChange(edge_key(b), edge_label(b))
    pa, pb = str(a.get("protocol") or ""), str(b.get("protocol") or "")
    if pa != pb:
        change.protocol = (pa, pb)
    ops_a, ops_b = _mapping(a, "operations"), _mapping(b, "operations")
    change.operations_added = sorted(set(ops_b) - set(ops_a))
    change.operations_removed = sorted(set(ops_a) - set(ops_b))
    fn_a, fn_b = _mapping(a, "functions"), _mapping(b, "functions")
    change.functions_added = _function_names(fn_b, set(fn_b) - set(fn_a))
    change.functions_removed = _function_names(fn_a, set(fn_a) - set(fn_b))
    wr_a, wr_b = _mapping(a, "writes"), _mapping(b, "writes")
    change.writes_added = _ranges_only_in(wr_b, wr_a)
    change.writes_removed = _ranges_only_in(wr_a, wr_b)
    rd_a, rd_b = _mapping(a, "reads"), _mapping(b, "reads")
    change.reads_added = sorted(set(rd_b) - set(rd_a))
    change.reads_removed = sorted(set(rd_a) - set(rd_b))
    old_iv, new_iv = _median(a), _median(b)
    if old_iv is not None and new_iv is not None and _interval_changed(old_iv, new_iv):
        change.interval = (old_iv, new_iv)
    return change


def _by_key(items: object, key: Any) -> dict[Any, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {key(i): i for i in items if isinstance(i, dict)}


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> BaselineDiff:
    """What differs from baseline ``a`` (the reference) to baseline ``b``. Both are parsed
    baseline documents (validate them first; missing optional keys are tolerated)."""
    result = BaselineDiff()

    assets_a = _by_key(a.get("assets"), lambda x: str(x.get("ip", "")))
    assets_b = _by_key(b.get("assets"), lambda x: str(x.get("ip", "")))
    for ip in sorted(set(assets_a) | set(assets_b), key=ip_sort_key):
        if ip not in assets_a:
            result.assets_added.append(assets_b[ip])
        elif ip not in assets_b:
            result.assets_removed.append(assets_a[ip])
        else:
            asset_change = _asset_change(assets_a[ip], assets_b[ip])
            if asset_change is not None:
                result.assets_changed.append(asset_change)
    result.assets_added.sort(key=asset_sort_key)
    result.assets_removed.sort(key=asset_sort_key)

    edges_a = _by_key(a.get("edges"), edge_key)
    edges_b = _by_key(b.get("edges"), edge_key)
    for key in set(edges_a) | set(edges_b):
        if key not in edges_a:
            result.edges_added.append(edges_b[key])
        elif key not in edges_b:
            result.edges_removed.append(edges_a[key])
        else:
            edge_change = _edge_change(edges_a[key], edges_b[key])
            if not edge_change.empty:
                result.edges_changed.append(edge_change)
    result.edges_added.sort(key=edge_sort_key)
    result.edges_removed.sort(key=edge_sort_key)
    result.edges_changed.sort(key=lambda c: _key_order(c.key))
    return result


def _key_order(key: EdgeKey) -> tuple[Any, ...]:
    client, server, transport, port = key
    return (ip_sort_key(client), ip_sort_key(server), transport, port)


# --- presenting --------------------------------------------------------------------------


def _value_text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Mapping) and "port" in value:
        return service_text(value)
    return str(value)


def _field_lines(change: FieldChange) -> list[str]:
    name = change.name.removeprefix("identity.")
    if change.name in _ASSET_SET_FIELDS:
        parts = [f"+ {_value_text(v)}" for v in change.added]
        parts += [f"- {_value_text(v)}" for v in change.removed]
        return [f"{name} {', '.join(parts)}"]
    absent = "(not observed)" if change.name.startswith("identity.") else "(none)"
    old = absent if change.old is None else _value_text(change.old)
    new = absent if change.new is None else _value_text(change.new)
    return [f"{name} {old} -> {new}"]


def _asset_brief(asset: Mapping[str, Any]) -> str:
    bits: list[str] = []
    macs, via = _list(asset.get("macs")), _list(asset.get("via"))
    if macs:
        bits.append(" ".join(str(m) for m in macs))
    elif via:
        bits.append(f"via {via[0]}")
    if asset.get("vendor"):
        bits.append(str(asset["vendor"]))
    roles = _list(asset.get("roles"))
    if roles:
        bits.append("roles " + ", ".join(sorted(str(r) for r in roles)))
    services = _list(asset.get("services"))
    if services:
        ordered = sorted(
            (s for s in services if isinstance(s, Mapping)),
            key=lambda s: (_service_tuple(s)[2], _service_tuple(s)[1], _service_tuple(s)[0]),
        )
        bits.append("serves " + ", ".join(service_text(s) for s in ordered))
    return f" ({'; '.join(bits)})" if bits else ""


def _edge_brief(edge: Mapping[str, Any]) -> str:
    functions = _mapping(edge, "functions")
    if functions:
        return f" (functions {', '.join(sorted(functions, key=_code_order))})"
    ops = _mapping(edge, "operations")
    if ops:
        return f" (operations {', '.join(sorted(ops))})"
    return ""


def _edge_lines(change: EdgeChange) -> list[tuple[str, str]]:
    """(style, text) of each difference of a changed edge."""
    lines: list[tuple[str, str]] = []
    if change.protocol:
        lines.append(("yellow", f"protocol {change.protocol[0]} -> {change.protocol[1]}"))
    lines += [("green", f"+ operation {op}") for op in change.operations_added]
    lines += [("red", f"- operation {op}") for op in change.operations_removed]
    for sign, style, functions in (
        ("+", "green", change.functions_added),
        ("-", "red", change.functions_removed),
    ):
        lines += [
            (style, f"{sign} function {code}" + (f" {name}" if name else ""))
            for code, name in functions.items()
        ]
    for sign, style, spaces in (
        ("+", "green", change.writes_added),
        ("-", "red", change.writes_removed),
    ):
        lines += [(style, f"{sign} write {s} {ranges_text(r)}") for s, r in spaces.items()]
    lines += [("green", f"+ read {space}") for space in change.reads_added]
    lines += [("red", f"- read {space}") for space in change.reads_removed]
    if change.interval:
        old, new = change.interval
        lines.append(("yellow", f"interval {old:g} s -> {new:g} s"))
    return lines


def _line(console: Console, text: str, style: str) -> None:
    # Text, not markup: names from the capture must never be read as rich markup.
    console.print(Text(text, style=style), soft_wrap=True, highlight=False)


def render_diff(d: BaselineDiff, console: Console, a_name: str, b_name: str) -> None:
    """Print the differences git-diff style: ``--- A`` / ``+++ B``, then ``+ asset``,
    ``- asset``, ``~ asset IP: change`` lines, then ``+ edge``, ``- edge``, ``~ edge LABEL:
    change`` lines (green added, red removed, yellow changed), then a count line; just
    ``no differences`` when there are none."""
    _line(console, f"--- {a_name}", "bold red")
    _line(console, f"+++ {b_name}", "bold green")
    if d.empty:
        _line(console, "no differences", "bold")
        return
    for asset in d.assets_added:
        _line(console, f"+ asset {asset.get('ip')}{_asset_brief(asset)}", "green")
    for asset in d.assets_removed:
        _line(console, f"- asset {asset.get('ip')}{_asset_brief(asset)}", "red")
    for change in d.assets_changed:
        for fc in change.fields:
            for text in _field_lines(fc):
                _line(console, f"~ asset {change.ip}: {text}", "yellow")
    for edge in d.edges_added:
        _line(console, f"+ edge {edge_label(edge)}{_edge_brief(edge)}", "green")
    for edge in d.edges_removed:
        _line(console, f"- edge {edge_label(edge)}{_edge_brief(edge)}", "red")
    for ec in d.edges_changed:
        for style, text in _edge_lines(ec):
            _line(console, f"~ edge {ec.label}: {text}", style)
    _line(
        console,
        f"assets: {len(d.assets_added)} added, {len(d.assets_removed)} removed, "
        f"{len(d.assets_changed)} changed; edges: {len(d.edges_added)} added, "
        f"{len(d.edges_removed)} removed, {len(d.edges_changed)} changed",
        "bold",
    )


def diff_json(d: BaselineDiff) -> dict[str, Any]:
    """The differences as JSON-ready data (``otsec baseline diff --json``)::

    {"otsec_baseline_diff": 1, "empty": bool,
     "assets": {"added": [ASSET], "removed": [ASSET],
                "changed": [{"ip": ..., "changes": {FIELD: {"old", "new"
                                                            [, "added", "removed"]}}}]},
     "edges": {"added": [EDGE], "removed": [EDGE],
               "changed": [{"client", "server", "transport", "port", "label",
                            "protocol": {"old", "new"} | null,
                            "operations": {"added", "removed"},
                            "functions": {"added": {code: name}, "removed": {...}},
                            "writes": {"added": {space: ranges}, "removed": {...}},
                            "reads": {"added": [space], "removed": [space]},
                            "interval": {"old", "new"} | null}]}}
    """

    def field_json(fc: FieldChange) -> dict[str, Any]:
        out: dict[str, Any] = {"old": fc.old, "new": fc.new}
        if fc.name in _ASSET_SET_FIELDS:
            out["added"] = fc.added
            out["removed"] = fc.removed
        return out

    def edge_json(ec: EdgeChange) -> dict[str, Any]:
        client, server, transport, port = ec.key
        return {
            "client": client,
            "server": server,
            "transport": transport,
            "port": port,
            "label": ec.label,
            "protocol": {"old": ec.protocol[0], "new": ec.protocol[1]} if ec.protocol else None,
            "operations": {"added": ec.operations_added, "removed": ec.operations_removed},
            "functions": {"added": ec.functions_added, "removed": ec.functions_removed},
            "writes": {"added": ec.writes_added, "removed": ec.writes_removed},
            "reads": {"added": ec.reads_added, "removed": ec.reads_removed},
            "interval": {"old": ec.interval[0], "new": ec.interval[1]} if ec.interval else None,
        }

    return {
        "otsec_baseline_diff": 1,
        "empty": d.empty,
        "assets": {
            "added": d.assets_added,
            "removed": d.assets_removed,
            "changed": [
                {"ip": c.ip, "changes": {fc.name: field_json(fc) for fc in c.fields}}
                for c in d.assets_changed
            ],
        },
        "edges": {
            "added": d.edges_added,
            "removed": d.edges_removed,
            "changed": [edge_json(c) for c in d.edges_changed],
        },
    }
