"""Properties: whatever the bytes, the framer and parse_adu give ADUs, records, anomalies
or need-more - never an exception - and valid streams come out exactly as they went in."""

from __future__ import annotations

import json
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissectors.modbus import ANOMALIES, ModbusFramer, ModbusPdu, parse_adu
from tests.dissectors.modbus.helpers import adu

fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

function_codes = st.one_of(
    st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, 90]),
    st.integers(0, 255),
)


@st.composite
def valid_adus(draw: st.DrawFn) -> bytes:
    """An ADU with a valid MBAP header; its PDU may or may not make sense."""
    fc = draw(function_codes.filter(lambda c: c & 0x7F))
    body = draw(st.binary(max_size=12) | st.binary(min_size=240, max_size=252))
    return adu(bytes([fc]) + body, tid=draw(st.integers(0, 0xFFFF)), unit=draw(st.integers(0, 255)))


def cuts(data: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p % (len(data) + 1) for p in points})
    bounds = [0, *marks, len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def check_record(rec: ModbusPdu) -> None:
    """Every attribute the engine reads works and is of the documented kind."""
    assert isinstance(rec, ModbusPdu)
    assert isinstance(rec.function_name, str)
    assert rec.access in ("read", "write", "read_write", "none")
    assert isinstance(rec.target, str) and isinstance(rec.operation, str)
    assert rec.exception_code is None or isinstance(rec.exception_name, str)
    assert rec.values is None or all(isinstance(v, int) for v in rec.values)
    for name, detail in rec.anomalies:
        assert name in ANOMALIES and isinstance(detail, str)
    json.dumps(rec.specific())


@fast
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_as_an_adu(data: bytes, request: bool) -> None:
    check_record(parse_adu(data, request))


@fast
@given(fc=function_codes, body=st.binary(max_size=260), request=st.booleans())
def test_random_pdu_behind_a_valid_header(fc: int, body: bytes, request: bool) -> None:
    rec = parse_adu(adu(bytes([fc]) + body), request)
    check_record(rec)
    assert (rec.tid, rec.unit) == (1, 17)
    assert rec.function == (fc & 0x7F if fc & 0x80 else fc)


@fast
@given(adus=st.lists(valid_adus(), min_size=1, max_size=6), points=st.lists(st.integers(0, 2000)))
def test_valid_stream_comes_out_exactly_as_it_went_in(adus: list[bytes], points: list[int]) -> None:
    stream = b"".join(adus)
    framer = ModbusFramer()
    out: list[bytes] = []
    for chunk in cuts(stream, points):
        out += framer.feed(chunk)
    assert out == adus
    assert b"".join(out) == stream
    assert framer.pending == 0 and framer.anomalies == []


@fast
@given(
    adus=st.lists(valid_adus(), min_size=1, max_size=5),
    cut=st.integers(0, 2000),
    tail=st.binary(max_size=200),
    points=st.lists(st.integers(0, 3000), max_size=8),
    request=st.booleans(),
)
def test_cut_stream_with_random_tail(
    adus: list[bytes], cut: int, tail: bytes, points: list[int], request: bool
) -> None:
    stream = b"".join(adus)
    cut %= len(stream) + 1
    whole, end = [], 0
    for a in adus:
        end += len(a)
        if end <= cut:
            whole.append(a)
    framer = ModbusFramer()
    out: list[bytes] = []
    for chunk in cuts(stream[:cut] + tail, points):
        out += framer.feed(chunk)
    assert out[: len(whole)] == whole  # the complete ADUs come out first and intact
    for name, _ in framer.anomalies:
        assert name in ANOMALIES
    for frame in out:
        check_record(parse_adu(frame, request))


@fast
@given(chunks=st.lists(st.binary(max_size=120), max_size=12), gaps=st.lists(st.booleans()))
def test_random_bytes_on_the_framer(chunks: list[bytes], gaps: list[bool]) -> None:
    framer = ModbusFramer()
    for i, chunk in enumerate(chunks):
        for frame in framer.feed(chunk):
            assert 8 <= len(frame) <= 266
            check_record(parse_adu(frame, i % 2 == 0))
        if i < len(gaps) and gaps[i]:
            framer.gap()
        assert framer.pending < 266 + 8
    names = [name for name, _ in framer.anomalies]
    assert set(names) <= set(ANOMALIES)
    assert names.count("modbus.not_modbus") <= 1


@fast
@given(
    addr=st.integers(0, 0xFFFF),
    regs=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=123),
    tid=st.integers(0, 0xFFFF),
)
def test_well_formed_register_writes_round_trip(addr: int, regs: list[int], tid: int) -> None:
    body = bytes([16]) + addr.to_bytes(2, "big") + len(regs).to_bytes(2, "big")
    body += bytes([2 * len(regs)]) + b"".join(r.to_bytes(2, "big") for r in regs)
    rec = parse_adu(adu(body, tid=tid), True)
    assert (rec.tid, rec.address, rec.quantity, rec.values, rec.anomalies) == (
        tid, addr, len(regs), tuple(regs), ()
    )  # fmt: skip
