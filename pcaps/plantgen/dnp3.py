"""DNP3 (IEEE 1815): link frames with CRCs, transport segmentation, application layer."""

from __future__ import annotations

import struct


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/DNP: reflected polynomial 0x3D65 (0xA6BC), init 0, final XOR 0xFFFF."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def _with_crc(block: bytes) -> bytes:
    return block + struct.pack("<H", crc16(block))


# link layer control bytes
CTRL_MASTER_DATA = 0xC4  # DIR=1 PRM=1, unconfirmed user data
CTRL_OUTSTATION_DATA = 0x44  # DIR=0 PRM=1, unconfirmed user data
CTRL_MASTER_LINK_STATUS_REQ = 0xC9  # DIR=1 PRM=1, request link status
CTRL_OUTSTATION_LINK_STATUS = 0x0B  # DIR=0 PRM=0, link status
CTRL_MASTER_RESET_LINK = 0xC0  # DIR=1 PRM=1, reset link states
CTRL_OUTSTATION_ACK = 0x00  # DIR=0 PRM=0, ACK

MAX_APP_PER_FRAME = 249


def link_frame(ctrl: int, dst: int, src: int, user_data: bytes = b"") -> bytes:
    """05 64 len ctrl dst src CRC, then 16-byte data blocks each followed by its CRC."""
    head = struct.pack("<BBBBHH", 0x05, 0x64, 5 + len(user_data), ctrl, dst, src)
    out = bytearray(_with_crc(head))
    for i in range(0, len(user_data), 16):
        out += _with_crc(user_data[i : i + 16])
    return bytes(out)


def frames_for_fragment(
    apdu: bytes, ctrl: int, dst: int, src: int, tseq: int
) -> tuple[list[bytes], int]:
    """Cut an application fragment into transport segments inside link frames.

    Returns the frames and the next transport sequence number.
    """
    chunks = [apdu[i : i + MAX_APP_PER_FRAME] for i in range(0, len(apdu), MAX_APP_PER_FRAME)]
    if (tseq & 0x3F) + len(chunks) - 1 > 0x3F:
        # A FIR segment may carry any sequence number (IEEE 1815 transport layer). Restart at
        # 0 rather than wrap 63 -> 0 inside one fragment, which Wireshark 4.0 cannot reassemble.
        tseq = 0
    frames = []
    for i, chunk in enumerate(chunks):
        th = (tseq & 0x3F) | (0x40 if i == 0 else 0) | (0x80 if i == len(chunks) - 1 else 0)
        frames.append(link_frame(ctrl, dst, src, bytes((th,)) + chunk))
        tseq = (tseq + 1) & 0x3F
    return frames, tseq


# application layer -----------------------------------------------------------------------

FC_CONFIRM = 0
FC_READ = 1
FC_WRITE = 2
FC_SELECT = 3
FC_OPERATE = 4
FC_DIRECT_OPERATE = 5
FC_DIRECT_OPERATE_NR = 6
FC_IMMED_FREEZE = 7
FC_FREEZE_CLEAR = 9
FC_COLD_RESTART = 13
FC_WARM_RESTART = 14
FC_STOP_APPLICATION = 18
FC_ENABLE_UNSOLICITED = 20
FC_DISABLE_UNSOLICITED = 21
FC_ASSIGN_CLASS = 22
FC_DELAY_MEASURE = 23
FC_RECORD_CURRENT_TIME = 24
FC_RESPONSE = 129
FC_UNSOLICITED_RESPONSE = 130

# IIN as packed by ``response``: IIN1 in the low byte, IIN2 (shifted left by 8) in the high
IIN1_CLASS1_EVENTS = 0x02
IIN1_CLASS2_EVENTS = 0x04
IIN1_CLASS3_EVENTS = 0x08
IIN1_NEED_TIME = 0x10
IIN1_DEVICE_RESTART = 0x80
IIN2_NO_FUNC_SUPPORT = 0x01


def app_control(
    seq: int, con: bool = False, fir: bool = True, fin: bool = True, uns: bool = False
) -> int:
    """FIR FIN CON UNS and the 4-bit sequence number."""
    flags = (0x80 if fir else 0) | (0x40 if fin else 0) | (0x20 if con else 0)
    return flags | (0x10 if uns else 0) | (seq & 0x0F)


def request(seq: int, func: int, objects: bytes = b"") -> bytes:
    return bytes((app_control(seq), func)) + objects


def confirm(seq: int, uns: bool = False) -> bytes:
    """Application confirm; ``uns``: of an unsolicited response (UNS set, its sequence)."""
    return bytes((app_control(seq, uns=uns), FC_CONFIRM))


def response(seq: int, iin: int, objects: bytes = b"", con: bool = False) -> bytes:
    return bytes((app_control(seq, con), FC_RESPONSE)) + struct.pack("<H", iin) + objects


def unsolicited(seq: int, iin: int, objects: bytes = b"") -> bytes:
    """Unsolicited response (0x82): FIR FIN, CON and UNS always set."""
    ctrl = app_control(seq, con=True, uns=True)
    return bytes((ctrl, FC_UNSOLICITED_RESPONSE)) + struct.pack("<H", iin) + objects


# objects ---------------------------------------------------------------------------------


def class_objects(classes: tuple[int, ...]) -> bytes:
    """Object headers g60v(class+1), qualifier 0x06 (all objects)."""
    return b"".join(bytes((60, c + 1, 0x06)) for c in classes)


def _range8(group: int, var: int, start: int, count: int) -> bytes:
    return bytes((group, var, 0x00, start, start + count - 1))


def _range16(group: int, var: int, start: int, count: int) -> bytes:
    """Qualifier 0x01: 2-byte start and stop indexes."""
    return bytes((group, var, 0x01)) + struct.pack("<HH", start, start + count - 1)


def _points(group: int, var: int, start: int, body: list[bytes], wide: bool = False) -> bytes:
    head = (_range16 if wide else _range8)(group, var, start, len(body))
    return head + b"".join(body)


def _events(group: int, var: int, body: list[bytes]) -> bytes:
    """Qualifier 0x28: 2-byte count, each object prefixed with its 2-byte index."""
    return bytes((group, var, 0x28)) + struct.pack("<H", len(body)) + b"".join(body)


def all_objects(group: int, var: int = 0) -> bytes:
    """An object header with qualifier 0x06 (all objects, no range)."""
    return bytes((group, var, 0x06))


def binary_inputs(start: int, flags: list[int]) -> bytes:
    """g1v2 binary input with flags, 1-byte start/stop range."""
    return _range8(1, 2, start, len(flags)) + bytes(flags)


def counters(start: int, values: list[int]) -> bytes:
    """g20v1 32-bit counter with flag."""
    body = b"".join(struct.pack("<BI", 0x01, v & 0xFFFFFFFF) for v in values)
    return _range8(20, 1, start, len(values)) + body


def analog_inputs(start: int, values: list[int]) -> bytes:
    """g30v1 32-bit analog input with flag."""
    body = b"".join(struct.pack("<Bi", 0x01, v) for v in values)
    return _range8(30, 1, start, len(values)) + body


def binary_output_status(start: int, flags: list[int]) -> bytes:
    """g10v2 binary output status (flags octet, state in bit 7)."""
    return _points(10, 2, start, [bytes((f,)) for f in flags])


def counters_noflag(start: int, values: list[int]) -> bytes:
    """g20v5 32-bit counter without flag."""
    return _points(20, 5, start, [struct.pack("<I", v & 0xFFFFFFFF) for v in values])


def frozen_counters(start: int, values: list[int]) -> bytes:
    """g21v1 32-bit frozen counter with flag."""
    return _points(21, 1, start, [struct.pack("<BI", 0x01, v & 0xFFFFFFFF) for v in values])


def analog_inputs_flags(start: int, points: list[tuple[int, int]], wide: bool = False) -> bytes:
    """g30v1 32-bit analog input with flag: (flags, value); ``wide``: qualifier 0x01."""
    return _points(30, 1, start, [struct.pack("<Bi", f, v) for f, v in points], wide)


def analog_inputs_float(start: int, points: list[tuple[int, float]]) -> bytes:
    """g30v5 single-precision floating-point analog input with flag: (flags, value)."""
    return _points(30, 5, start, [struct.pack("<Bf", f, v) for f, v in points])


def analog_output_status(start: int, values: list[int]) -> bytes:
    """g40v1 32-bit analog output status with flag."""
    return _points(40, 1, start, [struct.pack("<Bi", 0x01, v) for v in values])


def _time48(ms: int) -> bytes:
    return (ms & 0xFFFFFFFFFFFF).to_bytes(6, "little")


def binary_events(events: list[tuple[int, int, int]]) -> bytes:
    """g2v2 binary input events with absolute time, qualifier 0x28: (index, flags, ms)."""
    body = b"".join(struct.pack("<HB", i, f) + _time48(ms) for i, f, ms in events)
    return bytes((2, 2, 0x28)) + struct.pack("<H", len(events)) + body


def analog_events(events: list[tuple[int, int]]) -> bytes:
    """g32v1 32-bit analog events without time, qualifier 0x28: (index, value)."""
    body = b"".join(struct.pack("<HBi", i, 0x01, v) for i, v in events)
    return bytes((32, 1, 0x28)) + struct.pack("<H", len(events)) + body


def analog_events_float(events: list[tuple[int, int, float, int]]) -> bytes:
    """g32v7 single-precision floating-point analog events with time, qualifier 0x28:
    (index, flags, value, ms)."""
    return _events(32, 7, [struct.pack("<HBf", i, f, v) + _time48(ms) for i, f, v, ms in events])


def counter_events(events: list[tuple[int, int]]) -> bytes:
    """g22v1 32-bit counter events with flag, qualifier 0x28: (index, value)."""
    return _events(22, 1, [struct.pack("<HBI", i, 0x01, v & 0xFFFFFFFF) for i, v in events])


def crob(index: int, code: int, on_ms: int, off_ms: int, status: int = 0, count: int = 1) -> bytes:
    """g12v1 control relay output block, qualifier 0x28 (2-byte count and index)."""
    body = struct.pack("<HBBIIB", index, code, count, on_ms, off_ms, status)
    return bytes((12, 1, 0x28)) + struct.pack("<H", 1) + body


def analog_output16(index: int, value: int, status: int = 0) -> bytes:
    """g41v2 16-bit analog output block, qualifier 0x28."""
    return bytes((41, 2, 0x28)) + struct.pack("<HHhB", 1, index, value, status)


def analog_output_float(index: int, value: float, status: int = 0) -> bytes:
    """g41v3 single-precision floating-point analog output block, qualifier 0x28."""
    return bytes((41, 3, 0x28)) + struct.pack("<HHfB", 1, index, value, status)


def time_and_date(ms: int) -> bytes:
    """g50v1 absolute time, qualifier 0x07 (1-byte count = 1)."""
    return bytes((50, 1, 0x07, 1)) + _time48(ms)


def last_recorded_time(ms: int) -> bytes:
    """g50v3 absolute time at the last recorded time, qualifier 0x07 (LAN time sync)."""
    return bytes((50, 3, 0x07, 1)) + _time48(ms)


def time_delay_coarse(delay_s: int) -> bytes:
    """g52v1 time delay coarse (seconds), qualifier 0x07."""
    return bytes((52, 1, 0x07, 1)) + struct.pack("<H", delay_s)


def time_delay_fine(delay_ms: int) -> bytes:
    """g52v2 time delay fine (restart responses), qualifier 0x07."""
    return bytes((52, 2, 0x07, 1)) + struct.pack("<H", delay_ms)


# device attributes (group 0): variation -> meaning (IEEE 1815-2012 table 12-1, excerpt)
DA_SOFTWARE_VERSION = 242
DA_HARDWARE_VERSION = 243
DA_USER_LOCATION = 245
DA_USER_DEVICE_NAME = 247
DA_SERIAL_NUMBER = 248
DA_SUBSET_CONFORMANCE = 249
DA_PRODUCT_NAME = 250
DA_MANUFACTURER = 252
DA_ALL_ATTRIBUTES = 254
DA_TYPE_VSTR = 1  # visible string


def device_attribute(var: int, text: str) -> bytes:
    """g0 attribute of the standard set (qualifier 0x00, index 0..0) as a visible string:
    data type code, length, value."""
    value = text.encode("ascii")
    return bytes((0, var, 0x00, 0, 0, DA_TYPE_VSTR, len(value))) + value


def assign_class(cls: int, targets: bytes) -> bytes:
    """ASSIGN_CLASS objects: g60v(class+1) qualifier 0x06, then the points' headers."""
    return bytes((60, cls + 1, 0x06)) + targets


def clear_restart_iin() -> bytes:
    """g80v1 index 7 written to 0: the master clears IIN1.7 (device restart)."""
    return bytes((80, 1, 0x00, 7, 7, 0x00))
