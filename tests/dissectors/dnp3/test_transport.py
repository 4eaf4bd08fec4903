"""Transport reassembly: single and multi-segment fragments, sequence rules, retries,
oversize fragments, orphans, gaps and the association limit."""

from __future__ import annotations

from dissectors.dnp3 import LinkFrame, LinkFramer, TransportAssembler
from tests.dissectors.dnp3.helpers import frame, frames_for, segments

FRAGMENT = bytes((0xC0, 0x81, 0, 0)) + bytes(range(256)) * 3  # 772 bytes: 4 segments


def link(segment: bytes, src: int = 1, dst: int = 10, ctrl: int = 0x44) -> LinkFrame:
    (f,) = LinkFramer().feed(frame(segment, ctrl=ctrl, src=src, dst=dst))
    return f


def names(asm: TransportAssembler) -> list[str]:
    return [name for name, _ in asm.anomalies]


def feed(asm: TransportAssembler, segs: list[bytes], **kw: int) -> list[bytes]:
    out = []
    for seg in segs:
        result = asm.add(link(seg, **kw))
        if result is not None:
            out.append(result)
    return out


def test_single_segment_fragment() -> None:
    asm = TransportAssembler()
    assert asm.add(link(b"\xc5\xc1\x01\x3c\x02\x06")) == b"\xc1\x01\x3c\x02\x06"
    assert asm.pending == 0 and asm.anomalies == []


def test_multi_segment_fragment() -> None:
    asm = TransportAssembler()
    segs = segments(FRAGMENT, seq=62)  # 62, 63, 0, 1: the sequence wraps
    assert len(segs) == 4
    assert [s[0] for s in segs] == [0x40 | 62, 63, 0, 0x80 | 1]
    out = []
    for i, seg in enumerate(segs):
        result = asm.add(link(seg))
        if i < 3:
            assert result is None
            assert asm.pending == 249 * (i + 1)
        else:
            out.append(result)
    assert out == [FRAGMENT]
    assert asm.pending == 0 and asm.anomalies == []


def test_through_the_link_framer() -> None:
    framer, asm = LinkFramer(), TransportAssembler()
    stream = b"".join(frames_for(FRAGMENT, seq=5))
    fragments = []
    for i in range(0, len(stream), 100):
        for f in framer.feed(stream[i : i + 100]):
            result = asm.add(f)
            if result is not None:
                fragments.append(result)
    assert fragments == [FRAGMENT]


def test_pairs_are_assembled_separately() -> None:
    asm = TransportAssembler()
    a = segments(FRAGMENT, seq=0)
    b = segments(b"\xc3\x81\x00\x00" + b"B" * 300, seq=10)
    assert asm.add(link(a[0], src=1)) is None
    assert asm.add(link(b[0], src=2)) is None
    assert asm.add(link(a[1], src=1)) is None
    assert asm.add(link(b[1], src=2)) == b"\xc3\x81\x00\x00" + b"B" * 300
    assert feed(asm, a[2:], src=1) == [FRAGMENT]
    assert asm.anomalies == []


def test_out_of_sequence_drops_the_partial_fragment() -> None:
    asm = TransportAssembler()
    segs = segments(FRAGMENT, seq=0)
    assert feed(asm, [segs[0], segs[2], segs[3]]) == []
    assert names(asm) == ["dnp3.transport_out_of_sequence"]  # the FIN segment is quiet
    assert asm.anomalies[0][1] == "1 -> 10: sequence 2 after 0"
    assert asm.pending == 0
    assert feed(asm, segments(b"\xc0\x01", seq=9)) == [b"\xc0\x01"]


def test_repeated_segment_is_a_silent_retry() -> None:
    asm = TransportAssembler()
    segs = segments(FRAGMENT, seq=3)
    assert feed(asm, [segs[0], segs[0], segs[1], segs[1], segs[2], segs[3]]) == [FRAGMENT]
    assert asm.anomalies == []


def test_same_sequence_with_other_bytes_is_out_of_sequence() -> None:
    asm = TransportAssembler()
    segs = segments(FRAGMENT, seq=3)
    changed = segs[1][:-1] + b"\x00"
    assert feed(asm, [segs[0], segs[1], changed]) == []
    assert names(asm) == ["dnp3.transport_out_of_sequence"]


def test_new_first_segment_drops_an_unfinished_fragment() -> None:
    asm = TransportAssembler()
    segs = segments(FRAGMENT, seq=0)
    assert feed(asm, segs[:2] + segments(b"\xc2\x01", seq=7)) == [b"\xc2\x01"]
    assert names(asm) == ["dnp3.transport_incomplete"]
    assert asm.pending == 0


def test_no_first_segment() -> None:
    asm = TransportAssembler()
    segs = segments(FRAGMENT, seq=0)
    assert feed(asm, segs[1:]) == []
    assert names(asm) == ["dnp3.transport_no_first_segment"] * 3
    assert asm.anomalies[0][1] == "1 -> 10: sequence 1"


def test_fragment_too_large() -> None:
    asm = TransportAssembler(max_fragment=500)
    segs = segments(FRAGMENT, seq=0)
    assert feed(asm, segs) == []
    assert names(asm) == ["dnp3.fragment_too_large"]  # the rest is dropped quietly
    assert asm.anomalies[0][1] == "1 -> 10: 747 bytes > 500"
    assert asm.pending == 0
    assert feed(asm, segments(b"\xc0\x01")) == [b"\xc0\x01"]


def test_single_segment_beyond_the_limit() -> None:
    asm = TransportAssembler(max_fragment=10)
    assert asm.add(link(b"\xc0" + bytes(11))) is None
    assert names(asm) == ["dnp3.fragment_too_large"]
    assert asm.add(link(b"\xc1" + bytes(10))) == bytes(10)


def test_gap_drops_everything_quietly() -> None:
    asm = TransportAssembler()
    segs = segments(FRAGMENT, seq=0)
    feed(asm, segs[:2])
    assert asm.pending == 498
    asm.gap()
    assert asm.pending == 0
    assert feed(asm, segs[2:]) == []
    assert asm.anomalies == []
    assert feed(asm, segs) == [FRAGMENT]


def test_association_limit_evicts_the_oldest() -> None:
    asm = TransportAssembler(max_associations=2)
    first = segments(FRAGMENT, seq=0)[0]
    for src in (1, 2, 3):
        assert asm.add(link(first, src=src)) is None
    assert names(asm) == ["dnp3.transport_incomplete"]
    assert asm.anomalies[0][1].startswith("1 -> 10: 249 bytes")
    assert asm.pending == 2 * 249


def test_frames_without_user_data_are_ignored() -> None:
    asm = TransportAssembler()
    assert asm.add(link(b"", ctrl=0xC9)) is None  # request link status
    assert asm.add(link(b"\xc0\x00", ctrl=0x00)) is None  # secondary frame with data
    assert asm.anomalies == []
    assert asm.add(link(b"\xc0\xc0\x00", ctrl=0x53)) == b"\xc0\x00"  # confirmed user data
