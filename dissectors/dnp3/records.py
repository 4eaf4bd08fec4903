"""The typed records :func:`~dissectors.dnp3.app.parse_app` returns.

An :class:`AppPdu` is one application fragment: its control octet, function code, IIN
(responses), every object header walked (:class:`ObjectHeader`) with the points it
carries (:class:`Point`), and named anomalies. Stored fields are what the bytes say;
names and the protocol-neutral semantics (``access``, ``target``, ``operation``) are
properties read from the tables in :mod:`dissectors.dnp3.consts`. Records are read-only
by contract. :class:`Point` and :class:`ObjectHeader`, built per point and per header,
are plain slotted classes with their own ``__init__``: compiled by mypyc that builds
them about 6x faster than a dataclass (whose generated ``__init__`` stays interpreted);
:class:`AppPdu` is a slotted dataclass (a frozen one is 8x slower to build).
:meth:`AppPdu.specific` gives the DNP3-specific fields as a JSON-ready dict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dissectors.dnp3 import consts
from dissectors.semantics import NeutralFields, Semantics

Anomalies = tuple[tuple[str, str], ...]
PointValue = int | float | str | None
Extra = dict[str, int | str]


class Point:
    """One object instance: a point's value or one free-format object's fields."""

    __slots__ = ("extra", "flags", "index", "time", "value")

    def __init__(
        self, index: int | None, value: PointValue, flags: int | None, time: int | None,
        extra: Extra | None,
    ) -> None:  # fmt: skip
        #: Point index, from the range or the index prefix; None for free-format objects.
        self.index = index
        #: State 0/1 (binary), 0-3 (double-bit), counter, analog, setpoint, time in ms
        #: since 1970 (g50/g51), delay (g52), CROB control code; octet strings as hex.
        self.value = value
        #: Quality flags octet, where the variation has one.
        self.flags = flags
        #: Absolute time (ms since 1970) or relative time (ms), where the variation has one.
        self.time = time
        #: Group-specific fields (CROB, g41 status, file and authentication objects ...).
        self.extra = extra

    def _key(self) -> tuple[int | None, PointValue, int | None, int | None, Extra | None]:
        return (self.index, self.value, self.flags, self.time, self.extra)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.index, self.value, self.flags, self.time))

    def __repr__(self) -> str:
        return "Point(index={!r}, value={!r}, flags={!r}, time={!r}, extra={!r})".format(
            *self._key()
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.index is not None:
            out["index"] = self.index
        # numbers under "value", text (strings, octets as hex, NaN/inf) under "text": one
        # type per field, as a search index needs
        value = self.value
        if type(value) is str or (type(value) is float and not math.isfinite(value)):
            out["text"] = str(value)
        elif value is not None:
            out["value"] = value
        if self.flags is not None:
            out["flags"] = self.flags
        if self.time is not None:
            out["time"] = self.time
        if self.extra:
            out.update(self.extra)
        return out


class ObjectHeader:
    """One object header and the points that follow it."""

    __slots__ = ("count", "group", "points", "prefix_code", "qualifier", "range_code", "start",
                 "stop", "variation")  # fmt: skip

    def __init__(
        self, group: int, variation: int, qualifier: int, prefix_code: int, range_code: int,
        start: int | None, stop: int | None, count: int | None, points: tuple[Point, ...],
    ) -> None:  # fmt: skip
        self.group = group
        self.variation = variation
        self.qualifier = qualifier
        #: (qualifier >> 4) & 7: 0 none, 1-3 index of 1/2/4 octets, 4-6 size of 1/2/4.
        self.prefix_code = prefix_code
        #: qualifier & 0x0F: 0-2 start-stop, 3-5 virtual start-stop, 6 all, 7-9 count,
        #: 11 free format.
        self.range_code = range_code
        self.start = start
        self.stop = stop
        #: Number of objects (stop - start + 1 for start-stop ranges); None for "all".
        self.count = count
        self.points = points

    def _key(self) -> tuple[int, int, int, int | None, int | None, int | None, tuple[Point, ...]]:
        return (self.group, self.variation, self.qualifier, self.start, self.stop, self.count,
                self.points)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectHeader) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key()[:6])

    def __repr__(self) -> str:
        return (
            f"ObjectHeader({self.name}, qualifier=0x{self.qualifier:02x}, start={self.start!r}, "
            f"stop={self.stop!r}, count={self.count!r}, points={self.points!r})"
        )

    @property
    def name(self) -> str:
        return f"g{self.group}v{self.variation}"

    @property
    def description(self) -> str:
        return consts.group_name(self.group)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": self.group,
            "variation": self.variation,
            "name": self.name,
            "qualifier": self.qualifier,
            "prefix_code": self.prefix_code,
            "range_code": self.range_code,
        }
        if self.start is not None:
            out["start"] = self.start
        if self.stop is not None:
            out["stop"] = self.stop
        if self.count is not None:
            out["count"] = self.count
        if self.points:
            out["points"] = [p.as_dict() for p in self.points]
        return out


@dataclass(slots=True)
class AppPdu(NeutralFields):
    """One DNP3 application fragment."""

    fir: bool
    fin: bool
    con: bool
    uns: bool
    seq: int
    #: Function code; -1 when the fragment is empty.
    function: int
    #: ``IIN1 << 8 | IIN2`` for responses (0x81, 0x82, 0x83); None for requests.
    iin: int | None
    objects: tuple[ObjectHeader, ...]
    anomalies: Anomalies
    #: Points walked but not kept beyond the maximum (whole fragment).
    points_dropped: int

    @property
    def protocol(self) -> str:
        return "dnp3"

    @property
    def request(self) -> bool:
        return self.function not in consts.RESPONSES

    @property
    def unsolicited(self) -> bool:
        return self.function == consts.UNSOLICITED_RESPONSE

    @property
    def function_name(self) -> str:
        if self.function == consts.NO_FUNCTION:
            return "none"
        return consts.function_name(self.function)

    @property
    def iin_flags(self) -> tuple[str, ...]:
        return () if self.iin is None else consts.iin_flags(self.iin)

    def semantics(self) -> Semantics:
        """(access, target, operation), see :data:`consts.FUNCTION_SEMANTICS`."""
        fc = self.function
        base = consts.FUNCTION_SEMANTICS.get(fc)
        if base is None:
            return consts.UNKNOWN_SEMANTICS
        access, target, operation = base
        objects = self.objects
        for obj in objects:
            if obj.group == consts.FILE_GROUP:
                return (self._file_access(access), "file", "file")
        if target != consts.FROM_OBJECTS:
            return base
        target = "none"
        for obj in objects:
            if obj.group not in consts.CONTEXT_GROUPS:
                target = consts.group_target(obj.group)
                break
        else:
            if objects:
                target = consts.group_target(objects[0].group)
        special = consts.OBJECT_OPERATIONS.get((fc, target))
        if special is not None and (fc != consts.READ or all(obj.group == 0 for obj in objects)):
            operation = special
        return (access, target, operation)

    def _file_access(self, default: str) -> str:
        fc = self.function
        if fc == consts.OPEN_FILE:
            for obj in self.objects:
                for point in obj.points:
                    if point.extra is not None:
                        mode = point.extra.get("mode")
                        if isinstance(mode, int):
                            return consts.FILE_MODE_ACCESS.get(mode, default)
            return default
        if fc in (consts.READ, consts.RESPONSE, consts.UNSOLICITED_RESPONSE):
            return "read"
        if fc == consts.WRITE:
            return "write"
        return default

    @property
    def address(self) -> int | None:
        """The first object header's start index (or its first point's index)."""
        if not self.objects:
            return None
        first = self.objects[0]
        if first.start is not None:
            return first.start
        for point in first.points:
            return point.index
        return None

    @property
    def quantity(self) -> int | None:
        """The first object header's number of objects."""
        return self.objects[0].count if self.objects else None

    @property
    def values(self) -> tuple[int | float, ...] | None:
        """Numeric values of the kept points of the first object that has any."""
        for obj in self.objects:
            out: list[int | float] = []
            for point in obj.points:
                value = point.value
                if isinstance(value, int | float):
                    out.append(value)
            if out:
                return tuple(out)
        return None

    def specific(self) -> dict[str, Any]:
        """DNP3-specific fields, JSON-ready (octet data as hex strings)."""
        out: dict[str, Any] = {
            "application_control": {
                "fir": self.fir,
                "fin": self.fin,
                "con": self.con,
                "uns": self.uns,
                "sequence": self.seq,
            }
        }
        if self.iin is not None:
            out["iin"] = {"value": self.iin, "flags": list(consts.iin_flags(self.iin))}
        if self.objects:
            out["objects"] = [obj.as_dict() for obj in self.objects]
        if self.points_dropped:
            out["points_dropped"] = self.points_dropped
        return out
