"""The address ranges a request reads or writes, per address space.

A space names where addresses live on one server: a Modbus unit's table
(``unit1/holding_register``), an S7 data block or memory area (``db2``, ``merker``; byte
addresses), a DNP3 object group (``g12``; point indices). The baseline learns, per edge,
which ranges were read and written; detection flags a write outside the written ones.
Ranges are inclusive ``(first, last)`` pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

#: (access "read" or "write", space, first, last)
Region = tuple[str, str, int, int]

#: Bytes per element of an S7ANY item's transport size (bits count as one byte).
_S7_WIDTH = {
    0x01: 1, 0x02: 1, 0x03: 1, 0x04: 2, 0x05: 2, 0x06: 4, 0x07: 4, 0x08: 4, 0x09: 2,
    0x0A: 4, 0x0B: 4, 0x0C: 2, 0x0F: 8, 0x1C: 2, 0x1D: 2, 0x1E: 4, 0x1F: 4, 0x20: 4,
}  # fmt: skip
#: DNP3 groups that address no points (class data, IIN, time, delay, files ...).
_DNP3_NO_POINTS = frozenset({0, 50, 51, 52, 60, 70, 80, 110, 120})
#: Points listed one by one beyond this are summarised by their lowest and highest index.
_MAX_LISTED = 64


def regions(protocol: str, record: Any) -> list[Region]:
    """Every range a request record addresses (empty when it addresses none)."""
    if record is None:
        return []
    if protocol == "modbus":
        return _modbus(record)
    if protocol == "s7comm":
        return _s7(record)
    if protocol == "dnp3":
        return _dnp3(record)
    return []


def _modbus(rec: Any) -> list[Region]:
    access = rec.access
    if access not in ("read", "write", "read_write") or rec.address is None:
        return []
    space = f"unit{rec.unit}/{rec.target}"
    count = rec.quantity if rec.quantity else 1
    out: list[Region] = []
    if access == "read_write":
        read_at = getattr(rec, "read_address", None)
        if read_at is not None:
            out.append(("read", space, read_at, read_at + max(rec.read_quantity or 1, 1) - 1))
        access = "write"
    out.append((access, space, rec.address, rec.address + count - 1))
    return out


def _s7(rec: Any) -> list[Region]:
    access = rec.access
    if access not in ("read", "write") or not hasattr(rec, "items"):
        return []
    out: list[Region] = []
    for item in rec.items:
        if item.byte_address is None or item.area is None:
            continue
        target = item.target
        space = f"db{item.db_number}" if target == "db" else target
        width = _S7_WIDTH.get(item.transport_size or 2, 1)
        size = max((item.length or 1) * width, 1)
        out.append((access, space, item.byte_address, item.byte_address + size - 1))
    return out


def _dnp3(rec: Any) -> list[Region]:
    access = rec.access
    if access not in ("read", "write"):
        return []
    out: list[Region] = []
    for obj in rec.objects:
        if obj.group in _DNP3_NO_POINTS:
            continue
        space = f"g{obj.group}"
        if obj.start is not None and obj.stop is not None:
            out.append((access, space, obj.start, obj.stop))
            continue
        indices = sorted({p.index for p in obj.points if p.index is not None})
        if len(indices) > _MAX_LISTED:
            out.append((access, space, indices[0], indices[-1]))
            continue
        for first, last in merge_points(indices):
            out.append((access, space, first, last))
    return out


def merge_points(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted point indices as runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(i, runs[-1][1]))
        else:
            runs.append((i, i))
    return runs


def merge_ranges(ranges: Iterable[Sequence[int]]) -> list[list[int]]:
    """Inclusive integer ranges sorted and merged: overlapping and touching ranges
    (``[0, 4]`` and ``[5, 9]``) become one. Malformed items (not two integers, or first
    after last) are ignored."""
    pairs = sorted(
        (int(r[0]), int(r[1]))
        for r in ranges
        if isinstance(r, list | tuple)
        and len(r) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in r)
        and r[0] <= r[1]
    )
    out: list[list[int]] = []
    for lo, hi in pairs:
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


def covered(ranges: list[list[int]], first: int, last: int) -> bool:
    """``first..last`` lies inside one of the merged, sorted ``ranges``."""
    lo, hi = 0, len(ranges)
    while lo < hi:
        mid = (lo + hi) // 2
        if ranges[mid][0] <= first:
            lo = mid + 1
        else:
            hi = mid
    return lo > 0 and ranges[lo - 1][1] >= last
