"""Builders for hand-made TPKT/COTP/S7 PDUs."""

from __future__ import annotations

import struct


def tpkt(cotp: bytes) -> bytes:
    return b"\x03\x00" + struct.pack(">H", 4 + len(cotp)) + cotp


def dt(payload: bytes, eot: bool = True, nr: int = 0) -> bytes:
    """A whole TPKT carrying one COTP DT."""
    return tpkt(bytes((2, 0xF0, (0x80 if eot else 0) | nr)) + payload)


def s7(rosctr: int, ref: int, param: bytes, data: bytes = b"", error: bytes = b"") -> bytes:
    if rosctr in (2, 3) and not error:
        error = b"\x00\x00"
    head = struct.pack(">BBHHHH", 0x32, rosctr, 0, ref, len(param), len(data))
    return head + error + param + data


def s7any(tsize: int, length: int, db: int, area: int, byte: int, bit: int = 0) -> bytes:
    addr = (byte << 3) | bit
    return (
        bytes((0x12, 0x0A, 0x10, tsize))
        + struct.pack(">HH", length, db)
        + bytes((area,))
        + addr.to_bytes(3, "big")
    )


def userdata_param(ud_type: int, group: int, sub: int, seq: int = 0, ext: bytes = b"") -> bytes:
    plen = 4 + len(ext)
    method = 0x11 if ud_type == 4 else 0x12
    return bytes((0, 1, 0x12, plen, method, (ud_type << 4) | group, sub, seq)) + ext
