"""DNP3 link layer: whole, CRC-checked link frames out of one direction's bytes.

A frame is ``05 64 LEN CTRL DST DST SRC SRC CRC CRC`` (addresses little-endian, the CRC
covers the eight bytes before it) followed by LEN - 5 bytes of user data sent in blocks
of 16 (the last one shorter), each block followed by its own CRC: a frame is
``10 + n + 2 * ceil(n / 16)`` bytes on the wire for ``n = LEN - 5``, 292 at most, so a
direction never buffers more than one partial frame.

:class:`LinkFramer` is bound to one direction of a TCP flow (or fed one UDP datagram at a
time, then :meth:`~LinkFramer.gap`). It returns every complete frame whose header and data
CRCs are good, keeps a partial one for the next feed, and never raises:

* a header that does not start with 05 64 (``dnp3.bad_start``), whose CRC is wrong
  (``dnp3.bad_link_crc``) or whose LEN is below 5 (``dnp3.invalid_link_length``) is
  reported, then the framer skips to the next 05 64 whose 10-byte header has a valid CRC
  and LEN (a candidate cut off by the end of the data waits for the rest);
* a frame with a bad data block CRC is reported (``dnp3.bad_data_crc``) and skipped;
* after :meth:`~LinkFramer.gap` (lost bytes) the skipping is quiet until the next valid
  header;
* ``give_up_after`` invalid headers before any valid one give the direction up: one
  ``dnp3.not_dnp3`` anomaly, ``rejected`` set, every later feed returns nothing. A
  direction that produced a valid header is never given up.
"""

from __future__ import annotations

import struct
from typing import Final

from dissectors.dnp3 import consts
from dissectors.dnp3.anomalies import (
    BAD_DATA_CRC,
    BAD_LINK_CRC,
    BAD_START,
    INVALID_LINK_LENGTH,
    NOT_DNP3,
)
from dissectors.dnp3.crc import crc_ok, header_ok

_HEADER: Final = struct.Struct("<2xBBHH")  # LEN, CTRL, DST, SRC
_START: Final = b"\x05\x64"


def _wire_sizes() -> tuple[int, ...]:
    out = []
    for length in range(256):
        n = length - consts.MIN_LINK_LENGTH
        out.append(-1 if n < 0 else consts.LINK_HEADER + n + 2 * ((n + 15) // 16))
    return tuple(out)


#: Frame size on the wire for each LEN byte (-1 for LEN < 5).
WIRE_SIZE: Final[tuple[int, ...]] = _wire_sizes()


class LinkFrame:
    """One link frame whose CRCs are all good; ``data`` is the user data without CRCs.

    A plain slotted class rather than a dataclass: mypyc builds it several times faster."""

    __slots__ = ("control", "data", "destination", "dir", "fcb", "fcv", "function", "length",
                 "prm", "source")  # fmt: skip

    def __init__(
        self, control: int, function: int, dir: bool, prm: bool, fcb: bool, fcv: bool,
        length: int, destination: int, source: int, data: bytes,
    ) -> None:  # fmt: skip
        #: The raw control octet.
        self.control = control
        #: control & 0x0F
        self.function = function
        #: DIR bit: True when the frame comes from the master.
        self.dir = dir
        #: PRM bit: True for a primary (initiating) frame.
        self.prm = prm
        self.fcb = fcb
        #: FCV on primary frames, DFC on secondary frames.
        self.fcv = fcv
        #: The LEN octet.
        self.length = length
        self.destination = destination
        self.source = source
        #: User data without the block CRCs (b"" for link-only frames).
        self.data = data

    def _key(self) -> tuple[int, int, int, int, bytes]:
        return (self.control, self.length, self.destination, self.source, self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinkFrame) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"LinkFrame(control=0x{self.control:02x}, {self.function_name}, "
            f"length={self.length}, {self.source} -> {self.destination}, data={self.data.hex()})"
        )

    @property
    def function_name(self) -> str:
        return consts.link_function_name(self.prm, self.function)

    @property
    def has_user_data(self) -> bool:
        return self.prm and self.function in consts.USER_DATA_FUNCTIONS and bool(self.data)


def probe(data: bytes) -> bool:
    """True when ``data`` starts with a DNP3 link header: 05 64, LEN >= 5, valid CRC."""
    return (
        len(data) >= consts.LINK_HEADER and header_ok(data, 0) and data[2] >= consts.MIN_LINK_LENGTH
    )


class LinkFramer:
    """Link framer for one direction of a DNP3 flow (see the module docstring)."""

    __slots__ = ("_bad", "_buf", "_framed", "_quiet", "anomalies", "frames", "give_up_after",
                 "rejected")  # fmt: skip

    def __init__(self, give_up_after: int = 3) -> None:
        self.give_up_after = give_up_after
        #: ``(name, detail)`` appended by feed(); the caller reads and clears the list.
        self.anomalies: list[tuple[str, str]] = []
        #: True once the direction was given up as not DNP3.
        self.rejected = False
        #: Frames with a valid header framed so far (good or bad data CRC).
        self.frames = 0
        self._buf = b""
        self._framed = False  # a valid header was seen in this direction
        self._quiet = False  # after a gap: skip quietly until the next valid header
        self._bad = 0  # invalid headers before the first valid one

    @property
    def pending(self) -> int:
        return len(self._buf)

    def gap(self) -> None:
        if not self.rejected:
            self._buf = b""
            self._quiet = True

    def feed(self, data: bytes) -> list[LinkFrame]:
        if self.rejected:
            return []
        n = len(data)
        if (
            not self._buf
            and n >= consts.LINK_HEADER
            and data[0] == consts.START_1
            and data[1] == consts.START_2
            and n == WIRE_SIZE[data[2]]
            and crc_ok(data, 0, 8)
        ):
            # Fast path: exactly one frame with a valid header.
            self._framed = True
            self._quiet = False
            self.frames += 1
            frame = self._frame(data, 0, n)
            return [] if frame is None else [frame]
        return self._feed(self._buf + data if self._buf else data)

    def _feed(self, buf: bytes) -> list[LinkFrame]:
        out: list[LinkFrame] = []
        n = len(buf)
        off = 0
        while off < n:
            avail = n - off
            if buf[off] != consts.START_1 or (avail > 1 and buf[off + 1] != consts.START_2):
                problem = BAD_START
            elif avail < consts.LINK_HEADER:
                break
            elif not crc_ok(buf, off, off + 8):
                problem = BAD_LINK_CRC
            elif buf[off + 2] < consts.MIN_LINK_LENGTH:
                problem = INVALID_LINK_LENGTH
            else:
                size = WIRE_SIZE[buf[off + 2]]
                if avail < size:
                    break
                self._framed = True
                self._quiet = False
                self.frames += 1
                frame = self._frame(buf, off, size)
                if frame is not None:
                    out.append(frame)
                off += size
                continue
            self._invalid(problem, buf, off)
            if self.rejected:
                self._buf = b""
                return out
            off = _next_header(buf, off)
        self._buf = buf[off:] if off < n else b""
        return out

    def _frame(self, buf: bytes, off: int, size: int) -> LinkFrame | None:
        """The frame at ``off`` (header already checked), None when a data CRC fails."""
        length, ctrl, dst, src = _HEADER.unpack_from(buf, off)
        end = off + size
        p = off + consts.LINK_HEADER
        if p == end:
            data = b""
        elif end - p <= consts.BLOCK + 2:  # one block
            if not crc_ok(buf, p, end - 2):
                self._bad_block(0, src, dst)
                return None
            data = buf[p : end - 2]
        else:
            parts = []
            block = 0
            while p < end:
                stop = min(p + consts.BLOCK, end - 2)
                if not crc_ok(buf, p, stop):
                    self._bad_block(block, src, dst)
                    return None
                parts.append(buf[p:stop])
                p = stop + 2
                block += 1
            data = b"".join(parts)
        return LinkFrame(
            ctrl, ctrl & 0x0F, bool(ctrl & 0x80), bool(ctrl & 0x40), bool(ctrl & 0x20),
            bool(ctrl & 0x10), length, dst, src, data,
        )  # fmt: skip

    def _bad_block(self, block: int, src: int, dst: int) -> None:
        self.anomalies.append((BAD_DATA_CRC, f"data block {block} of a frame {src} -> {dst}"))

    def _invalid(self, problem: str, buf: bytes, off: int) -> None:
        if problem == BAD_START:
            detail = f"bytes {buf[off : off + 2].hex()} at offset {off}"
        elif problem == BAD_LINK_CRC:
            detail = f"header {buf[off : off + 10].hex()} at offset {off}"
        else:
            detail = f"LEN {buf[off + 2]} at offset {off}"
        if not self._framed:
            self._bad += 1
            if self._bad >= self.give_up_after:
                self.rejected = True
                text = f"{self._bad} invalid link headers before any valid one ({detail})"
                self.anomalies.append((NOT_DNP3, text))
                return
        if not self._quiet:
            self.anomalies.append((problem, detail))


def _next_header(buf: bytes, off: int) -> int:
    """Offset of the next plausible link header after ``off``: 05 64 with a valid header
    CRC and LEN, or a 05 64 (or a final 05) cut off by the end of the buffer; ``len(buf)``
    when there is none."""
    n = len(buf)
    i = buf.find(_START, off + 1)
    while i >= 0:
        if n - i < consts.LINK_HEADER:
            return i  # cut off: judged when the rest arrives
        if crc_ok(buf, i, i + 8) and buf[i + 2] >= consts.MIN_LINK_LENGTH:
            return i
        i = buf.find(_START, i + 1)
    if buf[n - 1] == consts.START_1 and n - 1 > off:
        return n - 1
    return n
