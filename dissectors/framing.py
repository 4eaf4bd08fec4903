"""Stream framing: turn the in-order bytes of one TCP direction into whole PDUs.

A :class:`Framer` is bound to one direction of one flow. The reassembly stage feeds it
whatever bytes arrive in order (half a PDU, exactly one, five and a half ...); the framer
keeps an incomplete tail buffered ("need more") and returns every complete PDU. After a
gap in the stream it drops the partial PDU it held, because the bytes that would have
completed it are lost, and looks for the next PDU boundary.

:class:`LengthFramer` covers every protocol whose header announces the PDU length
(Modbus MBAP, TPKT, DNP3 link frames, the simple test framer): the protocol supplies a
function that reads a header and returns the total PDU length, or a negative number when
the header is invalid. Framers never raise on bad input; they record a named anomaly in
:attr:`Framer.anomalies` and resynchronise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Framer(Protocol):
    """Bytes in, whole PDUs out (the contract the reassembly stage relies on)."""

    #: ``(name, detail)`` of framing anomalies since the caller last cleared the list.
    anomalies: list[tuple[str, str]]

    def feed(self, data: bytes) -> list[bytes]:
        """Append in-order stream bytes; return the PDUs they complete, oldest first."""
        ...

    def gap(self) -> None:
        """Bytes were lost before the next :meth:`feed`: drop any partial PDU."""
        ...

    @property
    def pending(self) -> int:
        """Number of bytes buffered while waiting for the rest of a PDU."""
        ...


#: Reads the start of a PDU (at least ``header_len`` bytes) and returns the PDU's total
#: length in bytes, or a negative value when the bytes cannot be the start of a PDU.
LengthOf = Callable[[bytes | bytearray, int], int]
#: Given the buffer and the offset of an invalid header, return the offset to retry from
#: (greater than the given one), or -1 to drop everything buffered.
Resync = Callable[[bytes | bytearray, int], int]


class LengthFramer:
    """Framer for protocols whose fixed-size header carries the PDU length.

    ``length_of(buf, off)`` is called once at least ``header_len`` bytes are available at
    ``off``. A PDU longer than ``max_pdu`` or an invalid header records the anomaly
    ``<protocol>.invalid_length`` / ``<protocol>.invalid_header`` and the framer
    resynchronises: with ``resync`` when given, else by dropping what it holds.
    """

    __slots__ = (
        "_buf",
        "_length_of",
        "_resync",
        "_resyncing",
        "anomalies",
        "header_len",
        "max_pdu",
        "protocol",
    )

    def __init__(
        self,
        protocol: str,
        header_len: int,
        length_of: LengthOf,
        *,
        max_pdu: int = 65535,
        resync: Resync | None = None,
    ) -> None:
        if header_len < 1:
            raise ValueError("header_len must be at least 1")
        self.protocol = protocol
        self.header_len = header_len
        self.max_pdu = max_pdu
        self._length_of = length_of
        self._resync = resync
        self._buf = b""
        self._resyncing = False
        self.anomalies: list[tuple[str, str]] = []

    @property
    def pending(self) -> int:
        return len(self._buf)

    def gap(self) -> None:
        # The next bytes probably start inside a PDU: until a valid header is found again,
        # skipping them is expected and not reported (the gap itself was).
        self._buf = b""
        self._resyncing = True

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        off = 0
        n = len(buf)
        hl = self.header_len
        while n - off >= hl:
            size = self._length_of(buf, off)
            if size < hl or size > self.max_pdu:
                if not self._resyncing:
                    self._invalid(size, off)
                nxt = self._resync(buf, off) if self._resync is not None else -1
                if nxt <= off:
                    off = n
                    break
                off = nxt
                continue
            if n - off < size:
                break
            self._resyncing = False
            out.append(buf[off : off + size] if off or size != n else buf)
            off += size
        self._buf = buf[off:] if off < n else b""
        return out

    def _invalid(self, size: int, off: int) -> None:
        if size < 0:
            self.anomalies.append((f"{self.protocol}.invalid_header", f"at offset {off}"))
        else:
            detail = f"PDU length {size} at offset {off}"
            self.anomalies.append((f"{self.protocol}.invalid_length", detail))


class GivingUpFramer(LengthFramer):
    """A LengthFramer that gives a direction up when it is not the protocol at all.

    Subclasses report an invalid header through :meth:`_bad_header` and set ``_framed``
    when a valid header frames a whole PDU. When ``give_up_after`` invalid headers are met
    before the first valid PDU (garbage on the protocol's port), ``rejected`` is set, one
    ``not_protocol`` anomaly is recorded and every later feed is a no-op. Once a direction
    has framed a PDU it is never given up: a bad header is one anomaly and a resync.
    """

    __slots__ = ("_bad", "_framed", "_give_up_text", "_last_bad", "give_up_after",
                 "not_protocol", "rejected")  # fmt: skip

    def __init__(
        self,
        protocol: str,
        header_len: int,
        length_of: LengthOf,
        *,
        max_pdu: int,
        resync: Resync,
        give_up_after: int,
        not_protocol: str,
        give_up_text: str,
    ) -> None:
        super().__init__(protocol, header_len, length_of, max_pdu=max_pdu, resync=resync)
        self.give_up_after = give_up_after
        self.not_protocol = not_protocol
        #: "invalid <headers> before any <PDU>", for the give-up anomaly's detail
        self._give_up_text = give_up_text
        #: True once this direction has been given up.
        self.rejected = False
        self._framed = False  # a valid PDU has been framed in this direction
        self._bad = 0  # invalid headers before the first valid PDU
        self._last_bad = ""  # what was wrong with the last invalid header

    def feed(self, data: bytes) -> list[bytes]:
        if self.rejected:
            return []
        out = super().feed(data)
        return [] if self.rejected else out

    def gap(self) -> None:
        if not self.rejected:
            super().gap()

    def _bad_header(self, kind: int, detail: str) -> int:
        """Note an invalid header (``kind`` is the negative code returned to LengthFramer)
        and give the direction up when it has never framed a PDU and keeps failing."""
        self._last_bad = detail
        if not self._framed:
            self._bad += 1
            if self._bad >= self.give_up_after:
                self.rejected = True
                text = f"{self._bad} {self._give_up_text} ({detail})"
                self.anomalies.append((self.not_protocol, text))
        return kind
