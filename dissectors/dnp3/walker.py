"""The objects behind one object header: sized, decoded into points, kept up to a budget.

:class:`ObjectWalker` is used by :func:`~dissectors.dnp3.app.parse_app` for each object
header whose range gives a count. Depending on the qualifier and the function it reads
index prefixes only (requests without object data), objects each behind their own size
prefix (g70, g120 ...), or objects sized by the object library
(:mod:`dissectors.dnp3.objects`): fixed-size runs, packed bits, octet strings, device
attributes. At most ``budget`` points are kept; the rest are walked and counted in
``dropped``. A fault sets ``problem`` (an anomaly name) and ``detail``; ``points`` then
holds what was read before it and the caller ends the walk.
"""

from __future__ import annotations

from typing import Final

from dissectors.dnp3 import objects as o
from dissectors.dnp3.anomalies import MALFORMED_FRAGMENT, UNKNOWN_OBJECT
from dissectors.dnp3.points import fixed_run, octets_run, packed_run
from dissectors.dnp3.records import Point
from dissectors.dnp3.variable import attribute, sized

#: Octets of an index prefix (codes 1-3) or a size prefix (codes 4-6).
PREFIX_WIDTH: Final = (0, 1, 2, 4, 1, 2, 4, -1)


class ObjectWalker:
    """Walks the objects of one header, keeping at most ``budget`` points."""

    __slots__ = ("budget", "count", "detail", "dropped", "first", "frag", "group", "off",
                 "points", "prefix", "problem", "variation")  # fmt: skip

    def __init__(
        self, frag: bytes, off: int, count: int, budget: int, group: int, variation: int,
        prefix: int, first: int | None,
    ) -> None:  # fmt: skip
        self.frag = frag
        self.off = off
        self.count = count
        self.budget = budget if budget > 0 else 0
        self.group = group
        self.variation = variation
        self.prefix = prefix
        self.first = first  # index of the first object without an index prefix
        self.points: list[Point] = []
        self.dropped = 0
        self.problem = ""
        self.detail = ""

    def _fail(self, problem: str, what: str) -> None:
        self.problem = problem
        name = f"g{self.group}v{self.variation}"
        self.detail = f"{name}: {what}" if what else name

    def _fixed(self, stride: int) -> int:
        """How many of the objects fit (``stride`` bytes each, > 0); reports the rest."""
        fit = (len(self.frag) - self.off) // stride
        if fit >= self.count:
            return self.count
        self._fail(MALFORMED_FRAGMENT, f"{self.count} objects of {stride} bytes run past the end")
        return fit

    def indexes(self) -> None:
        """Objects without data: only their index prefixes, if any."""
        width = PREFIX_WIDTH[self.prefix]
        if not width:
            return
        fit = self._fixed(width)
        keep = min(fit, self.budget)
        frag = self.frag
        off = self.off
        self.points = [
            Point(int.from_bytes(frag[p : p + width], "little"), None, None, None, None)
            for p in range(off, off + keep * width, width)
        ]
        self.dropped = fit - keep
        self.off = off + fit * width

    def data(self) -> None:
        spec = o.SPECS.get(self.group << 8 | self.variation)
        if spec is None:
            self._fail(UNKNOWN_OBJECT, "")
            return
        kind = spec.kind
        width = PREFIX_WIDTH[self.prefix]
        first = None if width else self.first
        if kind in (o.FIXED, o.OCTETS):
            stride = spec.size + width
            fit = self._fixed(stride) if stride else self.count
            keep = min(fit, self.budget)
            if kind == o.FIXED:
                self.points = fixed_run(spec, self.frag, self.off, keep, self.prefix, first)
            else:
                self.points = octets_run(self.frag, self.off, keep, spec.size, width, first)
            self.dropped = fit - keep
            self.off += fit * stride
        elif kind == o.PACKED:
            self._packed(spec.size, width)
        elif kind == o.ATTRIBUTE:
            self._attributes(width)
        elif kind == o.EMPTY:
            self.indexes()
        else:
            self._fail(UNKNOWN_OBJECT, "variable size without a size prefix")

    def _packed(self, bits: int, width: int) -> None:
        if width:
            # Index-prefixed packed objects: each index is followed by one octet holding
            # that point's bits.
            fit = self._fixed(width + 1)
            keep = min(fit, self.budget)
            frag = self.frag
            mask = (1 << bits) - 1
            stride = width + 1
            for p in range(self.off, self.off + keep * stride, stride):
                index = int.from_bytes(frag[p : p + width], "little")
                self.points.append(Point(index, frag[p + width] & mask, None, None, None))
            self.dropped = fit - keep
            self.off += fit * stride
            return
        count = self.count
        nbytes = (count * bits + 7) >> 3
        if self.off + nbytes > len(self.frag):
            self._fail(MALFORMED_FRAGMENT, f"{count} packed points run past the end")
            count = (len(self.frag) - self.off) * 8 // bits
            nbytes = (count * bits + 7) >> 3
        keep = min(count, self.budget)
        self.points = packed_run(self.frag, self.off, keep, bits, self.first)
        self.dropped = count - keep
        self.off += nbytes

    def _attributes(self, width: int) -> None:
        """g0 device attributes: data type, length, value (behind an index prefix)."""
        frag = self.frag
        n = len(frag)
        off = self.off
        first = self.first
        budget = self.budget
        for i in range(self.count):
            if off + width + 2 > n:
                self._fail(MALFORMED_FRAGMENT, "attribute header runs past the end")
                break
            index = int.from_bytes(frag[off : off + width], "little") if width else None
            if not width and first is not None:
                index = first + i
            off += width
            size = frag[off + 1]
            if off + 2 + size > n:
                self._fail(MALFORMED_FRAGMENT, f"attribute of {size} bytes runs past the end")
                break
            if i < budget:
                self.points.append(attribute(index, frag[off], frag[off + 2 : off + 2 + size]))
            else:
                self.dropped += 1
            off += 2 + size
        self.off = off

    def sized(self) -> None:
        """Objects each behind its own size prefix (codes 4-6; 1-3 too in free format)."""
        width = PREFIX_WIDTH[self.prefix]
        frag = self.frag
        n = len(frag)
        off = self.off
        group = self.group
        variation = self.variation
        spec = o.SPECS.get(group << 8 | variation)
        first = self.first
        budget = self.budget
        for i in range(self.count):
            if off + width > n:
                self._fail(MALFORMED_FRAGMENT, "object size prefix runs past the end")
                break
            size = int.from_bytes(frag[off : off + width], "little")
            off += width
            if off + size > n:
                self._fail(MALFORMED_FRAGMENT, f"object of {size} bytes runs past the end")
                break
            if i < budget:
                index = None if first is None else first + i
                self.points.append(sized(group, variation, spec, frag[off : off + size], index))
            else:
                self.dropped += 1
            off += size
        self.off = off
