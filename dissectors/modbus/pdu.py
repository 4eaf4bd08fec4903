"""``parse_adu``: one Modbus/TCP ADU (MBAP header + PDU) in, one typed record out.

Modbus has no request/response flag on the wire, so the caller says which direction the
ADU came from (``request`` is True for client -> server). A response whose function code
has the 0x80 bit set is an exception response. The parse never raises: a PDU that does
not fit its function is still a record, with its problems in ``record.anomalies``.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Final

from dissectors.modbus import access, services
from dissectors.modbus.anomalies import (
    INVALID_EXCEPTION_CODE,
    INVALID_FUNCTION_CODE,
    INVALID_LENGTH,
    INVALID_PROTOCOL_ID,
    MALFORMED_PDU,
)
from dissectors.modbus.consts import EXCEPTIONS
from dissectors.modbus.records import Anomalies, ExceptionResponse, ModbusPdu, RawPdu
from dissectors.modbus.wire import DATA, NONE, Parser, extra, short

_HEADER: Final = struct.Struct(">HHHBB")  # tid, protocol id, length, unit, function

_COMMON: Final[dict[int, Parser]] = {
    5: access.write_single,
    6: access.write_single,
    7: services.exception_status,
    8: services.diagnostics,
    11: services.event_counter,
    12: services.event_log,
    17: services.server_id,
    20: services.file_records,
    21: services.file_records,
    22: access.mask_write,
    43: services.encapsulated,
    90: services.umas,
}
_REQUESTS: Final[dict[int, Parser]] = {
    **_COMMON,
    1: access.read_request,
    2: access.read_request,
    3: access.read_request,
    4: access.read_request,
    15: access.write_multiple_request,
    16: access.write_multiple_request,
    23: access.read_write_request,
    24: access.fifo_request,
}
_RESPONSES: Final[dict[int, Parser]] = {
    **_COMMON,
    1: access.read_response,
    2: access.read_response,
    3: access.read_response,
    4: access.read_response,
    15: access.write_multiple_response,
    16: access.write_multiple_response,
    23: access.read_write_response,
    24: access.fifo_response,
}


def parse_adu(adu: bytes, request: bool) -> ModbusPdu:
    """Decode one ADU as the framer hands it out (any bytes are accepted)."""
    n = len(adu)
    if n < 8:
        return _short_adu(adu, request)
    tid, pid, length, unit, fc = _HEADER.unpack_from(adu)
    parser = (_REQUESTS if request else _RESPONSES).get(fc)
    if parser is not None:
        record = parser(tid, unit, fc, request, adu, n)
    else:
        record = _other(tid, unit, fc, request, adu, n)
    if pid or length != n - 6:
        record = _header_anomalies(record, pid, length, n)
    return record


def _other(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Exception responses, invalid codes and functions without a decoder."""
    if fc & 0x80:
        return _exception(tid, unit, fc, request, buf, n)
    anomalies = NONE if fc else ((INVALID_FUNCTION_CODE, "function code 0"),)
    return RawPdu(tid, unit, fc, request, None, None, None, anomalies, buf[DATA:n])


def _exception(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """function | 0x80 and an exception code. Sent by a client it is still decoded as an
    exception response (as Wireshark does), with an anomaly."""
    if n < 9:
        return short(tid, unit, fc & 0x7F, request, buf, n, 1)
    code = buf[DATA]
    anomalies = NONE if n == 9 else (extra(n, 1),)
    if code not in EXCEPTIONS:
        anomalies += ((INVALID_EXCEPTION_CODE, f"exception code {code}"),)
    if request:
        detail = f"exception response (0x{fc:02x}) sent by the client"
        anomalies += ((INVALID_FUNCTION_CODE, detail),)
    return ExceptionResponse(tid, unit, fc & 0x7F, request, None, None, None, anomalies, code)


def _short_adu(adu: bytes, request: bool) -> ModbusPdu:
    """Fewer than 8 bytes: not even a function code. Whatever header fields are present."""
    n = len(adu)
    tid = (adu[0] << 8) | adu[1] if n >= 2 else 0
    unit = adu[6] if n >= 7 else 0
    detail = f"ADU of {n} bytes (an MBAP header and function code need 8)"
    return RawPdu(tid, unit, 0, request, None, None, None, ((MALFORMED_PDU, detail),), b"")


def _header_anomalies(record: ModbusPdu, pid: int, length: int, n: int) -> ModbusPdu:
    found: Anomalies = NONE
    if pid:
        found += ((INVALID_PROTOCOL_ID, f"protocol id {pid}"),)
    if length != n - 6:
        found += ((INVALID_LENGTH, f"MBAP length {length} but {n - 6} bytes follow"),)
    return dataclasses.replace(record, anomalies=found + record.anomalies)
