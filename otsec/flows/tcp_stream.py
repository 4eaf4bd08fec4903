"""Per-direction TCP reassembly: in-order bytes out, whatever order segments came in.

One :class:`TcpStream` follows one direction of one flow. It hands the bytes of that
direction, in sequence order and exactly once, to the flow's application handler:

* in-order segments are delivered at once (the common case costs one comparison);
* retransmissions are dropped, and a retransmission or overlap whose bytes differ from
  what was delivered is the anomaly ``tcp.overlap_mismatch`` (the first copy wins, as in
  most end hosts);
* out-of-order segments wait in a small buffer until the hole before them fills;
* a hole that will not fill becomes a gap: the handler is told how many bytes were lost
  (``tcp.gap``) and delivery resumes at the next buffered segment. A hole is declared
  lost when the receiver acknowledges data beyond it (it got what the capture missed),
  when the buffer limits are reached, or when the flow ends;
* sequence numbers wrap around modulo 2**32; a direction first seen mid-stream starts at
  its first data segment.

Buffers are bounded per stream and in total (:class:`ReassemblyLimits`); hitting a bound
is an anomaly and a gap, never unbounded growth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from otsec.config import ReassemblyLimits

_MOD = 0xFFFFFFFF
_HALF = 0x80000000


class StreamSink(Protocol):
    """Where a stream's ordered bytes go (the flow's application handler)."""

    def data(self, from_orig: bool, data: bytes, ts: float) -> None: ...

    def gap(self, from_orig: bool, size: int, ts: float) -> None: ...


class ReassemblyContext:
    """State shared by every stream of a run: global budget, counters, anomaly report."""

    __slots__ = (
        "bytes_delivered",
        "gap_bytes",
        "gaps",
        "limits",
        "ooo_bytes",
        "ooo_segments",
        "report",
        "retransmissions",
    )

    def __init__(self, limits: ReassemblyLimits, report: AnomalyReport) -> None:
        self.limits = limits
        self.report = report
        self.ooo_bytes = 0  # currently buffered, all streams
        self.ooo_segments = 0  # segments that arrived out of order (counter)
        self.retransmissions = 0
        self.gaps = 0
        self.gap_bytes = 0
        self.bytes_delivered = 0


class AnomalyReport(Protocol):
    def __call__(self, name: str, ts: float, owner: Any, detail: str) -> None: ...


def _rel(a: int, b: int) -> int:
    """Signed distance from sequence number ``b`` to ``a`` (modulo 2**32)."""
    d = (a - b) & _MOD
    return d - 0x100000000 if d & _HALF else d


class TcpStream:
    """Reassembly state of one direction."""

    __slots__ = (
        "_ctx",
        "_last_data",
        "_last_seq",
        "_ooo_bytes",
        "delivered",
        "fin_seq",
        "from_orig",
        "next_seq",
        "ooo",
        "owner",
        "sink",
    )

    def __init__(
        self, sink: StreamSink, from_orig: bool, ctx: ReassemblyContext, owner: Any = None
    ) -> None:
        self.sink = sink
        self.from_orig = from_orig
        self.owner = owner  # passed back with anomalies (the flow)
        self._ctx = ctx
        self.next_seq: int | None = None
        #: Bytes handed to the sink and not yet added to the run's counter (see flush).
        self.delivered = 0
        self.fin_seq: int | None = None
        #: Out-of-order segments: seq -> (captured bytes, length on the wire).
        self.ooo: dict[int, tuple[bytes, int]] = {}
        self._ooo_bytes = 0
        self._last_seq = 0
        self._last_data = b""

    @property
    def buffered(self) -> int:
        """Out-of-order bytes waiting for a hole to fill."""
        return self._ooo_bytes

    def segment(self, seq: int, flags: int, data: bytes, seglen: int, ts: float) -> None:
        """One segment of this direction: TCP ``flags``, ``data`` its payload as captured,
        ``seglen`` its payload length on the wire."""
        if seq == self.next_seq and not flags & 3 and seglen == len(data):
            # (callers pass seglen 0 only with SYN or FIN, which take the slow path)
            # The common case, kept short: the next bytes in order, nothing special.
            self.next_seq = (seq + seglen) & _MOD
            self._last_seq = seq
            self._last_data = data
            self.delivered += seglen
            self.sink.data(self.from_orig, data, ts)
            if self.ooo:
                self._drain(ts)
            return
        self._segment(seq, flags & 2, flags & 1, data, seglen, ts)

    def _segment(self, seq: int, syn: int, fin: int, data: bytes, seglen: int, ts: float) -> None:
        if syn:
            seq = (seq + 1) & _MOD
            if self.next_seq is None:
                self.next_seq = seq
        nxt = self.next_seq
        if nxt is None:
            if not seglen:
                return  # a pure ACK says nothing about where this direction's data starts
            nxt = self.next_seq = seq  # mid-stream pickup
        if fin:
            self.fin_seq = (seq + seglen) & _MOD
        if not seglen:
            return
        if seq == nxt:
            self._deliver(seq, data, seglen, ts)
            if self.ooo:
                self._drain(ts)
            return
        rel = _rel(seq, nxt)
        if rel < 0:
            self._overlap(seq, -rel, data, seglen, ts)
            return
        self._buffer(seq, data, seglen, ts)

    def acked(self, ack: int, ts: float) -> None:
        """The other side acknowledged ``ack``: if that is beyond a hole we are holding
        segments behind, the receiver got bytes the capture missed, so skip the hole."""
        nxt = self.next_seq
        if nxt is not None and self.ooo and _rel(ack, nxt) > 0:
            self._skip_hole(ts, "tcp.gap", "receiver acknowledged bytes the capture missed")

    def flush(self, ts: float) -> None:
        """End of the flow: whatever is still buffered is delivered after its holes."""
        while self.ooo:
            self._skip_hole(ts, "tcp.gap", "flow ended before the hole was filled")
        self._ctx.bytes_delivered += self.delivered
        self.delivered = 0

    # -- internals -------------------------------------------------------------------

    def _deliver(self, seq: int, data: bytes, seglen: int, ts: float) -> None:
        self.next_seq = (seq + seglen) & _MOD
        self._last_seq = seq
        self._last_data = data
        self.delivered += len(data)
        self.sink.data(self.from_orig, data, ts)
        if len(data) < seglen:
            missing = seglen - len(data)
            self._ctx.report(
                "tcp.snaplen_truncated", ts, self.owner, f"{missing} bytes not captured"
            )
            self._gap(missing, ts)

    def _gap(self, size: int, ts: float) -> None:
        ctx = self._ctx
        ctx.gaps += 1
        ctx.gap_bytes += size
        self.sink.gap(self.from_orig, size, ts)

    def _overlap(self, seq: int, behind: int, data: bytes, seglen: int, ts: float) -> None:
        """A segment starting ``behind`` bytes before the next expected byte."""
        self._ctx.retransmissions += 1
        self._check_same(seq, data, ts)
        if behind >= seglen:
            return  # pure retransmission
        self._deliver((seq + behind) & _MOD, data[behind:], seglen - behind, ts)
        if self.ooo:
            self._drain(ts)

    def _check_same(self, seq: int, data: bytes, ts: float) -> None:
        """Compare a resent segment with the last delivered one where they overlap."""
        last = self._last_data
        if not last:
            return
        start = _rel(seq, self._last_seq)
        if start < 0 or start >= len(last):
            return
        common = last[start : start + len(data)]
        if data[: len(common)] != common:
            self._ctx.report(
                "tcp.overlap_mismatch",
                ts,
                self.owner,
                f"{len(common)} resent bytes differ from the first copy",
            )

    def _buffer(self, seq: int, data: bytes, seglen: int, ts: float) -> None:
        ctx = self._ctx
        limits = ctx.limits
        ctx.ooo_segments += 1
        old = self.ooo.get(seq)
        if old is not None:
            if old[0][: len(data)] != data[: len(old[0])]:
                ctx.report("tcp.overlap_mismatch", ts, self.owner, "two out-of-order copies differ")
            if old[1] >= seglen:
                return
            self._ooo_bytes -= len(old[0])
            ctx.ooo_bytes -= len(old[0])
        self.ooo[seq] = (data, seglen)
        self._ooo_bytes += len(data)
        ctx.ooo_bytes += len(data)
        while self.ooo and (
            self._ooo_bytes > limits.max_ooo_bytes_per_stream
            or len(self.ooo) > limits.max_ooo_segments_per_stream
        ):
            self._skip_hole(ts, "tcp.ooo_limit", "per-stream out-of-order limit reached")
        while self.ooo and ctx.ooo_bytes > limits.max_ooo_bytes_total:
            self._skip_hole(ts, "tcp.buffer_limit", "global out-of-order limit reached")

    def _pop(self, seq: int) -> tuple[bytes, int]:
        data, seglen = self.ooo.pop(seq)
        self._ooo_bytes -= len(data)
        self._ctx.ooo_bytes -= len(data)
        return data, seglen

    def _drain(self, ts: float) -> None:
        """Deliver buffered segments that the stream has now reached."""
        ooo = self.ooo
        while ooo:
            nxt = self.next_seq
            assert nxt is not None
            if nxt in ooo:
                data, seglen = self._pop(nxt)
                self._deliver(nxt, data, seglen, ts)
                continue
            # A buffered segment may start before the next byte (overlapping segments).
            for seq in list(ooo):
                rel = _rel(seq, nxt)
                if rel < 0:
                    data, seglen = self._pop(seq)
                    self._overlap(seq, -rel, data, seglen, ts)
                    break
            else:
                return

    def _skip_hole(self, ts: float, anomaly: str, why: str) -> None:
        """Give up on the hole before the first buffered segment and resume there."""
        nxt = self.next_seq
        assert nxt is not None
        first = min(self.ooo, key=lambda s: _rel(s, nxt))
        size = _rel(first, nxt)
        if size > 0:
            self._ctx.report(anomaly, ts, self.owner, f"{size} bytes lost: {why}")
            if anomaly != "tcp.gap":
                self._ctx.report("tcp.gap", ts, self.owner, f"{size} bytes lost: {why}")
            self._gap(size, ts)
            self.next_seq = first
        self._drain(ts)
