"""Write classic pcap and pcapng bytes by hand, field by field, for the reader tests.

Nothing here uses the reader under test (or scapy's writers), so a test that builds a
file with these helpers and reads it back checks the reader against the file format
specifications (libpcap's pcap-savefile(5) and draft-ietf-opsawg-pcapng), not against
itself. ``test_pcapfile.py`` also cross-checks a few of these files against tshark.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from tests.conftest import real_pcaps_dir

PCAP_USEC = 0xA1B2C3D4
PCAP_NSEC = 0xA1B23C4D
PCAP_MODIFIED = 0xA1B2CD34
BOM = 0x1A2B3C4D

SHB = 0x0A0D0D0A
IDB = 1
PB = 2  # obsolete Packet Block
SPB = 3
NRB = 4
ISB = 5
EPB = 6
DSB = 0x0000000A
CUSTOM = 0x00000BAD
CUSTOM_NOCOPY = 0x40000BAD

OPT_END = 0
OPT_COMMENT = 1
IF_NAME = 2
IF_TSRESOL = 9
IF_TSOFFSET = 14

#: (seconds, fraction in the file's unit, frame bytes) for classic pcap records.
PcapPacket = tuple[int, int, bytes]


# -- classic pcap ----------------------------------------------------------------------


def pcap_header(
    linktype: int = 1,
    *,
    endian: str = "<",
    magic: int = PCAP_USEC,
    snaplen: int = 65535,
    version: tuple[int, int] = (2, 4),
) -> bytes:
    """The 24-byte pcap file header."""
    return struct.pack(endian + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen, linktype)


def pcap_record(
    sec: int,
    frac: int,
    frame: bytes,
    *,
    endian: str = "<",
    wirelen: int | None = None,
    caplen: int | None = None,
    modified: bool = False,
) -> bytes:
    """One record: header (16 bytes, 24 for the modified format) and the frame."""
    length = len(frame) if caplen is None else caplen
    orig = len(frame) if wirelen is None else wirelen
    hdr = struct.pack(endian + "IIII", sec, frac, length, orig)
    if modified:  # ifindex (4), protocol (2), pkt_type (1), pad (1)
        hdr += struct.pack(endian + "IHBx", 3, 0x0800, 0)
    return hdr + frame


def pcap(
    packets: Iterable[PcapPacket],
    linktype: int = 1,
    *,
    endian: str = "<",
    magic: int = PCAP_USEC,
    snaplen: int = 65535,
) -> bytes:
    """A whole pcap file."""
    modified = magic == PCAP_MODIFIED
    out = [pcap_header(linktype, endian=endian, magic=magic, snaplen=snaplen)]
    for sec, frac, frame in packets:
        out.append(pcap_record(sec, frac, frame, endian=endian, modified=modified))
    return b"".join(out)


# -- pcapng ------------------------------------------------------------------------------


def pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def option(code: int, value: bytes, endian: str = "<") -> bytes:
    """One option: code, length, value padded to 32 bits."""
    return struct.pack(endian + "HH", code, len(value)) + pad4(value)


def options(opts: Sequence[tuple[int, bytes]], endian: str = "<") -> bytes:
    """An option list with its opt_endofopt, or nothing when there are no options."""
    if not opts:
        return b""
    return b"".join(option(c, v, endian) for c, v in opts) + struct.pack(endian + "HH", 0, 0)


def block(btype: int, body: bytes, endian: str = "<") -> bytes:
    """A block: type, total length, body padded to 32 bits, total length again."""
    body = pad4(body)
    total = 12 + len(body)
    return struct.pack(endian + "II", btype, total) + body + struct.pack(endian + "I", total)


def shb(endian: str = "<", opts: Sequence[tuple[int, bytes]] = ()) -> bytes:
    """Section Header Block, version 1.0, section length unknown (-1)."""
    body = struct.pack(endian + "IHHq", BOM, 1, 0, -1) + options(opts, endian)
    return block(SHB, body, endian)


def idb(
    linktype: int = 1,
    *,
    snaplen: int = 0,
    tsresol: int | None = None,
    tsoffset: int | None = None,
    endian: str = "<",
    extra: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """Interface Description Block, with if_tsresol / if_tsoffset when given."""
    opts: list[tuple[int, bytes]] = list(extra)
    if tsresol is not None:
        opts.append((IF_TSRESOL, bytes([tsresol])))
    if tsoffset is not None:
        opts.append((IF_TSOFFSET, struct.pack(endian + "q", tsoffset)))
    body = struct.pack(endian + "HHI", linktype, 0, snaplen) + options(opts, endian)
    return block(IDB, body, endian)


def epb(
    ifid: int,
    units: int,
    frame: bytes,
    *,
    wirelen: int | None = None,
    endian: str = "<",
    opts: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """Enhanced Packet Block; ``units`` is the 64-bit timestamp in the interface's unit."""
    orig = len(frame) if wirelen is None else wirelen
    head = struct.pack(endian + "IIIII", ifid, units >> 32, units & 0xFFFFFFFF, len(frame), orig)
    return block(EPB, head + pad4(frame) + options(opts, endian), endian)


def spb(frame: bytes, *, wirelen: int | None = None, endian: str = "<") -> bytes:
    """Simple Packet Block: original length and the (possibly snapped) frame."""
    orig = len(frame) if wirelen is None else wirelen
    return block(SPB, struct.pack(endian + "I", orig) + frame, endian)


def pb(
    ifid: int, units: int, frame: bytes, *, wirelen: int | None = None, endian: str = "<"
) -> bytes:
    """Obsolete Packet Block (interface id 16 bits, drops count 16 bits)."""
    orig = len(frame) if wirelen is None else wirelen
    head = struct.pack(
        endian + "HHIIII", ifid, 0, units >> 32, units & 0xFFFFFFFF, len(frame), orig
    )
    return block(PB, head + frame, endian)


def nrb(endian: str = "<") -> bytes:
    """Name Resolution Block with one IPv4 record (10.0.0.1 = plc1) and nrb_record_end."""
    rec = struct.pack(endian + "HH", 1, 4 + 5) + pad4(bytes([10, 0, 0, 1]) + b"plc1\0")
    return block(NRB, rec + struct.pack(endian + "HH", 0, 0), endian)


def isb(ifid: int = 0, endian: str = "<") -> bytes:
    """Interface Statistics Block with an isb_ifrecv option."""
    body = struct.pack(endian + "III", ifid, 0, 0) + options(
        [(4, struct.pack(endian + "Q", 7))], endian
    )
    return block(ISB, body, endian)


def unknown_block(btype: int = 0x7FFF0001, endian: str = "<") -> bytes:
    """A block of a type no reader knows: skipped by its length."""
    return block(btype, b"\x01\x02\x03\x04\x05", endian)


def custom(endian: str = "<") -> bytes:
    """Custom block (PEN 32473, the documentation enterprise number) with opaque data."""
    return block(CUSTOM, struct.pack(endian + "I", 32473) + b"opaque data", endian)


def dsb(endian: str = "<") -> bytes:
    """Decryption Secrets Block (TLS key log) with a short secret."""
    secret = b"CLIENT_RANDOM 00 11\n"
    return block(DSB, struct.pack(endian + "II", 0x544C534B, len(secret)) + secret, endian)


# -- frames ------------------------------------------------------------------------------


def udp_frame(i: int, payload_len: int = 10) -> bytes:
    """Ethernet/IPv4/UDP frame 10.0.0.1:(40000+i) -> 10.0.0.2:20000 with a patterned payload."""
    payload = bytes((i + k) & 0xFF for k in range(payload_len))
    udp = struct.pack("!HHHH", 40000 + i, 20000, 8 + payload_len, 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
        bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]),
    )  # fmt: skip
    return bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip + udp


# -- the public real-world captures ------------------------------------------------------


def real_pcap_files() -> list[Path]:
    """Every capture in the real-world folder (empty when it is absent)."""
    root = real_pcaps_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*") if p.suffix in (".pcap", ".pcapng"))


REAL_SKIP_REASON = (
    "public captures not found at ../shared/pcaps-real (set OTSEC_PCAPS_REAL to their folder)"
)
