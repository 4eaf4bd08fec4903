"""Per-fragment comparison of otsec's DNP3 decoding with tshark's (Wireshark 4.0's dnp3).

Both sides reduce each DNP3 application fragment to: function code, application control
byte, IIN (responses), and the list of object headers, each with its group/variation,
qualifier prefix and range codes, start/stop or quantity, and its points: index and the
value fields tshark shows (binary state, counter, analog value, analog output value,
control status, CROB count/on/off times, time delay). Fragments are keyed by the frame
that completed them and their position in it, as for Modbus (see modbus_tshark.py). A
field tshark does not show is not compared.

``python tests/oracle/dnp3_tshark.py CAPTURE...`` prints the disagreements.
"""

from __future__ import annotations

import json
import math
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

FIELDS = ("func", "ctl", "iin", "objects")

#: tshark point fields -> the name both sides use
_POINT_FIELDS = {
    "dnp3.al.bit": "value",
    "dnp3.al.2bit": "value",
    "dnp3.al.cnt": "value",
    "dnp3.al.ana.int": "value",
    "dnp3.al.ana.float": "value",
    "dnp3.al.anaout.int": "value",
    "dnp3.al.anaout.float": "value",
    "dnp3.al.time_delay": "value",
    "dnp3.al.ctrlstatus": "status",
    "dnp3.al.count": "count",
    "dnp3.al.on_time": "on_ms",
    "dnp3.al.off_time": "off_ms",
}
_INDEX_FIELDS = ("dnp3.al.point_index", "dnp3.al.index")
_HEADER_FIELDS = {
    "dnp3.al.objq.prefix": "prefix",
    "dnp3.al.objq.range": "range",
    "dnp3.al.range.start": "start",
    "dnp3.al.range.stop": "stop",
    "dnp3.al.range.quantity": "quantity",
}


def _number(value: str) -> int | float:
    try:
        return int(value, 0)
    except ValueError:
        return float(value)


def tshark_pdus(path: Path, decode_as: list[str] | None = None) -> dict[PduKey, dict[str, Any]]:
    argv = ["tshark", "-n", "-r", str(path)]
    for option in decode_as or []:
        argv += ["-d", option]
    argv += ["-Y", "dnp3.al.func", "-T", "json", "--no-duplicate-keys", "-J", "frame dnp3"]
    out = subprocess.run(argv, capture_output=True, check=True).stdout
    pdus: dict[PduKey, dict[str, Any]] = {}
    for packet in json.loads(out or b"[]"):
        layers = packet["_source"]["layers"]
        frame = int(layers["frame"]["frame.number"])
        i = 0
        for layer in _as_list(layers.get("dnp3")):
            app = next((v for k, v in layer.items() if k.startswith("Application Layer")), None)
            if not isinstance(app, dict):
                continue
            pdus[(frame, i)] = _tshark_fragment(app)
            i += 1
    return pdus


def _tshark_fragment(app: dict[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {"func": int(app["dnp3.al.func"]), "ctl": int(app["dnp3.al.ctl"], 0)}
    if "dnp3.al.iin" in app:
        rec["iin"] = int(app["dnp3.al.iin"], 0)
    objects: list[dict[str, Any]] = []
    for key, node in app.items():
        if not key.endswith("Data Objects") or not isinstance(node, dict):
            continue
        codes = _as_list(node.get("dnp3.al.obj"))
        trees = _as_list(node.get("dnp3.al.obj_tree"))
        for code, tree in zip(codes, trees, strict=False):
            objects.append(_tshark_object(int(code, 0), tree))
    rec["objects"] = objects
    return rec


def _tshark_object(code: int, tree: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"obj": code}
    points: list[dict[str, Any]] = []
    if isinstance(tree, dict):
        for key, node in tree.items():
            if key.startswith("Point Number") or key.startswith("Point Index"):
                for item in _as_list(node):
                    points.append(_tshark_point(item))
            elif isinstance(node, dict):
                for name, value in _walk(node):
                    field = _HEADER_FIELDS.get(name)
                    if field is not None and field not in obj:
                        obj[field] = int(value, 0)
    if points:
        obj["points"] = points
    return obj


def _tshark_point(node: Any) -> dict[str, Any]:
    point: dict[str, Any] = {}
    for name, value in _walk(node):
        if name in _INDEX_FIELDS and "index" not in point:
            point["index"] = int(value, 0)
        field = _POINT_FIELDS.get(name)
        if field is not None and field not in point:
            point[field] = _number(value)
    return point


def otsec_record(rec: Any) -> dict[str, Any]:
    """The comparable fields of one otsec DNP3 application fragment."""
    ctl = (rec.fir << 7) | (rec.fin << 6) | (rec.con << 5) | (rec.uns << 4) | rec.seq
    out: dict[str, Any] = {"func": rec.function, "ctl": ctl}
    if rec.iin is not None:
        out["iin"] = rec.iin
    objects = []
    for obj in rec.objects:
        d: dict[str, Any] = {"obj": obj.group << 8 | obj.variation, "prefix": obj.prefix_code,
                             "range": obj.range_code}  # fmt: skip
        for attr, key in (("start", "start"), ("stop", "stop"), ("count", "quantity")):
            value = getattr(obj, attr)
            if value is not None:
                d[key] = value
        points = []
        for p in obj.points:
            point: dict[str, Any] = {"index": p.index, "value": p.value}
            if p.extra:
                point.update(p.extra)
            points.append(point)
        d["points"] = points
        objects.append(d)
    out["objects"] = objects
    return out


def _dnp3_record(rec: Any, _from_orig: bool) -> dict[str, Any] | None:
    return otsec_record(rec) if getattr(rec, "protocol", "") == "dnp3" else None


def otsec_pdus(path: Path, ports: dict[int, str] | None = None) -> dict[PduKey, dict[str, Any]]:
    return collect_pdus(path, _dnp3_record, ports)


def _same(theirs: Any, ours: Any) -> bool:
    if isinstance(theirs, float) or isinstance(ours, float):
        if not isinstance(ours, (int, float)) or isinstance(ours, bool):
            return False
        # tshark prints floats to 6 significant digits
        return math.isclose(float(theirs), float(ours), rel_tol=1e-5, abs_tol=1e-9)
    return bool(theirs == ours)


def _object_differs(t: dict[str, Any], o: dict[str, Any]) -> bool:
    for key, value in t.items():
        if key == "points":
            ours = o.get("points", [])
            if len(value) != len(ours):
                return True
            for tp, op in zip(value, ours, strict=True):
                if any(not _same(v, op.get(k)) for k, v in tp.items()):
                    return True
        elif value != o.get(key):
            return True
    return False


#: Functions whose object headers tshark 4.0 does not dissect (it shows none): ASSIGN_CLASS,
#: STOP_APPL, AUTHENTICATE_REQ, AUTHENTICATE_RESP. Their objects are not compared.
TSHARK_SHOWS_NO_OBJECTS = frozenset({0x16, 0x12, 0x20, 0x83})


def field_differences(t: dict[str, Any], o: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    for name in FIELDS:
        if name not in t:
            continue
        if name == "objects" and not t["objects"] and t["func"] in TSHARK_SHOWS_NO_OBJECTS:
            continue  # tshark does not show them: not compared
        if name == "objects":
            theirs, ours = t["objects"], o.get("objects", [])
            if len(theirs) != len(ours) or any(
                _object_differs(a, b) for a, b in zip(theirs, ours, strict=False)
            ):
                out.append(("objects", theirs, ours))
        elif t[name] != o.get(name):
            out.append((name, t[name], o.get(name)))
    return out


def compare(capture: str, theirs: dict[PduKey, dict[str, Any]],
            ours: dict[PduKey, dict[str, Any]]) -> Comparison:  # fmt: skip
    return generic_compare(capture, theirs, ours, field_differences)


def main(argv: list[str]) -> int:
    decode_as: list[str] = []
    paths = []
    for arg in argv:
        if arg.startswith("-d"):
            decode_as.append(arg[2:])
        else:
            paths.append(Path(arg))
    print_comparisons(
        ((p, compare(p.name, tshark_pdus(p, decode_as), otsec_pdus(p))) for p in paths),
        "fragments",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
