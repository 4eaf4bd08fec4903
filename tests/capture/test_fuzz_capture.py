"""Property tests: bad input never makes the readers or the decoder raise.

(a) Any bytes as a capture file (raw, behind a valid pcap/pcapng header, mutated or cut
    valid captures, gzip-compressed or not) are refused with CaptureError at open time or
    read to the end, yielding records and warnings, and the chunk size changes nothing.
(b) Any bytes given to decode() with any link type give one of the documented result
    shapes, offsets inside the frame, and a result that does not depend on the bytes
    around the frame.
(c) The same for bit flips and cuts of real frames and files from ../shared/pcaps-real.
"""

from __future__ import annotations

import functools
import gzip
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers import inet, inet6, l2

from otsec.capture import linktypes
from otsec.capture.decode import ANOMALY, ARP, OTHER, TCP, UDP, decode, split_key
from otsec.capture.pcapfile import CaptureError, open_capture
from otsec.events.anomalies import ANOMALIES
from tests.capture import pcapbuild as pb

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LINKTYPES = [*sorted(linktypes.SUPPORTED), 147, 9, 105, 4242, 65535, -1]
CHUNKS = [1, 3, 7, 64, 4096, 1 << 20]

Mutation = tuple[str, int, int]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- strategies ----------------------------------------------------------------------------

mutations = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "cut", "insert", "delete"]),
        st.integers(0, 1 << 20),
        st.integers(0, 255),
    ),
    max_size=6,
)


def mutate(data: bytes, muts: list[Mutation]) -> bytes:
    out = bytearray(data)
    for op, where, value in muts:
        if not out:
            break
        i = where % len(out)
        if op == "flip":
            out[i] ^= 1 << (value & 7)
        elif op == "set":
            out[i] = value
        elif op == "cut":
            del out[i:]
        elif op == "insert":
            out[i:i] = bytes([value]) * (1 + value % 5)
        else:
            del out[i : i + 1 + value % 9]
    return bytes(out)


frames = st.binary(max_size=120)


@st.composite
def valid_pcap(draw: st.DrawFn) -> bytes:
    endian = draw(st.sampled_from(["<", ">"]))
    magic = draw(st.sampled_from([pb.PCAP_USEC, pb.PCAP_NSEC, pb.PCAP_MODIFIED]))
    linktype = draw(st.sampled_from(sorted(linktypes.SUPPORTED)))
    recs = draw(
        st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 999_999), frames), max_size=8)
    )
    return pb.pcap(recs, linktype, endian=endian, magic=magic)


@st.composite
def valid_pcapng(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        endian = draw(st.sampled_from(["<", ">"]))
        out += pb.shb(endian)
        nif = draw(st.integers(0, 3))
        for _ in range(nif):
            out += pb.idb(
                draw(st.sampled_from(LINKTYPES[:-1])),
                snaplen=draw(st.sampled_from([0, 16, 65535])),
                tsresol=draw(st.none() | st.integers(0, 255)),
                tsoffset=draw(st.none() | st.integers(-(2**40), 2**40)),
                endian=endian,
            )
        for _ in range(draw(st.integers(0, 6))):
            kind = draw(st.sampled_from(["epb", "spb", "pb", "isb", "nrb", "custom", "unknown"]))
            ifid = draw(st.integers(0, nif))  # nif itself: a missing interface
            frame = draw(frames)
            units = draw(st.integers(0, 2**64 - 1))
            if kind == "epb":
                out += pb.epb(ifid, units, frame, endian=endian)
            elif kind == "spb":
                out += pb.spb(frame, endian=endian)
            elif kind == "pb":
                out += pb.pb(ifid, units, frame, endian=endian)
            elif kind == "isb":
                out += pb.isb(ifid, endian)
            elif kind == "nrb":
                out += pb.nrb(endian)
            elif kind == "custom":
                out += pb.custom(endian)
            else:
                out += pb.unknown_block(endian=endian)
    return out


@st.composite
def block_soup(draw: st.DrawFn) -> bytes:
    """Well-framed pcapng blocks (correct lengths) with random types and bodies: reaches
    the per-block parsers far more often than mutated bytes do."""
    endian = draw(st.sampled_from(["<", ">"]))
    out = pb.shb(endian)
    btypes = st.sampled_from([pb.IDB, pb.PB, pb.SPB, pb.NRB, pb.ISB, pb.EPB, pb.DSB, pb.CUSTOM])
    for _ in range(draw(st.integers(0, 6))):
        btype = draw(btypes | st.integers(0, 2**32 - 1))
        if btype == pb.SHB:
            out += pb.shb(draw(st.sampled_from(["<", ">"])))
        elif btype == pb.IDB and draw(st.booleans()):
            out += pb.block(
                btype, struct.pack(endian + "HHI", 1, 0, 0) + draw(st.binary(max_size=24)), endian
            )
        else:
            out += pb.block(btype, draw(st.binary(max_size=40)), endian)
    return out


@st.composite
def capture_bytes(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        data = draw(st.binary(max_size=400))
    elif choice == 1:  # a valid pcap file header, then anything
        endian = draw(st.sampled_from(["<", ">"]))
        magic = draw(st.sampled_from([pb.PCAP_USEC, pb.PCAP_NSEC, pb.PCAP_MODIFIED]))
        linktype = draw(st.sampled_from(sorted(linktypes.SUPPORTED)))
        snaplen = draw(st.sampled_from([0, 96, 65535, 2**32 - 1]))
        header = pb.pcap_header(linktype, endian=endian, magic=magic, snaplen=snaplen)
        data = header + draw(st.binary(max_size=400))
    elif choice == 2:  # a valid section header, then anything
        data = pb.shb(draw(st.sampled_from(["<", ">"]))) + draw(st.binary(max_size=400))
    elif choice == 3:
        data = mutate(draw(valid_pcap()), draw(mutations))
    elif choice == 4:
        data = mutate(draw(valid_pcapng()), draw(mutations))
    else:
        data = draw(block_soup())
    if draw(st.booleans()):
        return data
    comp = gzip.compress(data, mtime=0)
    return mutate(comp, draw(mutations)) if draw(st.booleans()) else comp


# -- (a) readers ---------------------------------------------------------------------------


def read_or_refuse(path: Path, chunk_size: int) -> tuple[Any, ...] | str:
    """Every record and the reader's report, or the CaptureError message."""
    try:
        reader = open_capture(str(path), chunk_size=chunk_size)
    except CaptureError as exc:
        msg = str(exc)
        assert msg.startswith(f"{path}: ")
        assert "\n" not in msg
        return msg
    records = []
    with reader:
        for ts, lt, buf, start, end, wirelen in reader.records():
            assert isinstance(ts, float)
            assert isinstance(lt, int)
            assert isinstance(wirelen, int)
            assert wirelen >= 0
            assert 0 <= start <= end <= len(buf)
            records.append((ts, lt, bytes(buf[start:end]), wirelen))
    for warning in reader.warnings:
        assert warning.startswith(f"{path}: ")
        assert "\n" not in warning
    assert reader.format in ("pcap", "pcapng")
    return (records, reader.warnings, reader.truncated, reader.linktypes)


def check_file(workdir: Path, data: bytes, chunk_size: int) -> tuple[Any, ...] | str:
    path = workdir / "input.cap"
    path.write_bytes(data)
    ref = read_or_refuse(path, 1 << 20)
    got = read_or_refuse(path, chunk_size)
    if data[:2] == b"\x1f\x8b":
        # zlib hands out nothing of the block it fails in, and how much that is depends
        # on the read size: with corrupt compressed data only a common prefix is certain.
        if isinstance(ref, tuple) and isinstance(got, tuple):
            n = min(len(ref[0]), len(got[0]))
            assert got[0][:n] == ref[0][:n]
        return ref
    # Same packets and the same report, whatever the chunk size
    if isinstance(ref, tuple) and isinstance(got, tuple):
        assert got[0] == ref[0]
        assert got[1:] == ref[1:]
    else:
        assert got == ref
    return ref


@FUZZ
@given(data=capture_bytes(), chunk_size=st.sampled_from(CHUNKS))
def test_any_file_is_refused_or_read_to_the_end(
    workdir: Path, data: bytes, chunk_size: int
) -> None:
    check_file(workdir, data, chunk_size)


@FUZZ
@given(data=st.one_of(valid_pcap(), valid_pcapng()), chunk_size=st.sampled_from(CHUNKS))
def test_valid_captures_read_without_warnings_except_bad_interfaces(
    workdir: Path, data: bytes, chunk_size: int
) -> None:
    result = check_file(workdir, data, chunk_size)
    assert isinstance(result, tuple)
    _records, warnings, truncated, _lts = result
    assert truncated is False
    for w in warnings:  # only what the generator does on purpose
        assert "unsupported link type" in w or "malformed" in w, w


@FUZZ
@given(
    recs=st.lists(
        st.tuples(st.integers(2**30, 2**32 - 1), st.integers(0, 999_999), frames), max_size=10
    ),
    endian=st.sampled_from(["<", ">"]),
    nsec=st.booleans(),
    chunk_size=st.sampled_from(CHUNKS),
)
def test_pcap_round_trip(
    workdir: Path, recs: list[tuple[int, int, bytes]], endian: str, nsec: bool, chunk_size: int
) -> None:
    magic = pb.PCAP_NSEC if nsec else pb.PCAP_USEC
    result = check_file(workdir, pb.pcap(recs, 1, endian=endian, magic=magic), chunk_size)
    assert isinstance(result, tuple)
    per_second = 10**9 if nsec else 10**6
    assert result[0] == [
        ((sec * per_second + frac) / per_second, 1, frame, len(frame)) for sec, frac, frame in recs
    ]
    assert result[1:] == ([], False, [1])


# -- (b) decode ------------------------------------------------------------------------------

KINDS = {TCP, UDP, ARP, OTHER, ANOMALY}


def check_decoded(buf: bytes, start: int, end: int, linktype: int) -> tuple[Any, ...]:
    r = decode(buf, start, end, linktype)
    assert isinstance(r, tuple)
    kind = r[0]
    assert kind in KINDS
    if kind in (TCP, UDP):
        assert len(r) == 9
        _, key, vlan, flags, seq, l4off, poff, pend, seglen = r
        assert start <= l4off <= poff <= pend <= end
        assert l4off + (20 if kind == TCP else 8) <= poff
        assert seglen >= pend - poff
        assert 0 <= flags <= 255 and 0 <= seq < 2**32
        if kind == UDP:
            assert (flags, seq) == (0, 0)
        assert isinstance(key, bytes) and len(key) in (12, 15, 36, 39)
        _src, _dst, sport, dport, kvlan = split_key(key)
        assert kvlan == vlan and (len(key) in (15, 39)) == (vlan != 0)
        assert struct.unpack_from("!HH", buf, l4off) == (sport, dport)
        assert 0 <= vlan < 1 << 24
    elif kind == ARP:
        assert len(r) == 7
        _, op, sha, spa, tha, tpa, vlan = r
        assert (len(sha), len(spa), len(tha), len(tpa)) == (6, 4, 6, 4)
        assert 0 <= op <= 0xFFFF
    elif kind == OTHER:
        assert len(r) == 2 and isinstance(r[1], str) and r[1]
    else:
        assert len(r) == 3
        assert r[1] in ANOMALIES, r
        assert isinstance(r[2], str)
    return r


def check_frame(frame: bytes, linktype: int, pre: bytes, post: bytes) -> None:
    alone = check_decoded(frame, 0, len(frame), linktype)
    inside = check_decoded(pre + frame + post, len(pre), len(pre) + len(frame), linktype)
    if alone[0] in (TCP, UDP):
        k = len(pre)
        inside = inside[:5] + tuple(x - k for x in inside[5:8]) + inside[8:]
    assert inside == alone


def _templates() -> list[tuple[int, bytes]]:
    """Well-formed frames of every layer decode knows, for mutation (built by scapy)."""
    e = l2.Ether(src="00:1b:1b:00:00:01", dst="00:0e:8c:00:00:02")
    v4 = inet.IP(src="10.1.1.1", dst="10.1.1.2")
    v6 = inet6.IPv6(src="fd00::1", dst="fd00::2")
    tcp = inet.TCP(sport=1234, dport=502, flags="PA", options=[("MSS", 1460)]) / b"\x00\x01modbus"
    udp = inet.UDP(sport=20000, dport=20000) / b"\x05\x64dnp3"
    chain = (
        inet6.IPv6ExtHdrHopByHop()
        / inet6.IPv6ExtHdrDestOpt()
        / inet6.IPv6ExtHdrRouting()
        / inet6.IPv6ExtHdrFragment()
    )
    ah = struct.pack("!BBHII", 6, 4, 0, 1, 1) + bytes(12)
    packets = [
        (1, e / v4 / tcp),
        (1, e / v4 / udp),
        (1, e / l2.Dot1Q(vlan=5) / v4 / tcp),
        (1, e / l2.Dot1AD(vlan=5) / l2.Dot1Q(vlan=6) / v6 / udp),
        (1, e / v6 / chain / tcp),
        (1, e / inet6.IPv6(src="fd00::1", dst="fd00::2", nh=51) / (ah + bytes(tcp))),
        (1, e / l2.ARP(op=1, psrc="10.1.1.1", pdst="10.1.1.2")),
        (1, e / inet.IP(src="10.1.1.1", dst="10.1.1.2", flags="MF") / udp),
        (113, l2.CookedLinux() / v4 / tcp),
        (276, l2.CookedLinuxV2() / v6 / udp),
        (101, v4 / tcp),
        (101, v6 / tcp),
        (228, v4 / udp),
        (229, v6 / chain / udp),
    ]
    out = [(lt, bytes(p)) for lt, p in packets]
    out += [
        (0, struct.pack("<I", 2) + bytes(v4 / tcp)),
        (108, struct.pack(">I", 30) + bytes(v6 / udp)),
    ]
    return out


TEMPLATES = _templates()


@FUZZ
@given(
    frame=st.binary(max_size=200),
    linktype=st.sampled_from(LINKTYPES) | st.integers(-5, 300),
    pre=st.binary(max_size=8),
    post=st.binary(max_size=8),
)
def test_decode_any_bytes(frame: bytes, linktype: int, pre: bytes, post: bytes) -> None:
    check_frame(frame, linktype, pre, post)


@FUZZ
@given(
    which=st.integers(0, len(TEMPLATES) - 1),
    muts=mutations,
    other_linktype=st.none() | st.sampled_from(LINKTYPES),
    pre=st.binary(max_size=8),
    post=st.binary(max_size=8),
)
def test_decode_mutated_frames(
    which: int, muts: list[Mutation], other_linktype: int | None, pre: bytes, post: bytes
) -> None:
    linktype, frame = TEMPLATES[which]
    if other_linktype is not None:
        linktype = other_linktype
    check_frame(mutate(frame, muts), linktype, pre, post)


def test_templates_decode_as_intended() -> None:
    kinds = [decode(f, 0, len(f), lt)[0] for lt, f in TEMPLATES]
    assert kinds == [TCP, UDP, TCP, UDP, TCP, TCP, ARP, ANOMALY, TCP, UDP, TCP, TCP, UDP, UDP,
                     TCP, UDP]  # fmt: skip


# -- (c) real captures -----------------------------------------------------------------------


@functools.cache
def _real_frames() -> list[tuple[int, bytes]]:
    out = []
    for path in pb.real_pcap_files():
        with open_capture(str(path)) as reader:
            for i, (_ts, lt, frame, _w) in enumerate(reader.packets()):
                if i >= 40:
                    break
                out.append((lt, frame))
    return out


@functools.cache
def _real_files() -> list[bytes]:
    small = [p for p in pb.real_pcap_files() if p.stat().st_size < 40_000]
    return [p.read_bytes() for p in small]


needs_real = pytest.mark.skipif(not pb.real_pcap_files(), reason=pb.REAL_SKIP_REASON)


@pytest.mark.realpcaps
@needs_real
@FUZZ
@given(data=st.data(), muts=mutations, pre=st.binary(max_size=4))
def test_mutated_real_frames_never_raise(
    data: st.DataObject, muts: list[Mutation], pre: bytes
) -> None:
    frames_ = _real_frames()
    linktype, frame = frames_[data.draw(st.integers(0, len(frames_) - 1))]
    check_frame(mutate(frame, muts), linktype, pre, b"\x00")


@pytest.mark.realpcaps
@needs_real
@FUZZ
@given(data=st.data(), muts=mutations, compress=st.booleans(), chunk=st.sampled_from(CHUNKS))
def test_mutated_real_files_never_raise(
    workdir: Path, data: st.DataObject, muts: list[Mutation], compress: bool, chunk: int
) -> None:
    files = _real_files()
    raw = files[data.draw(st.integers(0, len(files) - 1))]
    damaged = mutate(raw, muts)
    if compress:
        damaged = gzip.compress(damaged, mtime=0)
    result = check_file(workdir, damaged, chunk)
    if not muts and isinstance(result, tuple):
        assert result[1:3] == ([], False)
