"""CRC-16/DNP, the check on every DNP3 link header and 16-byte user data block.

Polynomial 0x3D65 (x^16+x^13+x^12+x^11+x^10+x^8+x^6+x^5+x^2+1) processed reflected
(0xA6BC), initial value 0, final complement. On the wire the CRC is sent low byte first,
so the value returned here compares with ``buf[i] | buf[i + 1] << 8``. Table driven: one
lookup per byte, over one header (8 bytes) or one block (at most 16 bytes) at a time.
"""

from __future__ import annotations

from typing import Final

_POLY: Final = 0xA6BC


def _table() -> tuple[int, ...]:
    out: list[int] = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        out.append(crc)
    return tuple(out)


TABLE: Final[tuple[int, ...]] = _table()


def crc16(data: bytes, start: int = 0, end: int | None = None) -> int:
    """CRC-16/DNP of ``data[start:end]`` as the little-endian value on the wire."""
    table = TABLE
    crc = 0
    stop = len(data) if end is None else end
    for byte in data[start:stop]:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def crc_ok(data: bytes, start: int, end: int) -> bool:
    """True when the two bytes at ``end`` hold the CRC of ``data[start:end]``."""
    table = TABLE
    crc = 0
    for byte in data[start:end]:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF == data[end] | data[end + 1] << 8


def header_ok(data: bytes, off: int) -> bool:
    """True when the 10 bytes at ``off`` are a link header (05 64 ...) with a valid CRC.
    The caller makes sure 10 bytes are there."""
    return data[off] == 0x05 and data[off + 1] == 0x64 and crc_ok(data, off, off + 8)
