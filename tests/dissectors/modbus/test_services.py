"""Functions 7, 8, 11, 12, 17, 20, 21, 43, 90, exceptions, unknown codes and the MBAP
header checks of parse_adu."""

from __future__ import annotations

import pytest

from dissectors.modbus import (
    CommEventCounter,
    CommEventLog,
    Diagnostics,
    ExceptionResponse,
    FileRecord,
    FileRecords,
    MeiTransport,
    RawPdu,
    ReadDeviceId,
    ReadExceptionStatus,
    ReportServerId,
    Umas,
    parse_adu,
)
from tests.dissectors.modbus.helpers import adu, names, req, resp

MALFORMED = "modbus.malformed_pdu"
INVALID_VALUE = "modbus.invalid_value"


def test_read_exception_status() -> None:
    r = req("07")
    assert isinstance(r, ReadExceptionStatus)
    assert (r.function_name, r.status, r.specific(), r.anomalies) == (
        "read_exception_status", None, {}, ()
    )  # fmt: skip
    assert (r.access, r.target, r.operation) == ("read", "exception_status", "diagnostic")
    r = resp("07 6d")
    assert isinstance(r, ReadExceptionStatus)
    assert (r.status, r.specific()) == (0x6D, {"status": 0x6D})
    assert names(req("07 00")) == [MALFORMED]
    assert names(resp("07 6d 00")) == [MALFORMED]


@pytest.mark.parametrize(
    ("sub", "name", "access", "operation"),
    [
        (0, "return_query_data", "none", "diagnostic"),
        (1, "restart_communications_option", "none", "restart"),
        (2, "return_diagnostic_register", "read", "diagnostic"),
        (4, "force_listen_only_mode", "none", "mode_change"),
        (10, "clear_counters_and_diagnostic_register", "write", "diagnostic"),
        (14, "return_server_message_count", "read", "diagnostic"),
        (20, "clear_overrun_counter_and_flag", "write", "diagnostic"),
        (9, "unknown-9", "read", "diagnostic"),
    ],
)
def test_diagnostics(sub: int, name: str, access: str, operation: str) -> None:
    for r in (req(f"08 {sub:04x} ff00"), resp(f"08 {sub:04x} ff00")):
        assert isinstance(r, Diagnostics)
        assert (r.sub_function, r.data, r.anomalies) == (sub, b"\xff\x00", ())
        assert (r.access, r.target, r.operation) == (access, "diagnostic_counter", operation)
        assert r.specific() == {"sub_function": {"code": sub, "name": name}, "data": "ff00"}


def test_diagnostics_data_lengths() -> None:
    assert req("08 0000 a537 1122 33").anomalies == ()  # echo data of any length
    assert names(req("08 0001 ff00 00")) == [MALFORMED]
    assert names(req("08 0004")) == [MALFORMED]
    assert req("08 0016 01").anomalies == ()  # undefined sub-function: not judged
    assert resp("08 0015 0003" + "0000" * 54).anomalies == ()  # Modbus Plus statistics
    assert isinstance(req("08 00"), RawPdu)


def test_comm_event_counter() -> None:
    r = req("0b")
    assert isinstance(r, CommEventCounter)
    assert (r.status, r.event_count, r.specific()) == (None, None, {})
    r = resp("0b ffff 0108")
    assert isinstance(r, CommEventCounter)
    assert r.specific() == {"status": 0xFFFF, "event_count": 264}
    assert (r.access, r.target, r.operation) == ("read", "diagnostic_counter", "diagnostic")


def test_comm_event_log() -> None:
    assert isinstance(req("0c"), CommEventLog) and req("0c").specific() == {}
    r = resp("0c 08 0000 0108 0121 2000")
    assert isinstance(r, CommEventLog)
    assert r.specific() == {
        "byte_count": 8,
        "status": 0,
        "event_count": 264,
        "message_count": 289,
        "events": "2000",
    }
    assert r.target == "event_log"
    assert names(resp("0c 09 0000 0108 0121 2000")) == [MALFORMED]


def test_report_server_id_one_byte_id() -> None:
    r = resp("11 12 00ff" + b"Wingpath Limited".hex())  # suricata-verify capture
    assert isinstance(r, ReportServerId)
    assert r.specific() == {
        "byte_count": 18,
        "server_id": "00",
        "run_indicator": {"code": 0xFF, "name": "on"},
        "additional_data": "Wingpath Limited",
    }
    assert (r.access, r.target, r.operation) == ("read", "server_id", "identify")


def test_report_server_id_long_id() -> None:
    r = resp("11 05" + b"ABCD".hex() + "00")
    assert isinstance(r, ReportServerId)
    assert (r.server_id, r.run_indicator, r.additional_data) == (b"ABCD", 0, b"")
    assert r.specific()["run_indicator"] == {"code": 0, "name": "off"}
    r = resp("11 02 4142")
    assert isinstance(r, ReportServerId)
    assert (r.server_id, r.run_indicator) == (b"AB", None)
    assert "run_indicator" not in r.specific()
    assert req("11").specific() == {}
    assert names(resp("11 05 00ff")) == [MALFORMED]


def test_read_file_record() -> None:
    # spec example: two groups, file 4 record 1 length 2, file 3 record 9 length 2
    r = req("14 0e 06 0004 0001 0002 06 0003 0009 0002")
    assert isinstance(r, FileRecords)
    assert r.records == (FileRecord(6, 4, 1, 2, None), FileRecord(6, 3, 9, 2, None))
    assert (r.access, r.target, r.operation, r.anomalies) == ("read", "file", "read", ())
    assert r.specific() == {
        "byte_count": 14,
        "file_records": [
            {"reference_type": 6, "file": 4, "record": 1, "length": 2},
            {"reference_type": 6, "file": 3, "record": 9, "length": 2},
        ],
    }
    r = resp("14 0c 05 06 0df8 46e0 05 06 3381 0000")
    assert isinstance(r, FileRecords)
    assert r.records == (
        FileRecord(6, None, None, 2, (0x0DF8, 0x46E0)),
        FileRecord(6, None, None, 2, (0x3381, 0)),
    )
    assert r.specific()["file_records"] == [
        {"reference_type": 6, "length": 2, "values": [0x0DF8, 0x46E0]},
        {"reference_type": 6, "length": 2, "values": [0x3381, 0]},
    ]


def test_write_file_record() -> None:
    pdu = "15 0d 06 0004 0007 0003 06af 04be 100d"
    for r in (req(pdu), resp(pdu)):
        assert isinstance(r, FileRecords)
        assert r.records == (FileRecord(6, 4, 7, 3, (0x06AF, 0x04BE, 0x100D)),)
        assert (r.access, r.target, r.operation, r.anomalies) == ("write", "file", "write", ())


def test_file_record_anomalies() -> None:
    assert names(req("14 00")) == ["modbus.quantity_out_of_range"]  # cisagov capture
    assert names(req("14 07 05 0004 0001 0002")) == [INVALID_VALUE]
    assert names(req("14 08 06 0004 0001 0002 06")) == [MALFORMED]  # 8 is no multiple of 7
    # sub-response length must be odd (reference type + registers)
    assert names(resp("14 04 04 06 0001")) == ["modbus.quantity_out_of_range", MALFORMED]
    # byte count 9 but 8 bytes; 3 registers announced, 1 byte of data
    assert names(req("15 09 06 0004 0007 0003 06")) == [MALFORMED, MALFORMED]


def test_read_device_identification_request() -> None:
    r = req("2b 0e 01 00")
    assert isinstance(r, ReadDeviceId)
    assert (r.read_code, r.object_id, r.anomalies) == (1, 0, ())
    assert (r.function_name, r.access, r.target, r.operation) == (
        "encapsulated_interface_transport", "read", "device_id", "identify"
    )  # fmt: skip
    assert r.specific() == {
        "mei_type": {"code": 14, "name": "read_device_identification"},
        "read_device_id_code": {"code": 1, "name": "basic"},
        "object_id": 0,
    }
    assert names(req("2b 0e 05 00")) == [INVALID_VALUE]
    assert names(req("2b 0e 03 01 00")) == [MALFORMED]  # suricata-verify capture


def test_read_device_identification_response() -> None:
    objects = "00 03" + b"ACM".hex() + "01 02" + b"P1".hex() + "02 04" + b"v1.0".hex()
    r = resp("2b 0e 01 81 00 00 03 " + objects)
    assert isinstance(r, ReadDeviceId)
    assert r.objects == ((0, b"ACM"), (1, b"P1"), (2, b"v1.0"))
    assert r.specific() == {
        "mei_type": {"code": 14, "name": "read_device_identification"},
        "read_device_id_code": {"code": 1, "name": "basic"},
        "conformity_level": {"code": 0x81, "name": "basic_individual"},
        "more_follows": False,
        "next_object_id": 0,
        "number_of_objects": 3,
        "objects": {"vendor_name": "ACM", "product_code": "P1", "major_minor_revision": "v1.0"},
    }
    assert r.anomalies == ()


def test_device_id_strings_are_printable_and_private_objects_named() -> None:
    r = resp("2b 0e 04 83 ff 81 02 05 04 ab0a4e00 80 03 41 1b 42")
    assert r.specific()["objects"] == {"model_name": "«\\x0aN", "object-128": "A\\x1bB"}
    assert r.specific()["more_follows"] is True


def test_device_id_response_anomalies() -> None:
    # zeek's modbus-eit capture: bad conformity level, more-follows flag, trailing bytes
    r = resp("2b 0e 01 00 4d b7 00 00 00 00 00 00")
    assert names(r) == [INVALID_VALUE, INVALID_VALUE, MALFORMED]
    assert names(resp("2b 0e 01 01 00 00 02 00 03 4142")) == [MALFORMED]  # cut off
    assert names(resp("2b 0e 01 01 00 00 01 00 05 4142")) == [MALFORMED]


def test_other_mei_types_keep_raw_data() -> None:
    r = req("2b 0d 0102030405")
    assert isinstance(r, MeiTransport)
    assert (r.mei_type, r.data) == (13, bytes.fromhex("0102030405"))
    assert (r.access, r.target, r.operation) == ("none", "none", "unknown")
    assert r.specific() == {
        "mei_type": {"code": 13, "name": "canopen_general_reference"},
        "data": "0102030405",
    }
    assert req("2b 07").specific() == {"mei_type": {"code": 7, "name": "unknown-7"}, "data": ""}


@pytest.mark.parametrize(
    ("pdu", "code", "name", "access", "operation"),
    [
        ("5a 00 02", 0x02, "read_id", "read", "identify"),
        ("5a 00 01 00", 0x01, "init_comm", "none", "diagnostic"),
        ("5a 00 10 434c0000", 0x10, "take_plc_reservation", "none", "auth"),
        ("5a 01 12", 0x12, "keep_alive", "none", "auth"),
        ("5a 01 20 0013", 0x20, "read_memory_block", "read", "read"),
        ("5a 01 23 00", 0x23, "write_variables", "write", "write"),
        ("5a 01 30 0001", 0x30, "initialize_upload", "write", "program_download"),
        ("5a 01 31 0001", 0x31, "upload_block", "write", "program_download"),
        ("5a 01 34 000101", 0x34, "download_block", "read", "program_upload"),
        ("5a 01 40 ff", 0x40, "start_plc", "none", "mode_change"),
        ("5a 01 41 ff", 0x41, "stop_plc", "none", "mode_change"),
        ("5a 01 58", 0x58, "check_plc", "none", "diagnostic"),
        ("5a 01 99", 0x99, "unknown-153", "none", "unknown"),
    ],
)
def test_umas_requests(pdu: str, code: int, name: str, access: str, operation: str) -> None:
    r = req(pdu)
    assert isinstance(r, Umas)
    assert (r.function, r.function_name, r.umas_code, r.pairing_key) == (
        90, "umas", code, int(pdu[3:5], 16)
    )  # fmt: skip
    assert (r.access, r.target, r.operation) == (access, "plc", operation)
    assert r.specific()["umas"] == {"code": code, "name": name}


def test_umas_responses() -> None:
    r = resp("5a 01 fe 0b000000")
    assert isinstance(r, Umas)
    assert r.specific() == {
        "umas": {"code": 0xFE, "name": "response_ok"},
        "pairing_key": 1,
        "data": "0b000000",
    }
    assert resp("5a 00 fd 0102").specific()["umas"] == {"code": 0xFD, "name": "response_error"}
    assert names(req("5a 00")) == [MALFORMED]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (1, "illegal_function"),
        (2, "illegal_data_address"),
        (3, "illegal_data_value"),
        (4, "server_device_failure"),
        (5, "acknowledge"),
        (6, "server_device_busy"),
        (7, "negative_acknowledge"),
        (8, "memory_parity_error"),
        (10, "gateway_path_unavailable"),
        (11, "gateway_target_device_failed_to_respond"),
    ],
)
def test_exception_responses(code: int, name: str) -> None:
    r = resp(bytes([0x83, code]), tid=4, unit=2)
    assert isinstance(r, ExceptionResponse)
    assert (r.tid, r.unit, r.function, r.function_name) == (4, 2, 3, "read_holding_registers")
    assert (r.exception_code, r.exception_name, r.anomalies) == (code, name, ())
    assert (r.access, r.target, r.operation) == ("read", "holding_register", "read")
    assert r.specific() == {}


def test_exception_anomalies() -> None:
    r = resp("90 09")
    assert (r.function, r.exception_code, r.exception_name) == (16, 9, "unknown-9")
    assert names(r) == ["modbus.invalid_exception_code"]
    assert names(resp("81 02 00")) == [MALFORMED]
    assert isinstance(resp("81"), RawPdu) and names(resp("81")) == [MALFORMED]
    sent_by_client = req("81 06")
    assert isinstance(sent_by_client, ExceptionResponse)
    assert (sent_by_client.function, sent_by_client.exception_code) == (1, 6)
    assert names(sent_by_client) == ["modbus.invalid_function_code"]
    umas_error = resp("da 01")
    assert (umas_error.function, umas_error.target, umas_error.exception_code) == (90, "plc", 1)


@pytest.mark.parametrize("fc", [9, 13, 41, 65, 72, 100, 110, 127])
def test_unknown_and_user_defined_functions_keep_raw_data(fc: int) -> None:
    for r in (req(bytes([fc]) + b"\x01\x02"), resp(bytes([fc]) + b"\x01\x02")):
        assert isinstance(r, RawPdu)
        assert (r.function, r.function_name, r.data, r.anomalies) == (
            fc, f"unknown-{fc}", b"\x01\x02", ()
        )  # fmt: skip
        assert (r.access, r.target, r.operation) == ("none", "none", "unknown")
        assert r.specific() == {"data": "0102"}


def test_function_code_zero() -> None:
    r = req("00 0102")
    assert (r.function, r.function_name) == (0, "unknown-0")
    assert names(r) == ["modbus.invalid_function_code"]


def test_mbap_header_checks() -> None:
    r = parse_adu(adu("03 0000 0001", pid=5), True)
    assert r.quantity == 1 and names(r) == ["modbus.invalid_protocol_id"]
    r = parse_adu(adu("03 0000 0001") + b"\x00", True)
    assert names(r) == ["modbus.invalid_length", MALFORMED]
    short = parse_adu(bytes.fromhex("00070000000211"), True)
    assert isinstance(short, RawPdu)
    assert (short.tid, short.unit, short.function, names(short)) == (7, 0x11, 0, [MALFORMED])
    assert names(parse_adu(b"", False)) == [MALFORMED]
