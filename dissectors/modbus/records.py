"""The typed records :func:`~dissectors.modbus.pdu.parse_adu` returns: one per PDU shape.

Every record is a :class:`ModbusPdu`. Its stored fields are what the bytes say (MBAP
transaction and unit id, function, direction, start address, quantity, values, per-PDU
anomalies, and the shape's own fields); names and protocol-neutral semantics (``access``,
``target``, ``operation``, ``function_name``, ``exception_code`` ...) are properties read
from the tables in :mod:`dissectors.modbus.consts`, so a record costs only the fields it
stores.

Records are read-only by contract but not ``frozen`` dataclasses: a frozen dataclass sets
each field through ``object.__setattr__``, which made building a record 8x slower (4 µs
against 0.5 µs for eight fields) on a path that runs for every Modbus PDU.
:meth:`ModbusPdu.specific` gives the function-specific fields as a JSON-ready
dict (the engine puts them under ``ics.modbus.*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dissectors.modbus import consts

Anomalies = tuple[tuple[str, str], ...]
Values = tuple[int, ...]

_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def text(raw: bytes) -> str:
    """A device string as printable text: latin-1, trailing NULs and spaces stripped,
    control characters escaped as ``\\xNN``."""
    return raw.rstrip(b"\x00 ").decode("latin-1").translate(_ESCAPES)


def code_name(table: dict[int, str], code: int) -> dict[str, Any]:
    """``{code, name}`` side by side, the name ``unknown-<n>`` when the table has none."""
    return {"code": code, "name": consts.table_name(table, code)}


@dataclass(slots=True)
class ModbusPdu:
    """Base record: what every Modbus PDU carries."""

    tid: int
    unit: int
    #: Function code; for an exception response, without the 0x80 bit.
    function: int
    #: True for client -> server (Modbus has no request/response flag on the wire).
    request: bool
    #: Start address (reference number) where the PDU has one.
    address: int | None
    #: Number of coils/inputs/registers addressed, where known.
    quantity: int | None
    #: Register values, or coil/input bits as 0/1, written (requests) or read (responses).
    values: Values | None
    anomalies: Anomalies

    @property
    def function_name(self) -> str:
        return consts.function_name(self.function)

    @property
    def exception_code(self) -> int | None:
        return None

    @property
    def exception_name(self) -> str | None:
        code = self.exception_code
        return None if code is None else consts.exception_name(code)

    @property
    def access(self) -> str:
        return consts.SEMANTICS.get(self.function, consts.UNKNOWN_SEMANTICS)[0]

    @property
    def target(self) -> str:
        return consts.SEMANTICS.get(self.function, consts.UNKNOWN_SEMANTICS)[1]

    @property
    def operation(self) -> str:
        return consts.SEMANTICS.get(self.function, consts.UNKNOWN_SEMANTICS)[2]

    def specific(self) -> dict[str, Any]:
        """Function-specific fields (not the common ones above), JSON-ready."""
        return {}


@dataclass(slots=True)
class ReadRequest(ModbusPdu):
    """Functions 1-4, request: start address and quantity."""


@dataclass(slots=True)
class ReadResponse(ModbusPdu):
    """Functions 1-4, response. Registers (3, 4): ``quantity`` is their number. Bits (1, 2):
    the response does not say how many were asked for, so ``quantity`` is None and
    ``values`` holds every bit of the status bytes (the last byte is zero-padded)."""

    byte_count: int

    def specific(self) -> dict[str, Any]:
        return {"byte_count": self.byte_count}


@dataclass(slots=True)
class WriteSingle(ModbusPdu):
    """Functions 5 and 6, request and (echo) response. ``value`` is the raw 16-bit field;
    for a coil, ``values`` is (1,) for 0xFF00, (0,) for 0x0000 and None otherwise."""

    value: int

    def specific(self) -> dict[str, Any]:
        return {"value": self.value}


@dataclass(slots=True)
class WriteMultiple(ModbusPdu):
    """Functions 15 and 16: request with values (coils LSB first, exactly ``quantity``),
    response echoing address and quantity (``byte_count`` None, ``values`` None)."""

    byte_count: int | None

    def specific(self) -> dict[str, Any]:
        return {} if self.byte_count is None else {"byte_count": self.byte_count}


@dataclass(slots=True)
class MaskWrite(ModbusPdu):
    """Function 22, request and echo: register = (register AND and_mask) OR
    (or_mask AND NOT and_mask)."""

    and_mask: int
    or_mask: int

    def specific(self) -> dict[str, Any]:
        return {"and_mask": self.and_mask, "or_mask": self.or_mask}


@dataclass(slots=True)
class ReadWriteMultiple(ModbusPdu):
    """Function 23. Request: the common address/quantity/values are the WRITE range and
    values, the read range is ``read_address``/``read_quantity``. Response: ``values``
    are the registers read."""

    byte_count: int | None
    read_address: int | None
    read_quantity: int | None

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.byte_count is not None:
            out["byte_count"] = self.byte_count
        if self.read_address is not None:
            out["read"] = {"address": self.read_address, "quantity": self.read_quantity}
            write: dict[str, Any] = {"address": self.address, "quantity": self.quantity}
            if self.values is not None:
                write["values"] = list(self.values)
            out["write"] = write
        return out


@dataclass(slots=True)
class FifoQueue(ModbusPdu):
    """Function 24. Request: ``address`` is the FIFO pointer. Response: ``values`` are the
    queued registers, ``quantity`` their count."""

    byte_count: int | None

    def specific(self) -> dict[str, Any]:
        if self.request:
            return {} if self.address is None else {"fifo_pointer": self.address}
        out: dict[str, Any] = {"byte_count": self.byte_count, "fifo_count": self.quantity}
        if self.values is not None:
            out["fifo_values"] = list(self.values)
        return out


@dataclass(slots=True)
class ExceptionResponse(ModbusPdu):
    """Response with function | 0x80: ``function`` is the code asked for, ``code`` the
    exception. access/target/operation are those of the function that failed."""

    code: int

    @property
    def exception_code(self) -> int | None:
        return self.code


@dataclass(slots=True)
class RawPdu(ModbusPdu):
    """A function without a decoder (unknown and user-defined codes), or a PDU too short
    for its function's fixed fields: the bytes after the function code, kept as they are."""

    data: bytes

    def specific(self) -> dict[str, Any]:
        return {"data": self.data.hex()}
