"""Data-access functions (1-6, 15, 16, 22, 23, 24): exact fields, semantics, anomalies."""

from __future__ import annotations

import pytest

from dissectors.modbus import (
    FifoQueue,
    MaskWrite,
    RawPdu,
    ReadRequest,
    ReadResponse,
    ReadWriteMultiple,
    WriteMultiple,
    WriteSingle,
)
from tests.dissectors.modbus.helpers import names, req, resp

MALFORMED = "modbus.malformed_pdu"
RANGE = "modbus.quantity_out_of_range"


@pytest.mark.parametrize(
    ("fc", "name", "target"),
    [
        (1, "read_coils", "coil"),
        (2, "read_discrete_inputs", "discrete_input"),
        (3, "read_holding_registers", "holding_register"),
        (4, "read_input_registers", "input_register"),
    ],
)
def test_read_requests(fc: int, name: str, target: str) -> None:
    r = req(bytes([fc]) + bytes.fromhex("006b0003"), tid=0x1234, unit=9)
    assert isinstance(r, ReadRequest)
    assert (r.tid, r.unit, r.function, r.function_name, r.request) == (0x1234, 9, fc, name, True)
    assert (r.address, r.quantity, r.values, r.anomalies) == (107, 3, None, ())
    assert (r.access, r.target, r.operation) == ("read", target, "read")
    assert (r.exception_code, r.exception_name) == (None, None)
    assert r.specific() == {}


def test_read_register_response() -> None:
    r = resp("03 06 022b 0000 0064")
    assert isinstance(r, ReadResponse)
    assert (r.request, r.byte_count, r.quantity, r.values) == (False, 6, 3, (555, 0, 100))
    assert r.address is None and r.anomalies == ()
    assert r.specific() == {"byte_count": 6}
    r = resp("04 02 000a")
    assert (r.function, r.target, r.values, r.quantity) == (4, "input_register", (10,), 1)


def test_read_bits_response_gives_every_bit_lsb_first() -> None:
    # spec example: coils 20-38, status bytes 0xCD 0x6B 0x05
    r = resp("01 03 cd6b05")
    assert isinstance(r, ReadResponse)
    assert r.quantity is None  # the response does not know how many were asked for
    assert r.values == (
        *(1, 0, 1, 1, 0, 0, 1, 1),
        *(1, 1, 0, 1, 0, 1, 1, 0),
        *(1, 0, 1, 0, 0, 0, 0, 0),
    )
    assert resp("02 01 80").values == (0, 0, 0, 0, 0, 0, 0, 1)
    assert resp("02 00").values == ()


@pytest.mark.parametrize(
    ("pdu", "expected"),
    [
        ("03 0000 0000", [RANGE]),
        ("03 0000 007e", [RANGE]),
        ("03 0000 007d", []),
        ("01 0000 07d0", []),
        ("01 0000 07d1", [RANGE]),
        ("02 0000 0000", [RANGE]),
        ("04 0000 0001 00", [MALFORMED]),
    ],
)
def test_read_request_limits(pdu: str, expected: list[str]) -> None:
    assert names(req(pdu)) == expected


def test_read_response_byte_count_disagreements() -> None:
    r = resp("03 04 0001")  # says 4, has 2
    assert names(r) == [MALFORMED] and r.values == (1,)
    r = resp("03 03 000100")  # odd byte count for registers
    assert names(r) == [MALFORMED] and r.values == (1,)
    r = resp("01 01 ff00")  # one byte announced, two present
    assert names(r) == [MALFORMED] and r.values == (1,) * 8


def test_too_short_for_the_fixed_fields_is_raw_and_malformed() -> None:
    r = req("03 0001")
    assert isinstance(r, RawPdu)
    assert (r.function, r.data, names(r)) == (3, b"\x00\x01", [MALFORMED])
    assert (r.access, r.target, r.operation) == ("read", "holding_register", "read")
    assert r.specific() == {"data": "0001"}
    assert names(resp("03")) == [MALFORMED]
    # the address is kept when it is there (as Wireshark shows it)
    cut = req("16 0004 00f2")
    assert (cut.address, cut.function, names(cut)) == (4, 22, [MALFORMED])
    assert req("10 0001 00").address == 1
    assert resp("18 0006 00").address is None  # a FIFO response opens with its byte count


def test_write_single_coil() -> None:
    for rec in (req("05 00ac ff00"), resp("05 00ac ff00")):
        assert isinstance(rec, WriteSingle)
        assert (rec.function_name, rec.address, rec.quantity, rec.values, rec.value) == (
            "write_single_coil", 172, 1, (1,), 0xFF00
        )  # fmt: skip
        assert (rec.access, rec.target, rec.operation) == ("write", "coil", "write")
        assert rec.specific() == {"value": 0xFF00}
    assert req("05 00ac 0000").values == (0,)
    bad = req("05 00ac 1234")
    assert bad.values is None and names(bad) == ["modbus.invalid_value"]


def test_write_single_register() -> None:
    r = req("06 0001 0003", tid=7)
    assert isinstance(r, WriteSingle)
    assert (r.address, r.quantity, r.values, r.value, r.anomalies) == (1, 1, (3,), 3, ())
    assert (r.access, r.target) == ("write", "holding_register")
    echo = resp("06 0001 0003", tid=7)
    assert (echo.request, echo.address, echo.values) == (False, 1, (3,))
    assert names(req("06 0001 0003 ff")) == [MALFORMED]


def test_write_multiple_coils_request_takes_exactly_quantity_bits() -> None:
    # spec example: 10 coils from 20 (0x13), values 0xCD 0x01
    r = req("0f 0013 000a 02 cd01")
    assert isinstance(r, WriteMultiple)
    assert (r.address, r.quantity, r.byte_count) == (19, 10, 2)
    assert r.values == (1, 0, 1, 1, 0, 0, 1, 1, 1, 0)
    assert (r.access, r.target, r.operation, r.anomalies) == ("write", "coil", "write", ())
    assert r.specific() == {"byte_count": 2}


def test_write_multiple_registers_request() -> None:
    r = req("10 0001 0002 04 000a 0102")
    assert isinstance(r, WriteMultiple)
    assert (r.address, r.quantity, r.byte_count, r.values) == (1, 2, 4, (10, 258))
    assert (r.target, r.anomalies) == ("holding_register", ())


def test_write_multiple_responses_echo_address_and_quantity() -> None:
    for pdu, target in (("0f 0013 000a", "coil"), ("10 0001 0002", "holding_register")):
        r = resp(pdu)
        assert isinstance(r, WriteMultiple)
        assert (r.address, r.values, r.byte_count, r.target) == (int(pdu[3:7], 16), None, None,
                                                                  target)  # fmt: skip
        assert r.specific() == {}
    assert resp("10 0001 0002").quantity == 2


@pytest.mark.parametrize(
    ("pdu", "expected"),
    [
        ("10 0001 0002 03 000a 01", [MALFORMED]),  # byte count disagrees with quantity
        ("10 0001 0002 05 000a 0001", [MALFORMED, MALFORMED]),  # ... and with the data
        ("10 0001 0002 04 000a", [MALFORMED]),  # data cut short
        ("10 0001 007c f8" + "00" * 248, [RANGE]),  # 124 registers: one too many
        ("10 0001 0000 00", [RANGE]),
        ("0f 0001 07b1 f7" + "00" * 247, [RANGE]),  # 1969 coils
        ("0f 0001 07b0 f6" + "00" * 246, []),
        ("0f 0001 0009 01 ff", [MALFORMED]),
    ],
)
def test_write_multiple_request_anomalies(pdu: str, expected: list[str]) -> None:
    assert names(req(pdu)) == expected


def test_write_multiple_values_never_exceed_what_is_present() -> None:
    r = req("10 0001 0003 06 000a")
    assert r.values == (10,)
    r = req("0f 0001 0010 02 ff")
    assert r.values == (1,) * 8


def test_mask_write_register() -> None:
    for rec in (req("16 0004 00f2 0025"), resp("16 0004 00f2 0025")):
        assert isinstance(rec, MaskWrite)
        assert (rec.address, rec.and_mask, rec.or_mask, rec.values) == (4, 0xF2, 0x25, None)
        assert (rec.access, rec.target, rec.operation) == ("write", "holding_register", "write")
        assert rec.specific() == {"and_mask": 0xF2, "or_mask": 0x25}


def test_read_write_multiple_registers() -> None:
    # spec example: read 6 from 4 (0x03), write 3 to 15 (0x0E)
    r = req("17 0003 0006 000e 0003 06 00ff 00ff 00ff")
    assert isinstance(r, ReadWriteMultiple)
    assert (r.address, r.quantity, r.values) == (14, 3, (255, 255, 255))
    assert (r.read_address, r.read_quantity, r.byte_count) == (3, 6, 6)
    assert (r.access, r.target, r.operation, r.anomalies) == (
        "read_write", "holding_register", "write", ()
    )  # fmt: skip
    assert r.specific() == {
        "byte_count": 6,
        "read": {"address": 3, "quantity": 6},
        "write": {"address": 14, "quantity": 3, "values": [255, 255, 255]},
    }
    r = resp("17 0c 00fe 0acd 0001 0003 000d 00ff")
    assert isinstance(r, ReadWriteMultiple)
    assert (r.values, r.quantity, r.byte_count, r.address) == (
        (0xFE, 0xACD, 1, 3, 13, 255), 6, 12, None
    )  # fmt: skip
    assert r.specific() == {"byte_count": 12}


def test_read_write_multiple_anomalies() -> None:
    # zeek's 4SICS trace: quantities and byte count far off
    r = req("17 0000 0000 00df 2112 bf" + "00" * 10)
    assert names(r) == [RANGE, RANGE, MALFORMED, MALFORMED]
    assert names(req("17 0000 007e 0000 0001 02 0001")) == [RANGE]
    assert names(req("17 0000 0001 0000 007a f4" + "00" * 244)) == [RANGE]
    assert names(resp("17 03 000100")) == [MALFORMED]


def test_read_fifo_queue() -> None:
    r = req("18 04de")
    assert isinstance(r, FifoQueue)
    assert (r.address, r.quantity, r.values, r.anomalies) == (1246, None, None, ())
    assert (r.access, r.target, r.operation) == ("read", "fifo", "read")
    assert r.specific() == {"fifo_pointer": 1246}
    r = resp("18 0006 0002 01b8 1284")
    assert isinstance(r, FifoQueue)
    assert (r.quantity, r.values, r.byte_count, r.anomalies) == (2, (440, 4740), 6, ())
    assert r.specific() == {"byte_count": 6, "fifo_count": 2, "fifo_values": [440, 4740]}


def test_read_fifo_queue_anomalies() -> None:
    assert names(resp("18 0006 0003 01b8 1284")) == [MALFORMED]  # byte count vs FIFO count
    assert names(resp("18 0004 0002 01b8 1284")) == [MALFORMED, MALFORMED]
    many = resp("18 0042 0020" + "0001" * 32)
    assert names(many) == [RANGE] and many.values == (1,) * 32
    assert names(req("18 0001 02")) == [MALFORMED]
