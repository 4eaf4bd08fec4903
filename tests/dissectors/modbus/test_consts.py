"""Name tables, semantics tables and the anomaly registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dissectors import modbus
from dissectors.modbus import (
    ANOMALIES,
    EXCEPTIONS,
    FUNCTIONS,
    UMAS_FUNCTIONS,
    consts,
    function_name,
)
from dissectors.modbus import anomalies as anomaly_module

PACKAGE = Path(modbus.__file__).parent
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def test_public_function_names() -> None:
    assert FUNCTIONS[3] == "read_holding_registers"
    assert FUNCTIONS[23] == "read_write_multiple_registers"
    assert FUNCTIONS[43] == "encapsulated_interface_transport"
    assert FUNCTIONS[90] == "umas"
    assert sorted(FUNCTIONS) == [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24,
                                 43, 90]  # fmt: skip
    assert all(SNAKE.match(n) for n in FUNCTIONS.values())


@pytest.mark.parametrize("code", [0, 9, 65, 99, 127, 128, 255, 1000, -1])
def test_unknown_codes_are_named_not_errors(code: int) -> None:
    assert function_name(code) == f"unknown-{code}"
    assert consts.exception_name(code) == f"unknown-{code}"


def test_every_public_function_has_semantics() -> None:
    assert set(consts.SEMANTICS) == set(FUNCTIONS)
    for access, target, operation in consts.SEMANTICS.values():
        assert access in ("read", "write", "read_write", "none")
        assert SNAKE.match(target) and SNAKE.match(operation)


def test_exception_names() -> None:
    assert sorted(EXCEPTIONS) == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11]
    assert EXCEPTIONS[11] == "gateway_target_device_failed_to_respond"


def test_diagnostics_and_mei_tables() -> None:
    assert consts.diagnostic_name(0) == "return_query_data"
    assert consts.diagnostic_name(20) == "clear_overrun_counter_and_flag"
    assert consts.diagnostic_name(7) == "unknown-7"
    assert consts.mei_name(13) == "canopen_general_reference"
    assert consts.mei_name(14) == "read_device_identification"
    assert [consts.device_id_object_name(i) for i in (0, 6, 7, 0x80, 0xFF)] == [
        "vendor_name", "user_application_name", "object-7", "object-128", "object-255"
    ]  # fmt: skip
    assert consts.READ_DEVICE_ID_CODES == {1: "basic", 2: "regular", 3: "extended",
                                           4: "individual"}  # fmt: skip


def test_umas_table() -> None:
    assert UMAS_FUNCTIONS[0x41][::2] == ("stop_plc", "mode_change")
    assert UMAS_FUNCTIONS[0xFE][0] == "response_ok"
    assert UMAS_FUNCTIONS[0xFD][0] == "response_error"
    assert consts.umas_name(0x28) == "unknown-40"
    for name, access, operation in UMAS_FUNCTIONS.values():
        assert SNAKE.match(name) and SNAKE.match(operation)
        assert access in ("read", "write", "none")
    # program into the PLC (UMAS "upload") vs out of it (UMAS "download")
    assert {UMAS_FUNCTIONS[c][2] for c in (0x30, 0x31, 0x32)} == {"program_download"}
    assert {UMAS_FUNCTIONS[c][2] for c in (0x33, 0x34, 0x35)} == {"program_upload"}


def test_anomaly_registry_is_complete_and_well_formed() -> None:
    constants = {
        value for name, value in vars(anomaly_module).items()
        if name.isupper() and isinstance(value, str)
    }  # fmt: skip
    assert constants == set(ANOMALIES)
    for name, meaning in ANOMALIES.items():
        assert re.match(r"^modbus\.[a-z_]+$", name)
        assert meaning.endswith(".") and len(meaning) > 20
    engine = {"modbus.unsolicited_response", "modbus.unanswered_request",
              "modbus.too_many_outstanding"}  # fmt: skip
    assert engine <= set(ANOMALIES)


def test_no_anomaly_name_is_spelled_out_elsewhere_in_the_package() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.name == "anomalies.py":
            continue
        for literal in re.findall(r"\"(modbus\.[a-z_]+)\"", path.read_text()):
            assert literal in ANOMALIES, f"{path.name}: {literal}"


def test_exports() -> None:
    for name in ("ModbusFramer", "parse_adu", "ModbusPdu", "ANOMALIES", "FUNCTIONS",
                 "function_name", "EXCEPTIONS"):  # fmt: skip
        assert name in modbus.__all__ and hasattr(modbus, name)
