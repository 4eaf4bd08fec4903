"""Property: whatever frames arrive, the pipeline produces counters and anomalies, never
an exception, and its buffers stay within their limits."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otsec.config import ReassemblyLimits, Settings
from otsec.flows.session import ServiceRegistry
from otsec.pipeline import Pipeline
from otsec.sinks.ecs import transaction_doc
from tests.testproto import Collected

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class ListReader:
    """Stands in for a capture reader: records from a list of (linktype, frame)."""

    name = "fuzz"
    format = "test"
    truncated = False

    def __init__(self, frames: list[tuple[int, bytes]]) -> None:
        self.frames = frames
        self.warnings: list[str] = []
        self.linktypes = sorted({lt for lt, _ in frames})

    def records(self):  # type: ignore[no-untyped-def]
        # Like the real readers, hand out frames inside a larger buffer: any read past a
        # frame's end (or before its start) picks up these junk bytes and shows.
        for i, (lt, frame) in enumerate(self.frames):
            buf = b"\xee" * 7 + frame + b"\xdd" * 64
            yield 1000.0 + i * 0.5, lt, buf, 7, 7 + len(frame), len(frame)


def _pipeline(limits: ReassemblyLimits | None = None) -> tuple[Pipeline, Collected]:
    got = Collected()
    services = ServiceRegistry()
    services.register(9999, got.service())
    settings_ = Settings(reassembly=limits or ReassemblyLimits())
    return Pipeline(settings_, services), got


LINKTYPES = st.sampled_from([0, 1, 12, 101, 108, 113, 228, 229, 276, 147])


@_FUZZ
@given(st.lists(st.tuples(LINKTYPES, st.binary(max_size=200)), max_size=40))
def test_random_frames_never_raise(frames: list[tuple[int, bytes]]) -> None:
    pipeline, _ = _pipeline()
    pipeline.run(ListReader(frames))  # type: ignore[arg-type]
    pipeline.close()
    assert pipeline.packets == len(frames)


def _tcp_frame(
    seq: int, ack: int, flags: int, payload: bytes, sport: int, dport: int, udp: bool = False
) -> bytes:
    if udp:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    else:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(l4) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, 17 if udp else 6, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))  # fmt: skip
    if sport in (9999, 502, 102):  # server -> client: swap the addresses too
        ip = ip[:12] + ip[16:20] + ip[12:16]
    eth = b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x08\x00"
    return eth + ip + l4 + payload


SEGMENT = st.tuples(
    st.integers(0, 3000),  # relative seq
    st.integers(0, 0xFFFFFFFF),  # ack
    st.integers(0, 0x3F),  # flags
    st.binary(max_size=120),
    st.booleans(),  # from client
)


@_FUZZ
@given(st.integers(0, 0xFFFFFFFF), st.lists(SEGMENT, max_size=60))
def test_random_tcp_segments_on_a_framed_port(isn: int, segments: list) -> None:  # type: ignore[type-arg]
    limits = ReassemblyLimits(
        max_ooo_bytes_per_stream=500, max_ooo_segments_per_stream=8, max_ooo_bytes_total=800
    )
    pipeline, _ = _pipeline(limits)
    frames = []
    for rel, ack, flags, payload, client in segments:
        seq = (isn + rel) & 0xFFFFFFFF
        sport, dport = (40000, 9999) if client else (9999, 40000)
        frames.append((1, _tcp_frame(seq, ack, flags, payload, sport, dport)))
    pipeline.run(ListReader(frames))  # type: ignore[arg-type]
    assert pipeline.reassembly.ooo_bytes <= 800
    for flow in pipeline.flows.active.values():
        for stream in (flow.orig_stream, flow.resp_stream):
            assert stream is None or stream.buffered <= 500
    pipeline.close()
    assert pipeline.reassembly.ooo_bytes == 0
    assert pipeline.packets == len(segments)


def _flow_view(got: Collected) -> list[tuple[object, ...]]:
    return sorted(
        (f.key, f.orig_pkts, f.orig_bytes, f.resp_pkts, f.resp_bytes, f.state, f.orig_flags,
         f.resp_flags, f.end_reason)
        for f in got.ended
    )  # fmt: skip


class RawLog:
    """An application handler that logs exactly what the pipeline hands it."""

    def __init__(self, log: list[tuple[object, ...]], fid: int) -> None:
        self.log = log
        self.fid = fid

    def data(self, from_orig: bool, data: bytes, ts: float) -> None:
        self.log.append(("data", self.fid, from_orig, data, ts))

    def gap(self, from_orig: bool, size: int, ts: float) -> None:
        self.log.append(("gap", self.fid, from_orig, size, ts))

    def datagram(self, from_orig: bool, data: bytes, ts: float) -> None:
        self.log.append(("dgram", self.fid, from_orig, data, ts))

    def close(self, ts: float) -> None:
        self.log.append(("close", self.fid, ts))


def _raw_log_pipeline() -> tuple[Pipeline, list[tuple[object, ...]]]:
    from otsec.flows.session import Service

    log: list[tuple[object, ...]] = []
    services = ServiceRegistry()
    services.register(9999, Service("raw", lambda flow: RawLog(log, flow.fid), tcp=True, udp=True))
    return Pipeline(Settings(), services), log


def _run_both(
    frames: list[tuple[int, bytes]], default_services: bool = False
) -> list[tuple[Pipeline, Collected]]:
    out = []
    for fast in (True, False):
        if default_services:
            pipeline, got = Pipeline(), Collected()
        else:
            pipeline, log = _raw_log_pipeline()
            got = Collected()
            got.pdus = log  # type: ignore[assignment]
        pipeline.fast_path = fast
        pipeline.flow_end_handlers.append(lambda f, r, ts, got=got: got.ended.append(f))
        pipeline.run(ListReader(frames))  # type: ignore[arg-type]
        pipeline.close()
        out.append((pipeline, got))
    return out


def _mutate(frame: bytes, edits: list[tuple[int, int]]) -> bytes:
    b = bytearray(frame)
    for pos, value in edits:
        b[pos % len(b)] = value
    return bytes(b)


EDITS = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=3)


@_FUZZ
@given(st.lists(st.tuples(SEGMENT, st.booleans(), EDITS), max_size=40))
def test_inline_fast_path_agrees_with_decode(segments: list) -> None:  # type: ignore[type-arg]
    """The pipeline's inline Ethernet/IPv4 TCP and UDP path and decode() agree exactly:
    same flows, counters, anomalies, and the same bytes handed to the application."""
    frames = []
    for (rel, ack, flags, payload, client), is_udp, edits in segments:
        sport, dport = (40000, 9999) if client else (9999, 40000)
        seq = (5000 + rel) & 0xFFFFFFFF
        frame = _tcp_frame(seq, ack, flags, payload, sport, dport, udp=is_udp)
        frames.append((1, _mutate(frame, edits) if edits else frame))
    (fast, fast_got), (slow, slow_got) = _run_both(frames)
    assert fast.anomalies == slow.anomalies
    assert fast.other == slow.other
    assert _flow_view(fast_got) == _flow_view(slow_got)
    assert fast_got.pdus == slow_got.pdus
    assert fast.reassembly.bytes_delivered == slow.reassembly.bytes_delivered


def test_inline_fast_path_agrees_on_real_captures(real_pcaps) -> None:  # type: ignore[no-untyped-def]
    from otsec.capture.pcapfile import open_capture

    for name in ("mixed/iti__mb2.pcap", "s7comm/iti__s7comm_downloading_block_db1.pcap",
                 "dnp3/cisagov__dnp3_example.pcap", "modbus/zeek__fuzz-72.pcap"):  # fmt: skip
        with open_capture(str(real_pcaps / name)) as reader:
            frames = [(lt, frame) for _ts, lt, frame, _wl in reader.packets()]
        (fast, fast_got), (slow, slow_got) = _run_both(frames, default_services=True)
        assert _flow_view(fast_got) == _flow_view(slow_got), name
        assert fast.reassembly.bytes_delivered == slow.reassembly.bytes_delivered > 0, name
        assert fast.anomalies == slow.anomalies, name


@_FUZZ
@given(st.integers(0, 0xFFFFFFFF), st.lists(SEGMENT, max_size=40), st.booleans())
def test_random_bytes_on_port_502_through_the_modbus_handler(
    isn: int,
    segments: list,  # type: ignore[type-arg]
    mbap_like: bool,
) -> None:
    """Random segments (or ones that start like MBAP headers) on a Modbus flow give
    records, anomalies or need-more: never an exception, never otsec.dissector_error."""
    pipeline = Pipeline()
    pipeline.event_handlers.append(transaction_doc)  # the ECS mapping must hold up too
    frames = []
    for rel, ack, flags, payload, client in segments:
        if mbap_like and len(payload) >= 8:
            payload = payload[:2] + b"\x00\x00" + bytes([0, len(payload) - 6]) + payload[6:]
        seq = (isn + rel) & 0xFFFFFFFF
        sport, dport = (40000, 502) if client else (502, 40000)
        frames.append((1, _tcp_frame(seq, ack, flags, payload, sport, dport)))
    pipeline.run(ListReader(frames))  # type: ignore[arg-type]
    pipeline.close()
    assert "otsec.dissector_error" not in pipeline.anomalies
    assert "otsec.packet_error" not in pipeline.anomalies
    assert "otsec.sink_error" not in pipeline.anomalies
    assert pipeline.packets == len(segments)


@_FUZZ
@given(st.integers(0, 0xFFFFFFFF), st.lists(SEGMENT, max_size=40), st.booleans())
def test_random_bytes_on_port_102_through_the_s7_handler(
    isn: int,
    segments: list,  # type: ignore[type-arg]
    tpkt_like: bool,
) -> None:
    """Random segments (or ones framed as TPKT + COTP DT + S7 header) on an S7 flow give
    records, anomalies or need-more: never an exception."""
    pipeline = Pipeline()
    pipeline.event_handlers.append(transaction_doc)  # the ECS mapping must hold up too
    frames = []
    for rel, ack, flags, payload, client in segments:
        if tpkt_like:
            body = b"\x02\xf0\x80\x32" + payload
            payload = b"\x03\x00" + (len(body) + 4).to_bytes(2, "big") + body
        seq = (isn + rel) & 0xFFFFFFFF
        sport, dport = (40000, 102) if client else (102, 40000)
        frames.append((1, _tcp_frame(seq, ack, flags, payload, sport, dport)))
    pipeline.run(ListReader(frames))  # type: ignore[arg-type]
    pipeline.close()
    assert "otsec.dissector_error" not in pipeline.anomalies
    assert "otsec.packet_error" not in pipeline.anomalies
    assert "otsec.sink_error" not in pipeline.anomalies
