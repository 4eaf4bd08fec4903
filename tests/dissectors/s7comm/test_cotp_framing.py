"""TpktFramer, parse_tpdu and CotpAssembler."""

from __future__ import annotations

from dissectors.s7comm import CotpAssembler, TpktFramer, parse_tpdu
from tests.dissectors.s7comm.helpers import dt, s7, tpkt

CR = tpkt(
    bytes.fromhex("11e00000000100c0010ac1020100c2020102")
)  # LI 17, CR, dst 0, src 1, class 0, tpdu size 1024, calling 0100, called 0102


def test_several_tpkts_per_feed_and_byte_by_byte() -> None:
    stream = CR + dt(b"\x32abc") + dt(b"\x32defg")
    framer = TpktFramer()
    assert framer.feed(stream) == [CR, dt(b"\x32abc"), dt(b"\x32defg")]
    framer = TpktFramer()
    out: list[bytes] = []
    for i in range(len(stream)):
        out += framer.feed(stream[i : i + 1])
    assert out == [CR, dt(b"\x32abc"), dt(b"\x32defg")]
    assert framer.anomalies == []


def test_split_in_header_and_garbage_resync() -> None:
    framer = TpktFramer()
    one = dt(b"\x32" * 10)
    assert framer.feed(CR) == [CR]
    assert framer.feed(one[:2]) == []
    assert framer.feed(one[2:] + b"\x05\x01garbage" + one) == [one, one]
    assert [a[0] for a in framer.anomalies] == ["s7comm.invalid_tpkt_version"]


def test_bad_length_and_give_up() -> None:
    framer = TpktFramer()
    assert framer.feed(CR) == [CR]
    assert framer.feed(b"\x03\x00\x00\x05xx" + CR) == [CR]
    assert framer.anomalies[0][0] == "s7comm.tpkt_length_mismatch"
    junk = TpktFramer()
    for _ in range(3):  # TLS records on port 102: one invalid header per feed
        assert junk.feed(b"\x16\x03\x01\x00\x10" * 20) == []
    assert junk.rejected and junk.anomalies[-1][0] == "s7comm.not_s7comm"
    assert junk.feed(CR) == []


def test_gap_drops_partial() -> None:
    framer = TpktFramer()
    assert framer.feed(CR) == [CR]
    one = dt(b"\x32" * 10)
    framer.feed(one[:8])
    framer.gap()
    assert framer.feed(one[8:] + one) == [one]
    assert framer.anomalies == []


def test_parse_cr() -> None:
    c = parse_tpdu(CR)
    assert (c.name, c.dst_ref, c.src_ref, c.cause) == ("cr", 0, 1, 0)
    assert (c.calling_tsap, c.called_tsap, c.tpdu_size) == ("0100", "0102", 1024)
    assert (c.rack, c.slot) == (0, 2)
    assert c.anomalies == ()
    cc = parse_tpdu(tpkt(bytes.fromhex("11d00001000100c0010ac1021000c2020321")))
    assert cc.name == "cc" and (cc.rack, cc.slot) == (1, 1)


def test_parse_dt_dr_and_bad() -> None:
    c = parse_tpdu(dt(b"\x32xyz", eot=False, nr=5))
    assert (c.name, c.eot, c.tpdu_number, c.payload) == ("dt", False, 5, b"\x32xyz")
    dr = parse_tpdu(tpkt(bytes.fromhex("06800001000280")))
    assert (dr.name, dr.dst_ref, dr.src_ref, dr.cause) == ("dr", 1, 2, 0x80)
    bad = parse_tpdu(tpkt(bytes.fromhex("30f080")))
    assert bad.anomalies[0][0] == "s7comm.cotp_invalid_length"
    odd = parse_tpdu(tpkt(bytes.fromhex("02ff00")))
    assert odd.anomalies[0][0] == "s7comm.cotp_unexpected_tpdu"
    assert parse_tpdu(b"\x03").anomalies[0][0] == "s7comm.cotp_invalid_length"


def test_assembler_three_dts_gap_and_limit() -> None:
    pdu = s7(1, 7, b"\x04\x01", b"")
    asm = CotpAssembler()
    parts = [pdu[:4], pdu[4:9], pdu[9:]]
    assert asm.add(parse_tpdu(dt(parts[0], False))) is None
    assert asm.add(parse_tpdu(dt(parts[1], False, 1))) is None
    assert asm.add(parse_tpdu(dt(parts[2], True, 2))) == pdu
    asm.add(parse_tpdu(dt(b"\x32abc", False)))
    asm.gap()
    assert asm.anomalies[-1][0] == "s7comm.reassembly_gap"
    assert asm.add(parse_tpdu(dt(pdu))) == pdu
    small = CotpAssembler(max_pdu=8)
    assert small.add(parse_tpdu(dt(b"\x32" * 6, False))) is None
    assert small.add(parse_tpdu(dt(b"\x32" * 6, False))) is None
    assert small.anomalies[-1][0] == "s7comm.pdu_too_large"
    assert small.add(parse_tpdu(dt(b"\x32" * 6, True))) is None  # rest of the dropped PDU
    assert small.add(parse_tpdu(dt(b"\x32\x01"))) == b"\x32\x01"
    assert asm.add(parse_tpdu(CR)) is None
