"""DNP3 transport function: application fragments out of link frames' user data.

The first user data octet of a link frame is the transport header - FIN 0x80, FIR 0x40,
sequence 0x3F - and the rest is a segment of an application fragment. A fragment starts
with a FIR segment, goes on with segments numbered one more each time (modulo 64) and
ends with a FIN segment. :class:`TransportAssembler` (one per direction) joins segments
per (source, destination) link address pair:

* FIR+FIN: the payload is the whole fragment, returned at once;
* FIR while a fragment of the same pair is unfinished: the old one is dropped
  (``dnp3.transport_incomplete``) and the new one starts;
* a non-FIR segment must carry the previous sequence + 1, else the partial fragment is
  dropped (``dnp3.transport_out_of_sequence``); repeating the previous segment byte for
  byte (a link-layer retry) is ignored silently;
* a non-FIR segment with nothing in progress is ``dnp3.transport_no_first_segment``;
* growing beyond ``max_fragment`` bytes is ``dnp3.fragment_too_large`` (dropped).

After a fragment was dropped, the rest of its segments are dropped quietly until the
pair's next FIR; :meth:`TransportAssembler.gap` drops every partial fragment quietly and
makes orphan segments quiet until the next FIR. At most ``max_associations`` pairs have a
fragment in progress; beyond that the oldest is dropped (``dnp3.transport_incomplete``).
"""

from __future__ import annotations

from typing import Final

from dissectors.dnp3 import consts
from dissectors.dnp3.anomalies import (
    FRAGMENT_TOO_LARGE,
    TRANSPORT_INCOMPLETE,
    TRANSPORT_NO_FIRST_SEGMENT,
    TRANSPORT_OUT_OF_SEQUENCE,
)
from dissectors.dnp3.link import LinkFrame

FIN: Final = 0x80
FIR: Final = 0x40
SEQ: Final = 0x3F

Pair = tuple[int, int]


class _Partial:
    """A fragment being assembled for one address pair."""

    __slots__ = ("last", "parts", "seq", "size")

    def __init__(self, segment: bytes) -> None:
        self.parts = [segment[1:]]
        self.size = len(segment) - 1
        self.seq = segment[0] & SEQ
        self.last = segment  # the last segment, transport header included


class TransportAssembler:
    """Joins transport segments into application fragments (see the module docstring)."""

    __slots__ = ("_partials", "_quiet", "_skipping", "anomalies", "max_associations",
                 "max_fragment")  # fmt: skip

    def __init__(self, max_fragment: int = 65536, max_associations: int = 64) -> None:
        self.max_fragment = max_fragment
        self.max_associations = max(1, max_associations)
        #: ``(name, detail)`` since the caller last cleared the list.
        self.anomalies: list[tuple[str, str]] = []
        self._partials: dict[Pair, _Partial] = {}
        self._skipping: set[Pair] = set()  # dropped fragment: orphans quiet until a FIR
        self._quiet = False  # after a gap: every orphan is quiet until a FIR

    @property
    def pending(self) -> int:
        return sum(p.size for p in self._partials.values())

    def gap(self) -> None:
        self._skip_all()
        self._quiet = True

    def add(self, frame: LinkFrame) -> bytes | None:
        """Take one link frame; the complete application fragment when its FIN segment
        completes one, else None. Frames without user data are ignored."""
        segment = frame.data
        if not segment or not frame.prm or frame.function not in consts.USER_DATA_FUNCTIONS:
            return None
        th = segment[0]
        pair = (frame.source, frame.destination)
        if th & FIR:
            self._quiet = False
            if self._skipping:
                self._skipping.discard(pair)
            partials = self._partials
            if partials:
                old = partials.pop(pair, None)
                if old is not None:
                    if segment == old.last and len(old.parts) == 1:
                        partials[pair] = old  # link-layer retry of the first segment
                        return None
                    self._report(TRANSPORT_INCOMPLETE, pair, f"{old.size} bytes, new FIR")
            if len(segment) - 1 > self.max_fragment:
                self._too_large(pair, len(segment) - 1)
                return None
            if th & FIN:
                return segment[1:]
            if len(partials) >= self.max_associations:
                oldest = next(iter(partials))
                dropped = partials.pop(oldest)
                self._report(TRANSPORT_INCOMPLETE, oldest, f"{dropped.size} bytes, evicted")
            partials[pair] = _Partial(segment)
            return None
        partial = self._partials.get(pair)
        if partial is None:
            if not self._quiet and pair not in self._skipping:
                self._report(TRANSPORT_NO_FIRST_SEGMENT, pair, f"sequence {th & SEQ}")
            return None
        seq = th & SEQ
        if seq != (partial.seq + 1) & SEQ:
            if seq == partial.seq and segment == partial.last:
                return None  # link-layer retry of the last segment
            del self._partials[pair]
            self._skip(pair)
            detail = f"sequence {seq} after {partial.seq}"
            self._report(TRANSPORT_OUT_OF_SEQUENCE, pair, detail)
            return None
        size = partial.size + len(segment) - 1
        if size > self.max_fragment:
            del self._partials[pair]
            self._too_large(pair, size)
            return None
        partial.parts.append(segment[1:])
        partial.size = size
        partial.seq = seq
        partial.last = segment
        if th & FIN:
            del self._partials[pair]
            return b"".join(partial.parts)
        return None

    def _too_large(self, pair: Pair, size: int) -> None:
        self._skip(pair)
        self._report(FRAGMENT_TOO_LARGE, pair, f"{size} bytes > {self.max_fragment}")

    def _skip(self, pair: Pair) -> None:
        if len(self._skipping) >= self.max_associations:
            self._skipping.clear()
        self._skipping.add(pair)

    def _skip_all(self) -> None:
        for pair in self._partials:
            self._skip(pair)
        self._partials.clear()

    def _report(self, name: str, pair: Pair, detail: str) -> None:
        self.anomalies.append((name, f"{pair[0]} -> {pair[1]}: {detail}"))
