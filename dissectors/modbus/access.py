"""Parsers of the data-access functions: bits and registers read and written.

Functions 1-4 (read), 5 and 6 (write single), 15 and 16 (write multiple), 22 (mask write),
23 (read/write multiple) and 24 (FIFO queue). Record fields are positional on this hot
path: (tid, unit, function, request, address, quantity, values, anomalies, own fields).
"""

from __future__ import annotations

from dissectors.modbus.anomalies import INVALID_VALUE, MALFORMED_PDU
from dissectors.modbus.consts import FIFO_LIMIT, QUANTITY_LIMITS, RW_READ_LIMIT, RW_WRITE_LIMIT
from dissectors.modbus.records import (
    Anomalies,
    FifoQueue,
    MaskWrite,
    ModbusPdu,
    ReadRequest,
    ReadResponse,
    ReadWriteMultiple,
    WriteMultiple,
    WriteSingle,
)
from dissectors.modbus.wire import (
    DATA,
    NONE,
    U16,
    U16X2,
    U16X2_U8,
    U16X3,
    U16X4_U8,
    bits,
    count_mismatch,
    extra,
    out_of_range,
    registers,
    short,
)

_COIL_ON = 0xFF00
_LIMITS = QUANTITY_LIMITS


def _quantity(fc: int, qty: int) -> Anomalies:
    limit = QUANTITY_LIMITS[fc]
    return NONE if 0 < qty <= limit else (out_of_range("quantity", qty, 1, limit),)


def _read_anomalies(fc: int, qty: int, n: int) -> Anomalies:
    anomalies = _quantity(fc, qty)
    if n != 12:
        anomalies += (extra(n, 4),)
    return anomalies


def read_request(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    if n < 12:
        return short(tid, unit, fc, request, buf, n, 4)
    addr, qty = U16X2.unpack_from(buf, DATA)
    anomalies = NONE if 0 < qty <= _LIMITS[fc] and n == 12 else _read_anomalies(fc, qty, n)
    return ReadRequest(tid, unit, fc, request, addr, qty, None, anomalies)


def read_response(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    if n < 9:
        return short(tid, unit, fc, request, buf, n, 1)
    byte_count = buf[DATA]
    present = n - 9
    anomalies = NONE if byte_count == present else (count_mismatch(byte_count, present),)
    size = byte_count if byte_count < present else present
    if fc <= 2:  # coils / discrete inputs: the quantity asked for is not in the response
        values = bits(buf, 9, size) if size else ()
        return ReadResponse(tid, unit, fc, request, None, None, values, anomalies, byte_count)
    if byte_count & 1:
        anomalies += ((MALFORMED_PDU, f"odd byte count {byte_count} for registers"),)
    count = size >> 1
    values = registers(buf, 9, count)
    return ReadResponse(tid, unit, fc, request, None, count, values, anomalies, byte_count)


def write_single(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Functions 5 and 6; the response echoes the request."""
    if n < 12:
        return short(tid, unit, fc, request, buf, n, 4)
    addr, value = U16X2.unpack_from(buf, DATA)
    anomalies = NONE if n == 12 else (extra(n, 4),)
    if fc == 6:
        return WriteSingle(tid, unit, fc, request, addr, 1, (value,), anomalies, value)
    if value == _COIL_ON:
        values: tuple[int, ...] | None = (1,)
    elif value == 0:
        values = (0,)
    else:
        values = None
        anomalies += ((INVALID_VALUE, f"coil value 0x{value:04x} (not 0xff00 or 0x0000)"),)
    return WriteSingle(tid, unit, fc, request, addr, 1, values, anomalies, value)


def write_multiple_request(
    tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int
) -> ModbusPdu:
    """Functions 15 and 16, request: address, quantity, byte count, values."""
    if n < 13:
        return short(tid, unit, fc, request, buf, n, 5)
    addr, qty, byte_count = U16X2_U8.unpack_from(buf, DATA)
    anomalies = _quantity(fc, qty)
    coils = fc == 15
    expected = (qty + 7) >> 3 if coils else qty << 1
    if byte_count != expected:
        detail = f"byte count {byte_count} for quantity {qty} (expected {expected})"
        anomalies += ((MALFORMED_PDU, detail),)
    present = n - 13
    if byte_count != present:
        anomalies += (count_mismatch(byte_count, present),)
    size = byte_count if byte_count < present else present
    if coils:
        values = bits(buf, 13, size)[:qty] if size else ()
    else:
        count = size >> 1
        values = registers(buf, 13, count if count < qty else qty)
    return WriteMultiple(tid, unit, fc, request, addr, qty, values, anomalies, byte_count)


def write_multiple_response(
    tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int
) -> ModbusPdu:
    if n < 12:
        return short(tid, unit, fc, request, buf, n, 4)
    addr, qty = U16X2.unpack_from(buf, DATA)
    anomalies = _quantity(fc, qty)
    if n != 12:
        anomalies += (extra(n, 4),)
    return WriteMultiple(tid, unit, fc, request, addr, qty, None, anomalies, None)


def mask_write(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Function 22, request and echo response."""
    if n < 14:
        return short(tid, unit, fc, request, buf, n, 6)
    addr, and_mask, or_mask = U16X3.unpack_from(buf, DATA)
    anomalies = NONE if n == 14 else (extra(n, 6),)
    return MaskWrite(tid, unit, fc, request, addr, 1, None, anomalies, and_mask, or_mask)


def read_write_request(
    tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int
) -> ModbusPdu:
    """Function 23, request: read range, write range, byte count, values written."""
    if n < 17:
        return short(tid, unit, fc, request, buf, n, 9)
    read_addr, read_qty, addr, qty, byte_count = U16X4_U8.unpack_from(buf, DATA)
    anomalies = NONE
    if not 0 < read_qty <= RW_READ_LIMIT:
        anomalies += (out_of_range("read quantity", read_qty, 1, RW_READ_LIMIT),)
    if not 0 < qty <= RW_WRITE_LIMIT:
        anomalies += (out_of_range("write quantity", qty, 1, RW_WRITE_LIMIT),)
    if byte_count != qty << 1:
        detail = f"byte count {byte_count} for write quantity {qty} (expected {qty << 1})"
        anomalies += ((MALFORMED_PDU, detail),)
    present = n - 17
    if byte_count != present:
        anomalies += (count_mismatch(byte_count, present),)
    count = (byte_count if byte_count < present else present) >> 1
    values = registers(buf, 17, count if count < qty else qty)
    return ReadWriteMultiple(
        tid, unit, fc, request, addr, qty, values, anomalies, byte_count, read_addr, read_qty
    )


def read_write_response(
    tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int
) -> ModbusPdu:
    """Function 23, response: the registers read."""
    if n < 9:
        return short(tid, unit, fc, request, buf, n, 1)
    byte_count = buf[DATA]
    present = n - 9
    anomalies = NONE if byte_count == present else (count_mismatch(byte_count, present),)
    if byte_count & 1:
        anomalies += ((MALFORMED_PDU, f"odd byte count {byte_count} for registers"),)
    count = (byte_count if byte_count < present else present) >> 1
    values = registers(buf, 9, count)
    return ReadWriteMultiple(
        tid, unit, fc, request, None, count, values, anomalies, byte_count, None, None
    )


def fifo_request(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Function 24, request: the FIFO pointer address."""
    if n < 10:
        return short(tid, unit, fc, request, buf, n, 2)
    (pointer,) = U16.unpack_from(buf, DATA)
    anomalies = NONE if n == 10 else (extra(n, 2),)
    return FifoQueue(tid, unit, fc, request, pointer, None, None, anomalies, None)


def fifo_response(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int) -> ModbusPdu:
    """Function 24, response: byte count (2 bytes), FIFO count, queued registers."""
    if n < 12:
        return short(tid, unit, fc, request, buf, n, 4)
    byte_count, count = U16X2.unpack_from(buf, DATA)
    anomalies = NONE
    present = n - 10
    if byte_count != present:
        anomalies += (count_mismatch(byte_count, present),)
    if byte_count != 2 + (count << 1):
        detail = f"byte count {byte_count} for FIFO count {count} (expected {2 + (count << 1)})"
        anomalies += ((MALFORMED_PDU, detail),)
    if count > FIFO_LIMIT:
        anomalies += (out_of_range("FIFO count", count, 0, FIFO_LIMIT),)
    available = (n - 12) >> 1
    values = registers(buf, 12, count if count < available else available)
    return FifoQueue(tid, unit, fc, request, None, count, values, anomalies, byte_count)
