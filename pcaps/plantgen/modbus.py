"""Modbus/TCP ADU and PDU builders (MBAP header + function-specific body)."""

from __future__ import annotations

import struct

_MBAP = struct.Struct("!HHHB")
_U8U16U16 = struct.Struct("!BHH")

READ_COILS = 1
READ_DISCRETE_INPUTS = 2
READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
WRITE_SINGLE_COIL = 5
WRITE_SINGLE_REGISTER = 6
READ_EXCEPTION_STATUS = 7
DIAGNOSTICS = 8
GET_COMM_EVENT_COUNTER = 11
GET_COMM_EVENT_LOG = 12
WRITE_MULTIPLE_COILS = 15
WRITE_MULTIPLE_REGISTERS = 16
REPORT_SERVER_ID = 17
READ_FILE_RECORD = 20
WRITE_FILE_RECORD = 21
MASK_WRITE_REGISTER = 22
READ_WRITE_MULTIPLE_REGISTERS = 23
READ_FIFO_QUEUE = 24
ENCAPSULATED_INTERFACE = 43
UMAS = 90

# MEI types of FC 43
MEI_CANOPEN = 13
MEI_DEVICE_ID = 14

ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3
SERVER_DEVICE_FAILURE = 4
SERVER_DEVICE_BUSY = 6
GATEWAY_PATH_UNAVAILABLE = 10
GATEWAY_TARGET_FAILED = 11

FILE_REFERENCE_TYPE = 6  # the only reference type of FC 20 / 21 sub-requests


def adu(tid: int, unit: int, pdu: bytes) -> bytes:
    """MBAP header (protocol id 0, length = unit id + PDU) followed by the PDU."""
    return _MBAP.pack(tid & 0xFFFF, 0, len(pdu) + 1, unit) + pdu


def read_request(fc: int, addr: int, qty: int) -> bytes:
    return _U8U16U16.pack(fc, addr, qty)


def pack_bits(bits: list[bool]) -> bytes:
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def read_bits_response(fc: int, bits: list[bool]) -> bytes:
    data = pack_bits(bits)
    return bytes((fc, len(data))) + data


def read_registers_response(fc: int, values: list[int]) -> bytes:
    return bytes((fc, 2 * len(values))) + struct.pack(f"!{len(values)}H", *values)


def write_single_coil(addr: int, on: bool) -> bytes:
    """Request and (identical) response of FC 5."""
    return _U8U16U16.pack(WRITE_SINGLE_COIL, addr, 0xFF00 if on else 0x0000)


def write_single_register(addr: int, value: int) -> bytes:
    """Request and (identical) response of FC 6."""
    return _U8U16U16.pack(WRITE_SINGLE_REGISTER, addr, value & 0xFFFF)


def write_multiple_coils(addr: int, bits: list[bool]) -> bytes:
    data = pack_bits(bits)
    return _U8U16U16.pack(WRITE_MULTIPLE_COILS, addr, len(bits)) + bytes((len(data),)) + data


def write_multiple_registers(addr: int, values: list[int]) -> bytes:
    head = _U8U16U16.pack(WRITE_MULTIPLE_REGISTERS, addr, len(values)) + bytes((2 * len(values),))
    return head + struct.pack(f"!{len(values)}H", *values)


def write_multiple_response(fc: int, addr: int, qty: int) -> bytes:
    return _U8U16U16.pack(fc, addr, qty)


def read_write_registers(raddr: int, rqty: int, waddr: int, values: list[int]) -> bytes:
    head = struct.pack(
        "!BHHHHB", READ_WRITE_MULTIPLE_REGISTERS, raddr, rqty, waddr, len(values), 2 * len(values)
    )
    return head + struct.pack(f"!{len(values)}H", *values)


def exception(fc: int, code: int) -> bytes:
    return bytes((fc | 0x80, code))


def diagnostics(sub: int, data: int) -> bytes:
    """FC 8 request or echo response (sub-function 1 = restart communications option)."""
    return struct.pack("!BHH", DIAGNOSTICS, sub, data)


def read_device_id_request(code: int = 1, object_id: int = 0) -> bytes:
    """FC 43 / MEI 14: read device identification (code 1 = basic stream)."""
    return bytes((ENCAPSULATED_INTERFACE, 14, code, object_id))


def read_device_id_response(code: int, objects: list[tuple[int, str]]) -> bytes:
    body = bytearray((ENCAPSULATED_INTERFACE, 14, code, 0x01 if code == 1 else 0x02, 0, 0))
    body.append(len(objects))
    for obj_id, text in objects:
        raw = text.encode("ascii")
        body += bytes((obj_id, len(raw))) + raw
    return bytes(body)


def report_server_id_request() -> bytes:
    return bytes((REPORT_SERVER_ID,))


def report_server_id_response(server_id: bytes, running: bool, extra: bytes = b"") -> bytes:
    data = server_id + bytes((0xFF if running else 0x00,)) + extra
    return bytes((REPORT_SERVER_ID, len(data))) + data


def umas(session: int, func: int, data: bytes = b"") -> bytes:
    """Schneider UMAS over FC 90: session byte, UMAS function code, data."""
    return bytes((UMAS, session, func)) + data


def umas_response(session: int, ok: bool = True, data: bytes = b"") -> bytes:
    return bytes((UMAS, session, 0xFE if ok else 0xFD)) + data


# -- the less common public function codes (request and response builders) ---------------


def function_only(fc: int) -> bytes:
    """A request that is the function code alone (FC 7, 11, 12, 17)."""
    return bytes((fc,))


def read_exception_status_response(status: int) -> bytes:
    return bytes((READ_EXCEPTION_STATUS, status & 0xFF))


def comm_event_counter_response(busy: bool, event_count: int) -> bytes:
    return struct.pack("!BHH", GET_COMM_EVENT_COUNTER, 0xFFFF if busy else 0, event_count)


def comm_event_log_response(
    busy: bool, event_count: int, message_count: int, events: bytes
) -> bytes:
    """FC 12: status, event count, message count and up to 64 event bytes (newest first)."""
    body = struct.pack("!HHH", 0xFFFF if busy else 0, event_count, message_count) + events
    return bytes((GET_COMM_EVENT_LOG, len(body))) + body


def read_file_record_request(subs: list[tuple[int, int, int]]) -> bytes:
    """FC 20 with (file number, record number, record length in registers) sub-requests."""
    body = b"".join(struct.pack("!BHHH", FILE_REFERENCE_TYPE, f, r, n) for f, r, n in subs)
    return bytes((READ_FILE_RECORD, len(body))) + body


def read_file_record_response(records: list[list[int]]) -> bytes:
    body = b""
    for values in records:
        data = struct.pack(f"!{len(values)}H", *values)
        body += bytes((1 + len(data), FILE_REFERENCE_TYPE)) + data
    return bytes((READ_FILE_RECORD, len(body))) + body


def write_file_record(subs: list[tuple[int, int, list[int]]]) -> bytes:
    """FC 21 request with (file, record, values) sub-requests; the response echoes it."""
    body = b"".join(
        struct.pack(f"!BHHH{len(v)}H", FILE_REFERENCE_TYPE, f, r, len(v), *v) for f, r, v in subs
    )
    return bytes((WRITE_FILE_RECORD, len(body))) + body


def mask_write_register(addr: int, and_mask: int, or_mask: int) -> bytes:
    """FC 22 request and (identical) response."""
    return struct.pack("!BHHH", MASK_WRITE_REGISTER, addr, and_mask, or_mask)


def read_fifo_request(addr: int) -> bytes:
    return struct.pack("!BH", READ_FIFO_QUEUE, addr)


def read_fifo_response(values: list[int]) -> bytes:
    """FC 24: byte count (of FIFO count + values), FIFO count, values."""
    return struct.pack(
        f"!BHH{len(values)}H", READ_FIFO_QUEUE, 2 + 2 * len(values), len(values), *values
    )


def mei(mei_type: int, data: bytes) -> bytes:
    """FC 43 with an MEI type and its raw data (MEI 13 CANopen general reference)."""
    return bytes((ENCAPSULATED_INTERFACE, mei_type)) + data


def device_id_response(
    code: int,
    conformity: int,
    objects: list[tuple[int, str]],
    more_follows: bool = False,
    next_object: int = 0,
) -> bytes:
    """FC 43 / MEI 14 response with the device's own conformity level."""
    body = bytearray(
        (ENCAPSULATED_INTERFACE, MEI_DEVICE_ID, code, conformity, 0xFF if more_follows else 0)
    )
    body += bytes((next_object, len(objects)))
    for obj_id, text in objects:
        raw = text.encode("ascii")
        body += bytes((obj_id, len(raw))) + raw
    return bytes(body)


def private(fc: int, data: bytes) -> bytes:
    """A user-defined function code (65-72, 100-110) with vendor-specific data."""
    return bytes((fc,)) + data
