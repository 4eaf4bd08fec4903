"""Records of the diagnostic, file, identification and UMAS functions (7, 8, 11, 12, 17,
20, 21, 43, 90); see :mod:`dissectors.modbus.records` for the base record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dissectors.modbus import consts
from dissectors.modbus.records import ModbusPdu, Values, code_name, text

_RUN_INDICATOR = {0x00: "off", 0xFF: "on"}


@dataclass(slots=True)
class ReadExceptionStatus(ModbusPdu):
    """Function 7: the response's 8 exception status bits (``status``; None in requests)."""

    status: int | None

    def specific(self) -> dict[str, Any]:
        return {} if self.status is None else {"status": self.status}


@dataclass(slots=True)
class Diagnostics(ModbusPdu):
    """Function 8: sub-function and its data (the response echoes or answers it)."""

    sub_function: int
    data: bytes

    @property
    def access(self) -> str:
        return consts.DIAGNOSTIC_SEMANTICS.get(self.sub_function, consts.DIAGNOSTIC_DEFAULT)[0]

    @property
    def operation(self) -> str:
        return consts.DIAGNOSTIC_SEMANTICS.get(self.sub_function, consts.DIAGNOSTIC_DEFAULT)[1]

    def specific(self) -> dict[str, Any]:
        return {
            "sub_function": code_name(consts.DIAGNOSTICS, self.sub_function),
            "data": self.data.hex(),
        }


@dataclass(slots=True)
class CommEventCounter(ModbusPdu):
    """Function 11: status word and event count (None in requests)."""

    status: int | None
    event_count: int | None

    def specific(self) -> dict[str, Any]:
        if self.status is None:
            return {}
        return {"status": self.status, "event_count": self.event_count}


@dataclass(slots=True)
class CommEventLog(ModbusPdu):
    """Function 12: status, event and message counters and the event bytes (responses)."""

    byte_count: int | None
    status: int | None
    event_count: int | None
    message_count: int | None
    events: bytes

    def specific(self) -> dict[str, Any]:
        if self.byte_count is None:
            return {}
        return {
            "byte_count": self.byte_count,
            "status": self.status,
            "event_count": self.event_count,
            "message_count": self.message_count,
            "events": self.events.hex(),
        }


@dataclass(slots=True)
class ReportServerId(ModbusPdu):
    """Function 17. The server id's length is device-specific; it is taken to end where
    the run indicator (the first 0x00 or 0xFF byte after the first) stands, else the
    whole content is the server id and ``run_indicator`` is None."""

    byte_count: int | None
    server_id: bytes | None
    run_indicator: int | None
    additional_data: bytes

    def specific(self) -> dict[str, Any]:
        if self.server_id is None:
            return {}
        out: dict[str, Any] = {"byte_count": self.byte_count, "server_id": self.server_id.hex()}
        if self.run_indicator is not None:
            out["run_indicator"] = code_name(_RUN_INDICATOR, self.run_indicator)
        if self.additional_data:
            out["additional_data"] = text(self.additional_data)
        return out


@dataclass(slots=True)
class FileRecord:
    """One sub-request or sub-response of functions 20/21 (not a PDU by itself).
    ``file`` and ``record`` are None in read responses, which do not repeat them;
    ``length`` is in registers; ``values`` is None in read requests."""

    reference_type: int
    file: int | None
    record: int | None
    length: int
    values: Values | None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reference_type": self.reference_type}
        if self.file is not None:
            out["file"] = self.file
            out["record"] = self.record
        out["length"] = self.length
        if self.values is not None:
            out["values"] = list(self.values)
        return out


@dataclass(slots=True)
class FileRecords(ModbusPdu):
    """Functions 20 (read file record) and 21 (write file record), both directions."""

    byte_count: int
    records: tuple[FileRecord, ...]

    def specific(self) -> dict[str, Any]:
        return {
            "byte_count": self.byte_count,
            "file_records": [r.as_dict() for r in self.records],
        }


@dataclass(slots=True)
class MeiTransport(ModbusPdu):
    """Function 43 other than read device identification: MEI type and raw data (MEI 13
    carries CANopen general reference requests and responses)."""

    mei_type: int
    data: bytes

    def specific(self) -> dict[str, Any]:
        return {"mei_type": code_name(consts.MEI_TYPES, self.mei_type), "data": self.data.hex()}


@dataclass(slots=True)
class ReadDeviceId(ModbusPdu):
    """Function 43 / MEI 14, read device identification. Request: ``read_code`` and
    ``object_id``. Response: conformity level, more-follows flag, next object id and the
    objects as (id, raw bytes)."""

    read_code: int
    object_id: int | None
    conformity_level: int | None
    more_follows: int | None
    next_object_id: int | None
    objects: tuple[tuple[int, bytes], ...]

    @property
    def access(self) -> str:
        return "read"

    @property
    def target(self) -> str:
        return "device_id"

    @property
    def operation(self) -> str:
        return consts.IDENTIFY

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mei_type": code_name(consts.MEI_TYPES, consts.MEI_DEVICE_ID),
            "read_device_id_code": code_name(consts.READ_DEVICE_ID_CODES, self.read_code),
        }
        if self.object_id is not None:
            out["object_id"] = self.object_id
        if self.conformity_level is not None:
            out["conformity_level"] = code_name(consts.CONFORMITY_LEVELS, self.conformity_level)
            out["more_follows"] = self.more_follows == 0xFF
            out["next_object_id"] = self.next_object_id
            out["number_of_objects"] = len(self.objects)
            out["objects"] = {consts.device_id_object_name(i): text(v) for i, v in self.objects}
        return out


@dataclass(slots=True)
class Umas(ModbusPdu):
    """Function 90, Schneider UMAS: ``0x5A <pairing key> <UMAS code> <data>``; responses
    carry 0xFE (OK) or 0xFD (error) as the UMAS code."""

    pairing_key: int
    umas_code: int
    data: bytes

    @property
    def access(self) -> str:
        entry = consts.UMAS_FUNCTIONS.get(self.umas_code)
        return entry[1] if entry is not None else consts.UMAS_UNKNOWN[0]

    @property
    def operation(self) -> str:
        entry = consts.UMAS_FUNCTIONS.get(self.umas_code)
        return entry[2] if entry is not None else consts.UMAS_UNKNOWN[1]

    def specific(self) -> dict[str, Any]:
        return {
            "umas": {"code": self.umas_code, "name": consts.umas_name(self.umas_code)},
            "pairing_key": self.pairing_key,
            "data": self.data.hex(),
        }
