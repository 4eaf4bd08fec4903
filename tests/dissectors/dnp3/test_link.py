"""CRC-16/DNP, probe, and the link framer: frames split and joined anywhere, bad CRCs,
resynchronisation, gaps and giving up on garbage."""

from __future__ import annotations

import pytest

from dissectors.dnp3 import LinkFrame, LinkFramer, crc16, probe
from dissectors.dnp3.link import WIRE_SIZE
from tests.dissectors.dnp3.helpers import crc_bitwise, frame, h, with_crc

# A real request from zeek's dnp3_read.pcap: READ class 1, 2, 3, 0.
READ = h("0564 14c4 0200 0300 4503 c7c8 013c 0206 3c03 063c 0406 3c01 0642 ac")
LINK_STATUS = frame(b"", ctrl=0x49)  # request link status (primary, DIR=0)
A = frame(bytes(range(1, 40)), dst=3, src=4)
B = frame(bytes(range(100, 118)), ctrl=0x44, dst=4, src=3)
C = frame(b"\xc0" + b"x" * 249, dst=3, src=4)  # LEN 255: the largest frame
STREAM = A + LINK_STATUS + B + C


def names(framer: LinkFramer) -> list[str]:
    return [name for name, _ in framer.anomalies]


def test_crc_known_vectors() -> None:
    assert crc16(h("056405c001000004")) == 0x21E9  # sent as e9 21
    assert crc16(b"123456789") == 0xEA82  # the CRC-16/DNP check value
    assert crc16(b"") == 0xFFFF
    assert crc16(b"xx123456789yy", 2, 11) == 0xEA82
    assert READ[8:10] == crc16(READ, 0, 8).to_bytes(2, "little")


def test_crc_matches_a_bitwise_implementation() -> None:
    data = bytes(range(256)) * 2
    for start, end in [(0, 16), (3, 19), (100, 101), (0, 512), (500, 512)]:
        assert crc16(data, start, end) == crc_bitwise(data[start:end])


def test_probe() -> None:
    assert probe(READ)
    assert probe(READ[:10])
    assert not probe(READ[:9])
    assert not probe(b"\x05\x65" + READ[2:])
    assert not probe(READ[:8] + b"\x00\x00")
    short = with_crc(h("0564 04c4 0400 0300"))  # valid CRC but LEN 4
    assert not probe(short)
    assert not probe(b"GET / HTTP/1.1\r\n")


def test_wire_size() -> None:
    assert WIRE_SIZE[5] == 10
    assert WIRE_SIZE[6] == 13
    assert WIRE_SIZE[21] == 28  # 16 bytes: one full block
    assert WIRE_SIZE[22] == 31
    assert WIRE_SIZE[255] == 292
    assert WIRE_SIZE[4] == -1


def test_decodes_a_real_frame() -> None:
    framer = LinkFramer()
    (f,) = framer.feed(READ)
    assert f == LinkFrame(
        0xC4, 4, True, True, False, False, 0x14, 2, 3, h("c7c8013c02063c03063c04063c0106")
    )
    assert f.function_name == "unconfirmed_user_data"
    assert f.has_user_data
    assert framer.frames == 1 and framer.pending == 0 and framer.anomalies == []


def test_link_only_frames_and_function_names() -> None:
    framer = LinkFramer()
    status, ack = framer.feed(LINK_STATUS + frame(b"", ctrl=0x0B))
    assert (status.prm, status.function_name, status.data, status.has_user_data) == (
        True, "request_link_status", b"", False,
    )  # fmt: skip
    assert (ack.prm, ack.function_name, ack.dir) == (False, "link_status", False)
    reset = framer.feed(frame(b"", ctrl=0xC0))[0]
    assert reset.function_name == "reset_link_states"
    odd = framer.feed(frame(b"", ctrl=0xC7))[0]
    assert odd.function_name == "unknown-7"
    secondary = framer.feed(frame(b"", ctrl=0x1F))[0]
    assert (secondary.function_name, secondary.fcv, secondary.fcb) == ("link_not_used", True, False)


def test_several_frames_in_one_feed() -> None:
    framer = LinkFramer()
    out = framer.feed(STREAM)
    assert [f.length for f in out] == [44, 5, 23, 255]
    assert out[0].data == bytes(range(1, 40))
    assert out[2].data == bytes(range(100, 118))
    assert out[3].data == b"\xc0" + b"x" * 249
    assert framer.frames == 4 and framer.pending == 0 and framer.anomalies == []


@pytest.mark.parametrize("cut", range(1, len(A) + len(LINK_STATUS)))
def test_frames_cut_at_every_offset(cut: int) -> None:
    framer = LinkFramer()
    data = A + LINK_STATUS + B
    first = framer.feed(data[:cut])
    assert framer.pending == cut - sum(WIRE_SIZE[f.length] for f in first)
    rest = framer.feed(data[cut:])
    assert [f.length for f in first + rest] == [44, 5, 23]
    assert framer.anomalies == [] and framer.pending == 0


def test_byte_by_byte() -> None:
    framer = LinkFramer()
    out: list[LinkFrame] = []
    for i in range(len(STREAM)):
        out += framer.feed(STREAM[i : i + 1])
    assert [f.length for f in out] == [44, 5, 23, 255]
    assert framer.anomalies == []


def test_bad_header_crc_resynchronises_on_the_next_valid_header() -> None:
    framer = LinkFramer()
    bad = bytearray(A)
    bad[5] ^= 1  # destination changed: header CRC no longer matches
    out = framer.feed(bytes(bad) + B)
    assert [f.length for f in out] == [23]
    assert names(framer) == ["dnp3.bad_link_crc"]
    assert "at offset 0" in framer.anomalies[0][1]


def test_bad_header_skips_a_false_start_inside_the_data() -> None:
    # user data holding "05 64" with a wrong CRC after it must not be taken as a header
    fake = frame(b"\xc0\x05\x64\x05\xc0\x01\x00\x00\x04\x00\x00")
    bad = bytearray(fake)
    bad[8] ^= 0xFF
    framer = LinkFramer()
    assert [f.length for f in framer.feed(bytes(bad) + B)] == [23]
    assert names(framer) == ["dnp3.bad_link_crc"]


def test_resync_candidate_cut_off_at_the_end_waits() -> None:
    framer = LinkFramer()
    assert framer.feed(b"\x05\x64\x00" * 4 + b"z" * 10 + A[:6]) == []
    assert names(framer) == ["dnp3.bad_link_crc"]
    assert framer.pending == 6
    assert [f.length for f in framer.feed(A[6:])] == [44]
    # a candidate that turns out bad once complete is one more anomaly, then resync
    framer.anomalies.clear()
    assert framer.feed(b"\x05\x64\x00") == []
    assert framer.pending == 3
    assert [f.length for f in framer.feed(b"\x00" * 7 + B)] == [23]
    assert names(framer) == ["dnp3.bad_link_crc"]


def test_invalid_length_with_good_crc() -> None:
    framer = LinkFramer()
    short = with_crc(h("0564 02c4 0400 0300"))
    out = framer.feed(short + A)
    assert [f.length for f in out] == [44]
    assert names(framer) == ["dnp3.invalid_link_length"]
    assert framer.anomalies[0][1] == "LEN 2 at offset 0"


def test_bad_start_bytes() -> None:
    framer = LinkFramer()
    assert [f.length for f in framer.feed(A)] == [44]
    out = framer.feed(b"\x05\x05\x11\xc4garbage" + B)
    assert [f.length for f in out] == [23]
    assert names(framer) == ["dnp3.bad_start"]


def test_bad_data_crc_skips_only_that_frame() -> None:
    framer = LinkFramer()
    bad = bytearray(C)
    bad[10 + 18 * 3 + 5] ^= 0x40  # a byte in the fourth data block
    out = framer.feed(A + bytes(bad) + B)
    assert [f.length for f in out] == [44, 23]
    assert names(framer) == ["dnp3.bad_data_crc"]
    assert framer.anomalies[0][1].startswith("data block 3 ")
    assert framer.frames == 3  # the bad one had a valid header


def test_bad_data_crc_in_the_last_short_block() -> None:
    bad = bytearray(B)
    bad[-1] ^= 1
    framer = LinkFramer()
    assert framer.feed(bytes(bad)) == []
    assert names(framer) == ["dnp3.bad_data_crc"]
    assert framer.frames == 1 and framer.pending == 0


def test_gap_drops_the_partial_frame_and_skips_quietly() -> None:
    framer = LinkFramer()
    assert framer.feed(A + B[:12]) != []
    assert framer.pending == 12
    framer.gap()
    assert framer.pending == 0
    out = framer.feed(C[100:] + A)  # starts inside a frame: skipped without an anomaly
    assert [f.length for f in out] == [44]
    assert framer.anomalies == []
    framer.feed(b"\x00\x01" + B)  # quiet mode ended with the valid header
    assert names(framer) == ["dnp3.bad_start"]


def test_gives_up_on_garbage() -> None:
    framer = LinkFramer(give_up_after=3)
    for _ in range(3):
        assert framer.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == []
    assert framer.rejected
    assert names(framer) == ["dnp3.bad_start", "dnp3.bad_start", "dnp3.not_dnp3"]
    assert framer.feed(A) == []  # no-op from now on
    assert framer.pending == 0


def test_never_gives_up_after_a_valid_frame() -> None:
    framer = LinkFramer(give_up_after=2)
    framer.feed(A)
    for _ in range(5):
        assert framer.feed(b"garbage!" * 3) == []
    assert not framer.rejected
    assert names(framer) == ["dnp3.bad_start"] * 5
    assert [f.length for f in framer.feed(B)] == [23]


def test_fast_path_and_buffered_path_agree() -> None:
    slow = LinkFramer()
    assert slow.feed(A[:1]) == []
    fast = LinkFramer()
    assert fast.feed(A) == slow.feed(A[1:])
    assert fast.frames == slow.frames == 1


def test_link_frame_repr_and_hash() -> None:
    (f,) = LinkFramer().feed(READ)
    assert repr(f) == (
        "LinkFrame(control=0xc4, unconfirmed_user_data, length=20, 3 -> 2, "
        "data=c7c8013c02063c03063c04063c0106)"
    )
    assert len({f, LinkFramer().feed(READ)[0]}) == 1
