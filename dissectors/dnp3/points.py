"""Points out of fixed-size and packed object data (see :mod:`dissectors.dnp3.objects`).

A run of fixed-size objects is read with one ``Struct.iter_unpack`` over its bytes; each
row (index prefix first, when there is one) becomes a :class:`Point` by its layout.
Times are 48-bit milliseconds since 1970, read as a 32-bit low part and a 16-bit high
part.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from typing import Any

from dissectors.dnp3 import objects as o
from dissectors.dnp3.records import Point

Row = tuple[Any, ...]


def fixed_run(
    spec: o.ObjSpec, data: bytes, off: int, count: int, prefix: int, first: int | None
) -> list[Point]:
    """``count`` objects of ``spec`` at ``off``, each behind an index prefix of code
    ``prefix`` (0: none; the index is then ``first + i``, or None without ``first``).
    The caller checked that the bytes are there."""
    st = spec.structs[prefix]
    rows = list(st.iter_unpack(data[off : off + count * st.size]))
    indexes: Iterable[int | None]
    if prefix:
        indexes = [row[0] for row in rows]
        b = 1
    else:
        indexes = repeat(None, count) if first is None else range(first, first + count)
        b = 0
    # The most common layouts in one comprehension each, the rest point by point.
    layout = spec.layout
    if layout == o.FLAG_VALUE:
        return [Point(i, r[b + 1], r[b], None, None) for i, r in zip(indexes, rows, strict=False)]
    if layout == o.FLAGS_BIT:
        return [Point(i, r[b] >> 7, r[b], None, None) for i, r in zip(indexes, rows, strict=False)]
    if layout == o.VALUE:
        return [Point(i, r[b], None, None, None) for i, r in zip(indexes, rows, strict=False)]
    if layout == o.FLAG_VALUE_T48:
        return [
            Point(i, r[b + 1], r[b], r[b + 2] | r[b + 3] << 32, None)
            for i, r in zip(indexes, rows, strict=False)
        ]
    return [fixed_point(layout, i, r, b) for i, r in zip(indexes, rows, strict=False)]


def fixed_point(layout: int, index: int | None, row: Row, b: int) -> Point:
    """One point from an unpacked row whose object fields start at ``row[b]``."""
    if layout == o.FLAG_VALUE:
        return Point(index, row[b + 1], row[b], None, None)
    if layout == o.FLAGS_BIT:
        flags = row[b]
        return Point(index, flags >> 7, flags, None, None)
    if layout == o.VALUE:
        return Point(index, row[b], None, None, None)
    if layout == o.FLAG_VALUE_T48:
        return Point(index, row[b + 1], row[b], row[b + 2] | row[b + 3] << 32, None)
    if layout == o.FLAGS_BIT_T48:
        flags = row[b]
        return Point(index, flags >> 7, flags, row[b + 1] | row[b + 2] << 32, None)
    if layout == o.FLAGS_BIT_T16:
        flags = row[b]
        return Point(index, flags >> 7, flags, row[b + 1], None)
    if layout == o.FLAGS_DBL:
        flags = row[b]
        return Point(index, flags >> 6, flags, None, None)
    if layout == o.FLAGS_DBL_T48:
        flags = row[b]
        return Point(index, flags >> 6, flags, row[b + 1] | row[b + 2] << 32, None)
    if layout == o.FLAGS_DBL_T16:
        flags = row[b]
        return Point(index, flags >> 6, flags, row[b + 1], None)
    if layout == o.CROB:
        return crob(index, row, b)
    if layout == o.VALUE_STATUS:
        return Point(index, row[b], None, None, {"status": row[b + 1]})
    if layout == o.STATUS_VALUE:
        return Point(index, row[b + 1], None, None, {"status": row[b]})
    if layout == o.STATUS_VALUE_T48:
        time = row[b + 2] | row[b + 3] << 32
        return Point(index, row[b + 1], None, time, {"status": row[b]})
    if layout == o.TIME:
        time = row[b] | row[b + 1] << 32
        return Point(index, time, None, time, None)
    if layout == o.TIME_INTERVAL:
        time = row[b] | row[b + 1] << 32
        return Point(index, time, None, time, {"interval_ms": row[b + 2]})
    if layout == o.TIME_INDEXED:
        time = row[b] | row[b + 1] << 32
        extra: dict[str, int | str] = {"interval_count": row[b + 2], "interval_units": row[b + 3]}
        return Point(index, time, None, time, extra)
    if layout == o.DELAY_MS:
        return Point(index, row[b], None, None, {"units": "ms"})
    if layout == o.DELAY_S:
        return Point(index, row[b], None, None, {"units": "s"})
    if layout == o.COMMAND_EVENT:
        state = row[b]
        return Point(index, state >> 7, None, None, {"status": state & 0x7F})
    if layout == o.COMMAND_EVENT_T48:
        state = row[b]
        time = row[b + 1] | row[b + 2] << 32
        return Point(index, state >> 7, None, time, {"status": state & 0x7F})
    if layout == o.SEC_STAT:
        return Point(index, row[b + 2], row[b], None, {"association": row[b + 1]})
    if layout == o.SEC_STAT_T48:
        time = row[b + 3] | row[b + 4] << 32
        return Point(index, row[b + 2], row[b], time, {"association": row[b + 1]})
    if layout == o.AUTH_SEQ_USER:
        return Point(index, None, None, None, {"sequence": row[b], "user": row[b + 1]})
    if layout == o.AUTH_USER:
        return Point(index, None, None, None, {"user": row[b]})
    return Point(index, None, None, None, None)


def crob(index: int | None, row: Row, b: int) -> Point:
    """Control relay output block / pattern control block (g12v1, g12v2)."""
    code = row[b]
    extra: dict[str, int | str] = {
        "code": code,
        "op_type": code & 0x0F,
        "queue": (code >> 4) & 1,
        "clear": (code >> 5) & 1,
        "tcc": code >> 6,
        "count": row[b + 1],
        "on_ms": row[b + 2],
        "off_ms": row[b + 3],
        "status": row[b + 4],
    }
    return Point(index, code, None, None, extra)


def packed_run(data: bytes, off: int, count: int, bits: int, first: int | None) -> list[Point]:
    """``count`` packed 1- or 2-bit points from bit 0 of ``data[off]``."""
    nbytes = (count * bits + 7) >> 3
    value = int.from_bytes(data[off : off + nbytes], "little")
    mask = (1 << bits) - 1
    if first is None:
        return [Point(None, (value >> (i * bits)) & mask, None, None, None) for i in range(count)]
    return [Point(first + i, (value >> (i * bits)) & mask, None, None, None) for i in range(count)]


def octets_run(
    data: bytes, off: int, count: int, size: int, prefix_width: int, first: int | None
) -> list[Point]:
    """``count`` octet strings of ``size`` bytes, as hex, behind an index prefix of
    ``prefix_width`` octets (0: none)."""
    out: list[Point] = []
    stride = size + prefix_width
    index = first
    for i in range(count):
        p = off + i * stride
        if prefix_width:
            index = int.from_bytes(data[p : p + prefix_width], "little")
        elif first is not None:
            index = first + i
        out.append(Point(index, data[p + prefix_width : p + stride].hex(), None, None, None))
    return out
