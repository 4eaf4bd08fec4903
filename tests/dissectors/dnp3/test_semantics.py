"""Name tables and the protocol-neutral semantics (access, target, operation)."""

from __future__ import annotations

import pytest

from dissectors.dnp3 import (
    ANOMALIES,
    FUNCTIONS,
    GROUPS,
    IIN_FLAGS,
    LINK_PRIMARY_FUNCTIONS,
    LINK_SECONDARY_FUNCTIONS,
    function_name,
    parse_app,
)
from dissectors.dnp3 import consts as c
from tests.dissectors.dnp3.helpers import h, request, response

OPERATIONS = {"read", "write", "control", "restart", "mode_change", "configuration", "file",
              "time_sync", "auth", "session", "identify", "unknown"}  # fmt: skip
TARGETS = {"binary_input", "double_bit_input", "binary_output", "counter", "frozen_counter",
           "analog_input", "analog_output", "time", "class_data", "file", "iin",
           "device_attributes", "octet_string", "auth", "none", "device", "application",
           "configuration"}  # fmt: skip


def test_function_table_covers_ieee_1815() -> None:
    assert set(FUNCTIONS) == set(range(0x22)) | {0x81, 0x82, 0x83}
    assert len(set(FUNCTIONS.values())) == len(FUNCTIONS)
    assert FUNCTIONS[0x06] == "direct_operate_nr" and FUNCTIONS[0x18] == "record_current_time"
    assert set(c.FUNCTION_SEMANTICS) == set(FUNCTIONS)
    for access, target, operation in c.FUNCTION_SEMANTICS.values():
        assert access in ("read", "write", "none")
        assert target in TARGETS or target == c.FROM_OBJECTS
        assert operation in OPERATIONS
    assert function_name(0x99) == "unknown-153"


def test_other_tables() -> None:
    assert LINK_PRIMARY_FUNCTIONS[4] == "unconfirmed_user_data"
    assert LINK_SECONDARY_FUNCTIONS[11] == "link_status"
    assert len(IIN_FLAGS) == 16 and sorted(IIN_FLAGS) == [1 << i for i in range(16)]
    assert GROUPS[12] == "crob" and GROUPS[120] == "authentication"
    assert set(c.GROUP_TARGETS.values()) <= TARGETS
    assert all(name.startswith("dnp3.") and text.endswith(".") for name, text in ANOMALIES.items())
    engine = {"dnp3.not_dnp3", "dnp3.unexpected_response", "dnp3.unanswered_request",
              "dnp3.too_many_outstanding"}  # fmt: skip
    assert engine <= set(ANOMALIES)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        (request(0x00), ("none", "none", "session")),
        (request(0x01, h("0100 06")), ("read", "binary_input", "read")),
        (request(0x01, h("0400 06 3c02 06")), ("read", "double_bit_input", "read")),
        (request(0x01, h("1500 06")), ("read", "frozen_counter", "read")),
        (request(0x01), ("read", "none", "read")),
        (request(0x02, h("5001 00 0707 00")), ("write", "iin", "write")),
        (request(0x03, h("0c01 17 01 00 03 01 64000000 64000000 00")),
         ("write", "binary_output", "control")),
        (request(0x04, h("2902 17 01 00 0500 00")), ("write", "analog_output", "control")),
        (request(0x07, h("1400 06")), ("write", "counter", "control")),
        (request(0x0A, h("1400 06")), ("write", "counter", "control")),
        (request(0x0D), ("none", "device", "restart")),
        (request(0x0E), ("none", "device", "restart")),
        (request(0x0F), ("none", "application", "mode_change")),
        (request(0x12), ("none", "application", "mode_change")),
        (request(0x13), ("write", "configuration", "configuration")),
        (request(0x14, h("3c02 06")), ("write", "configuration", "configuration")),
        (request(0x15, h("3c02 06")), ("write", "configuration", "configuration")),
        (request(0x1F), ("write", "configuration", "configuration")),
        (request(0x17), ("none", "time", "time_sync")),
        (request(0x18), ("none", "time", "time_sync")),
        (request(0x1B), ("write", "file", "file")),
        (request(0x1C), ("read", "file", "file")),
        (request(0x1D), ("none", "file", "file")),
        (request(0x1E), ("none", "file", "file")),
        (request(0x21), ("none", "auth", "auth")),
        (response(), ("read", "none", "read")),
        (response(h("0b01 17 01 02 81"), fc=0x82), ("read", "binary_output", "read")),
        (response(h("1e01 00 0000 01 00000000")), ("read", "analog_input", "read")),
        (response(h("3301 07 01 000000000000")), ("read", "time", "read")),
        (response(h("4604 5b 01 0d00 01000000 00100000 0004 2a00 00"), fc=0x82),
         ("read", "file", "file")),
        (response(fc=0x83), ("none", "auth", "auth")),
        (h("c077"), ("none", "none", "unknown")),
    ],
)  # fmt: skip
def test_semantics(fragment: bytes, expected: tuple[str, str, str]) -> None:
    pdu = parse_app(fragment)
    assert (pdu.access, pdu.target, pdu.operation) == expected
    assert pdu.protocol == "dnp3"


def test_write_of_file_data_is_a_file_write() -> None:
    pdu = parse_app(request(0x02, h("4605 5b 01 0a00 01000000 00000080 4142")))
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "file", "file")
