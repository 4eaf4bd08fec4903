"""Builders for hand-made DNP3 link frames, transport segments and application fragments.

The CRC here is a bit-by-bit implementation written from the polynomial, independent of
the table-driven one under test.
"""

from __future__ import annotations

import struct


def crc_bitwise(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def with_crc(block: bytes) -> bytes:
    return block + struct.pack("<H", crc_bitwise(block))


def frame(user_data: bytes = b"", ctrl: int = 0xC4, dst: int = 10, src: int = 1) -> bytes:
    """A link frame: header with CRC, user data in 16-byte blocks each with its CRC."""
    head = struct.pack("<BBBBHH", 0x05, 0x64, 5 + len(user_data), ctrl, dst, src)
    body = b"".join(with_crc(user_data[i : i + 16]) for i in range(0, len(user_data), 16))
    return with_crc(head) + body


def segments(fragment: bytes, seq: int = 0, size: int = 249) -> list[bytes]:
    """Transport segments (header + at most ``size`` bytes) carrying one fragment."""
    chunks = [fragment[i : i + size] for i in range(0, len(fragment), size)] or [b""]
    out = []
    for i, chunk in enumerate(chunks):
        th = (seq + i) & 0x3F
        if i == 0:
            th |= 0x40
        if i == len(chunks) - 1:
            th |= 0x80
        out.append(bytes((th,)) + chunk)
    return out


def frames_for(fragment: bytes, seq: int = 0, size: int = 249, **kw: int) -> list[bytes]:
    return [frame(seg, **kw) for seg in segments(fragment, seq, size)]


def request(fc: int, objects: bytes = b"", ctl: int = 0xC1) -> bytes:
    return bytes((ctl, fc)) + objects


def response(objects: bytes = b"", iin: int = 0, fc: int = 0x81, ctl: int = 0xC1) -> bytes:
    return bytes((ctl, fc)) + struct.pack(">H", iin) + objects


def header(group: int, variation: int, qualifier: int, range_field: bytes = b"") -> bytes:
    return bytes((group, variation, qualifier)) + range_field


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))
