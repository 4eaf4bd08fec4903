"""Modbus/TCP dissector: MBAP framing and PDU decoding (standard library only, sans-IO).

``ModbusFramer`` turns one direction's reassembled bytes into ADUs; ``parse_adu`` turns an
ADU into a typed record (a :class:`ModbusPdu` subclass) carrying the raw fields, names,
protocol-neutral semantics and per-PDU anomalies. ``ANOMALIES`` lists every Modbus
anomaly name with its meaning, those the engine emits (pairing) included.
"""

from __future__ import annotations

from dissectors.modbus.anomalies import ANOMALIES
from dissectors.modbus.consts import EXCEPTIONS, FUNCTIONS, UMAS_FUNCTIONS, function_name
from dissectors.modbus.framing import ModbusFramer
from dissectors.modbus.pdu import parse_adu
from dissectors.modbus.records import (
    ExceptionResponse,
    FifoQueue,
    MaskWrite,
    ModbusPdu,
    RawPdu,
    ReadRequest,
    ReadResponse,
    ReadWriteMultiple,
    WriteMultiple,
    WriteSingle,
)
from dissectors.modbus.service_records import (
    CommEventCounter,
    CommEventLog,
    Diagnostics,
    FileRecord,
    FileRecords,
    MeiTransport,
    ReadDeviceId,
    ReadExceptionStatus,
    ReportServerId,
    Umas,
)

__all__ = [
    "ANOMALIES",
    "EXCEPTIONS",
    "FUNCTIONS",
    "UMAS_FUNCTIONS",
    "CommEventCounter",
    "CommEventLog",
    "Diagnostics",
    "ExceptionResponse",
    "FifoQueue",
    "FileRecord",
    "FileRecords",
    "MaskWrite",
    "MeiTransport",
    "ModbusFramer",
    "ModbusPdu",
    "RawPdu",
    "ReadDeviceId",
    "ReadExceptionStatus",
    "ReadRequest",
    "ReadResponse",
    "ReadWriteMultiple",
    "ReportServerId",
    "Umas",
    "WriteMultiple",
    "WriteSingle",
    "function_name",
    "parse_adu",
]
