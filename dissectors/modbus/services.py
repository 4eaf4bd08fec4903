"""Parsers of the other public functions and of Schneider UMAS.

Functions 7 (read exception status), 8 (diagnostics), 11 and 12 (comm event counter and
log), 17 (report server id), 20 and 21 (file records), 43 (encapsulated interface
transport, with MEI 14 read device identification) and 90 (UMAS).
"""

from __future__ import annotations

from dissectors.modbus.anomalies import INVALID_VALUE, MALFORMED_PDU
from dissectors.modbus.consts import (
    CONFORMITY_LEVELS,
    DIAGNOSTICS,
    MEI_DEVICE_ID,
    READ_DEVICE_ID_CODES,
)
from dissectors.modbus.records import Anomalies, ModbusPdu
from dissectors.modbus.service_records import (
    CommEventCounter,
    CommEventLog,
    Diagnostics,
    FileRecord,
    FileRecords,
    MeiTransport,
    ReadDeviceId,
    ReadExceptionStatus,
    ReportServerId,
    Umas,
)
from dissectors.modbus.wire import (
    DATA,
    NONE,
    U8_U16X3,
    U16,
    U16X2,
    U16X3,
    count_mismatch,
    extra,
    out_of_range,
    registers,
    short,
)

#: Diagnostics sub-functions whose data is one 16-bit word both ways (spec 6.8.1); not
#: 0 (echoes any data) nor the legacy Modbus Plus ones, 19 and 21.
_TWO_BYTE_DATA = frozenset(DIAGNOSTICS) - {0, 19, 21}
_FILE_REFERENCE = 6  # the only reference type of functions 20 and 21
_FILE_BYTES = (7, 0xF5)  # byte count range of function 20/21 requests and responses


def _empty_request(n: int) -> Anomalies:
    return NONE if n == DATA else (extra(n, 0),)


def exception_status(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    if request:
        return ReadExceptionStatus(tid, unit, fc, True, None, None, None, _empty_request(n), None)
    if n < 9:
        return short(tid, unit, fc, request, buf, n, 1)
    anomalies = NONE if n == 9 else (extra(n, 1),)
    return ReadExceptionStatus(tid, unit, fc, False, None, None, None, anomalies, buf[DATA])


def diagnostics(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Function 8, both directions: sub-function and data."""
    if n < 10:
        return short(tid, unit, fc, request, buf, n, 2)
    (sub,) = U16.unpack_from(buf, DATA)
    anomalies = NONE if n == 12 or sub not in _TWO_BYTE_DATA else (extra(n, 4),)
    return Diagnostics(tid, unit, fc, request, None, None, None, anomalies, sub, buf[10:n])


def event_counter(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    if request:
        return CommEventCounter(
            tid, unit, fc, True, None, None, None, _empty_request(n), None, None
        )
    if n < 12:
        return short(tid, unit, fc, request, buf, n, 4)
    status, count = U16X2.unpack_from(buf, DATA)
    anomalies = NONE if n == 12 else (extra(n, 4),)
    return CommEventCounter(tid, unit, fc, False, None, None, None, anomalies, status, count)


def event_log(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    if request:
        return CommEventLog(
            tid, unit, fc, True, None, None, None, _empty_request(n), None, None, None, None, b""
        )
    if n < 15:
        return short(tid, unit, fc, request, buf, n, 7)
    byte_count = buf[DATA]
    status, events, messages = U16X3.unpack_from(buf, 9)
    anomalies = NONE if byte_count == n - 9 else (count_mismatch(byte_count, n - 9),)
    return CommEventLog(
        tid, unit, fc, False, None, None, None, anomalies, byte_count, status, events, messages,
        buf[15:n],
    )  # fmt: skip


def server_id(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Function 17. The run indicator (0x00 off, 0xFF on) follows a server id of
    device-specific length: it is taken to be the first 0x00/0xFF byte after the first."""
    if request:
        return ReportServerId(
            tid, unit, fc, True, None, None, None, _empty_request(n), None, None, None, b""
        )
    if n < 9:
        return short(tid, unit, fc, request, buf, n, 1)
    byte_count = buf[DATA]
    anomalies = NONE if byte_count == n - 9 else (count_mismatch(byte_count, n - 9),)
    content = buf[9:n]
    off, on = content.find(0, 1), content.find(0xFF, 1)
    i = off if on < 0 or 0 <= off < on else on
    if i < 0:
        return ReportServerId(
            tid, unit, fc, False, None, None, None, anomalies, byte_count, content, None, b""
        )
    return ReportServerId(
        tid, unit, fc, False, None, None, None, anomalies, byte_count, content[:i], content[i],
        content[i + 1 :],
    )  # fmt: skip


def _file_byte_count(byte_count: int, n: int) -> Anomalies:
    anomalies = NONE if byte_count == n - 9 else (count_mismatch(byte_count, n - 9),)
    low, high = _FILE_BYTES
    if not low <= byte_count <= high:
        anomalies += (out_of_range("byte count", byte_count, low, high),)
    return anomalies


def _reference(ref: int) -> Anomalies:
    return NONE if ref == _FILE_REFERENCE else ((INVALID_VALUE, f"file reference type {ref}"),)


def file_records(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Functions 20 and 21, both directions: a byte count, then sub-requests/responses.
    Read requests: (reference type, file, record, length); read responses: (length,
    reference type, data); writes, both ways: (reference type, file, record, length,
    data)."""
    if n < 9:
        return short(tid, unit, fc, request, buf, n, 1)
    byte_count = buf[DATA]
    anomalies = _file_byte_count(byte_count, n)
    end = min(n, 9 + byte_count)
    off = 9
    records: list[FileRecord] = []
    while off < end:
        if fc == 20 and not request:  # (response length, reference type, registers)
            size = buf[off]
            if size < 1 or off + 1 + size > end or not size & 1:
                anomalies += ((MALFORMED_PDU, f"file sub-response length {size} at {off}"),)
                break
            ref = buf[off + 1]
            count = (size - 1) >> 1
            records.append(FileRecord(ref, None, None, count, registers(buf, off + 2, count)))
            off += 1 + size
        else:
            if off + 7 > end:
                anomalies += ((MALFORMED_PDU, f"file sub-request cut off at {off}"),)
                break
            ref, file, record, length = U8_U16X3.unpack_from(buf, off)
            off += 7
            values = None
            if fc == 21:
                if off + 2 * length > end:
                    anomalies += ((MALFORMED_PDU, f"file record data cut off at {off}"),)
                    break
                values = registers(buf, off, length)
                off += 2 * length
            records.append(FileRecord(ref, file, record, length, values))
        if ref != _FILE_REFERENCE:
            anomalies += _reference(ref)
    return FileRecords(
        tid, unit, fc, request, None, None, None, anomalies, byte_count, tuple(records)
    )


def encapsulated(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Function 43: MEI type, then MEI-specific data (MEI 14 is decoded)."""
    if n < 9:
        return short(tid, unit, fc, request, buf, n, 1)
    mei = buf[DATA]
    if mei == MEI_DEVICE_ID:
        if request:
            return _device_id_request(tid, unit, fc, buf, n)
        return _device_id_response(tid, unit, fc, buf, n)
    return MeiTransport(tid, unit, fc, request, None, None, None, NONE, mei, buf[9:n])


def _read_code(code: int) -> Anomalies:
    if code in READ_DEVICE_ID_CODES:
        return NONE
    return ((INVALID_VALUE, f"read device id code {code}"),)


def _device_id_request(tid: int, unit: int, fc: int, buf: bytes, n: int) -> ModbusPdu:
    if n < 11:
        return short(tid, unit, fc, True, buf, n, 3)
    anomalies = _read_code(buf[9])
    if n != 11:
        anomalies += (extra(n, 3),)
    return ReadDeviceId(
        tid, unit, fc, True, None, None, None, anomalies, buf[9], buf[10], None, None, None, ()
    )


def _device_id_response(tid: int, unit: int, fc: int, buf: bytes, n: int) -> ModbusPdu:
    """MEI type, read code, conformity level, more follows (0x00/0xFF), next object id,
    number of objects, then (id, length, value) per object."""
    if n < 15:
        return short(tid, unit, fc, False, buf, n, 7)
    code, level, more, next_id, number = buf[9], buf[10], buf[11], buf[12], buf[13]
    anomalies = _read_code(code)
    if level not in CONFORMITY_LEVELS:
        anomalies += ((INVALID_VALUE, f"conformity level 0x{level:02x}"),)
    if more and more != 0xFF:
        anomalies += ((INVALID_VALUE, f"more follows 0x{more:02x} (not 0x00 or 0xff)"),)
    objects: list[tuple[int, bytes]] = []
    off = 14
    while len(objects) < number:
        if off + 2 > n or off + 2 + buf[off + 1] > n:
            anomalies += ((MALFORMED_PDU, f"object {len(objects)} of {number} cut off"),)
            break
        size = buf[off + 1]
        objects.append((buf[off], buf[off + 2 : off + 2 + size]))
        off += 2 + size
    else:
        if off != n:
            anomalies += ((MALFORMED_PDU, f"{n - off} bytes after the last object"),)
    return ReadDeviceId(
        tid, unit, fc, False, None, None, None, anomalies, code, None, level, more, next_id,
        tuple(objects),
    )  # fmt: skip


def umas(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Function 90: pairing key, UMAS function (0xFE/0xFD in responses), data."""
    if n < 10:
        return short(tid, unit, fc, request, buf, n, 2)
    return Umas(tid, unit, fc, request, None, None, None, NONE, buf[DATA], buf[9], buf[10:n])
