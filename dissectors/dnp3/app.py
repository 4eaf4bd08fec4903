"""DNP3 application layer: one fragment in, an :class:`~dissectors.dnp3.records.AppPdu` out.

A fragment is the application control octet (FIR 0x80, FIN 0x40, CON 0x20, UNS 0x10,
sequence 0x0F), the function code, the two IIN octets in responses, then object headers:
group, variation, qualifier (object prefix code in bits 4-6, range specifier code in bits
0-3), the range field, and the objects, each behind its index or size prefix.

Requests that name objects without sending them (READ, freezes, enable/disable
unsolicited, assign class, confirm) carry no object data: only index prefixes and objects
with a size prefix are walked there (the g50 time of a freeze-at-time has data). In every
other fragment the data of each object is sized from :mod:`dissectors.dnp3.objects`; an
object that cannot be sized ends the walk (``dnp3.unknown_object``), as does data running
past the end, a reserved qualifier code or a range ending before it starts
(``dnp3.malformed_fragment``). What was walked before is kept. At most ``max_points``
points are kept per fragment; the rest are walked (sizes checked) and counted in
``points_dropped`` (``dnp3.points_truncated``). :func:`parse_app` never raises.
"""

from __future__ import annotations

import struct
from typing import Final

from dissectors.dnp3 import consts
from dissectors.dnp3.anomalies import INVALID_FUNCTION_CODE, MALFORMED_FRAGMENT, POINTS_TRUNCATED
from dissectors.dnp3.records import AppPdu, ObjectHeader, Point
from dissectors.dnp3.walker import ObjectWalker

#: Width of the range field's start/stop (range codes 0-5) or count (7, 8, 9, 11).
_RANGE_WIDTH: Final = (1, 2, 4, 1, 2, 4, 0, 1, 2, 4, -1, 1, -1, -1, -1, -1)
_START_STOP: Final = (struct.Struct("<BB"), struct.Struct("<HH"), struct.Struct("<II"))
_FREE_FORMAT: Final = 0x0B
_NO_POINTS: Final[tuple[Point, ...]] = ()


def parse_app(fragment: bytes, max_points: int = 4096) -> AppPdu:
    """Decode one application fragment (transport headers removed); never raises."""
    n = len(fragment)
    if n < 2:
        detail = "empty fragment" if not n else "fragment without a function code"
        ctl = fragment[0] if n else 0
        return AppPdu(bool(ctl & 0x80), bool(ctl & 0x40), bool(ctl & 0x20), bool(ctl & 0x10),
                      ctl & 0x0F, consts.NO_FUNCTION, None, (), ((MALFORMED_FRAGMENT, detail),),
                      0)  # fmt: skip
    ctl = fragment[0]
    fc = fragment[1]
    anomalies: list[tuple[str, str]] = []
    iin: int | None = None
    objects: list[ObjectHeader] = []
    dropped = 0
    off = 2
    if fc in consts.RESPONSES:
        if n < 4:
            anomalies.append((MALFORMED_FRAGMENT, "response cut inside its IIN"))
            off = n
        else:
            iin = fragment[2] << 8 | fragment[3]
            off = 4
    if fc not in consts.FUNCTIONS:
        anomalies.append((INVALID_FUNCTION_CODE, f"function code {fc}"))
    elif off < n:
        dropped = _walk(fragment, off, fc, max_points, objects, anomalies)
        if dropped:
            anomalies.append((POINTS_TRUNCATED, f"{dropped} points beyond the first {max_points}"))
    return AppPdu(
        bool(ctl & 0x80), bool(ctl & 0x40), bool(ctl & 0x20), bool(ctl & 0x10), ctl & 0x0F, fc,
        iin, tuple(objects), tuple(anomalies), dropped,
    )  # fmt: skip


def _walk(
    frag: bytes,
    off: int,
    fc: int,
    budget: int,
    objects: list[ObjectHeader],
    anomalies: list[tuple[str, str]],
) -> int:
    """Walk the object headers from ``off``; return the number of points dropped."""
    n = len(frag)
    header_only = fc in consts.HEADER_ONLY
    dropped = 0
    while off < n:
        if n - off < 3:
            anomalies.append((MALFORMED_FRAGMENT, f"object header cut at offset {off}"))
            break
        group = frag[off]
        variation = frag[off + 1]
        qualifier = frag[off + 2]
        prefix = (qualifier >> 4) & 7
        rc = qualifier & 0x0F
        off += 3
        width = _RANGE_WIDTH[rc]
        start: int | None = None
        stop: int | None = None
        count: int | None = None
        problem = ""
        if width < 0:
            problem = f"reserved range code {rc}"
        elif rc <= 5:
            if off + 2 * width > n:
                problem = "range cut"
            else:
                start, stop = _START_STOP[width >> 1].unpack_from(frag, off)
                off += 2 * width
                if stop < start:
                    problem = f"range stop {stop} before start {start}"
                else:
                    count = stop - start + 1
        elif width:
            if off + width > n:
                problem = "count cut"
            else:
                count = int.from_bytes(frag[off : off + width], "little")
                off += width
        if not problem and prefix == 7:
            problem = "reserved prefix code 7"
        if problem:
            header = ObjectHeader(group, variation, qualifier, prefix, rc, start, stop, None, ())
            objects.append(header)
            anomalies.append((MALFORMED_FRAGMENT, f"g{group}v{variation}: {problem}"))
            break
        if not count:
            objects.append(
                ObjectHeader(group, variation, qualifier, prefix, rc, start, stop, count, ())
            )
            continue
        # Points are numbered from the range's start, or from 0 after a count.
        first = start if rc <= 5 else (0 if rc != _FREE_FORMAT else None)
        walker = ObjectWalker(frag, off, count, budget, group, variation, prefix, first)
        with_data = not header_only or (group == 50 and fc in consts.FREEZE_AT_TIME_FUNCTIONS)
        if prefix >= 4 or (prefix and rc == _FREE_FORMAT):
            walker.sized()
        elif not with_data:
            walker.indexes()
        else:
            walker.data()
        points = tuple(walker.points) if walker.points else _NO_POINTS
        objects.append(
            ObjectHeader(group, variation, qualifier, prefix, rc, start, stop, count, points)
        )
        budget -= len(walker.points)
        dropped += walker.dropped
        if walker.problem:
            anomalies.append((walker.problem, walker.detail))
            break
        off = walker.off
    return dropped
