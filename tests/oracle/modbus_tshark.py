"""Per-PDU comparison of otsec's Modbus decoding with tshark's (Wireshark) on a capture.

Both sides are reduced to the same small record per Modbus PDU, keyed by the frame that
completed the PDU (tshark reports a PDU reassembled from several TCP segments in its
last frame, and so does otsec) and the PDU's position in that frame:

    tid, unit, func, exc, ref, words, bits, regs

A field tshark does not show for a PDU is not compared. Used by the differential test
and by ``python tests/oracle/modbus_tshark.py CAPTURE...`` to print the disagreements.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import real_pcaps_dir

FIELDS = ("tid", "unit", "func", "exc", "ref", "words", "bits", "regs")

PduKey = tuple[int, int]  # (frame, index of the PDU within the frame)


@dataclass
class Comparison:
    capture: str
    tshark_pdus: int = 0
    otsec_pdus: int = 0
    agreeing: int = 0
    #: (frame, index, field, tshark value, otsec value)
    differences: list[tuple[int, int, str, Any, Any]] = field(default_factory=list)
    #: (tshark key, otsec key): the same PDU, reported at another frame by otsec
    moved: list[tuple[PduKey, PduKey]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.agreeing / self.tshark_pdus if self.tshark_pdus else 1.0


def load_known(path: Path) -> dict[tuple[str, int, int, str], str]:
    """A known-differences TSV: (capture, frame, index, field) -> reason."""
    out = {}
    with path.open(newline="") as f:
        rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")
        for row in rows:
            key = (row["capture"], int(row["frame"]), int(row["index"]), row["field"])
            out[key] = row["reason"]
    return out


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """(field name, value) for every field in a tshark JSON layer, nested ones included."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _walk(value)
            else:
                yield key, value
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def tshark_pdus(path: Path, decode_as: list[str] | None = None) -> dict[PduKey, dict[str, Any]]:
    argv = ["tshark", "-n", "-r", str(path)]
    for option in decode_as or []:
        argv += ["-d", option]
    argv += ["-Y", "mbtcp", "-T", "json", "--no-duplicate-keys", "-J", "frame mbtcp modbus"]
    out = subprocess.run(argv, capture_output=True, check=True).stdout
    pdus: dict[PduKey, dict[str, Any]] = {}
    for packet in json.loads(out or b"[]"):
        layers = packet["_source"]["layers"]
        frame = int(layers["frame"]["frame.number"])
        headers = _as_list(layers.get("mbtcp"))
        bodies = _as_list(layers.get("modbus"))
        for i, header in enumerate(headers):
            rec: dict[str, Any] = {
                "tid": int(header["mbtcp.trans_id"]),
                "unit": int(header["mbtcp.unit_id"]),
            }
            body = bodies[i] if i < len(bodies) else None
            if body is not None:
                regs: list[int] = []
                for name, value in _walk(body):
                    key = _TSHARK_FIELDS.get(name)
                    if key == "regs":
                        regs.append(int(value))
                    elif key is not None and key not in rec:  # first occurrence
                        rec[key] = int(value)
                if regs:
                    rec["regs"] = regs
            pdus[(frame, i)] = rec
    return pdus


_TSHARK_FIELDS = {
    "modbus.func_code": "func",
    "modbus.exception_code": "exc",
    "modbus.reference_num": "ref",
    "modbus.word_cnt": "words",
    "modbus.bit_cnt": "bits",
    "modbus.regval_uint16": "regs",
}
_COIL_FUNCTIONS = {1, 2, 5, 15}
_REGISTER_READS = {3, 4}


def otsec_record(rec: Any, request: bool) -> dict[str, Any]:
    """The comparable fields of one otsec Modbus record."""
    out: dict[str, Any] = {"tid": rec.tid, "unit": rec.unit, "func": rec.function}
    if rec.exception_code is not None:
        out["exc"] = rec.exception_code
    if rec.address is not None:
        out["ref"] = rec.address
    if rec.quantity is not None:
        out["bits" if rec.function in _COIL_FUNCTIONS else "words"] = rec.quantity
    if rec.values is not None and rec.function not in _COIL_FUNCTIONS:
        out["regs"] = list(rec.values)
    records = getattr(rec, "records", None)
    if rec.function in (20, 21) and records:
        # tshark's word count of a file-record PDU is its first group's record length
        out["words"] = records[0].length
    return out


#: Reduces one otsec record (and the handler's direction flag) to its comparable fields;
#: None leaves it out (another protocol on the same flow, S7comm-plus ...).
Reducer = Callable[[Any, bool], "dict[str, Any] | None"]


def collect_pdus(
    path: Path, reduce: Reducer, ports: dict[int, str] | None = None
) -> dict[PduKey, dict[str, Any]]:
    """Replay a capture through otsec; every record a handler decodes, reduced, keyed by
    the packet that completed it and its position in that packet."""
    from otsec.capture.pcapfile import open_capture
    from otsec.config import DEFAULT_ICS_PORTS, Settings
    from otsec.pipeline import Pipeline

    settings = Settings(ics_ports={**DEFAULT_ICS_PORTS, **(ports or {})})
    pipeline = Pipeline(settings)
    pdus: dict[PduKey, dict[str, Any]] = {}
    per_frame: dict[int, int] = {}

    def record(flow: Any, flag: bool, rec: Any, ts: float, packet: int) -> None:
        reduced = reduce(rec, flag)
        if reduced is None:
            return
        i = per_frame.get(packet, 0)
        per_frame[packet] = i + 1
        pdus[(packet, i)] = reduced

    pipeline.apps.pdu_handlers.append(record)
    with open_capture(str(path)) as reader:
        pipeline.run(reader)
    pipeline.close()
    return pdus


def otsec_pdus(path: Path, ports: dict[int, str] | None = None) -> dict[PduKey, dict[str, Any]]:
    return collect_pdus(path, otsec_record, ports)


#: Oracle tests need tshark; tests over the public captures need them present.
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def needs_captures(captures: dict[str, Any]) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not captures, reason=f"no captures at {real_pcaps_dir()}")


def check_known(name: str, result: Comparison, known: dict[tuple[str, int, int, str], str]) -> None:
    """Every disagreement of a capture is listed in the known-differences file, and every
    listed one still occurs."""
    unexplained = [d for d in result.differences if (name, d[0], d[1], d[2]) not in known]
    assert not unexplained, (
        f"{name}: {len(unexplained)} unexplained differences (frame, #, field, tshark, otsec): "
        f"{unexplained[:10]}"
    )
    stale = [k for k in known if k[0] == name and
             not any((d[0], d[1], d[2]) == k[1:] for d in result.differences)]  # fmt: skip
    assert not stale, f"{name}: known differences that no longer occur: {stale[:10]}"


def print_comparisons(results: Iterable[tuple[Path, Comparison]], unit: str = "PDUs") -> None:
    """The command-line report of the oracles: agreement and the first disagreements."""
    for path, result in results:
        print(f"{path}: {result.agreeing}/{result.tshark_pdus} agree "
              f"({result.agreement:.2%}), otsec {result.otsec_pdus} {unit}")  # fmt: skip
        for frame, index, name, theirs, ours in result.differences[:40]:
            print(f"   frame {frame} #{index} {name}: tshark={theirs!r} otsec={ours!r}"[:1500])


def field_differences(t: dict[str, Any], o: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, tshark, otsec) for every field tshark shows that otsec does not match.

    (tshark shows the registers of a response only when it saw the request; otsec's
    values are compared where tshark has them.)"""
    return [(name, t[name], o.get(name)) for name in FIELDS if name in t and t[name] != o.get(name)]


#: How far (in frames) the same PDU may be reported apart by the two tools: reassembly
#: timing (a segment held until a hole is filled or declared lost) moves it, the
#: decoding does not change.
MOVE_WINDOW = 1000

Differ = Callable[[dict[str, Any], dict[str, Any]], list[tuple[str, Any, Any]]]


def compare(
    capture: str,
    theirs: dict[PduKey, dict[str, Any]],
    ours: dict[PduKey, dict[str, Any]],
    differ: Differ = field_differences,
) -> Comparison:
    """Pass 1 matches PDUs at the same (frame, index). Pass 2 matches each tshark PDU left
    over to an unused otsec PDU with identical fields reported up to MOVE_WINDOW frames
    away (``moved``: reassembly timing, same decoding); failing that it is compared with
    the otsec PDU at its own position (field differences) or is missing. Pass 3 lists
    otsec PDUs tshark does not have."""
    result = Comparison(capture, tshark_pdus=len(theirs), otsec_pdus=len(ours))
    used: set[PduKey] = set()
    pending: list[PduKey] = []
    for key, t in sorted(theirs.items()):
        o = ours.get(key)
        if o is not None and not differ(t, o):
            used.add(key)
            result.agreeing += 1
        else:
            pending.append(key)
    for key in pending:
        t = theirs[key]
        twin = next((k for k in _near(ours, key, used) if not differ(t, ours[k])), None)
        if twin is not None:
            used.add(twin)
            result.agreeing += 1
            result.moved.append((key, twin))
        elif key in ours and key not in used:
            used.add(key)
            for name, tv, ov in differ(t, ours[key]):
                result.differences.append((*key, name, tv, ov))
        else:
            result.differences.append((*key, "pdu", "present", "missing"))
    for key in sorted(set(ours) - used):
        result.differences.append((*key, "pdu", "missing", "present"))
    return result


def _near(ours: dict[PduKey, Any], key: PduKey, used: set[PduKey]) -> list[PduKey]:
    frame = key[0]
    return sorted(
        k for k in ours
        if k not in used and abs(k[0] - frame) <= MOVE_WINDOW
    )  # fmt: skip


def main(argv: list[str]) -> int:
    if not shutil.which("tshark"):
        print("tshark not found", file=sys.stderr)
        return 2
    paths = [Path(name) for name in argv]
    print_comparisons((p, compare(p.name, tshark_pdus(p), otsec_pdus(p))) for p in paths)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
