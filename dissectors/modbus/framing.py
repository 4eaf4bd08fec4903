"""MBAP framing: whole Modbus/TCP ADUs out of one direction's in-order bytes.

An ADU is the 7-byte MBAP header - transaction id (2), protocol id (2, always 0), length
(2, counting the unit id and the PDU), unit id (1) - followed by the PDU, 6 + length bytes
in all. The spec allows lengths 2..254.

:class:`ModbusFramer` is a :class:`~dissectors.framing.LengthFramer` with Modbus' header
check and resynchronisation: a bad header is ``modbus.invalid_protocol_id`` or
``modbus.invalid_length`` and the framer scans forward to the next offset that looks like
an MBAP header (protocol id 0, length 2..254, a function code), preferring one whose ADU
is followed by another such header or ends where the data ends (see ``_next_header``).
Lengths a little beyond the spec (255..``max_length``, 260 by default) are framed and
decoded with a ``modbus.invalid_length`` anomaly: Schneider PLCs send 255, and a monitor
that drops what the device accepts would be blind to it.

Garbage on a Modbus port: when ``give_up_after`` invalid headers are met before the
direction has produced any valid ADU, the framer gives the direction up - ``rejected`` is
set, one ``modbus.not_modbus`` anomaly is recorded, and every later feed is a no-op.
Invalid headers met while quietly resynchronising after a gap count toward that limit
but are not reported one by one. Once a direction has produced an ADU it is never given
up: a bad header is one anomaly and the framer resynchronises.
"""

from __future__ import annotations

from dissectors.framing import GivingUpFramer
from dissectors.modbus.anomalies import (
    INVALID_FUNCTION_CODE,
    INVALID_LENGTH,
    INVALID_PROTOCOL_ID,
    NOT_MODBUS,
)
from dissectors.modbus.consts import FUNCTIONS, USER_DEFINED

#: Largest length the spec allows (unit id + 253-byte PDU).
SPEC_MAX_LENGTH = 254
#: Default largest length framed at all (with an anomaly above SPEC_MAX_LENGTH).
MAX_LENGTH = 260

#: Function codes (exception bit masked off) a resynchronisation may land on: any but 0
#: for a header confirmed by what follows its ADU, else only known and user-defined ones.
_ANY_FUNCTION = frozenset(range(1, 128))
_KNOWN_FUNCTIONS = frozenset(FUNCTIONS) | USER_DEFINED

_BAD_PID = -1
_BAD_LEN = -2
_BAD_FC = -3  # only for a header a resynchronisation found cut off
_ANOMALY = {_BAD_PID: INVALID_PROTOCOL_ID, _BAD_LEN: INVALID_LENGTH, _BAD_FC: INVALID_FUNCTION_CODE}


class ModbusFramer(GivingUpFramer):
    """MBAP framer for one direction of a Modbus/TCP flow (see the module docstring)."""

    __slots__ = ("_tentative", "max_length")

    def __init__(self, give_up_after: int = 3, *, max_length: int = MAX_LENGTH) -> None:
        super().__init__(
            "modbus", 6, self._mbap_length, max_pdu=6 + max_length, resync=self._next_header,
            give_up_after=give_up_after, not_protocol=NOT_MODBUS,
            give_up_text="invalid MBAP headers before any ADU",
        )  # fmt: skip
        self.max_length = max(max_length, SPEC_MAX_LENGTH)
        # A resynchronisation chose a header cut off by the end of the data: its function
        # code is checked too once its first 8 bytes are there.
        self._tentative = False

    def feed(self, data: bytes) -> list[bytes]:
        if self.rejected:
            return []
        # Fast path, the common case on a healthy flow: nothing buffered and the data is
        # exactly one ADU whose header passes every check.
        n = len(data)
        if (
            n >= 8
            and self._framed
            and not self._buf
            and not self._tentative
            and not data[2]
            and not data[3]
            and n == 6 + ((data[4] << 8) | data[5])
            and n <= 6 + SPEC_MAX_LENGTH
        ):
            self._resyncing = False
            return [data]
        return super().feed(data)

    def gap(self) -> None:
        super().gap()
        self._tentative = False

    # -- LengthFramer hooks ------------------------------------------------------------

    def _mbap_length(self, buf: bytes | bytearray, off: int) -> int:
        length = (buf[off + 4] << 8) | buf[off + 5]
        if buf[off + 2] or buf[off + 3]:
            pid = (buf[off + 2] << 8) | buf[off + 3]
            return self._bad_header(_BAD_PID, f"protocol id {pid}")
        if length < 2 or length > self.max_length:
            return self._bad_header(_BAD_LEN, f"MBAP length {length}")
        if self._tentative:
            if len(buf) - off < 8:
                return 8  # wait for the function code before judging
            self._tentative = False
            if not buf[off + 7] & 0x7F:
                return self._bad_header(_BAD_FC, f"function code {buf[off + 7]}")
        size = 6 + length
        if len(buf) - off >= size:  # complete: LengthFramer frames it now
            self._framed = True
            if length > SPEC_MAX_LENGTH:
                self.anomalies.append(
                    (INVALID_LENGTH, f"MBAP length {length} above 254 (decoded anyway)")
                )
        return size

    def _invalid(self, size: int, off: int) -> None:
        # Called by LengthFramer for an invalid header outside quiet resynchronisation.
        if self.rejected:
            return
        name = _ANOMALY[size] if size < 0 else INVALID_LENGTH
        self.anomalies.append((name, f"{self._last_bad} at offset {off}"))

    def _next_header(self, buf: bytes | bytearray, off: int) -> int:
        """Offset of the next plausible MBAP header after ``off``, -1 when there is none.

        A candidate has protocol id 0, length 2..254 and a function code other than 0
        (the exception bit masked off). The first candidate whose ADU ends exactly at the
        end of the buffer or is followed by another candidate wins. Else, once this
        direction has produced an ADU, the first candidate with a known or user-defined
        function whose ADU runs past the end or is followed by a cut-off header. Else a
        header cut off by the end of the buffer, when the bytes present fit (checked in
        full once its first 8 bytes have arrived)."""
        if self.rejected:
            return -1
        n = len(buf)
        weak = -1
        # The protocol id (two zero bytes) sits at +2 of a header.
        i = buf.find(b"\x00\x00", off + 3)
        while i >= 0 and i + 6 <= n:
            p = i - 2
            if _candidate(buf, p, _ANY_FUNCTION):
                end = p + 6 + ((buf[p + 4] << 8) | buf[p + 5])
                if end == n or (end + 8 <= n and _candidate(buf, end, _ANY_FUNCTION)):
                    return p
                if (
                    weak < 0
                    and buf[p + 7] & 0x7F in _KNOWN_FUNCTIONS
                    and (end > n or _partial_header(buf, end, n))
                ):
                    weak = p
            i = buf.find(b"\x00\x00", i + 1)
        if weak >= 0 and self._framed:
            return weak
        for p in range(max(off + 1, n - 7), n):
            if _partial_header(buf, p, n):
                self._tentative = True
                return p
        return -1


def _candidate(buf: bytes | bytearray, p: int, functions: frozenset[int]) -> bool:
    """Whether the 8 bytes at ``p`` look like an MBAP header and one of ``functions``
    (the exception bit masked off)."""
    return (
        not buf[p + 2]
        and not buf[p + 3]
        and not buf[p + 4]
        and 2 <= buf[p + 5] <= SPEC_MAX_LENGTH
        and buf[p + 7] & 0x7F in functions
    )


def _partial_header(buf: bytes | bytearray, p: int, n: int) -> bool:
    """Whether ``buf[p:n]`` (fewer than 8 bytes) can be the start of an MBAP header."""
    if p + 2 < n and buf[p + 2]:
        return False
    if p + 3 < n and buf[p + 3]:
        return False
    if p + 4 < n and buf[p + 4]:
        return False  # length > 255
    if p + 5 < n and not 2 <= buf[p + 5] <= SPEC_MAX_LENGTH:
        return False
    return not (p + 7 < n and buf[p + 7] & 0x7F not in _KNOWN_FUNCTIONS)
