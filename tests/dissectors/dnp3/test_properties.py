"""Hypothesis: nothing on the link/transport/application path raises, whatever the bytes,
and valid streams give the same result however they are cut."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.dnp3 import ANOMALIES, AppPdu, LinkFramer, TransportAssembler, parse_app
from dissectors.dnp3.objects import SPECS
from tests.dissectors.dnp3.helpers import frame, frames_for, h, response
from tests.dissectors.dnp3.test_app import POLL
from tests.dissectors.dnp3.test_objects import KEY_CHANGE, KEY_STATUS

VALID = [
    POLL,
    KEY_STATUS,
    KEY_CHANGE,
    h("c8013c02063c03063c04063c0106"),
    h("c3 05 0c01 28 0100 0700 41 01 e8030000 00000000 00"),
    h("c1 02 3201 07 01 7b68e5cf8b01"),
    response(h("4605 5b 01 0c00 01000000 03000080 41424344")),
    response(
        h("00f2 00 0000 01 05 312e322e33 0b01 17 01 02 81 2008 17 01 07 81")
        + h("00000000000002c0 7b68e5cf8b01")
    ),
]
QUALIFIERS = [0x00, 0x01, 0x02, 0x03, 0x06, 0x07, 0x08, 0x09, 0x17, 0x28, 0x39, 0x5B, 0x4B,
              0x1B, 0x0B, 0x6B, 0x18, 0x7B, 0x0A]  # fmt: skip


def check(pdu: AppPdu) -> None:
    json.dumps(pdu.specific(), allow_nan=False)
    assert pdu.access and pdu.target and pdu.operation and pdu.function_name
    assert all(name in ANOMALIES for name, _ in pdu.anomalies)
    assert pdu.points_dropped >= 0
    _ = (pdu.values, pdu.address, pdu.quantity, pdu.iin_flags)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([0, 3, 4096]))
def test_parse_app_random_bytes(data: bytes, max_points: int) -> None:
    check(parse_app(data, max_points))
    check(parse_app(b"\xc0\x81\x00\x00" + data, max_points))
    check(parse_app(b"\xc0\x02" + data, max_points))


@st.composite
def object_stream(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(sorted(SPECS)) | st.integers(0, 0xFFFF))
        qualifier = draw(st.sampled_from(QUALIFIERS) | st.integers(0, 255))
        out += bytes((key >> 8, key & 0xFF, qualifier)) + draw(st.binary(max_size=40))
    return out


@settings(max_examples=800, deadline=None)
@given(
    st.sampled_from([0x00, 0x01, 0x02, 0x05, 0x0B, 0x14, 0x16, 0x19, 0x20, 0x81, 0x82, 0x83]),
    object_stream(),
    st.sampled_from([0, 2, 4096]),
)
def test_parse_app_object_shaped_bytes(fc: int, objects: bytes, max_points: int) -> None:
    head = bytes((0xC0, fc)) + (b"\x00\x00" if fc >= 0x81 else b"")
    pdu = parse_app(head + objects, max_points)
    check(pdu)
    assert sum(len(o.points) for o in pdu.objects) <= max_points


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 80), st.binary(max_size=20))
def test_parse_app_cut_and_mutated(fragment: bytes, cut: int, junk: bytes) -> None:
    check(parse_app(fragment[: len(fragment) - cut]))
    if cut < len(fragment):
        check(parse_app(fragment[:cut] + junk + fragment[cut:]))
        mutated = bytearray(fragment)
        mutated[cut] ^= 0xFF if not junk else junk[0]
        check(parse_app(bytes(mutated)))


def _walk(chunks: list[bytes], gap_at: int = -1) -> tuple[list[bytes], LinkFramer]:
    framer, asm = LinkFramer(give_up_after=5), TransportAssembler(max_fragment=2048)
    fragments = []
    for i, chunk in enumerate(chunks):
        if i == gap_at:
            framer.gap()
            asm.gap()
        for link_frame in framer.feed(chunk):
            assert link_frame.length >= 5
            fragment = asm.add(link_frame)
            if fragment is not None:
                fragments.append(fragment)
                check(parse_app(fragment))
        assert framer.pending < 292
        assert all(name in ANOMALIES for name, _ in framer.anomalies + asm.anomalies)
    return fragments, framer


STREAM = b"".join(b"".join(frames_for(f, seq=i * 7, size=60)) for i, f in enumerate(VALID))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, len(STREAM) - 1), max_size=12))
def test_any_segmentation_gives_the_same_fragments(cuts: list[int]) -> None:
    points = [0, *sorted(set(cuts)), len(STREAM)]
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    fragments, framer = _walk(chunks)
    assert fragments == VALID
    assert framer.anomalies == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(max_size=120), max_size=8),
    st.integers(0, len(STREAM) - 1),
    st.integers(0, 255),
    st.integers(-1, 8),
)
def test_garbage_cut_and_mutated_streams(
    chunks: list[bytes], at: int, flip: int, gap_at: int
) -> None:  # fmt: skip
    mutated = bytearray(STREAM)
    mutated[at] ^= flip
    _walk([*chunks[:2], bytes(mutated[:at]), *chunks[2:], bytes(mutated[at:])], gap_at)
    _walk(chunks, gap_at)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.binary(min_size=1, max_size=30)), max_size=20))
def test_transport_random_segments(segments: list[tuple[int, bytes]]) -> None:
    asm = TransportAssembler(max_fragment=100, max_associations=2)
    framer = LinkFramer()
    for src, seg in segments:
        for f in framer.feed(frame(seg, src=src)):
            result = asm.add(f)
            if result is not None:
                assert len(result) <= 100
                check(parse_app(result))
    assert asm.pending <= 2 * 100
