"""TPKT framing (RFC 1006): whole TPKTs out of one direction's in-order bytes.

A TPKT is a 4-byte header - version (3), reserved (0), 16-bit length counting the header -
followed by a COTP TPDU. The smallest useful TPKT is 7 bytes (a COTP DT header is 3).

:class:`TpktFramer` is a :class:`~dissectors.framing.LengthFramer` with TPKT's header check:
a bad version/reserved byte is ``s7comm.invalid_tpkt_version``, a length below 7 or above
``max_pdu`` is ``s7comm.tpkt_length_mismatch``, and the framer scans forward to the next
``03 00`` whose length is plausible (and whose COTP length indicator fits, when present).
When ``give_up_after`` invalid headers are met before the direction has produced any valid
TPKT, the direction is given up: ``rejected`` is set, one ``s7comm.not_s7comm`` anomaly is
recorded and later feeds are no-ops.
"""

from __future__ import annotations

from dissectors.framing import GivingUpFramer
from dissectors.s7comm.anomalies import INVALID_TPKT_VERSION, NOT_S7COMM, TPKT_LENGTH_MISMATCH

TPKT_HEADER = 4
MIN_TPKT = 7
MAX_TPKT = 65535

_BAD_VERSION = -1
_BAD_LENGTH = -2


class TpktFramer(GivingUpFramer):
    """TPKT framer for one direction of an ISO-on-TCP flow (see the module docstring)."""

    __slots__ = ()

    def __init__(self, give_up_after: int = 3, *, max_pdu: int = MAX_TPKT) -> None:
        super().__init__(
            "s7comm", TPKT_HEADER, self._tpkt_length, max_pdu=max_pdu, resync=self._next_header,
            give_up_after=give_up_after, not_protocol=NOT_S7COMM,
            give_up_text="invalid TPKT headers before any TPKT",
        )  # fmt: skip

    def feed(self, data: bytes) -> list[bytes]:
        if self.rejected:
            return []
        n = len(data)
        # Fast path: nothing buffered and the data is exactly one valid TPKT.
        if (
            n >= MIN_TPKT
            and self._framed
            and not self._buf
            and data[0] == 3
            and not data[1]
            and n == (data[2] << 8) | data[3]
            and n <= self.max_pdu
        ):
            self._resyncing = False
            return [data]
        return super().feed(data)

    def _tpkt_length(self, buf: bytes | bytearray, off: int) -> int:
        if buf[off] != 3 or buf[off + 1]:
            return self._bad_header(_BAD_VERSION, f"version {buf[off]} reserved {buf[off + 1]}")
        size = (buf[off + 2] << 8) | buf[off + 3]
        if size < MIN_TPKT or size > self.max_pdu:
            return self._bad_header(_BAD_LENGTH, f"TPKT length {size}")
        if len(buf) - off >= size:
            self._framed = True
        return size

    def _invalid(self, size: int, off: int) -> None:
        if self.rejected:
            return
        name = INVALID_TPKT_VERSION if size == _BAD_VERSION else TPKT_LENGTH_MISMATCH
        self.anomalies.append((name, f"{self._last_bad} at offset {off}"))

    def _next_header(self, buf: bytes | bytearray, off: int) -> int:
        """Offset of the next plausible TPKT header after ``off`` (a cut-off one at the
        end of the buffer counts), -1 when there is none."""
        if self.rejected:
            return -1
        n = len(buf)
        i = buf.find(b"\x03\x00", off + 1)
        while i >= 0:
            if i + 4 > n:
                return i  # cut off: judged when the rest arrives
            size = (buf[i + 2] << 8) | buf[i + 3]
            if MIN_TPKT <= size <= self.max_pdu and (i + 4 >= n or buf[i + 4] + 5 <= size):
                return i
            i = buf.find(b"\x03\x00", i + 1)
        if buf[n - 1] == 3 and n - 1 > off:
            return n - 1
        return -1
