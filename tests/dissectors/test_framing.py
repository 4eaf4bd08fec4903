"""The generic length framer every length-announcing protocol builds on."""

from __future__ import annotations

from dissectors.framing import LengthFramer


def two_byte_length() -> LengthFramer:
    # header: 0x7E, length of the whole PDU (2 bytes, big-endian)
    def length_of(b: bytes | bytearray, o: int) -> int:
        return ((b[o + 1] << 8) | b[o + 2]) if b[o] == 0x7E else -1

    def resync(b: bytes | bytearray, o: int) -> int:
        return b.find(0x7E, o + 1)

    return LengthFramer("t", 3, length_of, max_pdu=100, resync=resync)


def frame(body: bytes) -> bytes:
    return b"\x7e" + (len(body) + 3).to_bytes(2, "big") + body


A, B, C = frame(b"alpha"), frame(b""), frame(b"c" * 40)


def test_one_pdu_in_one_feed() -> None:
    f = two_byte_length()
    assert f.feed(A) == [A]
    assert f.pending == 0 and f.anomalies == []


def test_several_pdus_in_one_feed() -> None:
    f = two_byte_length()
    assert f.feed(A + B + C + A) == [A, B, C, A]


def test_byte_by_byte() -> None:
    f = two_byte_length()
    out: list[bytes] = []
    for i in range(len(A + C)):
        out += f.feed((A + C)[i : i + 1])
    assert out == [A, C]


def test_need_more_keeps_the_tail() -> None:
    f = two_byte_length()
    assert f.feed(A + C[:10]) == [A]
    assert f.pending == 10
    assert f.feed(C[10:]) == [C]
    assert f.pending == 0


def test_invalid_header_is_an_anomaly_and_resyncs() -> None:
    f = two_byte_length()
    assert f.feed(b"garbage" + A) == [A]
    assert f.anomalies == [("t.invalid_header", "at offset 0")]


def test_oversize_length_is_an_anomaly() -> None:
    f = two_byte_length()
    big = b"\x7e\x01\x00"
    assert f.feed(big + A) == [A]
    assert f.anomalies[0][0] == "t.invalid_length"


def test_length_below_header_is_invalid_not_a_loop() -> None:
    f = two_byte_length()
    assert f.feed(b"\x7e\x00\x01" + A) == [A]
    assert f.anomalies[0][0] == "t.invalid_length"


def test_gap_drops_partial_and_resyncs_quietly() -> None:
    f = two_byte_length()
    assert f.feed(A + C[:20]) == [A]
    f.gap()
    assert f.pending == 0
    # the stream resumes inside C, then a whole B follows
    assert f.feed(C[25:] + B) == [B]
    assert f.anomalies == []  # skipping after a gap is expected, not an anomaly


def test_without_resync_everything_buffered_is_dropped() -> None:
    f = LengthFramer("u", 2, lambda b, o: -1)
    assert f.feed(b"abcdef") == []
    assert f.pending == 0
    assert [n for n, _ in f.anomalies] == ["u.invalid_header"]
