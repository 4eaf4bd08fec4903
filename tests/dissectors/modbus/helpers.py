"""Building Modbus/TCP ADUs by hand for the dissector tests."""

from __future__ import annotations

from dissectors.modbus import ModbusPdu, parse_adu


def adu(pdu: bytes | str, tid: int = 1, unit: int = 17, pid: int = 0) -> bytes:
    """MBAP header + PDU (hex strings may contain spaces)."""
    body = bytes.fromhex(pdu) if isinstance(pdu, str) else pdu
    return (
        tid.to_bytes(2, "big") + pid.to_bytes(2, "big") + (len(body) + 1).to_bytes(2, "big")
        + bytes([unit]) + body
    )  # fmt: skip


def req(pdu: bytes | str, tid: int = 1, unit: int = 17) -> ModbusPdu:
    return parse_adu(adu(pdu, tid, unit), True)


def resp(pdu: bytes | str, tid: int = 1, unit: int = 17) -> ModbusPdu:
    return parse_adu(adu(pdu, tid, unit), False)


def names(record: ModbusPdu) -> list[str]:
    """The anomaly names of a record, in order."""
    return [name for name, _ in record.anomalies]
