"""``parse_s7``: one reassembled S7 PDU (COTP payload) in, one typed record out.

S7comm header: protocol id 0x32, ROSCTR (1), redundancy id (2), PDU reference (2),
parameter length (2), data length (2), and for ack (2) / ack-data (3) error class and
code (1 + 1). The parameter part starts with the function code. A payload starting with
0x72 is S7comm-plus (header read only). The parse never raises: what does not fit is
still a record, with its problems in ``record.anomalies``.
"""

from __future__ import annotations

import struct
from typing import Final

from dissectors.s7comm import consts
from dissectors.s7comm.anomalies import INVALID_PROTOCOL_ID, MALFORMED_PDU
from dissectors.s7comm.blocks import block_transfer, plc_control, plc_stop
from dissectors.s7comm.records import (
    Anomalies,
    RawS7,
    S7Pdu,
    S7PlusPdu,
    SetupCommunication,
)
from dissectors.s7comm.userdata import userdata
from dissectors.s7comm.variables import read_var, write_var
from dissectors.s7comm.wire import NONE as _NONE
from dissectors.s7comm.wire import Head, raw

_HEADER: Final = struct.Struct(">BBHHHH")
_SETUP: Final = struct.Struct(">HHH")


def parse_s7(pdu: bytes, request_hint: bool | None = None) -> S7Pdu | S7PlusPdu:
    """Decode one S7comm or S7comm-plus PDU (any bytes are accepted)."""
    n = len(pdu)
    if n and pdu[0] == consts.S7PLUS_ID:
        return _s7plus(pdu, request_hint)
    if n < 10 or pdu[0] != consts.S7COMM_ID:
        return _not_s7(pdu, request_hint)
    _, rosctr, _, pdu_ref, plen, dlen = _HEADER.unpack_from(pdu)
    anomalies: Anomalies = _NONE
    error_class = error_code = None
    hlen = 10
    if rosctr in (consts.ACK, consts.ACK_DATA):
        hlen = 12
        if n >= 12:
            error_class, error_code = pdu[10], pdu[11]
    if n != hlen + plen + dlen:
        detail = f"header {hlen} + parameter {plen} + data {dlen} bytes, PDU {n}"
        anomalies = ((MALFORMED_PDU, detail),)
    pstart = min(hlen, n)
    dstart = min(pstart + plen, n)
    head = Head(rosctr, pdu_ref, error_class, error_code, pstart, dstart, min(dstart + dlen, n))
    if rosctr == consts.USERDATA:
        record: S7Pdu = userdata(pdu, head)
    elif plen == 0 or dstart <= pstart:
        request = rosctr == consts.JOB if rosctr in consts.ROSCTR else bool(request_hint)
        record = RawS7(
            rosctr, pdu_ref, consts.NO_FUNCTION, request, error_class, error_code,
            None, None, None, _NONE, b"", pdu[dstart : head.data_end],
        )  # fmt: skip
    else:
        record = _job_function(pdu, head, request_hint)
    if anomalies:
        record.anomalies = anomalies + record.anomalies
    return record


def _job_function(pdu: bytes, head: Head, request_hint: bool | None) -> S7Pdu:
    fc = pdu[head.param]
    rosctr = head.rosctr
    request = rosctr == consts.JOB if rosctr in consts.ROSCTR else bool(request_hint)
    if fc == consts.READ_VAR:
        return read_var(pdu, head, request)
    if fc == consts.WRITE_VAR:
        return write_var(pdu, head, request)
    if fc == consts.SETUP_COMMUNICATION:
        if head.data - head.param >= 8:
            calling, called, size = _SETUP.unpack_from(pdu, head.param + 2)
            return SetupCommunication(
                rosctr, head.pdu_ref, fc, request, head.error_class, head.error_code,
                None, None, None, _NONE, calling, called, size,
            )  # fmt: skip
        return raw(pdu, head, request, "setup communication parameters cut off")
    if consts.REQUEST_DOWNLOAD <= fc <= consts.END_UPLOAD:
        return block_transfer(pdu, head, request)
    if fc == consts.PI_SERVICE:
        return plc_control(pdu, head, request)
    if fc == consts.PLC_STOP:
        return plc_stop(pdu, head, request)
    return raw(pdu, head, request, None)


def _not_s7(pdu: bytes, request_hint: bool | None) -> S7Pdu:
    n = len(pdu)
    if n and pdu[0] != consts.S7COMM_ID:
        problem = (INVALID_PROTOCOL_ID, f"protocol id 0x{pdu[0]:02x}")
    else:
        problem = (MALFORMED_PDU, f"S7 PDU of {n} bytes (the header needs 10)")
    rosctr = pdu[1] if n >= 2 else 0
    return RawS7(
        rosctr, 0, consts.NO_FUNCTION, bool(request_hint), None, None,
        None, None, None, (problem,), b"", pdu,
    )  # fmt: skip


def _s7plus(pdu: bytes, request_hint: bool | None) -> S7PlusPdu:
    """S7comm-plus: 0x72, version, data length (2), [V3 integrity part], opcode,
    reserved (2), function (2), reserved (2), sequence number (2)."""
    n = len(pdu)
    if n < 4:
        detail = f"S7comm-plus PDU of {n} bytes (the header needs 4)"
        version = pdu[1] if n >= 2 else 0
        return S7PlusPdu(
            version, 0, None, None, None, bool(request_hint), False, ((MALFORMED_PDU, detail),)
        )
    version = pdu[1]
    length = (pdu[2] << 8) | pdu[3]
    pos = 4
    integrity = False
    if version == 3 and n > 4 and pdu[4] == 0x20:
        integrity = True
        pos = 4 + 1 + 32
    anomalies: Anomalies = _NONE
    if length > n - 4:
        anomalies = ((MALFORMED_PDU, f"S7comm-plus data length {length} in {n} bytes"),)
    opcode = function = sequence = None
    request = bool(request_hint)
    if version != 0xFE and pos + 11 <= n and pdu[pos] in consts.S7PLUS_OPCODES:
        opcode = pdu[pos]
        if opcode in (0x31, 0x32, 0x02):
            function = (pdu[pos + 3] << 8) | pdu[pos + 4]
            sequence = (pdu[pos + 7] << 8) | pdu[pos + 8]
        request = opcode == 0x31
    return S7PlusPdu(version, length, opcode, function, sequence, request, integrity, anomalies)
