"""scapy's Modbus layers (an independent implementation) build ADUs; parse_adu must read
back exactly the fields scapy wrote."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib import modbus as mb
from scapy.layers.inet import TCP
from scapy.packet import split_layers

from dissectors.modbus import (
    CommEventCounter,
    CommEventLog,
    Diagnostics,
    ExceptionResponse,
    MaskWrite,
    ReadDeviceId,
    ReadRequest,
    ReadResponse,
    ReadWriteMultiple,
    WriteMultiple,
    WriteSingle,
    parse_adu,
)

# Importing scapy's Modbus module binds it to TCP port 502 for every later dissection in
# this process; other tests compare raw TCP payloads with scapy's, so undo that here.
split_layers(TCP, mb.ModbusADURequest, dport=502)
split_layers(TCP, mb.ModbusADUResponse, sport=502)

u16 = st.integers(0, 0xFFFF)
unit = st.integers(0, 255)
few = settings(max_examples=40, deadline=None)


def request(pdu: Any, tid: int, unit_id: int) -> bytes:
    return bytes(mb.ModbusADURequest(transId=tid, unitId=unit_id) / pdu)


def response(pdu: Any, tid: int, unit_id: int) -> bytes:
    return bytes(mb.ModbusADUResponse(transId=tid, unitId=unit_id) / pdu)


@few
@given(fc=st.sampled_from([1, 2, 3, 4]), tid=u16, unit_id=unit, addr=u16,
       qty=st.integers(1, 125))  # fmt: skip
def test_read_requests(fc: int, tid: int, unit_id: int, addr: int, qty: int) -> None:
    layer = {1: mb.ModbusPDU01ReadCoilsRequest, 2: mb.ModbusPDU02ReadDiscreteInputsRequest,
             3: mb.ModbusPDU03ReadHoldingRegistersRequest,
             4: mb.ModbusPDU04ReadInputRegistersRequest}[fc]  # fmt: skip
    r = parse_adu(request(layer(startAddr=addr, quantity=qty), tid, unit_id), True)
    assert isinstance(r, ReadRequest)
    assert (r.tid, r.unit, r.function, r.address, r.quantity, r.anomalies) == (
        tid, unit_id, fc, addr, qty, ()
    )  # fmt: skip


@few
@given(tid=u16, regs=st.lists(u16, min_size=1, max_size=125))
def test_read_registers_response(tid: int, regs: list[int]) -> None:
    pdu = mb.ModbusPDU03ReadHoldingRegistersResponse(registerVal=regs)
    r = parse_adu(response(pdu, tid, 1), False)
    assert isinstance(r, ReadResponse)
    assert (r.values, r.quantity, r.byte_count, r.anomalies) == (tuple(regs), len(regs),
                                                                 2 * len(regs), ())  # fmt: skip


@few
@given(status=st.lists(st.integers(0, 255), min_size=1, max_size=250))
def test_read_coils_response(status: list[int]) -> None:
    r = parse_adu(response(mb.ModbusPDU01ReadCoilsResponse(coilStatus=status), 9, 1), False)
    assert isinstance(r, ReadResponse)
    assert r.values == tuple((b >> i) & 1 for b in status for i in range(8))
    assert r.anomalies == ()


@few
@given(addr=u16, on=st.booleans(), value=u16)
def test_write_single(addr: int, on: bool, value: int) -> None:
    coil = mb.ModbusPDU05WriteSingleCoilRequest(outputAddr=addr, outputValue=0xFF00 if on else 0)
    r = parse_adu(request(coil, 1, 1), True)
    assert isinstance(r, WriteSingle)
    assert (r.address, r.values, r.anomalies) == (addr, (1,) if on else (0,), ())
    reg = mb.ModbusPDU06WriteSingleRegisterResponse(registerAddr=addr, registerValue=value)
    r = parse_adu(response(reg, 1, 1), False)
    assert (r.function, r.address, r.values, r.request) == (6, addr, (value,), False)


@few
@given(addr=u16, bits=st.lists(st.integers(0, 1), min_size=1, max_size=1968))
def test_write_multiple_coils(addr: int, bits: list[int]) -> None:
    packed = [sum(b << i for i, b in enumerate(bits[k : k + 8])) for k in range(0, len(bits), 8)]
    pdu = mb.ModbusPDU0FWriteMultipleCoilsRequest(
        startAddr=addr, quantityOutput=len(bits), outputsValue=packed
    )
    r = parse_adu(request(pdu, 1, 1), True)
    assert isinstance(r, WriteMultiple)
    assert (r.address, r.quantity, r.values, r.anomalies) == (addr, len(bits), tuple(bits), ())


@few
@given(addr=u16, regs=st.lists(u16, min_size=1, max_size=123))
def test_write_multiple_registers(addr: int, regs: list[int]) -> None:
    pdu = mb.ModbusPDU10WriteMultipleRegistersRequest(startAddr=addr, outputsValue=regs)
    r = parse_adu(request(pdu, 1, 1), True)
    assert isinstance(r, WriteMultiple)
    assert (r.address, r.quantity, r.values, r.byte_count, r.anomalies) == (
        addr, len(regs), tuple(regs), 2 * len(regs), ()
    )  # fmt: skip
    echo = mb.ModbusPDU10WriteMultipleRegistersResponse(startAddr=addr, quantityRegisters=3)
    r = parse_adu(response(echo, 1, 1), False)
    assert (r.address, r.quantity, r.values) == (addr, 3, None)


@few
@given(addr=u16, and_mask=u16, or_mask=u16)
def test_mask_write(addr: int, and_mask: int, or_mask: int) -> None:
    pdu = mb.ModbusPDU16MaskWriteRegisterRequest(refAddr=addr, andMask=and_mask, orMask=or_mask)
    r = parse_adu(request(pdu, 1, 1), True)
    assert isinstance(r, MaskWrite)
    assert (r.address, r.and_mask, r.or_mask) == (addr, and_mask, or_mask)


@few
@given(raddr=u16, rqty=st.integers(1, 125), waddr=u16, regs=st.lists(u16, min_size=1, max_size=121))
def test_read_write_multiple(raddr: int, rqty: int, waddr: int, regs: list[int]) -> None:
    pdu = mb.ModbusPDU17ReadWriteMultipleRegistersRequest(
        readStartingAddr=raddr, readQuantityRegisters=rqty, writeStartingAddr=waddr,
        writeRegistersValue=regs,
    )  # fmt: skip
    r = parse_adu(request(pdu, 1, 1), True)
    assert isinstance(r, ReadWriteMultiple)
    assert (r.read_address, r.read_quantity, r.address, r.quantity, r.values, r.anomalies) == (
        raddr, rqty, waddr, len(regs), tuple(regs), ()
    )  # fmt: skip


@few
@given(sub=st.sampled_from([0, 1, 2, 4, 10, 11, 20]), word=u16)
def test_diagnostics(sub: int, word: int) -> None:
    r = parse_adu(request(mb.ModbusPDU08DiagnosticsRequest(subFunc=sub, data=[word]), 1, 1), True)
    assert isinstance(r, Diagnostics)
    assert (r.sub_function, r.data, r.anomalies) == (sub, word.to_bytes(2, "big"), ())


def test_event_counter_and_log() -> None:
    r = parse_adu(response(mb.ModbusPDU0BGetCommEventCounterResponse(status=0xFFFF,
                                                                       eventCount=7), 1, 1),
                  False)  # fmt: skip
    assert isinstance(r, CommEventCounter)
    assert (r.status, r.event_count) == (0xFFFF, 7)
    r = parse_adu(response(mb.ModbusPDU0CGetCommEventLogResponse(), 1, 1), False)
    assert isinstance(r, CommEventLog)
    assert (r.status, r.event_count, r.message_count, r.events) == (0, 264, 289, b"\x20\x00")


def test_read_device_identification() -> None:
    r = parse_adu(request(mb.ModbusPDU2B0EReadDeviceIdentificationRequest(readCode=2), 1, 1), True)
    assert isinstance(r, ReadDeviceId)
    assert (r.read_code, r.object_id, r.anomalies) == (2, 0, ())


@few
@given(fc=st.sampled_from([1, 3, 5, 16]), code=st.sampled_from([1, 2, 3, 4, 6, 10, 11]))
def test_exceptions(fc: int, code: int) -> None:
    layer = {1: mb.ModbusPDU01ReadCoilsError, 3: mb.ModbusPDU03ReadHoldingRegistersError,
             5: mb.ModbusPDU05WriteSingleCoilError,
             16: mb.ModbusPDU10WriteMultipleRegistersError}[fc]  # fmt: skip
    r = parse_adu(response(layer(exceptCode=code), 3, 4), False)
    assert isinstance(r, ExceptionResponse)
    assert (r.function, r.exception_code, r.anomalies) == (fc, code, ())
