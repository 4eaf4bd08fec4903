"""Shared helpers of the PDU parsers: precompiled structs, value builders, short PDUs.

Every parser has the signature of :data:`Parser`: it reads the ADU ``buf`` (``n`` bytes;
the PDU data starts at offset 8, after the MBAP header and the function code) and returns
a record. Parsers never raise on their own input: they check lengths before reading.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from itertools import chain
from typing import Final

from dissectors.modbus.anomalies import MALFORMED_PDU, QUANTITY_OUT_OF_RANGE
from dissectors.modbus.records import Anomalies, ModbusPdu, RawPdu, Values

#: (tid, unit, function, request, buf, n) -> record
Parser = Callable[[int, int, int, bool, bytes, int], ModbusPdu]

DATA: Final = 8  # offset of the PDU data in an ADU
NONE: Final[Anomalies] = ()

U8_U16: Final = struct.Struct(">BH")
U16: Final = struct.Struct(">H")
U16X2: Final = struct.Struct(">HH")
U16X2_U8: Final = struct.Struct(">HHB")
U16X3: Final = struct.Struct(">HHH")
U8_U16X3: Final = struct.Struct(">BHHH")
U16X4_U8: Final = struct.Struct(">HHHHB")

#: Functions whose request data, and whose response data, open with the start address.
_ADDRESS_FIRST: Final = frozenset((1, 2, 3, 4, 5, 6, 15, 16, 22, 24))
_ADDRESS_FIRST_ECHO: Final = frozenset((5, 6, 15, 16, 22))

_REGISTERS: Final = tuple(struct.Struct(f">{i}H") for i in range(132))
#: byte -> its 8 bits, least significant first (the Modbus order of coils in a byte)
_BITS: Final = tuple(tuple((b >> i) & 1 for i in range(8)) for b in range(256))


def registers(buf: bytes, off: int, count: int) -> Values:
    """``count`` big-endian 16-bit registers at ``off`` (the caller checked the length)."""
    if count < len(_REGISTERS):
        return _REGISTERS[count].unpack_from(buf, off)
    return struct.unpack_from(f">{count}H", buf, off)


def bits(buf: bytes, off: int, nbytes: int) -> Values:
    """Every bit of ``nbytes`` status bytes at ``off``, LSB of the first byte first."""
    if nbytes == 1:
        return _BITS[buf[off]]
    if nbytes == 2:
        return _BITS[buf[off]] + _BITS[buf[off + 1]]
    return tuple(chain.from_iterable(map(_BITS.__getitem__, buf[off : off + nbytes])))


def short(tid: int, unit: int, fc: int, request: bool, buf: bytes, n: int, need: int) -> RawPdu:
    """A PDU too short for its function's fixed fields: raw data and one anomaly. The
    start address is kept when the function's data starts with it and it is there."""
    detail = f"{n - DATA} data bytes, function {fc} needs at least {need}"
    first = _ADDRESS_FIRST if request else _ADDRESS_FIRST_ECHO
    address = (buf[DATA] << 8) | buf[DATA + 1] if n >= 10 and fc in first else None
    anomalies = ((MALFORMED_PDU, detail),)
    return RawPdu(tid, unit, fc, request, address, None, None, anomalies, buf[DATA:n])


def extra(n: int, expected: int) -> tuple[str, str]:
    """Anomaly for a PDU whose data is not exactly ``expected`` bytes long."""
    return (MALFORMED_PDU, f"{n - DATA} data bytes, expected {expected}")


def count_mismatch(byte_count: int, present: int) -> tuple[str, str]:
    return (MALFORMED_PDU, f"byte count {byte_count} but {present} bytes follow")


def out_of_range(what: str, value: int, low: int, high: int) -> tuple[str, str]:
    return (QUANTITY_OUT_OF_RANGE, f"{what} {value} outside {low}..{high}")
