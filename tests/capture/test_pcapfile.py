"""The streaming pcap/pcapng readers, against files written field by field (pcapbuild)."""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from otsec.capture import pcapfile
from otsec.capture.decode import ANOMALY, decode
from otsec.capture.pcapfile import (
    CaptureError,
    CaptureReader,
    PcapNgReader,
    PcapReader,
    open_capture,
)
from tests.capture import pcapbuild as pb
from tests.capture.pcapbuild import udp_frame

REPO = Path(__file__).resolve().parents[2]
SEC = 1_700_000_000  # a realistic epoch: 2023-11-14

Packet = tuple[float, int, bytes, int]


def write(tmp_path: Path, data: bytes, name: str = "x.pcap") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def read_all(path: str, **kw: int) -> tuple[list[Packet], CaptureReader]:
    with open_capture(path, **kw) as reader:
        packets = list(reader.packets())
    return packets, reader


def exact(units: int, per_second: int, offset: int = 0) -> float:
    """The timestamp ``units / per_second + offset`` seconds, correctly rounded to a float."""
    return float(Fraction(units, per_second) + offset)


FRAMES = [udp_frame(i, n) for i, n in enumerate([0, 1, 2, 3, 17, 46, 100, 1400])]


# -- classic pcap ----------------------------------------------------------------------


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize(
    ("magic", "per_second"), [(pb.PCAP_USEC, 10**6), (pb.PCAP_NSEC, 10**9)], ids=["us", "ns"]
)
def test_pcap_byte_orders_and_resolutions(
    tmp_path: Path, endian: str, magic: int, per_second: int
) -> None:
    fracs = [0, 1, per_second - 1, per_second // 2, 123456, 999_999 % per_second, 7, 3]
    secs = [SEC, SEC + 1, SEC + 2, 2**30, 2**30 + 1, 2**31 - 1, 2**32 - 1, SEC + 86400]
    recs = list(zip(secs, fracs, FRAMES, strict=True))
    path = write(tmp_path, pb.pcap(recs, 1, endian=endian, magic=magic))
    packets, reader = read_all(path)
    assert reader.format == "pcap"
    assert isinstance(reader, PcapReader)
    assert reader.byte_order == ("little" if endian == "<" else "big")
    assert reader.nanosecond == (magic == pb.PCAP_NSEC)
    assert reader.linktypes == [1]
    assert reader.warnings == []
    assert reader.truncated is False
    assert len(packets) == len(recs)
    for (ts, lt, frame, wirelen), (sec, frac, want) in zip(packets, recs, strict=True):
        assert ts == exact(sec * per_second + frac, per_second), (sec, frac)
        assert (lt, frame, wirelen) == (1, want, len(want))


@pytest.mark.parametrize("magic", [pb.PCAP_USEC, pb.PCAP_NSEC])
def test_pcap_timestamps_near_the_epoch_within_one_ulp(tmp_path: Path, magic: int) -> None:
    per_second = 10**9 if magic == pb.PCAP_NSEC else 10**6
    recs = [(sec, frac, FRAMES[0]) for sec in (0, 1, 3600) for frac in (1, 3, 7, per_second - 1)]
    packets, _ = read_all(write(tmp_path, pb.pcap(recs, magic=magic)))
    for (ts, *_), (sec, frac, _f) in zip(packets, recs, strict=True):
        want = exact(sec * per_second + frac, per_second)
        assert abs(ts - want) <= math.ulp(want)


def test_pcap_header_fields_and_snapped_record(tmp_path: Path) -> None:
    data = pb.pcap_header(101, snaplen=96) + pb.pcap_record(SEC, 5, b"E" + bytes(95), wirelen=1500)
    packets, reader = read_all(write(tmp_path, data))
    assert isinstance(reader, PcapReader)
    assert reader.snaplen == 96
    assert reader.version == (2, 4)
    assert packets == [(exact(SEC * 10**6 + 5, 10**6), 101, b"E" + bytes(95), 1500)]


def test_pcap_linktype_fcs_bits_are_masked(tmp_path: Path) -> None:
    # Upper bits of the link-type field: "FCS present, 4 bytes" (pcap spec, LinkType).
    data = pb.pcap_header(0x1 | 0x10000000 | 0x4 << 29) + pb.pcap_record(SEC, 0, FRAMES[0])
    packets, reader = read_all(write(tmp_path, data))
    assert reader.linktypes == [1]
    assert packets[0][1] == 1


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcap_modified_format(tmp_path: Path, endian: str) -> None:
    recs = [(SEC + i, 100 * i, f) for i, f in enumerate(FRAMES)]
    path = write(tmp_path, pb.pcap(recs, 1, endian=endian, magic=pb.PCAP_MODIFIED))
    packets, reader = read_all(path)
    assert reader.warnings == []
    assert [(p[2], p[3]) for p in packets] == [(f, len(f)) for f in FRAMES]
    assert [p[0] for p in packets] == [exact((SEC + i) * 10**6 + 100 * i, 10**6) for i in range(8)]


def test_pcap_header_only_is_an_empty_capture(tmp_path: Path) -> None:
    packets, reader = read_all(write(tmp_path, pb.pcap_header()))
    assert packets == []
    assert reader.warnings == []
    assert reader.truncated is False


def test_records_hand_out_offsets_into_the_buffer(tmp_path: Path) -> None:
    recs = [(SEC, i, f) for i, f in enumerate(FRAMES)]
    with open_capture(write(tmp_path, pb.pcap(recs))) as reader:
        got = [(ts, lt, buf[s:e], w) for ts, lt, buf, s, e, w in reader.records()]
    assert [g[2] for g in got] == FRAMES


# -- pcapng ------------------------------------------------------------------------------


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_epb_both_byte_orders(tmp_path: Path, endian: str) -> None:
    units = [SEC * 10**6 + i * 333_333 for i in range(len(FRAMES))]
    data = pb.shb(endian, [(pb.OPT_COMMENT, b"made by hand")]) + pb.idb(
        1, snaplen=65535, endian=endian, extra=[(pb.IF_NAME, b"eth0")]
    )
    for u, f in zip(units, FRAMES, strict=True):
        data += pb.epb(0, u, f, endian=endian, opts=[(pb.OPT_COMMENT, b"c")])
    packets, reader = read_all(write(tmp_path, data, "x.pcapng"))
    assert reader.format == "pcapng"
    assert isinstance(reader, PcapNgReader)
    assert reader.byte_order == ("little" if endian == "<" else "big")
    assert reader.warnings == []
    assert reader.linktypes == [1]
    assert packets == [(exact(u, 10**6), 1, f, len(f)) for u, f in zip(units, FRAMES, strict=True)]


def test_pcapng_epb_wire_length_larger_than_captured(tmp_path: Path) -> None:
    data = pb.shb() + pb.idb(1, snaplen=64) + pb.epb(0, 5, FRAMES[7][:64], wirelen=len(FRAMES[7]))
    packets, _ = read_all(write(tmp_path, data))
    assert packets == [(exact(5, 10**6), 1, FRAMES[7][:64], len(FRAMES[7]))]


@pytest.mark.parametrize(
    ("tsresol", "per_second"),
    [
        (None, 10**6),  # default: microseconds
        (6, 10**6),
        (0, 1),
        (3, 10**3),
        (9, 10**9),
        (0x80 | 0, 1),
        (0x80 | 10, 2**10),  # 2^-n form
        (0x80 | 20, 2**20),
        (0x80 | 30, 2**30),
    ],
)
@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_if_tsresol(
    tmp_path: Path, tsresol: int | None, per_second: int, endian: str
) -> None:
    base = SEC * per_second
    units = [base, base + 1, base + per_second - 1, base + per_second // 3, 7, 2**63 + 5]
    data = pb.shb(endian) + pb.idb(1, tsresol=tsresol, endian=endian)
    data += b"".join(pb.epb(0, u, FRAMES[1], endian=endian) for u in units)
    packets, reader = read_all(write(tmp_path, data))
    assert reader.warnings == []
    assert [p[0] for p in packets] == [exact(u, per_second) for u in units]


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("offset", [0, 1, SEC, -3600, -(SEC - 10)])
def test_pcapng_if_tsoffset(tmp_path: Path, endian: str, offset: int) -> None:
    units = [123_456_789, 10**9 + 1, 999_999_999]
    data = pb.shb(endian) + pb.idb(1, tsresol=9, tsoffset=offset, endian=endian)
    data += b"".join(pb.epb(0, u, FRAMES[0], endian=endian) for u in units)
    packets, reader = read_all(write(tmp_path, data))
    assert reader.warnings == []
    assert [p[0] for p in packets] == [exact(u, 10**9, offset) for u in units]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_simple_packet_blocks(tmp_path: Path, endian: str) -> None:
    f = FRAMES[6]  # 142 bytes
    data = pb.shb(endian) + pb.idb(1, snaplen=100, endian=endian)
    data += pb.spb(FRAMES[0][:30], wirelen=30, endian=endian)  # before any timestamp: 0.0
    data += pb.epb(0, SEC * 10**6 + 42, FRAMES[1], endian=endian)
    data += pb.spb(f[:100], wirelen=len(f), endian=endian)  # writer honoured the snaplen
    data += pb.spb(f[:120], wirelen=len(f), endian=endian)  # it did not: snaplen limits
    data += pb.spb(FRAMES[2][:41], wirelen=41, endian=endian)  # padding is not captured data
    data += pb.spb(FRAMES[3][:20], wirelen=60, endian=endian)  # block limits (snapped to 20)
    packets, reader = read_all(write(tmp_path, data))
    ts = exact(SEC * 10**6 + 42, 10**6)
    assert reader.warnings == []
    assert packets == [
        (0.0, 1, FRAMES[0][:30], 30),
        (ts, 1, FRAMES[1], len(FRAMES[1])),
        (ts, 1, f[:100], len(f)),
        (ts, 1, f[:100], len(f)),
        (ts, 1, FRAMES[2][:41], 41),
        (ts, 1, FRAMES[3][:20], 60),
    ]


def test_pcapng_simple_packet_block_without_snaplen(tmp_path: Path) -> None:
    data = pb.shb() + pb.idb(101, snaplen=0) + pb.spb(b"\x45" + bytes(39))
    packets, _ = read_all(write(tmp_path, data))
    assert packets == [(0.0, 101, b"\x45" + bytes(39), 40)]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_obsolete_packet_block(tmp_path: Path, endian: str) -> None:
    data = pb.shb(endian) + pb.idb(1, endian=endian) + pb.idb(113, tsresol=9, endian=endian)
    data += pb.pb(1, SEC * 10**9 + 7, FRAMES[4], endian=endian)
    data += pb.pb(0, SEC * 10**6 + 7, FRAMES[5], wirelen=2000, endian=endian)
    data += pb.spb(FRAMES[3], endian=endian)  # timestamp of the previous packet
    packets, reader = read_all(write(tmp_path, data))
    assert reader.warnings == []
    assert packets == [
        (exact(SEC * 10**9 + 7, 10**9), 113, FRAMES[4], len(FRAMES[4])),
        (exact(SEC * 10**6 + 7, 10**6), 1, FRAMES[5], 2000),
        (exact(SEC * 10**6 + 7, 10**6), 1, FRAMES[3], len(FRAMES[3])),
    ]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_blocks_without_packets_are_skipped(tmp_path: Path, endian: str) -> None:
    data = pb.shb(endian) + pb.nrb(endian) + pb.idb(1, endian=endian) + pb.custom(endian)
    data += pb.epb(0, 1, FRAMES[0], endian=endian) + pb.isb(0, endian) + pb.dsb(endian)
    data += pb.block(pb.CUSTOM_NOCOPY, b"\0\0\x7e\xd9xyz", endian)
    data += pb.unknown_block(endian=endian) + pb.unknown_block(0x80000001, endian)
    data += pb.epb(0, 2, FRAMES[1], endian=endian) + pb.isb(0, endian)
    packets, reader = read_all(write(tmp_path, data))
    assert reader.warnings == []
    assert [(p[0], p[2]) for p in packets] == [(1e-6, FRAMES[0]), (2e-6, FRAMES[1])]


def test_pcapng_several_sections_switching_byte_order(tmp_path: Path) -> None:
    data = pb.shb("<") + pb.idb(1, endian="<") + pb.epb(0, SEC * 10**6, FRAMES[0])
    # second section: big endian, its own interfaces (ids start again at 0)
    data += pb.shb(">") + pb.idb(101, tsresol=9, endian=">") + pb.idb(1, endian=">")
    data += pb.epb(0, SEC * 10**9 + 1, b"\x45" + bytes(19), endian=">")
    data += pb.epb(1, SEC * 10**6 + 2, FRAMES[2], endian=">")
    data += pb.spb(FRAMES[3], endian=">")  # interface 0 of this section: raw IP
    # third section: little endian again, one Linux SLL interface
    data += pb.shb("<") + pb.idb(113, tsresol=3) + pb.epb(0, SEC * 10**3 + 3, FRAMES[4])
    packets, reader = read_all(write(tmp_path, data))
    assert reader.warnings == []
    assert reader.linktypes == [1, 101, 1, 113]
    assert packets == [
        (float(SEC), 1, FRAMES[0], len(FRAMES[0])),
        (exact(SEC * 10**9 + 1, 10**9), 101, b"\x45" + bytes(19), 20),
        (exact(SEC * 10**6 + 2, 10**6), 1, FRAMES[2], len(FRAMES[2])),
        (exact(SEC * 10**6 + 2, 10**6), 101, FRAMES[3], len(FRAMES[3])),
        (exact(SEC * 10**3 + 3, 10**3), 113, FRAMES[4], len(FRAMES[4])),
    ]


def test_pcapng_new_section_forgets_interfaces(tmp_path: Path) -> None:
    data = pb.shb() + pb.idb(1) + pb.idb(1) + pb.epb(1, 1, FRAMES[0])
    data += pb.shb() + pb.idb(1) + pb.epb(1, 2, FRAMES[1]) + pb.epb(0, 3, FRAMES[2])
    packets, reader = read_all(write(tmp_path, data))
    assert [p[2] for p in packets] == [FRAMES[0], FRAMES[2]]
    assert len(reader.warnings) == 1
    assert "malformed enhanced packet block" in reader.warnings[0]


def test_pcapng_several_interfaces_with_different_link_types(tmp_path: Path) -> None:
    data = pb.shb() + pb.idb(1) + pb.idb(113, tsresol=9) + pb.idb(101) + pb.idb(276)
    data += pb.epb(2, 10, b"\x45" + bytes(19))
    data += pb.epb(0, 11, FRAMES[0])
    data += pb.epb(1, 12, bytes(16))
    data += pb.epb(3, 13, bytes(20))
    packets, reader = read_all(write(tmp_path, data))
    assert reader.warnings == []
    assert reader.linktypes == [1, 113, 101, 276]
    assert [(p[0], p[1]) for p in packets] == [
        (exact(10, 10**6), 101),
        (exact(11, 10**6), 1),
        (exact(12, 10**9), 113),
        (exact(13, 10**6), 276),
    ]


def test_pcapng_epb_naming_a_missing_interface_is_skipped(tmp_path: Path) -> None:
    data = pb.shb() + pb.idb(1) + pb.epb(0, 1, FRAMES[0]) + pb.epb(5, 2, FRAMES[1])
    data += pb.epb(0, 3, FRAMES[2])
    packets, reader = read_all(write(tmp_path, data))
    assert [p[2] for p in packets] == [FRAMES[0], FRAMES[2]]
    offset = len(pb.shb() + pb.idb(1) + pb.epb(0, 1, FRAMES[0]))
    assert reader.warnings == [
        f"{tmp_path / 'x.pcap'}: malformed enhanced packet block at byte offset {offset} skipped"
    ]
    assert reader.truncated is False


def test_pcapng_packets_before_any_interface_are_skipped(tmp_path: Path) -> None:
    data = pb.shb() + pb.spb(FRAMES[0]) + pb.pb(0, 1, FRAMES[1]) + pb.idb(1)
    data += pb.spb(FRAMES[2])
    packets, reader = read_all(write(tmp_path, data))
    assert [p[2] for p in packets] == [FRAMES[2]]
    assert len(reader.warnings) == 2
    assert "malformed simple packet block" in reader.warnings[0]
    assert "malformed packet block" in reader.warnings[1]


def test_pcapng_epb_with_caplen_beyond_its_block(tmp_path: Path) -> None:
    bad = bytearray(pb.epb(0, 2, FRAMES[1]))
    struct.pack_into("<I", bad, 20, 500)  # captured length 500 in a 60-byte block
    data = pb.shb() + pb.idb(1) + pb.epb(0, 1, FRAMES[0]) + bytes(bad) + pb.epb(0, 3, FRAMES[2])
    packets, reader = read_all(write(tmp_path, data))
    assert [p[2] for p in packets] == [FRAMES[0], FRAMES[2]]
    assert len(reader.warnings) == 1
    assert "malformed enhanced packet block" in reader.warnings[0]


@pytest.mark.parametrize("blen", [12, 16, 20, 24, 28])
@pytest.mark.parametrize("at_end", [True, False], ids=["last", "middle"])
def test_pcapng_packet_block_too_short_for_its_header(
    tmp_path: Path, blen: int, at_end: bool
) -> None:
    for btype in (pb.EPB, pb.PB):
        short = struct.pack("<II", btype, blen) + bytes(blen - 12) + struct.pack("<I", blen)
        data = pb.shb() + pb.idb(1) + pb.epb(0, 1, FRAMES[0]) + short
        if not at_end:
            data += pb.epb(0, 3, FRAMES[2])
        packets, reader = read_all(write(tmp_path, data))
        want = [FRAMES[0]] if at_end else [FRAMES[0], FRAMES[2]]
        assert [p[2] for p in packets] == want
        assert len(reader.warnings) == 1
        assert "malformed" in reader.warnings[0]


def test_pcapng_idb_option_running_past_its_block(tmp_path: Path) -> None:
    # if_tsoffset claims 8 bytes but the block ends after the option header.
    body = struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", pb.IF_TSOFFSET, 8)
    bad_idb = struct.pack("<II", 1, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    for tail in (b"", pb.epb(0, 1, FRAMES[0])):
        packets, reader = read_all(write(tmp_path, pb.shb() + bad_idb + tail))
        assert [p[2] for p in packets] == ([FRAMES[0]] if tail else [])
        assert reader.linktypes == [1]
        # the option is ignored: the offset stays 0
        assert [p[0] for p in packets] == ([1e-6] if tail else [])


def test_pcapng_unsupported_interface_link_type(tmp_path: Path) -> None:
    data = pb.shb() + pb.idb(1) + pb.idb(147) + pb.epb(1, 1, b"user data") + pb.epb(0, 2, FRAMES[0])
    packets, reader = read_all(write(tmp_path, data))
    assert [(p[1], p[2]) for p in packets] == [(147, b"user data"), (1, FRAMES[0])]
    assert reader.linktypes == [1, 147]
    assert len(reader.warnings) == 1
    assert "interface 1 has unsupported link type 147 (USER0)" in reader.warnings[0]
    assert decode(b"user data", 0, 9, 147) == (
        ANOMALY,
        "capture.unsupported_linktype",
        "147 (USER0)",
    )


# -- compression, standard input, format sniffing ---------------------------------------


def _pcapng_mixed() -> bytes:
    data = pb.shb() + pb.idb(1, tsresol=9) + pb.nrb()
    data += b"".join(pb.epb(0, SEC * 10**9 + i, f) for i, f in enumerate(FRAMES))
    data += pb.shb(">") + pb.idb(1, endian=">") + pb.spb(FRAMES[3], endian=">")
    return data


def _pcap_plain() -> bytes:
    return pb.pcap([(SEC + i, i, f) for i, f in enumerate(FRAMES)])


@pytest.mark.parametrize("make", [_pcap_plain, _pcapng_mixed], ids=["pcap", "pcapng"])
def test_gzip_input_is_decompressed(tmp_path: Path, make: Callable[[], bytes]) -> None:
    raw = make()
    want, _ = read_all(write(tmp_path, raw, "plain"))
    packets, reader = read_all(write(tmp_path, gzip.compress(raw), "x.pcap.gz"))
    assert packets == want
    assert reader.warnings == []
    # the gzip member may also be read through a tiny chunk size
    packets, _ = read_all(str(tmp_path / "x.pcap.gz"), chunk_size=5)
    assert packets == want


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd (Linux)")
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_close_releases_the_file(tmp_path: Path, compress: bool) -> None:
    raw = _pcap_plain()
    path = write(tmp_path, gzip.compress(raw) if compress else raw)
    before = _open_fds()
    reader = open_capture(path)
    assert len(list(reader.packets())) == len(FRAMES)
    reader.close()
    assert _open_fds() == before


def test_gzip_size_and_position_are_of_the_compressed_file(tmp_path: Path) -> None:
    data = gzip.compress(pb.pcap([(SEC, 0, FRAMES[7])] * 200))
    path = write(tmp_path, data, "x.gz")
    with open_capture(path, chunk_size=4096) as reader:
        assert reader.size() == len(data)
        first = reader.position()
        n = sum(1 for _ in reader.records())
        last = reader.position()
    assert n == 200
    assert first is not None and last == len(data)


def _replay_stdin(data: bytes) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "otsec", "replay", "-", "--json", "--no-progress"],
        input=data,
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_stdin_pcap_pcapng_and_gzip_through_the_cli() -> None:
    raw = _pcap_plain()
    for data, fmt, count in [
        (raw, "pcap", len(FRAMES)),
        (gzip.compress(_pcapng_mixed()), "pcapng", len(FRAMES) + 1),
    ]:
        result = _replay_stdin(data)
        files = result["files"]
        assert isinstance(files, list)
        assert files[0]["name"] == "<stdin>"
        assert files[0]["format"] == fmt
        assert files[0]["packets"] == count
        assert result["packets"] == count


def test_stdin_that_is_not_a_capture_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "otsec", "replay", "-", "--json"],
        input=b"hello, world\n",
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == (
        "otsec: error: <stdin>: not a pcap or pcapng capture (starts with 0x68656c6c)"
    )


@pytest.mark.parametrize(
    ("name", "make", "fmt"),
    [
        ("capture.pcapng", _pcap_plain, "pcap"),
        ("capture.pcap", _pcapng_mixed, "pcapng"),
        ("capture.txt", _pcap_plain, "pcap"),
        ("capture", _pcapng_mixed, "pcapng"),
    ],
)
def test_format_is_sniffed_from_content_not_name(
    tmp_path: Path, name: str, make: Callable[[], bytes], fmt: str
) -> None:
    packets, reader = read_all(write(tmp_path, make(), name))
    assert reader.format == fmt
    assert len(packets) == (len(FRAMES) if fmt == "pcap" else len(FRAMES) + 1)


# -- chunk boundaries and memory ---------------------------------------------------------


def _big_record_pcap() -> bytes:
    recs = [(SEC + i, i, udp_frame(i, (i * 37) % 300)) for i in range(60)]
    recs.insert(30, (SEC, 0, udp_frame(99, 5000)))  # larger than every chunk size below
    return pb.pcap(recs, endian=">", magic=pb.PCAP_NSEC)


def _modified() -> bytes:
    return pb.pcap([(SEC, i, f) for i, f in enumerate(FRAMES * 3)], magic=pb.PCAP_MODIFIED)


def _pcapng_everything() -> bytes:
    data = _pcapng_mixed() + pb.custom(">") + pb.shb() + pb.idb(1) + pb.idb(101, tsresol=0x83)
    for i in range(40):
        data += pb.epb(i % 2, SEC * 8 + i, udp_frame(i, i * 11))
        if i % 7 == 0:
            data += pb.isb() + pb.spb(FRAMES[i % 8]) + pb.pb(1, i, FRAMES[i % 5])
    return data


@pytest.mark.parametrize(
    "make", [_pcap_plain, _big_record_pcap, _modified, _pcapng_mixed, _pcapng_everything]
)
@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64, 100, 4096])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_chunk_boundaries_do_not_change_the_packets(
    tmp_path: Path, make: Callable[[], bytes], chunk_size: int, compress: bool
) -> None:
    raw = make()
    path = write(tmp_path, gzip.compress(raw) if compress else raw)
    want, ref = read_all(path)
    assert ref.warnings == []
    assert len(want) > 0
    packets, reader = read_all(path, chunk_size=chunk_size)
    assert packets == want
    assert reader.warnings == []
    assert reader.truncated is False


@pytest.mark.parametrize("make", [_big_record_pcap, _pcapng_everything])
@pytest.mark.parametrize("chunk_size", [7, 256, 4096])
def test_buffer_never_exceeds_chunk_plus_one_record(
    tmp_path: Path, make: Callable[[], bytes], chunk_size: int
) -> None:
    raw = make()
    path = write(tmp_path, raw)
    largest = 24 + 5100  # the 5000-byte UDP frame with its record or block header
    seen = 0
    with open_capture(path, chunk_size=chunk_size) as reader:
        for _ts, _lt, buf, start, end, _w in reader.records():
            seen += 1
            assert len(buf) <= chunk_size + largest
            assert 0 <= start <= end <= len(buf)
            pos = reader.position()
            assert pos is not None and pos <= len(raw)
    assert seen > 40


def test_reading_is_lazy(tmp_path: Path) -> None:
    data = pb.pcap([(SEC, i, FRAMES[6]) for i in range(20000)])  # about 3.2 MB
    path = write(tmp_path, data)
    with open_capture(path, chunk_size=65536) as reader:
        it = reader.records()
        next(it)
        pos = reader.position()
        assert pos is not None and pos <= 65536 + 4 + 24
        assert reader.size() == len(data)
        assert sum(1 for _ in it) == 19999


# -- truncation and corruption -----------------------------------------------------------


def _record_ends(data: bytes, header: int, rec_header: int) -> list[int]:
    ends = []
    pos = header
    while pos < len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        pos += rec_header + caplen
        ends.append(pos)
    return ends


@pytest.mark.parametrize("magic", [pb.PCAP_USEC, pb.PCAP_MODIFIED])
def test_pcap_truncated_at_every_offset(tmp_path: Path, magic: int) -> None:
    recs = [(SEC, i, f) for i, f in enumerate(FRAMES[:5])]
    data = pb.pcap(recs, magic=magic)
    ends = _record_ends(data, 24, 24 if magic == pb.PCAP_MODIFIED else 16)
    path = tmp_path / "x.pcap"
    for cut in range(24, len(data) + 1):
        path.write_bytes(data[:cut])
        for chunk in (7, 1 << 20):
            packets, reader = read_all(str(path), chunk_size=chunk)
            complete = sum(1 for e in ends if e <= cut)
            assert [p[2] for p in packets] == FRAMES[:complete], cut
            cut_inside = cut not in ends and cut != 24
            assert reader.truncated is cut_inside, cut
            if cut_inside:
                prev = max([24, *[e for e in ends if e <= cut]])
                assert reader.warnings == [
                    f"{path}: truncated last record ({cut - prev} bytes at end of file); "
                    "everything before it was processed"
                ]
            else:
                assert reader.warnings == []


def test_pcapng_truncated_at_every_offset(tmp_path: Path) -> None:
    head = pb.shb() + pb.idb(1)
    blocks = [pb.epb(0, i, f) for i, f in enumerate(FRAMES[:4])] + [pb.spb(FRAMES[5])]
    data = head + b"".join(blocks)
    ends = []
    pos = len(head)
    for b in blocks:
        pos += len(b)
        ends.append(pos)
    path = tmp_path / "x.pcapng"
    want = [*FRAMES[:4], FRAMES[5]]
    for cut in range(12, len(data) + 1):
        path.write_bytes(data[:cut])
        for chunk in (5, 1 << 20):
            packets, reader = read_all(str(path), chunk_size=chunk)
            complete = sum(1 for e in ends if e <= cut)
            assert [p[2] for p in packets] == want[:complete], cut
            at_boundary = cut in ends or cut in (len(pb.shb()), len(head))
            assert reader.truncated is not at_boundary, cut
            if at_boundary:
                assert reader.warnings == []
            else:
                assert len(reader.warnings) == 1
                assert "truncated last block" in reader.warnings[0]


def test_pcap_truncated_file_header(tmp_path: Path) -> None:
    path = write(tmp_path, pb.pcap_header()[:10])
    with pytest.raises(CaptureError) as exc:
        open_capture(path)
    assert str(exc.value) == f"{path}: truncated pcap file header (10 bytes)"


@pytest.mark.parametrize("caplen", [0xFFFFFFFF, 0x80000000, pcapfile.MAX_RECORD + 1])
def test_pcap_corrupt_record_length_stops_with_a_warning(tmp_path: Path, caplen: int) -> None:
    data = pb.pcap([(SEC, 0, FRAMES[0]), (SEC, 1, FRAMES[1])])
    bad_at = len(data)
    data += pb.pcap_record(SEC, 2, FRAMES[2], caplen=caplen) + pb.pcap_record(SEC, 3, FRAMES[3])
    packets, reader = read_all(write(tmp_path, data))
    assert [p[2] for p in packets] == FRAMES[:2]
    assert reader.truncated is False
    assert reader.warnings == [
        f"{tmp_path / 'x.pcap'}: corrupt record header at byte offset {bad_at} "
        f"(captured length {caplen}); stopped reading this file"
    ]


def test_pcap_implausible_record_length_mid_file_stops(tmp_path: Path) -> None:
    # 300000 bytes is more than the snap length and more than any link layer's
    # maximum (libpcap: 262144); the bytes after it are not records.
    good = [(SEC, i, udp_frame(i, 1000)) for i in range(400)]  # 420 KB follow the bad one
    data = pb.pcap(good[:3], snaplen=65535)
    bad_at = len(data)
    data += pb.pcap_record(SEC, 0, b"", caplen=300000) + pb.pcap(good[3:])[24:]
    packets, reader = read_all(write(tmp_path, data))
    assert len(packets) == 3
    assert len(reader.warnings) == 1
    assert reader.warnings[0].startswith(
        f"{tmp_path / 'x.pcap'}: corrupt record header at byte offset {bad_at} "
        "(captured length 300000)"
    )


def test_pcap_record_up_to_the_snap_length_is_fine(tmp_path: Path) -> None:
    big = FRAMES[7] * 200  # 288400 bytes: more than 262144 but within the snap length
    data = pb.pcap([(SEC, 0, FRAMES[0]), (SEC, 1, big)], snaplen=400000)
    packets, reader = read_all(write(tmp_path, data))
    assert reader.warnings == []
    assert [p[2] for p in packets] == [FRAMES[0], big]


@pytest.mark.parametrize("blen", [0, 8, 13, 30, 0xFFFFFFFC, pcapfile.MAX_RECORD + 4])
def test_pcapng_corrupt_block_length_stops(tmp_path: Path, blen: int) -> None:
    data = pb.shb() + pb.idb(1) + pb.epb(0, 1, FRAMES[0])
    bad_at = len(data)
    data += struct.pack("<II", 6, blen) + bytes(40) + pb.epb(0, 2, FRAMES[1])
    packets, reader = read_all(write(tmp_path, data))
    assert [p[2] for p in packets] == [FRAMES[0]]
    assert reader.truncated is False
    assert reader.warnings == [
        f"{tmp_path / 'x.pcap'}: corrupt block length {blen} at byte offset {bad_at}; "
        "stopped reading this file"
    ]


def test_pcapng_section_header_without_byte_order_magic_mid_file(tmp_path: Path) -> None:
    data = pb.shb() + pb.idb(1) + pb.epb(0, 1, FRAMES[0])
    bad = bytearray(pb.shb())
    bad[8:12] = b"\0\0\0\0"
    packets, reader = read_all(write(tmp_path, data + bytes(bad) + pb.idb(1)))
    assert [p[2] for p in packets] == [FRAMES[0]]
    assert len(reader.warnings) == 1
    assert "section header without byte-order magic" in reader.warnings[0]


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_gzip_yields_what_was_decompressed(tmp_path: Path, cut: float) -> None:
    raw = pb.pcap([(SEC + i, 0, udp_frame(i, 200 + i % 50)) for i in range(3000)])
    comp = gzip.compress(raw)
    path = write(tmp_path, comp[: int(len(comp) * cut)], "x.pcap.gz")
    packets, reader = read_all(path, chunk_size=4096)
    assert 0 < len(packets) < 3000
    assert [p[2] for p in packets] == [udp_frame(i, 200 + i % 50) for i in range(len(packets))]
    assert reader.truncated is True
    assert any("compressed" in w for w in reader.warnings)


def test_corrupt_gzip_data_mid_stream(tmp_path: Path) -> None:
    raw = pb.pcap([(SEC + i, 0, udp_frame(i, 200)) for i in range(3000)])
    comp = bytearray(gzip.compress(raw))
    for k in range(len(comp) // 2, len(comp) // 2 + 64):
        comp[k] ^= 0x5A
    packets, reader = read_all(write(tmp_path, bytes(comp), "x.gz"), chunk_size=4096)
    # everything decompressed before the damage is handed out intact
    assert 100 < len(packets) < 3000
    assert [p[2] for p in packets[:100]] == [udp_frame(i, 200) for i in range(100)]
    assert len(reader.warnings) >= 1


def test_gzip_with_trailing_garbage(tmp_path: Path) -> None:
    raw = _pcap_plain()
    packets, reader = read_all(write(tmp_path, gzip.compress(raw) + b"garbage!", "x.gz"))
    assert [p[2] for p in packets] == FRAMES
    assert len(reader.warnings) == 1


def test_gzip_whose_first_bytes_are_corrupt_is_refused(tmp_path: Path) -> None:
    comp = bytearray(gzip.compress(_pcap_plain()))
    comp[10:40] = bytes(range(30))
    path = write(tmp_path, bytes(comp), "x.gz")
    with pytest.raises(CaptureError) as exc:
        open_capture(path)
    assert str(exc.value).startswith(f"{path}: ")
    assert "\n" not in str(exc.value)


def test_gzip_cut_inside_the_file_header_is_refused(tmp_path: Path) -> None:
    comp = gzip.compress(_pcap_plain())
    for n in (2, 5, 12, 20):
        path = write(tmp_path, comp[:n], "x.gz")
        with pytest.raises(CaptureError) as exc:
            open_capture(path)
        assert str(exc.value).startswith(f"{path}: ")


# -- inputs refused at open time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty input, not a capture"),
        (b"\xd4\xc3\xb2", "3 bytes, too short to be a capture"),
        (b"# not a capture\nhello\n", "not a pcap or pcapng capture (starts with 0x23206e6f)"),
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\0\0\0\0", "pcapng section header without a valid "),
        (b"\x0a\x0d\x0d\x0a\x1c\x00", "truncated pcapng section header"),
        (gzip.compress(b""), "empty gzip input, not a capture"),
        (gzip.compress(b"ab"), "2 bytes, too short to be a capture"),
        (pb.pcap_header(147), "unsupported link type 147 (USER0); otsec reads Ethernet"),
        (pb.pcap_header(105, endian=">"), "unsupported link type 105 (IEEE802_11)"),
        (pb.pcap_header(4242), "unsupported link type 4242;"),
    ],
)
def test_refused_at_open(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, content, "bad.pcap")
    with pytest.raises(CaptureError) as exc:
        open_capture(path)
    text = str(exc.value)
    assert text.startswith(f"{path}: {message}")
    assert "\n" not in text


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as exc:
        open_capture(str(tmp_path))
    assert str(exc.value) == f"{tmp_path}: is a directory, not a capture"


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nope.pcap"
    with pytest.raises(CaptureError) as exc:
        open_capture(str(path))
    assert str(exc.value) == f"{path}: no such file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, _pcap_plain())
    os.chmod(path, 0)
    with pytest.raises(CaptureError) as exc:
        open_capture(path)
    assert str(exc.value).startswith(f"{path}: cannot open")


# -- cross-checks against tshark and real captures ---------------------------------------


def _tshark_fields(path: str) -> list[tuple[float | None, int, int]]:
    """(time or None for a simple packet block, captured length, wire length) per packet."""
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch",
         "-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.interface_id"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rows: list[tuple[float | None, int, int]] = []
    for line in out.splitlines():
        ts, cap, wire, ifid = line.split("\t")
        if path.endswith(".pcapng") and not ifid:
            continue  # tshark shows custom blocks as records without an interface
        rows.append((float(ts) if ts else None, int(cap), int(wire)))
    return rows


@pytest.mark.tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not on PATH")
@pytest.mark.parametrize("make", [_pcapng_everything, _big_record_pcap, _modified])
def test_builder_and_reader_agree_with_tshark(tmp_path: Path, make: Callable[[], bytes]) -> None:
    raw = make()
    path = write(tmp_path, raw, "x.pcapng" if raw[:4] == b"\n\r\r\n" else "x.pcap")
    packets, reader = read_all(path)
    theirs = _tshark_fields(path)
    assert reader.warnings == []
    assert len(theirs) == len(packets)
    for (ts, _lt, frame, wirelen), (tts, tcap, twire) in zip(packets, theirs, strict=True):
        assert (len(frame), wirelen) == (tcap, twire)
        if tts is not None:  # tshark prints nanoseconds; 2^-n units differ below that
            assert abs(ts - tts) <= 1e-6


def _manifest_counts() -> dict[str, int]:
    manifest = pb.real_pcaps_dir() / "MANIFEST.tsv"
    rows = manifest.read_text().splitlines()
    cols = rows[0].split("\t")
    return {r.split("\t")[0]: int(r.split("\t")[cols.index("packets")]) for r in rows[1:]}


@pytest.mark.realpcaps
@pytest.mark.skipif(not pb.real_pcap_files(), reason=pb.REAL_SKIP_REASON)
def test_real_captures_read_completely_whatever_the_chunk_size() -> None:
    counts = _manifest_counts()
    root = pb.real_pcaps_dir()
    for path in pb.real_pcap_files():
        want, reader = read_all(str(path))
        assert reader.warnings == [], path
        assert len(want) == counts[str(path.relative_to(root))], path
        if path.stat().st_size < 200_000:
            packets, _ = read_all(str(path), chunk_size=61)
            assert packets == want, path
