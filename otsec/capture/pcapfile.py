"""Streaming readers for classic pcap and pcapng captures.

Both readers work in constant memory whatever the file size: they read the input in
chunks (default 1 MiB), walk records with precompiled ``struct`` unpackers and hand out
each frame as ``(timestamp, linktype, frame_bytes, wire_length)``. The format is sniffed
from the magic number, never from the file name, and standard input (``-``) works the
same as a file, so ``tcpdump -w - | otsec replay -`` needs no temporary file.

Problems with the input are reported, not raised mid-stream: a truncated last record, a
corrupt record header or broken gzip data ends that file with a warning in
:attr:`CaptureReader.warnings`, and everything read before it has already been handed
out. Only problems that make the whole input unusable (missing file, not a capture,
unsupported link type in a pcap header) raise :class:`CaptureError` when the file is
opened.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from otsec.capture import linktypes

#: One packet as :meth:`CaptureReader.packets` hands it out: (seconds since the epoch,
#: link type, captured bytes, original length on the wire).
RawPacket = tuple[float, int, bytes, int]
#: One packet as :meth:`CaptureReader.records` hands it out, without copying the frame:
#: (seconds, link type, buffer, frame start, frame end, original length). The frame is
#: ``buffer[start:end]``; the buffer is only valid until the next record is requested.
RawRecord = tuple[float, int, bytes, int, int, int]

CHUNK_SIZE = 1 << 20
#: A record claiming more captured bytes than this is treated as corruption.
MAX_RECORD = 1 << 26
#: libpcap's largest snapshot length for any link type: a classic pcap record claiming
#: more than this and more than the file's snap length is corrupt (as libpcap decides).
MAX_SNAPLEN = 262144

PCAP_MAGIC_USEC = 0xA1B2C3D4
PCAP_MAGIC_NSEC = 0xA1B23C4D
PCAP_MAGIC_MODIFIED = 0xA1B2CD34  # Alexey Kuznetzov's patched libpcap: 24-byte records
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D

_U32_LE = struct.Struct("<I")
_U32_BE = struct.Struct(">I")


class CaptureError(Exception):
    """The input cannot be read as a capture; the message is one line for the user."""


@dataclass(slots=True)
class _Interface:
    linktype: int
    per_second: int  # timestamp units per second (if_tsresol: 10**n or 2**n)
    offset: int  # if_tsoffset, in timestamp units
    snaplen: int


class PacketSource(Protocol):
    """What the pipeline reads packets from: a capture file reader, a live capture, or a
    test's list of frames. (A protocol, not a base class: the compiled pipeline checks
    declared classes at run time, protocols it leaves to the duck.)"""

    name: str
    format: str
    linktypes: list[int]
    warnings: list[str]
    truncated: bool

    def records(self) -> Iterator[RawRecord]: ...


class CaptureReader:
    """Base of the two readers: source handling, chunking and bookkeeping."""

    format = "unknown"

    def __init__(self, name: str, src: BinaryIO, head: bytes, chunk_size: int) -> None:
        self.name = name
        self._src = src
        # read1: at most one read of the underlying stream per call, so that data already
        # decompressed is handed out before a gzip error in what follows it is raised.
        self._read1: Callable[[int], bytes] = getattr(src, "read1", src.read)
        self._buf = head
        self._pos = 0
        self._chunk = chunk_size
        #: One-line warnings (truncated last record, corrupt header, skipped interfaces).
        self.warnings: list[str] = []
        #: True when the input ended inside a record or could not be read to its end.
        self.truncated = False
        #: Link types seen in the file (pcap: one; pcapng: one per interface).
        self.linktypes: list[int] = []

    def records(self) -> Iterator[RawRecord]:
        """Every packet as offsets into the read buffer: the hot path, no copies."""
        raise NotImplementedError

    def packets(self) -> Iterator[RawPacket]:
        """Every packet with its own copy of the frame bytes."""
        for ts, lt, buf, start, end, wirelen in self.records():
            yield ts, lt, buf[start:end], wirelen

    def __iter__(self) -> Iterator[RawPacket]:
        return self.packets()

    def close(self) -> None:
        inner = getattr(self._src, "fileobj", None)  # gzip: GzipFile does not close it
        if self._src is not sys.stdin.buffer:
            self._src.close()
        if isinstance(inner, _Prefixed):
            inner.close()

    def position(self) -> int | None:
        """Bytes of the input consumed so far (chunk granularity), for progress bars."""
        raw = getattr(self._src, "fileobj", None) or self._src  # gzip: the compressed file
        try:
            return int(raw.tell())
        except (OSError, ValueError, AttributeError):
            return None

    def size(self) -> int | None:
        """Size of the input file in bytes, or None for a pipe."""
        raw = getattr(self._src, "fileobj", None) or self._src
        try:
            st = os.fstat(raw.fileno())
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, need: int) -> bytes:
        """Read at least ``need`` more bytes (fewer only at end of input)."""
        parts = []
        got = 0
        want = max(need, self._chunk)
        while got < need:
            try:
                data = self._read1(want - got)
            except (OSError, EOFError, zlib.error) as exc:
                # A truncated or corrupt gzip stream (or an I/O error): stop as if at end of
                # input, with a warning; everything before it has been handed out.
                gz = isinstance(getattr(self._src, "fileobj", None), _Prefixed)
                what = "compressed input" if gz else "input"
                self._truncated(f"{what} unreadable after this point ({exc})")
                self._read1 = _at_eof
                break
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def _truncated(self, what: str) -> None:
        self.truncated = True
        self.warnings.append(f"{self.name}: {what}; everything before it was processed")


class PcapReader(CaptureReader):
    """Classic libpcap format: both byte orders, micro- and nanosecond timestamps."""

    format = "pcap"

    def __init__(self, name: str, src: BinaryIO, head: bytes, chunk_size: int) -> None:
        super().__init__(name, src, head, chunk_size)
        if len(self._buf) < 24:
            self._buf += self._read(24 - len(self._buf))
        if len(self._buf) < 24:
            raise CaptureError(f"{name}: truncated pcap file header ({len(self._buf)} bytes)")
        magic_le = _U32_LE.unpack_from(self._buf, 0)[0]
        if magic_le in (PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC, PCAP_MAGIC_MODIFIED):
            endian = "<"
            magic = magic_le
        else:
            endian = ">"
            magic = _U32_BE.unpack_from(self._buf, 0)[0]
        self.byte_order = "little" if endian == "<" else "big"
        self.nanosecond = magic == PCAP_MAGIC_NSEC
        hdr = struct.Struct(endian + "HHiIII").unpack_from(self._buf, 4)
        self.version = (hdr[0], hdr[1])
        self.snaplen = hdr[4]
        # The upper bits of the link-type field carry FCS information (pcap spec, "LinkType").
        self.linktype = hdr[5] & 0x0FFFFFFF & 0xFFFF
        self.linktypes = [self.linktype]
        if self.linktype not in linktypes.SUPPORTED:
            raise CaptureError(
                f"{name}: unsupported link type {linktypes.describe(self.linktype)}; "
                "otsec reads Ethernet, Linux SLL/SLL2, BSD loopback and raw IP captures"
            )
        if magic == PCAP_MAGIC_MODIFIED:
            self._rec = struct.Struct(endian + "IIII8x")
        else:
            self._rec = struct.Struct(endian + "IIII")
        self._scale = 1e-9 if self.nanosecond else 1e-6
        self._maxcap = min(max(self.snaplen, MAX_SNAPLEN), MAX_RECORD)
        self._pos = 24

    def records(self) -> Iterator[RawRecord]:
        unpack = self._rec.unpack_from
        hl = self._rec.size
        lt = self.linktype
        scale = self._scale
        maxcap = self._maxcap
        buf = self._buf
        pos = self._pos
        base = 0  # file offset of buf[0]
        self._buf = b""  # the generator owns the buffer from here on
        while True:
            n = len(buf)
            need = 0
            while pos + hl <= n:
                sec, frac, caplen, wirelen = unpack(buf, pos)
                if caplen > maxcap:
                    self.warnings.append(
                        f"{self.name}: corrupt record header at byte offset {base + pos} "
                        f"(captured length {caplen}); stopped reading this file"
                    )
                    return
                start = pos + hl
                end = start + caplen
                if end > n:
                    need = end - n
                    break
                # From 2004 (2**30 s) on, this is the float nearest to the exact time: the
                # error of frac * scale is far smaller than the distance to a rounding tie.
                yield sec + frac * scale, lt, buf, start, end, wirelen
                pos = end
            if not need:
                need = pos + hl - n
            more = self._read(need)
            if len(more) < need:
                left = n - pos + len(more)
                if left:
                    self._truncated(f"truncated last record ({left} bytes at end of file)")
                return
            base += pos
            buf = buf[pos:] + more
            pos = 0


_OPT_TSRESOL = 9
_OPT_TSOFFSET = 14


class PcapNgReader(CaptureReader):
    """pcapng: SHB (either byte order, several sections), IDB, EPB, SPB, obsolete PB.

    Blocks otsec has no use for (name resolution, statistics, decryption secrets,
    custom blocks, unknown types) are skipped by their length.
    """

    format = "pcapng"

    def __init__(self, name: str, src: BinaryIO, head: bytes, chunk_size: int) -> None:
        super().__init__(name, src, head, chunk_size)
        if len(self._buf) < 12:
            self._buf += self._read(12 - len(self._buf))
        if len(self._buf) < 12:
            raise CaptureError(f"{name}: truncated pcapng section header")
        if _U32_LE.unpack_from(self._buf, 8)[0] == PCAPNG_BOM:
            self.byte_order = "little"
        elif _U32_BE.unpack_from(self._buf, 8)[0] == PCAPNG_BOM:
            self.byte_order = "big"
        else:
            raise CaptureError(f"{name}: pcapng section header without a valid byte-order magic")
        self._interfaces: list[_Interface] = []

    def records(self) -> Iterator[RawRecord]:
        buf = self._buf
        self._buf = b""
        pos = 0
        base = 0
        endian = "<" if self.byte_order == "little" else ">"
        bh = struct.Struct(endian + "II").unpack_from
        epb = struct.Struct(endian + "IIIII").unpack_from
        ifaces = self._interfaces
        ts = 0.0  # simple packet blocks have no timestamp: they get the last one seen
        while True:
            n = len(buf)
            need = 0
            while pos + 12 <= n:
                btype, blen = bh(buf, pos)
                if btype == PCAPNG_SHB:
                    # A new section may switch byte order; it always resets the interfaces.
                    if pos + 12 > n:
                        break
                    if _U32_LE.unpack_from(buf, pos + 8)[0] == PCAPNG_BOM:
                        endian = "<"
                    elif _U32_BE.unpack_from(buf, pos + 8)[0] == PCAPNG_BOM:
                        endian = ">"
                    else:
                        self.warnings.append(
                            f"{self.name}: section header without byte-order magic at byte "
                            f"offset {base + pos}; stopped reading this file"
                        )
                        return
                    bh = struct.Struct(endian + "II").unpack_from
                    epb = struct.Struct(endian + "IIIII").unpack_from
                    btype, blen = bh(buf, pos)
                    ifaces.clear()
                if blen < 12 or blen & 3 or blen > MAX_RECORD:
                    self.warnings.append(
                        f"{self.name}: corrupt block length {blen} at byte offset {base + pos}; "
                        "stopped reading this file"
                    )
                    return
                end = pos + blen
                if end > n:
                    need = end - n
                    break
                if btype == 6:  # Enhanced Packet Block
                    if blen < 32:
                        self._bad_block("enhanced packet", base + pos)
                        pos = end
                        continue
                    ifid, tsh, tsl, caplen, origlen = epb(buf, pos + 8)
                    if caplen > blen - 32 or ifid >= len(ifaces):
                        self._bad_block("enhanced packet", base + pos)
                    else:
                        i = ifaces[ifid]
                        ts = (((tsh << 32) | tsl) + i.offset) / i.per_second
                        yield ts, i.linktype, buf, pos + 28, pos + 28 + caplen, origlen
                elif btype == 3:  # Simple Packet Block: interface 0, no timestamp
                    if not ifaces or blen < 16:
                        self._bad_block("simple packet", base + pos)
                    else:
                        i = ifaces[0]
                        origlen = bh(buf, pos + 8)[0]
                        caplen = min(origlen, blen - 16)
                        if i.snaplen:
                            caplen = min(caplen, i.snaplen)
                        yield ts, i.linktype, buf, pos + 12, pos + 12 + caplen, origlen
                elif btype == 1:  # Interface Description Block
                    self._add_interface(buf, pos, blen, endian, base)
                elif btype == 2:  # obsolete Packet Block
                    self._packet_block(buf, pos, blen, endian, base)
                    if self._pb is not None:
                        ts = self._pb[0]
                        yield self._pb
                        self._pb = None
                pos = end
            if not need:
                need = 12 - (n - pos) if n - pos < 12 else 12
            more = self._read(need)
            if len(more) < need:
                left = n - pos + len(more)
                if left:
                    self._truncated(f"truncated last block ({left} bytes at end of file)")
                return
            base += pos
            buf = buf[pos:] + more
            pos = 0

    _pb: RawRecord | None = None

    def _bad_block(self, what: str, offset: int) -> None:
        self.warnings.append(f"{self.name}: malformed {what} block at byte offset {offset} skipped")

    def _add_interface(self, buf: bytes, pos: int, blen: int, endian: str, base: int) -> None:
        if blen < 20:
            self._bad_block("interface description", base + pos)
            return
        linktype, _reserved, snaplen = struct.unpack_from(endian + "HHI", buf, pos + 8)
        per_second = 1_000_000
        offset = 0
        opt = pos + 16
        end = pos + blen - 4
        while opt + 4 <= end:
            code, olen = struct.unpack_from(endian + "HH", buf, opt)
            if code == 0 or opt + 4 + olen > end:
                break
            if code == _OPT_TSRESOL and olen >= 1:
                r = buf[opt + 4]
                per_second = 2 ** (r & 0x7F) if r & 0x80 else 10**r
            elif code == _OPT_TSOFFSET and olen >= 8:
                offset = struct.unpack_from(endian + "q", buf, opt + 4)[0]
            opt += 4 + ((olen + 3) & ~3)
        if linktype not in linktypes.SUPPORTED:
            self.warnings.append(
                f"{self.name}: interface {len(self._interfaces)} has unsupported link type "
                f"{linktypes.describe(linktype)}; its packets are reported as "
                "capture.unsupported_linktype"
            )
        # if_tsoffset is in seconds; kept in timestamp units so that one division gives
        # the correctly rounded time.
        self._interfaces.append(_Interface(linktype, per_second, offset * per_second, snaplen))
        self.linktypes.append(linktype)

    def _packet_block(self, buf: bytes, pos: int, blen: int, endian: str, base: int) -> None:
        if blen < 32:
            self._bad_block("packet", base + pos)
            return
        ifid, _drops, tsh, tsl, caplen, origlen = struct.unpack_from(
            endian + "HHIIII", buf, pos + 8
        )
        if caplen > blen - 32 or ifid >= len(self._interfaces):
            self._bad_block("packet", base + pos)
            return
        i = self._interfaces[ifid]
        ts = (((tsh << 32) | tsl) + i.offset) / i.per_second
        self._pb = (ts, i.linktype, buf, pos + 28, pos + 28 + caplen, origlen)


def _sniff(name: str, src: BinaryIO, chunk_size: int) -> CaptureReader:
    head = src.read(4)
    if not head:
        raise CaptureError(f"{name}: empty input, not a capture")
    if head[:2] == b"\x1f\x8b":
        src = gzip.GzipFile(fileobj=_Prefixed(head, src), mode="rb")  # type: ignore[assignment]
        try:
            head = src.read(4)
        except (OSError, EOFError, zlib.error) as exc:
            raise CaptureError(f"{name}: broken gzip data ({exc})") from None
        if not head:
            raise CaptureError(f"{name}: empty gzip input, not a capture")
    if len(head) < 4:
        raise CaptureError(f"{name}: {len(head)} bytes, too short to be a capture")
    magic_le = _U32_LE.unpack_from(head)[0]
    magic_be = _U32_BE.unpack_from(head)[0]
    pcap_magics = (PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC, PCAP_MAGIC_MODIFIED)
    if magic_le in pcap_magics or magic_be in pcap_magics:
        return PcapReader(name, src, head, chunk_size)
    if magic_le == PCAPNG_SHB:
        return PcapNgReader(name, src, head, chunk_size)
    raise CaptureError(f"{name}: not a pcap or pcapng capture (starts with 0x{head.hex()})")


def _at_eof(_size: int) -> bytes:
    return b""


class _Prefixed(io.RawIOBase):
    """A readable stream that first returns bytes already consumed from another one."""

    def __init__(self, prefix: bytes, src: BinaryIO) -> None:
        self._prefix = prefix
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(b), len(self._prefix))
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._src.read(len(b))
        b[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._src.tell() - len(self._prefix)

    def fileno(self) -> int:
        return self._src.fileno()

    def close(self) -> None:
        if self._src is not sys.stdin.buffer:
            self._src.close()
        super().close()


def open_capture(path: str, *, chunk_size: int = CHUNK_SIZE) -> CaptureReader:
    """Open a pcap or pcapng capture (optionally gzip-compressed); ``-`` is standard input."""
    if path == "-":
        return _sniff("<stdin>", sys.stdin.buffer, chunk_size)
    try:
        src: BinaryIO = open(path, "rb")  # noqa: SIM115 - the reader owns and closes it
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CaptureError(f"{path}: is a directory, not a capture") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open ({exc.strerror or exc})") from None
    try:
        return _sniff(path, src, chunk_size)
    except CaptureError:
        src.close()
        raise
    except OSError as exc:
        src.close()
        raise CaptureError(f"{path}: cannot read ({exc.strerror or exc})") from None
