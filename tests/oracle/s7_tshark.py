"""Per-PDU comparison of otsec's S7comm decoding with tshark's (Wireshark 4.0's s7comm).

Both sides reduce each S7 PDU to: ROSCTR, PDU reference, function, item count, per
item (area, DB number, byte address, transport size), user-data function group and
sub-function, SZL id and index. PDUs are keyed by the frame that completed them and their
position in it, as for Modbus (see modbus_tshark.py). A field tshark does not show is
not compared.

``python tests/oracle/s7_tshark.py CAPTURE...`` prints the disagreements.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.oracle.modbus_tshark import (
    Comparison,
    PduKey,
    _as_list,
    _walk,
    collect_pdus,
    print_comparisons,
)
from tests.oracle.modbus_tshark import compare as generic_compare

FIELDS = ("rosctr", "pduref", "func", "itemcount", "items", "group", "subfunc", "szl_id",
          "szl_index")  # fmt: skip

_SCALARS = {
    "s7comm.header.rosctr": "rosctr",
    "s7comm.header.pduref": "pduref",
    "s7comm.param.func": "func",
    "s7comm.param.itemcount": "itemcount",
    "s7comm.param.userdata.funcgroup": "group",
    "s7comm.param.userdata.subfunc": "subfunc",
    "s7comm.data.userdata.szl_id": "szl_id",
    "s7comm.data.userdata.szl_index": "szl_index",
}
_ITEM = {
    "s7comm.param.item.area": "area",
    "s7comm.param.item.db": "db",
    "s7comm.param.item.address.byte": "byte",
    "s7comm.param.item.transp_size": "tsize",
}


def _int(value: str) -> int:
    return int(value, 0)


def tshark_pdus(path: Path) -> dict[PduKey, dict[str, Any]]:
    argv = ["tshark", "-n", "-r", str(path), "-Y", "s7comm", "-T", "json", "--no-duplicate-keys",
            "-J", "frame s7comm"]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, check=True).stdout
    pdus: dict[PduKey, dict[str, Any]] = {}
    for packet in json.loads(out or b"[]"):
        layers = packet["_source"]["layers"]
        frame = int(layers["frame"]["frame.number"])
        for i, layer in enumerate(_as_list(layers.get("s7comm"))):
            rec: dict[str, Any] = {}
            items: list[dict[str, int]] = []
            for node in _items(layer):
                item = {}
                for name, value in _walk(node):
                    key = _ITEM.get(name)
                    if key is not None and key not in item:
                        item[key] = _int(value)
                if item:
                    items.append(item)
            for name, value in _walk(layer):
                key = _SCALARS.get(name)
                if key is not None and key not in rec:
                    rec[key] = _int(value)
            if items:
                rec["items"] = items
            pdus[(frame, i)] = rec
    return pdus


def _items(layer: Any) -> list[Any]:
    """The parameter items of a read/write var PDU (``s7comm.param.item`` objects)."""
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "s7comm.param.item" and isinstance(value, (dict, list)):
                    found.extend(v for v in _as_list(value) if isinstance(v, dict))
                elif isinstance(value, (dict, list)):
                    visit(value)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(layer)
    return found


def otsec_record(rec: Any) -> dict[str, Any]:
    """The comparable fields of one otsec S7 record."""
    out: dict[str, Any] = {"rosctr": rec.rosctr, "pduref": rec.pdu_ref}
    if 0 <= rec.function < 0x10000:
        out["func"] = rec.function
    items = getattr(rec, "items", None)
    if items is not None:
        out["itemcount"] = getattr(rec, "item_count", len(items))
        parsed = []
        for item in items:
            d = {}
            for attr, key in (("area", "area"), ("db_number", "db"), ("byte_address", "byte"),
                              ("transport_size", "tsize")):  # fmt: skip
                value = getattr(item, attr, None)
                if value is not None:
                    d[key] = value
            if d:
                parsed.append(d)
        if parsed:
            out["items"] = parsed
    for attr, key in (("group", "group"), ("subfunction", "subfunc"), ("szl_id", "szl_id"),
                      ("szl_index", "szl_index")):  # fmt: skip
        value = getattr(rec, attr, None)
        if value is not None:
            out[key] = value
    return out


def _s7_record(rec: Any, _from_orig: bool) -> dict[str, Any] | None:
    from dissectors.s7comm import S7PlusPdu

    if isinstance(rec, S7PlusPdu) or not hasattr(rec, "rosctr"):
        return None
    return otsec_record(rec)


def otsec_pdus(path: Path) -> dict[PduKey, dict[str, Any]]:
    return collect_pdus(path, _s7_record)


def field_differences(t: dict[str, Any], o: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    for name in FIELDS:
        if name not in t:
            continue
        if name == "items":
            theirs_items, ours_items = t["items"], o.get("items", [])
            mismatch = len(theirs_items) != len(ours_items) or any(
                ti.get(k) != oi.get(k)
                for ti, oi in zip(theirs_items, ours_items, strict=False)
                for k in ti
            )
            if mismatch:
                out.append(("items", theirs_items, ours_items))
        elif t[name] != o.get(name):
            out.append((name, t[name], o.get(name)))
    return out


def compare(capture: str, theirs: dict[PduKey, dict[str, Any]],
            ours: dict[PduKey, dict[str, Any]]) -> Comparison:  # fmt: skip
    return generic_compare(capture, theirs, ours, field_differences)


def main(argv: list[str]) -> int:
    paths = [Path(name) for name in argv]
    print_comparisons((p, compare(p.name, tshark_pdus(p), otsec_pdus(p))) for p in paths)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
