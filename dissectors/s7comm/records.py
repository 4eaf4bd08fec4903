"""The typed records :func:`~dissectors.s7comm.pdu.parse_s7` returns: one per PDU shape.

Every S7comm record is an :class:`S7Pdu`; S7comm-plus PDUs are :class:`S7PlusPdu`. Stored
fields are what the bytes say; names and protocol-neutral semantics (``access``,
``target``, ``operation``, ``function_name`` ...) are properties read from the tables in
:mod:`dissectors.s7comm.consts`. Records are plain slotted dataclasses, read-only by
contract (a frozen dataclass is 8x slower to build, see the Modbus records).
:meth:`S7Pdu.specific` gives the shape's own fields as a JSON-ready dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dissectors.s7comm import consts, szl
from dissectors.semantics import NeutralFields, Semantics

Anomalies = tuple[tuple[str, str], ...]
Values = tuple[int, ...]


def code_name(table: dict[int, str], code: int) -> dict[str, Any]:
    """``{code, name}`` side by side, the name ``unknown-0x..`` when the table has none."""
    return {"code": code, "name": consts.table_name(table, code)}


@dataclass(slots=True)
class S7Pdu(NeutralFields):
    """Base record: what every S7comm PDU carries."""

    rosctr: int
    pdu_ref: int
    #: Parameter function code; user data: ``USERDATA_FUNCTION | group << 8 | sub``;
    #: ``NO_FUNCTION`` (-1) when the PDU has no parameter part.
    function: int
    #: Job and user-data request: True; ack, ack-data, user-data response and push: False.
    request: bool
    #: Error class and code of an ack/ack-data header; None for job and user data.
    error_class: int | None
    error_code: int | None
    #: First item's byte address and length, where one item makes sense.
    address: int | None
    quantity: int | None
    #: Bytes written (write var request) or read (read var response) of the first item.
    values: Values | None
    anomalies: Anomalies

    @property
    def protocol(self) -> str:
        return "s7comm"

    @property
    def rosctr_name(self) -> str:
        return consts.rosctr_name(self.rosctr)

    @property
    def function_name(self) -> str:
        return consts.function_name(self.function)

    @property
    def error_name(self) -> str | None:
        return None if self.error_class is None else consts.error_class_name(self.error_class)

    def semantics(self) -> Semantics:
        """(access, target, operation)."""
        return consts.FUNCTION_SEMANTICS.get(self.function, consts.UNKNOWN_SEMANTICS)

    def specific(self) -> dict[str, Any]:
        """Function-specific fields (not the common ones above), JSON-ready."""
        return {}


@dataclass(slots=True)
class RawS7(S7Pdu):
    """A PDU without a decoder (ack, unknown function, error ack-data): raw parts as hex."""

    param: bytes
    data: bytes

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.param:
            out["param"] = self.param.hex()
        if self.data:
            out["data"] = self.data.hex()
        return out


@dataclass(slots=True)
class SetupCommunication(S7Pdu):
    max_amq_calling: int
    max_amq_called: int
    pdu_size: int

    def specific(self) -> dict[str, Any]:
        return {
            "max_amq_calling": self.max_amq_calling,
            "max_amq_called": self.max_amq_called,
            "pdu_size": self.pdu_size,
        }


@dataclass(slots=True)
class VarItem:
    """One item specification of a read/write var request."""

    syntax_id: int
    transport_size: int | None
    #: Number of elements of ``transport_size`` (S7ANY) or bytes (DBREAD).
    length: int | None
    db_number: int | None
    area: int | None
    byte_address: int | None
    bit_address: int | None
    #: The item specification after its syntax id, for syntaxes other than S7ANY.
    raw: bytes

    @property
    def target(self) -> str:
        if self.area is not None:
            return consts.AREA_TARGETS.get(self.area, "memory")
        if self.syntax_id in (0x82, 0x83, 0x84):
            return "nck"
        if self.syntax_id == 0xB2:
            return "symbol"
        return "memory"

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {"syntax_id": code_name(consts.SYNTAX_IDS, self.syntax_id)}
        if self.transport_size is not None:
            out["transport_size"] = code_name(consts.ITEM_TRANSPORT_SIZES, self.transport_size)
        if self.length is not None:
            out["length"] = self.length
        if self.db_number is not None:
            out["db_number"] = self.db_number
        if self.area is not None:
            out["area"] = code_name(consts.AREAS, self.area)
        if self.byte_address is not None:
            out["byte_address"] = self.byte_address
            out["bit_address"] = self.bit_address
        if self.raw and self.syntax_id != 0x10:
            out["raw"] = self.raw.hex()
        return out


@dataclass(slots=True)
class DataItem:
    """One data item: value of a write var request or read var response, or (write var
    response) only a return code."""

    return_code: int
    transport_size: int | None
    data: bytes

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {"return_code": code_name(consts.RETURN_CODES, self.return_code)}
        if self.transport_size is not None:
            ts = code_name(consts.DATA_TRANSPORT_SIZES, self.transport_size)
            out["transport_size"] = ts
            out["length"] = len(self.data)
            out["data"] = self.data.hex()
        return out


@dataclass(slots=True)
class VarAccess(S7Pdu):
    """Read var (0x04) and write var (0x05), job and ack-data.

    The item specifications and data items are built into objects on first use of
    :attr:`items` / :attr:`data_items` (the PDU's structure, and so its anomalies, are
    checked when it is parsed; building an object per item only pays when someone reads
    them, e.g. for an output document)."""

    item_count: int
    #: The PDU and the bounds of its parameter and data parts, for the lazy item build.
    raw: bytes
    bounds: tuple[int, int, int, int]
    _built: tuple[tuple[VarItem, ...], tuple[DataItem, ...]] | None = None

    @property
    def items(self) -> tuple[VarItem, ...]:
        return self._build()[0]

    @property
    def data_items(self) -> tuple[DataItem, ...]:
        return self._build()[1]

    def _build(self) -> tuple[tuple[VarItem, ...], tuple[DataItem, ...]]:
        built = self._built
        if built is None:
            from dissectors.s7comm.variables import build_items  # noqa: PLC0415 - cycle

            built = self._built = build_items(self)
        return built

    def semantics(self) -> Semantics:
        access, target, operation = consts.FUNCTION_SEMANTICS[self.function]
        if self.items:
            target = self.items[0].target
        elif not self.request:
            target = "variable"
        return access, target, operation

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item_count": self.item_count}
        if self.items:
            out["items"] = [item.specific() for item in self.items]
        if self.data_items:
            out["data_items"] = [item.specific() for item in self.data_items]
        return out


@dataclass(slots=True)
class BlockTransfer(S7Pdu):
    """Request download, download block, download ended, start upload, upload, end
    upload. ``file_name`` such as ``_0A00001P``: block type 0A (DB), number 1, destination
    filesystem P (passive)."""

    function_status: int | None
    upload_id: int | None
    file_name: str | None
    block_type: str | None
    block_number: int | None
    filesystem: str | None
    #: Request download: load memory and MC7 lengths; start upload response: block length.
    lengths: str | None
    #: Download block / upload response: bytes of block data carried.
    data_length: int | None

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in (
            "function_status",
            "upload_id",
            "file_name",
            "block_type",
            "block_number",
            "filesystem",
            "lengths",
            "data_length",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(slots=True)
class PlcControl(S7Pdu):
    """PI service (0x28): ``service`` such as ``_INSE``, ``_DELE``, ``P_PROGRAM``,
    ``_MODU``, ``_GARB``, ``_N_...``; ``blocks`` the block names (``0A00001P``) of
    _INSE/_DELE, ``parameters`` the other parameter strings."""

    service: str | None
    parameters: tuple[str, ...]
    blocks: tuple[str, ...]

    def semantics(self) -> Semantics:
        if self.service is None:
            return consts.FUNCTION_SEMANTICS[consts.PI_SERVICE]
        return consts.pi_semantics(self.service)

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.service is not None:
            out["pi_service"] = {
                "code": self.service,
                "name": consts.pi_service_name(self.service),
            }
        if self.parameters:
            out["parameters"] = list(self.parameters)
        if self.blocks:
            out["blocks"] = list(self.blocks)
        return out


@dataclass(slots=True)
class PlcStop(S7Pdu):
    """PLC stop (0x29) with its PI service name (``P_PROGRAM``)."""

    service: str | None

    def specific(self) -> dict[str, Any]:
        if self.service is None:
            return {}
        return {"pi_service": {"code": self.service, "name": consts.pi_service_name(self.service)}}


@dataclass(slots=True)
class UserData(S7Pdu):
    """User data (ROSCTR 7): function group and subfunction, with SZL and clock details."""

    group: int
    subfunction: int
    #: 0 push, 4 request, 8 response.
    ud_type: int
    sequence: int
    data_unit_ref: int | None
    last_data_unit: bool | None
    ud_error: int | None
    return_code: int | None
    transport_size: int | None
    #: The data after the 4-byte data header (and after the SZL header for an SZL read).
    data: bytes
    szl_id: int | None
    szl_index: int | None
    szl_records: tuple[bytes, ...]
    #: Read/set clock: the PLC time as ISO 8601 text.
    clock: str | None

    @property
    def ud_type_name(self) -> str:
        return consts.table_name(consts.USERDATA_TYPES, self.ud_type)

    def semantics(self) -> Semantics:
        return consts.userdata_semantics(self.group, self.subfunction)

    def identity(self) -> dict[str, str]:
        """Module and component identification (SZL 0x0011/0x001C) as named strings."""
        if self.szl_id is None:
            return {}
        return szl.identity(self.szl_id, self.szl_records)

    def specific(self) -> dict[str, Any]:
        subs = consts.SUBFUNCTIONS.get(self.group, {})
        out: dict[str, Any] = {
            "type": self.ud_type_name,
            "group": code_name(consts.GROUPS, self.group),
            "subfunction": code_name(subs, self.subfunction),
            "sequence": self.sequence,
        }
        if self.data_unit_ref is not None:
            out["data_unit_ref"] = self.data_unit_ref
            out["last_data_unit"] = self.last_data_unit
            out["error_code"] = self.ud_error
        if self.return_code is not None:
            out["return_code"] = code_name(consts.RETURN_CODES, self.return_code)
        if self.szl_id is not None:
            out["szl_id"] = f"0x{self.szl_id:04x}"
            out["szl_index"] = f"0x{self.szl_index or 0:04x}"
            if self.szl_records:
                out["szl_record_count"] = len(self.szl_records)
                ident = self.identity()
                if ident:
                    out["identity"] = ident
        elif self.data:
            out["data"] = self.data.hex()
        if self.clock is not None:
            out["clock"] = self.clock
        return out


@dataclass(slots=True)
class S7PlusPdu(NeutralFields):
    """An S7comm-plus PDU (protocol id 0x72): recognised, header read, not decoded."""

    version: int
    data_length: int
    #: 0x31 request, 0x32 response, 0x33 notification, 0x02 response (v1); None if unread.
    opcode: int | None
    function: int | None
    sequence: int | None
    request: bool
    #: The PDU carries a V3 integrity part (digest) before its data.
    integrity: bool
    anomalies: Anomalies

    @property
    def protocol(self) -> str:
        return "s7comm_plus"

    @property
    def pdu_ref(self) -> int | None:
        return self.sequence

    @property
    def address(self) -> int | None:
        """S7comm-plus variables are not decoded: no address, no values."""
        return None

    @property
    def values(self) -> list[Any] | None:
        return None

    @property
    def function_name(self) -> str:
        if self.function is None:
            return "none"
        return consts.table_name(consts.S7PLUS_FUNCTIONS, self.function)

    def semantics(self) -> Semantics:
        if self.function is None:
            return consts.UNKNOWN_SEMANTICS
        return consts.S7PLUS_SEMANTICS.get(self.function, consts.UNKNOWN_SEMANTICS)

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "data_length": self.data_length}
        if self.opcode is not None:
            out["opcode"] = code_name(consts.S7PLUS_OPCODES, self.opcode)
        if self.function is not None:
            out["function"] = code_name(consts.S7PLUS_FUNCTIONS, self.function)
        if self.sequence is not None:
            out["sequence"] = self.sequence
        if self.integrity:
            out["integrity"] = True
        return out
