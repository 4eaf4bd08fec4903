"""Presenting an inventory document: a rich table for people, CSV and JSON for tools, and a
validator so a damaged file is reported in one line instead of a traceback.

The document (written by ``otsec replay --inventory FILE``, embedded as ``"assets"`` in
baseline files) is::

    {"otsec_inventory": 1, "generated": ISO, "sources": [path, ...], "assets": [ASSET, ...]}

and an ASSET is::

    {"ip": "10.20.1.101", "macs": ["00-80-F4-12-01-01"], "via": ["00-1E-7A-4C-10-01"],
     "vendor": "TELEMECANIQUE ELECTRIQUE" | null, "vlans": [10], "roles": ["modbus_server"],
     "services": [{"transport": "tcp", "port": 502, "protocol": "modbus"}], "uses": [...],
     "identity": {"firmware_version": [{"value": "V3.2.16", "protocol": "s7comm",
                                        "source": "pcaps/x.pcap", "packet": 1907,
                                        "seen": ISO}, ...], ...},
     "first_seen": ISO, "last_seen": ISO, "packets_sent": int, "packets_received": int,
     "bytes_sent": int, "bytes_received": int}

Identity lists are newest first; more than one distinct value means the device reported
different things over time (a firmware update, a swapped module, or a conflict).

Every function here reads the document and never modifies it. Output is deterministic:
assets are ordered by IP address (IPv4 before IPv6), lists and columns are sorted.
"""

from __future__ import annotations

import csv
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO, TypeGuard

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "ASSET_REQUIRED",
    "INVENTORY_VERSION",
    "asset_sort_key",
    "format_time",
    "identity_newest",
    "identity_summary",
    "ip_sort_key",
    "render_table",
    "service_text",
    "to_csv",
    "to_json",
    "validate",
    "validate_asset",
]

#: The ``otsec_inventory`` value this module reads and writes.
INVENTORY_VERSION = 1

#: Keys every asset must carry; the others are optional but type-checked when present.
ASSET_REQUIRED: tuple[str, ...] = ("ip", "macs", "roles", "services")

#: Asset keys holding lists of strings.
_STR_LISTS = ("macs", "via", "roles")
#: Asset keys holding non-negative counters.
_COUNTERS = ("packets_sent", "packets_received", "bytes_sent", "bytes_received")

#: Identity fields shown in the one-line summary, by role in the summary, best first
#: (names as otsec.inventory.identity writes them: Modbus device identification, S7 SZL,
#: DNP3 device attributes).
_PRODUCT_FIELDS = (
    "product_name",
    "model_name",
    "order_number",
    "product_code",
    "module_type_name",
    "hardware_order_number",
)
_FIRMWARE_FIELDS = {
    "firmware_version": "fw",
    "revision": "rev",
    "module_version": "ver",
    "hardware_version": "hw",
}
_NAME_FIELDS = (
    "plant_designation",
    "plc_name",
    "module_name",
    "device_name",
    "user_application_name",
)

#: Fixed CSV columns before and after the per-identity-field columns.
_CSV_HEAD = ("ip", "macs", "via", "vendor", "vlans", "roles", "services", "uses")
_CSV_TAIL = (
    "identity_changed",
    "first_seen",
    "last_seen",
    "packets_sent",
    "packets_received",
    "bytes_sent",
    "bytes_received",
)


# --- small shared helpers ----------------------------------------------------------------


def ip_sort_key(ip: object) -> tuple[int, int, str]:
    """Numeric order for IP address strings: IPv4, then IPv6, then anything unparsable
    (by text)."""
    try:
        addr = ipaddress.ip_address(str(ip))
    except ValueError:
        return (99, 0, str(ip))
    return (addr.version, int(addr), "")


def asset_sort_key(asset: Mapping[str, Any]) -> tuple[int, int, str]:
    """Sort key of an asset: its IP address, numerically."""
    return ip_sort_key(asset.get("ip", ""))


def format_time(value: object) -> str:
    """An ISO-8601 timestamp as ``YYYY-MM-DD HH:MM:SS`` in UTC; other text unchanged,
    ``None`` as an empty string."""
    if value is None:
        return ""
    text = str(value)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return text
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def service_text(service: Mapping[str, Any], *, full: bool = False) -> str:
    """A service as ``modbus/502`` (TCP) or ``dnp3/udp/20000``; with ``full`` always
    ``protocol/transport/port`` (the CSV form)."""
    proto = service.get("protocol") or "?"
    transport = service.get("transport") or "?"
    port = service.get("port", "?")
    if full or transport != "tcp":
        return f"{proto}/{transport}/{port}"
    return f"{proto}/{port}"


def _service_key(service: Mapping[str, Any]) -> tuple[int, str, str]:
    port = service.get("port")
    return (
        port if isinstance(port, int) else -1,
        str(service.get("transport")),
        str(service.get("protocol")),
    )


def _services(asset: Mapping[str, Any], key: str, *, full: bool = False) -> list[str]:
    items = [s for s in asset.get(key) or [] if isinstance(s, Mapping)]
    return [service_text(s, full=full) for s in sorted(items, key=_service_key)]


def _strings(values: object) -> list[str]:
    if not isinstance(values, list):
        return []
    return [str(v) for v in values]


def _identity(asset: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    ident = asset.get("identity")
    if not isinstance(ident, Mapping):
        return {}
    return {
        str(k): [e for e in v if isinstance(e, Mapping)]
        for k, v in sorted(ident.items())
        if isinstance(v, list)
    }


def identity_newest(asset: Mapping[str, Any]) -> dict[str, Any]:
    """Each identity field of an asset with its newest value (fields without any value
    left out), by field name."""
    return {k: v[0].get("value") for k, v in _identity(asset).items() if v}


def _distinct_values(entries: Sequence[Mapping[str, Any]]) -> int:
    return len({json.dumps(e.get("value"), sort_keys=True) for e in entries})


def _changed_fields(asset: Mapping[str, Any]) -> list[str]:
    return [k for k, v in _identity(asset).items() if _distinct_values(v) > 1]


def identity_summary(asset: Mapping[str, Any]) -> str:
    """One line of the most telling identity values, newest first: the device's own vendor
    name (when it differs from the MAC vendor), product/model or order number,
    firmware/revision, plant designation or module name, DNP3 address. A field that
    reported more than one value is marked ``(changed)``."""
    ident = _identity(asset)
    parts: list[str] = []

    def add(field: str, fmt: str = "{}") -> None:
        entries = ident[field]
        text = fmt.format(entries[0].get("value"))
        parts.append(f"{text} (changed)" if _distinct_values(entries) > 1 else text)

    def first(fields: Iterable[str]) -> str | None:
        return next((f for f in fields if ident.get(f)), None)

    if ident.get("vendor_name"):
        mac_vendor = str(asset.get("vendor") or "").casefold()
        if str(ident["vendor_name"][0].get("value")).casefold() != mac_vendor:
            add("vendor_name")
    product = first(_PRODUCT_FIELDS)
    if product is not None:
        add(product)
    firmware = first(_FIRMWARE_FIELDS)
    if firmware is not None:
        add(firmware, _FIRMWARE_FIELDS[firmware] + " {}")
    name = first(_NAME_FIELDS)
    if name is not None:
        add(name)
    if ident.get("dnp3_address"):
        add("dnp3_address", "dnp3 addr {}")
    return " · ".join(parts)


def _identity_rows(asset: Mapping[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(field, value, protocol, capture#packet, seen, note) for every identity value of an
    asset, fields by name, values newest first; ``note`` marks the older values of a field
    that changed."""
    rows = []
    for field, entries in _identity(asset).items():
        changed = _distinct_values(entries) > 1
        for i, e in enumerate(entries):
            where = str(e.get("source") or "")
            if e.get("packet") is not None:
                where = f"{where}#{e['packet']}"
            note = ("newest" if i == 0 else "earlier") if changed else ""
            value = e.get("value")
            rows.append(
                (
                    field if i == 0 else "",
                    "" if value is None else str(value),
                    str(e.get("protocol") or ""),
                    where,
                    format_time(e.get("seen")),
                    note,
                )
            )
    return rows


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- rendering -------------------------------------------------------------------------


def _detail_rows(asset: Mapping[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """The rows of the ``--wide`` detail table for one asset: every MAC, router MAC, VLAN
    and client-side service, then every identity value (see :func:`_identity_rows`)."""
    rows = []
    for field, values in (
        ("macs", _strings(asset.get("macs"))),
        ("via", _strings(asset.get("via"))),
        ("vlans", _strings(asset.get("vlans"))),
        ("uses", _services(asset, "uses")),
    ):
        if values:
            rows.append((field, ", ".join(values), "", "", "", ""))
    return rows + _identity_rows(asset)


def render_table(doc: Mapping[str, Any], console: Console, *, wide: bool = False) -> None:
    """Print the inventory as a table, one row per asset ordered by IP address.

    Columns: IP, MAC (the first own MAC, ``+N`` when there are more, or ``via <router
    MAC>``), vendor, roles, services, identity summary (see :func:`identity_summary`),
    first/last seen (UTC), packets sent/received. ``wide`` follows with a detail table:
    per asset every MAC, router MAC, VLAN and service used as a client, and every
    identity value with where it was seen (protocol, capture#packet, time), newest first.
    """
    assets = sorted(
        (a for a in doc.get("assets") or [] if isinstance(a, Mapping)), key=asset_sort_key
    )
    sources = _strings(doc.get("sources"))
    noun = "asset" if len(assets) == 1 else "assets"
    title = f"inventory: {len(assets)} {noun}"
    title += f" from {', '.join(sources)}" if sources else " (no sources)"
    if doc.get("generated"):
        title += f", generated {format_time(doc['generated'])}"
    table = Table(title=title, title_justify="left")
    # Only the IP never wraps; words too long for their column are folded, not cut.
    table.add_column("IP", no_wrap=True)
    for name in ("MAC", "vendor", "roles", "services"):
        table.add_column(name, overflow="fold")
    table.add_column("identity", overflow="fold")
    table.add_column("first seen", overflow="fold")
    table.add_column("last seen", overflow="fold")
    table.add_column("packets out/in", justify="right", overflow="fold")
    for asset in assets:
        macs, via = _strings(asset.get("macs")), _strings(asset.get("via"))
        if macs:
            mac = macs[0] + (f" (+{len(macs) - 1})" if len(macs) > 1 else "")
        elif via:
            mac = f"via {via[0]}"
        else:
            mac = ""
        row = [
            str(asset.get("ip", "")),
            mac,
            str(asset.get("vendor") or ""),
            ", ".join(sorted(_strings(asset.get("roles")))),
            ", ".join(_services(asset, "services")),
            identity_summary(asset),
            format_time(asset.get("first_seen")),
            format_time(asset.get("last_seen")),
            f"{_int(asset.get('packets_sent')):,} / {_int(asset.get('packets_received')):,}",
        ]
        # Text() so that values such as "[PLC]" are shown, not parsed as rich markup.
        table.add_row(*(Text(c) for c in row))
    console.print(table)
    if not wide:
        return
    details = Table(title="asset details (identity newest first)", title_justify="left")
    for name in ("IP", "field", "value", "protocol", "capture#packet", "seen", "note"):
        details.add_column(name, no_wrap=name == "IP", overflow="fold")
    for asset in assets:
        for i, detail in enumerate(_detail_rows(asset)):
            ip = str(asset.get("ip", "")) if i == 0 else ""
            details.add_row(*(Text(c) for c in (ip, *detail)))
    if details.row_count:
        console.print(details)


def _csv_identity_columns(assets: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(column name, identity field) for every field any asset has a value for, by name; a
    field whose name clashes with a fixed column is prefixed ``identity_``."""
    fields = sorted({f for a in assets for f in identity_newest(a)})
    fixed = set(_CSV_HEAD) | set(_CSV_TAIL)
    return [(f"identity_{f}" if f in fixed else f, f) for f in fields]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def to_csv(doc: Mapping[str, Any], out: TextIO) -> None:
    """Write the inventory as CSV: a header row, then one row per asset ordered by IP.

    Columns: ip, macs and via (space separated), vendor, vlans, roles, services and uses
    (``protocol/transport/port``) joined by ``;``, one column per identity field that any
    asset has (its newest value), identity_changed (the fields that reported more than one
    value, ``;`` separated), first_seen, last_seen, packets_sent, packets_received,
    bytes_sent, bytes_received. Lines end in ``\\n``."""
    assets = sorted(
        (a for a in doc.get("assets") or [] if isinstance(a, Mapping)), key=asset_sort_key
    )
    ident_cols = _csv_identity_columns(assets)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_CSV_HEAD, *(c for c, _ in ident_cols), *_CSV_TAIL])
    for a in assets:
        newest = identity_newest(a)
        writer.writerow(
            [
                _cell(a.get("ip")),
                " ".join(_strings(a.get("macs"))),
                " ".join(_strings(a.get("via"))),
                _cell(a.get("vendor")),
                ";".join(_strings(a.get("vlans"))),
                ";".join(sorted(_strings(a.get("roles")))),
                ";".join(_services(a, "services", full=True)),
                ";".join(_services(a, "uses", full=True)),
                *(_cell(newest.get(f)) for _, f in ident_cols),
                ";".join(_changed_fields(a)),
                _cell(a.get("first_seen")),
                _cell(a.get("last_seen")),
                *(str(_int(a.get(k))) for k in _COUNTERS),
            ]
        )


def to_json(doc: Mapping[str, Any], out: TextIO) -> None:
    """Write the document as pretty JSON (indent 2, sorted keys, assets ordered by IP,
    non-ASCII kept) with a trailing newline."""
    data = dict(doc)
    if isinstance(data.get("assets"), list):
        data["assets"] = sorted(
            data["assets"],
            key=lambda a: asset_sort_key(a) if isinstance(a, Mapping) else (100, 0, ""),
        )
    json.dump(data, out, indent=2, sort_keys=True, ensure_ascii=False)
    out.write("\n")


# --- validation --------------------------------------------------------------------------


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_time(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_time(value: object, where: str, problems: list[str]) -> None:
    if not is_time(value):
        problems.append(f"{where}: expected an ISO-8601 timestamp, got {value!r:.60}")


def _check_str_list(value: object, where: str, problems: list[str]) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: expected a list of strings, got {_type_name(value)}")


def _check_services(value: object, where: str, problems: list[str]) -> None:
    if not isinstance(value, list):
        problems.append(f"{where}: expected a list of services, got {_type_name(value)}")
        return
    for i, s in enumerate(value):
        w = f"{where}[{i}]"
        if not isinstance(s, dict):
            problems.append(f"{w}: expected an object, got {_type_name(s)}")
            continue
        for key in ("transport", "protocol"):
            if not isinstance(s.get(key), str):
                problems.append(f"{w}.{key}: expected a string, got {_type_name(s.get(key))}")
        port = s.get("port")
        if not _is_int(port) or not 0 <= port <= 65535:
            problems.append(f"{w}.port: expected a port number 0-65535, got {port!r:.30}")


def _check_identity(value: object, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {_type_name(value)}")
        return
    for field, entries in sorted(value.items()):
        w = f"{where}.{field}"
        if not isinstance(entries, list):
            problems.append(f"{w}: expected a list of values, got {_type_name(entries)}")
            continue
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or "value" not in e:
                problems.append(f"{w}[{i}]: expected an object with a 'value'")
            elif isinstance(e["value"], dict | list):
                problems.append(f"{w}[{i}].value: expected a scalar, got {_type_name(e['value'])}")
            elif "packet" in e and e["packet"] is not None and not _is_int(e["packet"]):
                problems.append(f"{w}[{i}].packet: expected an integer")
            elif e.get("seen") is not None and not is_time(e["seen"]):
                problems.append(f"{w}[{i}].seen: expected an ISO-8601 timestamp")


def validate_asset(asset: object, where: str = "asset") -> list[str]:
    """Problems with one asset record (empty when it is fine); ``where`` prefixes every
    message (``assets[3]``). Used by the baseline validator as well."""
    if not isinstance(asset, dict):
        return [f"{where}: expected an object, got {_type_name(asset)}"]
    problems: list[str] = []
    ip_text = asset.get("ip")
    if ip_text is not None:
        where = f"{where} ({ip_text!s:.45})"
    missing = [k for k in ASSET_REQUIRED if k not in asset]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    if "ip" in asset:
        try:
            ipaddress.ip_address(ip_text if isinstance(ip_text, str) else "")
        except ValueError:
            problems.append(f"{where}.ip: not an IP address: {ip_text!r:.60}")
    for key in _STR_LISTS:
        if key in asset:
            _check_str_list(asset[key], f"{where}.{key}", problems)
    if "vendor" in asset and not isinstance(asset["vendor"], str | None):
        problems.append(f"{where}.vendor: expected a string or null")
    vlans = asset.get("vlans", [])
    if not isinstance(vlans, list) or not all(_is_int(v) for v in vlans):
        problems.append(f"{where}.vlans: expected a list of integers")
    for key in ("services", "uses"):
        if key in asset:
            _check_services(asset[key], f"{where}.{key}", problems)
    if "identity" in asset:
        _check_identity(asset["identity"], f"{where}.identity", problems)
    for key in ("first_seen", "last_seen"):
        if key in asset:
            _check_time(asset[key], f"{where}.{key}", problems)
    for key in _COUNTERS:
        if key in asset and (not _is_int(asset[key]) or asset[key] < 0):
            problems.append(f"{where}.{key}: expected a non-negative integer")
    return problems


def validate(doc: object) -> list[str]:
    """Problems that make ``doc`` unusable as an inventory document, one line each (empty
    when it is fine): not an object, missing or unsupported ``otsec_inventory`` version,
    missing keys, wrong types, duplicate IP addresses."""
    if not isinstance(doc, dict):
        return [f"not an otsec inventory: expected a JSON object, got {_type_name(doc)}"]
    if "otsec_inventory" not in doc:
        return ["not an otsec inventory: no 'otsec_inventory' version key"]
    version = doc["otsec_inventory"]
    if version != INVENTORY_VERSION or not _is_int(version):
        return [
            f"unsupported inventory version {version!r:.30} (this otsec reads {INVENTORY_VERSION})"
        ]
    problems: list[str] = []
    missing = [k for k in ("generated", "sources", "assets") if k not in doc]
    if missing:
        problems.append(f"inventory: missing {', '.join(missing)}")
    if "generated" in doc:
        _check_time(doc["generated"], "generated", problems)
    if "sources" in doc:
        _check_str_list(doc["sources"], "sources", problems)
    assets = doc.get("assets", [])
    if not isinstance(assets, list):
        problems.append(f"assets: expected a list, got {_type_name(assets)}")
        return problems
    seen: set[str] = set()
    for i, asset in enumerate(assets):
        problems += validate_asset(asset, f"assets[{i}]")
        ip = asset.get("ip") if isinstance(asset, dict) else None
        if isinstance(ip, str):
            if ip in seen:
                problems.append(f"assets[{i}]: duplicate ip {ip}")
            seen.add(ip)
    return problems
