"""How regularly a client polls a server: the typical request interval of one edge.

A poller repeats the same requests on a cycle (an HMI reads the same registers every
second). :class:`Cadence` remembers, per request signature (function code and address),
when that request was last seen, and keeps the first :data:`MAX_SAMPLES` intervals between
repeats. Its median is the edge's typical request interval; the edge counts as polled
when enough repeats were seen and most of them sit near the median. The inventory uses it
for the HMI/SCADA and historian roles, the baseline for the edge's interval.
"""

from __future__ import annotations

from collections.abc import Hashable

#: Request signatures tracked per edge (a poll cycle rarely has more).
MAX_SIGNATURES = 64
#: Interval samples kept per edge: the first ones (a poll cycle shows in a few hundred
#: repeats; stopping there keeps a busy edge's cost per request to one comparison).
MAX_SAMPLES = 256
#: Repeats needed before an interval is reported.
MIN_SAMPLES = 5


class Cadence:
    """Request intervals of one client -> server edge."""

    __slots__ = ("count", "last", "samples")

    def __init__(self) -> None:
        self.last: dict[Hashable, float] = {}
        self.samples: list[float] = []
        #: Intervals kept (sampling stops at MAX_SAMPLES).
        self.count = 0

    def add(self, signature: Hashable, ts: float) -> None:
        if self.count >= MAX_SAMPLES:  # enough to know the cycle
            return
        last = self.last
        prev = last.get(signature)
        if prev is None:
            if len(last) < MAX_SIGNATURES:
                last[signature] = ts
            return
        last[signature] = ts
        if ts <= prev:
            return
        self.samples.append(ts - prev)
        self.count += 1

    def median(self) -> float | None:
        """The median interval in seconds, or None before MIN_SAMPLES repeats."""
        if len(self.samples) < MIN_SAMPLES:
            return None
        ordered = sorted(self.samples)
        n = len(ordered)
        mid = n // 2
        return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    def regular(self, max_interval: float = 300.0) -> bool:
        """Polled: a median of at most ``max_interval`` seconds, and at least 60% of the
        intervals within half to one and a half times it."""
        median = self.median()
        if median is None or median > max_interval:
            return False
        near = sum(1 for x in self.samples if 0.5 * median <= x <= 1.5 * median)
        return near >= 0.6 * len(self.samples)
