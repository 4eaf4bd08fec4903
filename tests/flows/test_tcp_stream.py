"""TCP reassembly: split, overlap, out of order, gap, retransmission, wrap-around,
mid-stream pickup, limits; checked through a length-prefixed test framer."""

from __future__ import annotations

import random

import pytest

from dissectors.framing import LengthFramer
from otsec.capture.decode import FIN, SYN
from otsec.config import ReassemblyLimits
from otsec.flows.tcp_stream import ReassemblyContext, TcpStream
from tests import testproto


def length_prefixed() -> LengthFramer:
    return testproto.framer()


pdu = testproto.pdu


class Recorder:
    """A stream sink that frames what it gets and remembers everything."""

    def __init__(self) -> None:
        self.framer = length_prefixed()
        self.stream = b""
        self.pdus: list[bytes] = []
        self.gaps: list[int] = []

    def data(self, from_orig: bool, data: bytes, ts: float) -> None:
        self.stream += data
        self.pdus += self.framer.feed(data)

    def gap(self, from_orig: bool, size: int, ts: float) -> None:
        self.gaps.append(size)
        self.framer.gap()


class Harness:
    def __init__(self, limits: ReassemblyLimits | None = None) -> None:
        self.anomalies: list[tuple[str, str]] = []
        self.ctx = ReassemblyContext(
            limits or ReassemblyLimits(), lambda n, ts, owner, d: self.anomalies.append((n, d))
        )
        self.sink = Recorder()
        self.stream = TcpStream(self.sink, True, self.ctx)

    def seg(self, seq: int, data: bytes = b"", *, syn: bool = False, fin: bool = False) -> None:
        self.stream.segment(
            seq & 0xFFFFFFFF, (SYN if syn else 0) | (FIN if fin else 0), data, len(data), 0.0
        )

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.anomalies]


MESSAGES = [pdu(bytes([i]) * (i * 7 % 50 + 1)) for i in range(40)]
WIRE = b"".join(MESSAGES)


def cut(data: bytes, sizes: list[int]) -> list[tuple[int, bytes]]:
    """Split ``data`` into segments of the given sizes (cycled): (offset, bytes)."""
    out, off, i = [], 0, 0
    while off < len(data):
        n = sizes[i % len(sizes)]
        out.append((off, data[off : off + n]))
        off += n
        i += 1
    return out


def test_in_order_after_handshake_delivers_every_pdu() -> None:
    h = Harness()
    h.seg(1000, syn=True)
    for off, chunk in cut(WIRE, [1460]):
        h.seg(1001 + off, chunk)
    assert h.sink.pdus == MESSAGES
    assert h.sink.gaps == [] and h.anomalies == []


@pytest.mark.parametrize("sizes", [[1], [3], [5, 1, 7], [2, 100], [len(WIRE)]])
def test_pdus_split_over_segments_and_several_per_segment(sizes: list[int]) -> None:
    h = Harness()
    h.seg(0, syn=True)
    for off, chunk in cut(WIRE, sizes):
        h.seg(1 + off, chunk)
    assert h.sink.pdus == MESSAGES
    assert h.sink.framer.pending == 0


def test_out_of_order_segments_are_reordered() -> None:
    h = Harness()
    h.seg(0, syn=True)
    segs = cut(WIRE, [13])
    rng = random.Random(7)
    # swap neighbours: every second pair arrives reversed
    order = list(range(len(segs)))
    for i in range(0, len(order) - 1, 2):
        if rng.random() < 0.5:
            order[i], order[i + 1] = order[i + 1], order[i]
    for i in order:
        off, chunk = segs[i]
        h.seg(1 + off, chunk)
    assert h.sink.stream == WIRE
    assert h.sink.pdus == MESSAGES
    assert h.ctx.ooo_segments > 0
    assert h.stream.buffered == 0 and h.ctx.ooo_bytes == 0


def test_fully_reversed_segments() -> None:
    h = Harness()
    h.seg(0, syn=True)
    for off, chunk in reversed(cut(WIRE, [50])):
        h.seg(1 + off, chunk)
    assert h.sink.stream == WIRE and h.sink.gaps == []


def test_retransmissions_are_dropped() -> None:
    h = Harness()
    h.seg(0, syn=True)
    segs = cut(WIRE, [40])
    for off, chunk in segs:
        h.seg(1 + off, chunk)
        h.seg(1 + off, chunk)  # exact retransmission
    assert h.sink.stream == WIRE
    assert h.ctx.retransmissions == len(segs)
    assert h.anomalies == []


def test_partial_overlap_delivers_only_new_bytes() -> None:
    h = Harness()
    h.seg(0, syn=True)
    h.seg(1, WIRE[:30])
    h.seg(1 + 20, WIRE[20:60])  # 10 bytes overlap, 30 new
    h.seg(1 + 60, WIRE[60:])
    assert h.sink.stream == WIRE
    assert h.anomalies == []


def test_overlap_with_different_bytes_is_an_anomaly_first_copy_wins() -> None:
    h = Harness()
    h.seg(0, syn=True)
    h.seg(1, WIRE[:30])
    forged = WIRE[20:25] + b"\xff" * 5 + WIRE[30:60]
    h.seg(1 + 20, forged)
    h.seg(1 + 60, WIRE[60:])
    assert h.sink.stream == WIRE
    assert "tcp.overlap_mismatch" in h.names


def test_gap_is_skipped_when_the_receiver_acknowledges_past_it() -> None:
    h = Harness()
    h.seg(0, syn=True)
    segs = cut(WIRE, [25])
    lost = segs[3]
    for off, chunk in segs[:3] + segs[4:6]:
        h.seg(1 + off, chunk)
    assert h.sink.gaps == []
    h.stream.acked(1 + segs[6][0], 0.0)  # peer acknowledges beyond the hole
    assert h.sink.gaps == [len(lost[1])]
    assert "tcp.gap" in h.names
    for off, chunk in segs[6:]:
        h.seg(1 + off, chunk)
    # the stream resumed right after the hole
    assert h.sink.stream == WIRE[: lost[0]] + WIRE[lost[0] + len(lost[1]) :]
    # the framer resynchronised: PDUs wholly after the hole come out again
    tail = [m for m in MESSAGES if WIRE.index(m) > lost[0] + len(lost[1])]
    assert h.sink.pdus[-len(tail) :] == tail


def test_gap_flushed_at_flow_end() -> None:
    h = Harness()
    h.seg(0, syn=True)
    h.seg(1, WIRE[:10])
    h.seg(1 + 20, WIRE[20:40])
    assert h.stream.buffered == 20
    h.stream.flush(0.0)
    assert h.sink.gaps == [10]
    assert h.sink.stream == WIRE[:10] + WIRE[20:40]
    assert h.stream.buffered == 0


def test_sequence_wrap_around() -> None:
    h = Harness()
    isn = 0xFFFFFFFF - 100
    h.seg(isn, syn=True)
    segs = cut(WIRE, [37])
    # deliver with one out-of-order pair across the wrap point
    order = list(range(len(segs)))
    order[2], order[3] = order[3], order[2]
    for i in order:
        off, chunk = segs[i]
        h.seg(isn + 1 + off, chunk)
    assert h.sink.stream == WIRE
    assert h.sink.pdus == MESSAGES


def test_mid_stream_pickup_starts_at_first_data_segment() -> None:
    h = Harness()
    base = 123456789
    h.seg(base)  # a pure ACK does not fix the start
    assert h.stream.next_seq is None
    first = WIRE.index(MESSAGES[5])
    for off, chunk in cut(WIRE[first:], [30]):
        h.seg(base + off, chunk)
    assert h.sink.pdus == MESSAGES[5:]


def test_per_stream_limit_turns_a_hole_into_a_gap() -> None:
    h = Harness(ReassemblyLimits(max_ooo_bytes_per_stream=100, max_ooo_segments_per_stream=8))
    h.seg(0, syn=True)
    segs = cut(WIRE, [20])
    for off, chunk in segs[1:]:  # the first segment never arrives
        h.seg(1 + off, chunk)
    assert "tcp.ooo_limit" in h.names and "tcp.gap" in h.names
    assert h.sink.gaps == [20]
    assert h.sink.stream == WIRE[20:]
    assert h.stream.buffered <= 100


def test_global_limit_bounds_all_streams() -> None:
    limits = ReassemblyLimits(max_ooo_bytes_total=150)
    anomalies: list[str] = []
    ctx = ReassemblyContext(limits, lambda n, ts, o, d: anomalies.append(n))
    sinks = [Recorder() for _ in range(4)]
    streams = [TcpStream(s, True, ctx) for s in sinks]
    for st in streams:
        st.segment(0, SYN, b"", 0, 0.0)
        st.segment(100, 0, b"x" * 60, 60, 0.0)  # hole of 99 bytes
        assert ctx.ooo_bytes <= 150
    assert "tcp.buffer_limit" in anomalies


def test_fin_and_syn_consume_sequence_space() -> None:
    h = Harness()
    h.seg(10, syn=True)
    h.seg(11, WIRE[:50], fin=True)
    assert h.stream.fin_seq == 61
    h.seg(61)  # the ACK of the FIN carries no data
    assert h.sink.stream == WIRE[:50]


def test_snaplen_cut_segment_is_data_then_gap() -> None:
    h = Harness()
    h.seg(0, syn=True)
    h.stream.segment(1, 0, WIRE[:20], 40, 0.0)  # 40 on the wire, 20 captured
    h.seg(41, WIRE[40:80])
    assert h.sink.gaps == [20]
    assert "tcp.snaplen_truncated" in h.names
    assert h.sink.stream == WIRE[:20] + WIRE[40:80]


def test_random_segmentation_and_shuffling_always_yields_the_stream() -> None:
    rng = random.Random(2024)
    for _ in range(50):
        h = Harness()
        isn = rng.randrange(1 << 32)
        h.seg(isn, syn=True)
        segs = cut(WIRE, [rng.randint(1, 80) for _ in range(5)])
        # local shuffles within a window of 4, plus duplicates
        order = list(range(len(segs)))
        for i in range(len(order)):
            j = min(len(order) - 1, i + rng.randint(0, 3))
            order[i], order[j] = order[j], order[i]
        for i in order:
            off, chunk = segs[i]
            h.seg(isn + 1 + off, chunk)
            if rng.random() < 0.2:
                h.seg(isn + 1 + off, chunk)
        h.stream.flush(0.0)
        assert h.sink.stream == WIRE
        assert h.sink.pdus == MESSAGES
        assert h.sink.gaps == []
