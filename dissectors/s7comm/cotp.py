"""COTP (ISO 8073 class 0 as used by ISO-on-TCP): ``parse_tpdu`` and ``CotpAssembler``.

``parse_tpdu`` takes one whole TPKT (header included) and returns a :class:`Cotp` record:
the TPDU type, for CR/CC the references, class and parameters (calling/called TSAP as hex,
TPDU size, rack/slot derived from an S7 TSAP), for DT/ED the TPDU number, the EOT bit and
the payload (the bytes after the COTP header). It never raises.

An S7 TSAP is two bytes: connection type (1 PG, 2 OP, 3 S7 basic; 0x10.. for some
devices) then ``rack << 5 | slot``. ``rack``/``slot`` come from the called TSAP (the PLC
side) of a CR or CC, or from the calling TSAP when the called one is not an S7 TSAP.

:class:`CotpAssembler` (one per direction) joins DT payloads until the one with EOT set
and returns the S7 PDU they make up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from dissectors.s7comm import consts
from dissectors.s7comm.anomalies import (
    COTP_INVALID_LENGTH,
    COTP_UNEXPECTED_TPDU,
    PDU_TOO_LARGE,
    REASSEMBLY_GAP,
    TPKT_LENGTH_MISMATCH,
)

Anomalies = tuple[tuple[str, str], ...]
_NONE: Final[Anomalies] = ()
_PARAM_CALLING: Final = 0xC1
_PARAM_CALLED: Final = 0xC2
_PARAM_TPDU_SIZE: Final = 0xC0


@dataclass(slots=True)
class Cotp:
    """One COTP TPDU (see the module docstring)."""

    tpdu_type: int
    eot: bool
    tpdu_number: int | None
    payload: bytes
    anomalies: Anomalies
    dst_ref: int | None = None
    src_ref: int | None = None
    #: Class and options byte of a CR/CC; the reason of a DR; the reject cause of an ER.
    cause: int | None = None
    calling_tsap: str | None = None
    called_tsap: str | None = None
    rack: int | None = None
    slot: int | None = None
    tpdu_size: int | None = None

    @property
    def name(self) -> str:
        return consts.TPDU_TYPES.get(self.tpdu_type, f"unknown-0x{self.tpdu_type:02x}")

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tpdu_type": {"code": self.tpdu_type, "name": self.name}}
        if self.tpdu_number is not None:
            out["tpdu_number"] = self.tpdu_number
            out["eot"] = self.eot
        for key in ("dst_ref", "src_ref", "cause", "calling_tsap", "called_tsap"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        for key in ("rack", "slot", "tpdu_size"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def rack_slot(tsap: bytes) -> tuple[int, int] | None:
    """Rack and slot of a two-byte S7 TSAP (first byte 0x01..0x03 or 0x10..0x1f)."""
    if len(tsap) != 2 or not (1 <= tsap[0] <= 3 or 0x10 <= tsap[0] <= 0x1F):
        return None
    return tsap[1] >> 5, tsap[1] & 0x1F


def parse_tpdu(tpkt: bytes) -> Cotp:
    """Decode the COTP TPDU of one whole TPKT (any bytes are accepted)."""
    n = len(tpkt)
    anomalies: Anomalies = _NONE
    if n >= 4 and (tpkt[2] << 8) | tpkt[3] != n:
        length = (tpkt[2] << 8) | tpkt[3]
        anomalies = ((TPKT_LENGTH_MISMATCH, f"TPKT length {length} but {n} bytes"),)
    if n < 6:
        bad = (COTP_INVALID_LENGTH, f"TPKT of {n} bytes has no COTP header")
        return Cotp(0, False, None, b"", (*anomalies, bad))
    li = tpkt[4]
    code = tpkt[5]
    kind = code & 0xF0 if code & 0xF0 in (consts.TPDU_CR, consts.TPDU_CC) else code
    if kind == consts.TPDU_DT and li == 2 and n >= 7:  # the hot path
        nr = tpkt[6]
        return Cotp(kind, bool(nr & 0x80), nr & 0x7F, tpkt[7:], anomalies)
    end = 5 + li
    if li == 0 or end > n:
        anomalies += ((COTP_INVALID_LENGTH, f"length indicator {li} in {n - 4} bytes"),)
        end = min(max(end, 6), n)
    payload = tpkt[end:]
    if kind in (consts.TPDU_DT, consts.TPDU_ED):
        # class 0 DT: LI 2; a longer header (classes 2-4, ED) has the dst ref first
        pos = 6 if li == 2 else 8
        if pos < end:
            nr = tpkt[pos]
            return Cotp(kind, bool(nr & 0x80), nr & 0x7F, payload, anomalies)
        bad = (COTP_INVALID_LENGTH, f"{consts.TPDU_TYPES[kind]} without a TPDU number")
        return Cotp(kind, False, None, payload, (*anomalies, bad))
    if kind in (consts.TPDU_CR, consts.TPDU_CC):
        return _connect(tpkt, kind, end, payload, anomalies)
    if kind not in consts.TPDU_TYPES:
        anomalies += ((COTP_UNEXPECTED_TPDU, f"TPDU type 0x{code:02x}"),)
        return Cotp(code, False, None, payload, anomalies)
    rec = Cotp(kind, False, None, payload, anomalies)
    if end >= 8:
        rec.dst_ref = (tpkt[6] << 8) | tpkt[7]
    if kind in (consts.TPDU_DR, consts.TPDU_DC) and end >= 10:
        rec.src_ref = (tpkt[8] << 8) | tpkt[9]
        if kind == consts.TPDU_DR and end >= 11:
            rec.cause = tpkt[10]
    elif kind == consts.TPDU_ER and end >= 9:
        rec.cause = tpkt[8]
    return rec


def _connect(tpkt: bytes, kind: int, end: int, payload: bytes, anomalies: Anomalies) -> Cotp:
    rec = Cotp(kind, False, None, payload, anomalies)
    if end < 11:
        rec.anomalies += ((COTP_INVALID_LENGTH, f"{consts.TPDU_TYPES[kind]} header too short"),)
        return rec
    rec.dst_ref = (tpkt[6] << 8) | tpkt[7]
    rec.src_ref = (tpkt[8] << 8) | tpkt[9]
    rec.cause = tpkt[10]
    pos = 11
    calling = called = b""
    while pos + 2 <= end:
        code, plen = tpkt[pos], tpkt[pos + 1]
        value = tpkt[pos + 2 : pos + 2 + plen]
        if pos + 2 + plen > end:
            detail = f"parameter 0x{code:02x} of {plen} bytes runs past the header"
            rec.anomalies += ((COTP_INVALID_LENGTH, detail),)
            break
        if code == _PARAM_CALLING:
            calling = value
            rec.calling_tsap = value.hex()
        elif code == _PARAM_CALLED:
            called = value
            rec.called_tsap = value.hex()
        elif code == _PARAM_TPDU_SIZE and plen == 1 and value[0] < 16:
            rec.tpdu_size = 1 << value[0]
        pos += 2 + plen
    rs = rack_slot(called) or rack_slot(calling)
    if rs is not None:
        rec.rack, rec.slot = rs
    return rec


class CotpAssembler:
    """Joins the DT payloads of one direction into S7 PDUs (EOT marks the last unit).

    ``add`` returns the whole PDU on the unit with EOT set, else None. Collecting more than
    ``max_pdu`` bytes drops the partial PDU (``s7comm.pdu_too_large``) until the next EOT;
    a non-DT TPDU in the middle of a PDU, or ``gap``, drops it (``s7comm.reassembly_gap``).
    Anomalies accumulate in ``anomalies`` until the caller clears the list.
    """

    __slots__ = ("_dropping", "_parts", "_size", "anomalies", "max_pdu")

    def __init__(self, max_pdu: int = 65536) -> None:
        self.max_pdu = max_pdu
        self._parts: list[bytes] = []
        self._size = 0
        self._dropping = False
        self.anomalies: list[tuple[str, str]] = []

    @property
    def pending(self) -> int:
        return self._size

    def add(self, cotp: Cotp) -> bytes | None:
        if cotp.tpdu_type != consts.TPDU_DT:
            if self._parts:
                self.anomalies.append(
                    (REASSEMBLY_GAP, f"{cotp.name} TPDU inside a {self._size}-byte partial PDU")
                )
                self._reset()
            return None
        if self._dropping:
            if cotp.eot:
                self._dropping = False
            return None
        if cotp.eot and not self._parts:
            if len(cotp.payload) > self.max_pdu:
                self._too_large(len(cotp.payload))
                return None
            return cotp.payload or None
        self._size += len(cotp.payload)
        if self._size > self.max_pdu:
            self._too_large(self._size)
            self._dropping = not cotp.eot
            return None
        self._parts.append(cotp.payload)
        if not cotp.eot:
            return None
        pdu = b"".join(self._parts)
        self._reset()
        return pdu or None

    def gap(self) -> None:
        if self._parts:
            self.anomalies.append((REASSEMBLY_GAP, f"{self._size}-byte partial PDU dropped"))
        self._reset()
        self._dropping = False

    def _too_large(self, size: int) -> None:
        self.anomalies.append((PDU_TOO_LARGE, f"{size} bytes collected, limit {self.max_pdu}"))
        self._reset()

    def _reset(self) -> None:
        self._parts = []
        self._size = 0
