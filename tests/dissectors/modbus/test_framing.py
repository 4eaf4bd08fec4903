"""MBAP framing: pipelined and split ADUs, bad headers, resynchronisation, giving up."""

from __future__ import annotations

from dissectors.framing import Framer
from dissectors.modbus import ModbusFramer
from tests.dissectors.modbus.helpers import adu

A = adu("03 0000 000a", tid=1)
B = adu("10 0001 0002 04 000a 0102", tid=2)
C = adu("01 02 ff01", tid=3)
D = adu("2b 0e 01 00", tid=4)
E = adu("05 00ac ff00", tid=5)
STREAM = A + B + C + D + E


def names(framer: ModbusFramer) -> list[str]:
    return [name for name, _ in framer.anomalies]


def rejected(framer: ModbusFramer) -> bool:
    return framer.rejected


def test_is_a_framer() -> None:
    framer: Framer = ModbusFramer()
    assert framer.feed(A) == [A]


def test_five_adus_in_one_segment() -> None:
    f = ModbusFramer()
    assert f.feed(STREAM) == [A, B, C, D, E]
    assert (f.pending, f.anomalies, f.rejected) == (0, [], False)


def test_byte_by_byte() -> None:
    f = ModbusFramer()
    out: list[bytes] = []
    for i in range(len(STREAM)):
        out += f.feed(STREAM[i : i + 1])
    assert out == [A, B, C, D, E]
    assert f.anomalies == []


def test_split_inside_the_header_and_inside_the_pdu() -> None:
    for cut in range(1, len(B)):
        f = ModbusFramer()
        assert f.feed(A + B[:cut]) == [A]
        assert f.pending == cut
        assert f.feed(B[cut:] + C) == [B, C]
        assert f.pending == 0 and f.anomalies == []


def test_invalid_protocol_id_is_reported_and_skipped() -> None:
    f = ModbusFramer()
    bad = adu("03 0000 000a", pid=1)
    assert f.feed(A + bad + B) == [A, B]
    assert names(f) == ["modbus.invalid_protocol_id"]
    assert f.anomalies[0][1] == "protocol id 1 at offset 12"


def test_invalid_length_is_reported_and_skipped() -> None:
    f = ModbusFramer()
    too_short = bytes.fromhex("0009 0000 0001 11")
    assert f.feed(A + too_short + B) == [A, B]
    assert names(f) == ["modbus.invalid_length"]
    f = ModbusFramer()
    huge = bytes.fromhex("0009 0000 1000 11 03") + bytes(20)
    assert f.feed(A + huge + C) == [A, C]
    assert names(f) == ["modbus.invalid_length"]


def test_resync_skips_garbage_between_adus() -> None:
    f = ModbusFramer()
    garbage = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 3
    assert f.feed(A + garbage + B + C) == [A, B, C]
    assert names(f) == ["modbus.invalid_protocol_id"]


def test_resync_prefers_a_header_that_chains_to_the_next_one() -> None:
    # zero registers make "00 00 00 0a 00 01" look like a header inside the bad ADUs
    bad = adu("03 0000 000a", pid=7)
    f = ModbusFramer()
    assert f.feed(bad + bad + bad + A) == [A]
    f = ModbusFramer()
    assert f.feed(C + bad + bad + A + B) == [C, A, B]


def test_resync_across_feeds_keeps_a_header_cut_at_the_end() -> None:
    f = ModbusFramer()
    assert f.feed(A + b"\xee\xee\xee\xee" + B[:3]) == [A]
    assert f.feed(B[3:]) == [B]
    assert names(f) == ["modbus.invalid_protocol_id"]


def test_resync_lands_on_segment_aligned_adus_with_unknown_functions() -> None:
    # zeek's fuzz-72 trace: a 12-byte segment holds a 10-byte ADU, the 2 bytes left over
    # misalign the next segments, each of which holds one ADU of an undefined function
    segments = [adu("21 0000") + b"\x00\x00", adu("22 0000 0000", tid=0), adu("23 0000 0000")]
    f = ModbusFramer()
    out: list[bytes] = []
    for segment in segments:
        out += f.feed(segment)
    assert out == [segments[0][:10], segments[1], segments[2]]
    assert names(f) == ["modbus.invalid_length"]


def test_header_cut_off_after_garbage_is_checked_when_complete() -> None:
    f = ModbusFramer()
    assert f.feed(A + b"\xee\xee\xee\xee\x00\x00\x00\x00\x00") == [A]
    assert f.pending == 5  # "00 00 00 00 00" may start a header
    # ... it does not: function code 0 after a resynchronisation
    assert f.feed(b"\x06\x01\x00\x00\x00\x00\x00" + B) == [B]
    assert names(f) == ["modbus.invalid_protocol_id", "modbus.invalid_function_code"]


def test_slightly_oversized_length_is_decoded_with_an_anomaly() -> None:
    big = adu("5a 00 fe" + "00" * 251)  # MBAP length 255, as a Schneider PLC sends
    f = ModbusFramer()
    assert f.feed(big + A) == [big, A]
    assert names(f) == ["modbus.invalid_length"]
    assert "255" in f.anomalies[0][1]


def test_garbage_is_given_up_after_three_bad_headers_with_one_anomaly() -> None:
    f = ModbusFramer()
    tls = bytes.fromhex("160301020001000001fc0303") + bytes(range(60))
    out: list[bytes] = []
    for _ in range(2):
        out += f.feed(tls)
    assert not rejected(f)
    out += f.feed(tls + A)  # third bad header: given up, even with an ADU after it
    assert out == [] and rejected(f) and f.pending == 0
    assert names(f) == ["modbus.invalid_protocol_id"] * 2 + ["modbus.not_modbus"]
    f.anomalies.clear()
    assert f.feed(A + B) == [] and f.feed(tls) == []
    f.gap()
    assert f.feed(A) == [] and f.anomalies == [] and f.pending == 0


def test_give_up_after_is_configurable() -> None:
    f = ModbusFramer(give_up_after=1)
    assert f.feed(b"GET / HTTP/1.1\r\n\r\n") == []
    assert f.rejected and names(f) == ["modbus.not_modbus"]


def test_one_resync_skips_a_run_of_bad_headers() -> None:
    f = ModbusFramer()
    bad = adu("03 0000 000a", pid=7)
    assert f.feed(bad + bad + bad + A) == [A]
    assert not f.rejected
    assert names(f) == ["modbus.invalid_protocol_id"]


def test_never_given_up_once_an_adu_was_framed() -> None:
    f = ModbusFramer()
    assert f.feed(A) == [A]
    tls = bytes.fromhex("160301020001000001fc0303") + bytes(range(60))
    for _ in range(10):
        assert f.feed(tls) == []
    assert not f.rejected
    assert f.feed(B) == [B]
    assert set(names(f)) == {"modbus.invalid_protocol_id"} and len(f.anomalies) >= 10


def test_valid_adu_before_garbage_in_the_same_feed_prevents_rejection() -> None:
    f = ModbusFramer()
    bad = adu("03 0000 000a", pid=7)
    assert f.feed(A + bad + B + C + bad + D + E + bad + A) == [A, B, C, D, E, A]
    assert not f.rejected
    assert names(f) == ["modbus.invalid_protocol_id"] * 3


def test_gap_drops_the_partial_adu_and_resyncs_quietly() -> None:
    f = ModbusFramer()
    assert f.feed(A + B[:9]) == [A]
    f.gap()
    assert f.pending == 0
    assert f.feed(B[9:] + C + D) == [C, D]
    assert f.anomalies == []


def test_gap_before_any_adu_still_counts_toward_giving_up() -> None:
    f = ModbusFramer()
    f.gap()
    junk = bytes.fromhex("ffffffffffffffff")
    for _ in range(3):
        f.feed(junk)
    assert f.rejected
    assert names(f) == ["modbus.not_modbus"]
