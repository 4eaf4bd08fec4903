"""Object data: controls, setpoints, counters, analogs (integer and float), times, delays,
device attributes, file control (g70) and secure authentication (g120)."""

from __future__ import annotations

import json

import pytest

from dissectors.dnp3 import AppPdu, ObjectHeader, parse_app
from tests.dissectors.dnp3.helpers import h, request, response

T = "7b68e5cf8b01"  # 1700000000123 ms since 1970, 48-bit little-endian
MS = 1700000000123
F15 = "0000c03f"  # float32 1.5
DM225 = "00000000000002c0"  # float64 -2.25


def only(pdu: AppPdu) -> ObjectHeader:
    assert len(pdu.objects) == 1, pdu.objects
    assert pdu.anomalies == (), pdu.anomalies
    return pdu.objects[0]


def rows(obj: ObjectHeader) -> list[tuple[object, ...]]:
    return [(p.index, p.value, p.flags, p.time) for p in obj.points]


@pytest.mark.parametrize("fc", [3, 4, 5, 6])
def test_crob(fc: int) -> None:
    # g12v1, 2-byte index prefix and count: point 7, latch on? no: pulse on + close
    pdu = parse_app(request(fc, h("0c01 28 0100 0700 41 01 e8030000 00000000 00")))
    obj = only(pdu)
    (point,) = obj.points
    assert (point.index, point.value, point.flags, point.time) == (7, 0x41, None, None)
    assert point.extra == {
        "code": 0x41, "op_type": 1, "queue": 0, "clear": 0, "tcc": 1, "count": 1,
        "on_ms": 1000, "off_ms": 0, "status": 0,
    }  # fmt: skip
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "binary_output", "control")
    assert (pdu.address, pdu.quantity, pdu.values) == (7, 1, (0x41,))


def test_crob_response_status_and_queue_clear_bits() -> None:
    pdu = parse_app(
        response(h("0c01 17 02 03 b3 02 64000000 c8000000 04 04 03 0a 00000000 00000000 00"))
    )
    first, second = only(pdu).points
    assert first.extra is not None and second.extra is not None
    assert (first.index, first.extra["op_type"], first.extra["tcc"]) == (3, 3, 2)
    assert (first.extra["queue"], first.extra["clear"], first.extra["status"]) == (1, 1, 4)
    assert (first.extra["on_ms"], first.extra["off_ms"]) == (100, 200)
    assert (second.index, second.extra["code"], second.extra["count"]) == (4, 3, 10)


def test_pattern_control_block_and_mask() -> None:
    pdu = parse_app(request(5, h("0c02 07 01 01 01 64000000 64000000 00") + h("0c03 00 0509 15")))
    pcb, mask = pdu.objects
    assert pcb.points[0].extra is not None and pcb.points[0].extra["on_ms"] == 100
    assert [(p.index, p.value) for p in mask.points] == [(5, 1), (6, 0), (7, 1), (8, 0), (9, 1)]
    assert pdu.anomalies == ()


@pytest.mark.parametrize(
    ("variation", "data", "value"),
    [(1, "feffffff", -2), (2, "fbff", -5), (3, F15, 1.5), (4, DM225, -2.25)],
)
def test_analog_output_block_setpoints(variation: int, data: str, value: float) -> None:
    pdu = parse_app(request(5, h(f"29{variation:02x} 17 01 03") + h(data) + h("00")))
    (point,) = only(pdu).points
    assert (point.index, point.value, point.flags, point.extra) == (3, value, None, {"status": 0})
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "analog_output", "control")
    assert pdu.values == (value,)


def test_analog_inputs_integer_and_float() -> None:
    objects = (
        h("1e01 00 0000 01 ffffff7f") + h("1e02 00 0101 01 0080") + h("1e03 00 0202 9cffffff")
        + h("1e04 00 0303 0100") + h("1e05 00 0404 01" + F15) + h("1e06 00 0505 02" + DM225)
    )  # fmt: skip
    pdu = parse_app(response(objects))
    assert [rows(o)[0] for o in pdu.objects] == [
        (0, 0x7FFFFFFF, 1, None), (1, -32768, 1, None), (2, -100, None, None),
        (3, 1, None, None), (4, 1.5, 1, None), (5, -2.25, 2, None),
    ]  # fmt: skip
    assert pdu.anomalies == ()


def test_analog_input_events_with_time() -> None:
    objects = (
        h("2001 28 0100 0300 01 0a000000") + h("2003 28 0100 0400 01 0b000000" + T)
        + h("2004 17 01 05 01 0c00" + T) + h("2007 17 01 06 01" + F15 + T)
        + h("2008 17 01 07 81" + DM225 + T) + h("2006 17 01 08 01" + DM225)
        + h("2005 17 01 09 01" + F15) + h("2002 17 01 0a 01 0d00")
    )  # fmt: skip
    pdu = parse_app(response(objects, fc=0x82))
    assert [rows(o)[0] for o in pdu.objects] == [
        (3, 10, 1, None), (4, 11, 1, MS), (5, 12, 1, MS), (6, 1.5, 1, MS),
        (7, -2.25, 0x81, MS), (8, -2.25, 1, None), (9, 1.5, 1, None), (10, 13, 1, None),
    ]  # fmt: skip
    assert pdu.anomalies == ()
    assert (pdu.access, pdu.target, pdu.operation) == ("read", "analog_input", "read")


def test_counters_and_frozen_counters() -> None:
    objects = (
        h("1401 00 0000 01 ffffffff") + h("1402 00 0000 01 ffff") + h("1405 00 0000 2a000000")
        + h("1406 00 0000 2b00") + h("1501 00 0000 01 05000000") + h("1505 00 0000 01 06000000" + T)
        + h("1506 00 0000 01 0700" + T) + h("1509 00 0000 08000000") + h("150a 00 0000 0900")
        + h("1601 17 01 02 01 0a000000") + h("1605 17 01 03 01 0b000000" + T)
        + h("1701 17 01 04 01 0c000000") + h("1706 17 01 05 01 0d00" + T)
    )  # fmt: skip
    pdu = parse_app(response(objects))
    assert [rows(o)[0] for o in pdu.objects] == [
        (0, 0xFFFFFFFF, 1, None), (0, 0xFFFF, 1, None), (0, 42, None, None), (0, 43, None, None),
        (0, 5, 1, None), (0, 6, 1, MS), (0, 7, 1, MS), (0, 8, None, None), (0, 9, None, None),
        (2, 10, 1, None), (3, 11, 1, MS), (4, 12, 1, None), (5, 13, 1, MS),
    ]  # fmt: skip
    assert pdu.anomalies == ()
    assert pdu.target == "counter"


def test_binary_and_double_bit_events_with_times() -> None:
    objects = (
        h("3301 07 01" + T) + h("0203 17 02 01 81 0a00 02 01 0b00") + h("0202 17 01 03 01" + T)
        + h("0302 00 0000 81") + h("0401 17 01 04 c1") + h("0402 17 01 05 41" + T)
        + h("0403 17 01 06 81 0500") + h("0b01 17 01 07 81") + h("0b02 17 01 08 01" + T)
        + h("0d01 17 01 09 84") + h("0d02 17 01 0a 04" + T)
    )  # fmt: skip
    pdu = parse_app(response(objects, fc=0x82))
    cto, rel, *rest = pdu.objects
    assert rows(cto) == [(0, MS, None, MS)]
    assert rows(rel) == [(1, 1, 0x81, 10), (2, 0, 1, 11)]
    assert [rows(o)[0] for o in rest] == [
        (3, 0, 1, MS), (0, 2, 0x81, None), (4, 3, 0xC1, None), (5, 1, 0x41, MS),
        (6, 2, 0x81, 5), (7, 1, 0x81, None), (8, 0, 1, MS), (9, 1, None, None),
        (10, 0, None, MS),
    ]  # fmt: skip
    assert rest[-2].points[0].extra == {"status": 4}
    assert pdu.anomalies == ()
    assert pdu.target == "binary_input"  # the CTO is skipped for the target


def test_analog_output_status_events_and_command_events() -> None:
    objects = (
        h("2801 00 0000 01 05000000") + h("2803 00 0000 01" + F15) + h("2804 00 0000 01" + DM225)
        + h("2a03 17 01 01 01 06000000" + T) + h("2a08 17 01 02 01" + DM225 + T)
        + h("2b01 17 01 03 00 07000000") + h("2b04 17 01 04 01 0800" + T)
        + h("2b07 17 01 05 02" + F15 + T)
    )  # fmt: skip
    pdu = parse_app(response(objects))
    assert [rows(o)[0] for o in pdu.objects] == [
        (0, 5, 1, None), (0, 1.5, 1, None), (0, -2.25, 1, None), (1, 6, 1, MS),
        (2, -2.25, 1, MS), (3, 7, None, None), (4, 8, None, MS), (5, 1.5, None, MS),
    ]  # fmt: skip
    assert [o.points[0].extra for o in pdu.objects[5:]] == [
        {"status": 0}, {"status": 1}, {"status": 2},
    ]  # fmt: skip
    assert pdu.target == "analog_output"


def test_deadbands_write() -> None:
    pdu = parse_app(request(2, h("2201 00 0001 0a00 0b00") + h("2203 17 01 05" + F15)))
    assert [rows(o) for o in pdu.objects] == [
        [(0, 10, None, None), (1, 11, None, None)], [(5, 1.5, None, None)],
    ]  # fmt: skip
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "analog_input", "write")


def test_time_write_is_time_sync() -> None:
    pdu = parse_app(request(2, h("3201 07 01" + T)))
    assert rows(only(pdu)) == [(0, MS, None, MS)]
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "time", "time_sync")
    assert pdu.values == (MS,)


def test_other_time_objects() -> None:
    pdu = parse_app(response(h("3202 07 01" + T + "10270000") + h("3203 07 01" + T)
                             + h("3204 17 01 02" + T + "05000000 04")))  # fmt: skip
    interval, last, indexed = pdu.objects
    assert rows(interval) == [(0, MS, None, MS)]
    assert interval.points[0].extra == {"interval_ms": 10000}
    assert rows(last) == [(0, MS, None, MS)]
    assert indexed.points[0].index == 2
    assert indexed.points[0].extra == {"interval_count": 5, "interval_units": 4}
    assert pdu.anomalies == ()


def test_freeze_at_time_carries_its_time_object() -> None:
    pdu = parse_app(request(0x0B, h("3202 07 01" + T + "e8030000") + h("1400 06")))
    time, counters = pdu.objects
    assert rows(time) == [(0, MS, None, MS)]
    assert (counters.name, counters.points) == ("g20v0", ())
    assert pdu.anomalies == ()
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "counter", "control")


def test_delay_measure_response() -> None:
    pdu = parse_app(response(h("3402 07 01 2c01")))
    assert rows(only(pdu)) == [(0, 300, None, None)]
    assert pdu.objects[0].points[0].extra == {"units": "ms"}
    coarse = parse_app(response(h("3401 07 01 0500")))
    assert coarse.objects[0].points[0].extra == {"units": "s"}
    assert parse_app(request(0x17)).operation == "time_sync"


def test_assign_class_is_header_only() -> None:
    pdu = parse_app(request(0x16, h("3c02 06 0100 06 3c03 06 1e00 00 0003")))
    assert [(o.name, o.count, o.points) for o in pdu.objects] == [
        ("g60v2", None, ()), ("g1v0", None, ()), ("g60v3", None, ()), ("g30v0", 4, ()),
    ]  # fmt: skip
    assert pdu.anomalies == ()
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "configuration", "configuration")


def test_device_attributes() -> None:
    read = parse_app(request(1, h("00fe 06")))
    assert (read.access, read.target, read.operation) == ("read", "device_attributes", "identify")
    mixed = parse_app(request(1, h("00fe 06 3c01 06")))
    assert mixed.operation == "read"
    objects = (
        h("00f2 00 0000 01 05 312e322e33") + h("00f1 00 0000 02 02 0008")
        + h("00e6 00 0000 03 01 fe") + h("00f0 00 0000 04 04" + F15)
        + h("00ff 00 0000 fe 04 f201 fa01")
    )  # fmt: skip
    pdu = parse_app(response(objects))
    assert [o.points[0].value for o in pdu.objects] == ["1.2.3", 2048, -2, 1.5, "f201fa01"]
    assert [o.points[0].extra for o in pdu.objects] == [
        {"data_type": 1, "length": 5}, {"data_type": 2, "length": 2},
        {"data_type": 3, "length": 1}, {"data_type": 4, "length": 4},
        {"data_type": 254, "length": 4},
    ]  # fmt: skip
    assert pdu.anomalies == ()
    assert pdu.target == "device_attributes"
    write = parse_app(request(2, h("00f0 00 0000 02 02 0008")))
    assert write.objects[0].points[0].value == 2048
    cut = parse_app(response(h("00f2 00 0000 01 09 3132")))
    assert [a for a, _ in cut.anomalies] == ["dnp3.malformed_fragment"]


FILE_NAME = b"/data/log.txt".hex()
FILE_COMMAND = (
    "1a00 0d00" + T + "ff01 78563412 00000000 0100 0004 2a00" + FILE_NAME
)  # name offset 26, size 13, created, permissions, auth key, size, mode read, block, request


def test_file_open_read_and_close() -> None:
    size = len(h(FILE_COMMAND))
    open_req = parse_app(request(0x19, h(f"4603 5b 01 {size:02x}00") + h(FILE_COMMAND)))
    (point,) = only(open_req).points
    assert (point.index, point.value, point.time) == (None, "/data/log.txt", MS)
    assert point.extra is not None
    assert (point.extra["mode"], point.extra["auth_key"], point.extra["max_block_size"]) == (
        1, 0x12345678, 1024,
    )  # fmt: skip
    assert (open_req.access, open_req.target, open_req.operation) == ("read", "file", "file")
    write_command = h(FILE_COMMAND.replace("0100 0004", "0200 0004"))
    write_mode = parse_app(request(0x19, h(f"4603 5b 01 {size:02x}00") + write_command))
    assert write_mode.access == "write"

    status = parse_app(response(h("4604 5b 01 0d00 01000000 00100000 0004 2a00 00")))
    assert only(status).points[0].extra == {
        "size": 13, "handle": 1, "file_size": 4096, "max_block_size": 1024, "request_id": 42,
        "status": 0,
    }  # fmt: skip
    assert (status.access, status.target, status.operation) == ("read", "file", "file")

    read = parse_app(request(1, h("4605 5b 01 0800 01000000 00000000")))
    assert only(read).points[0].extra == {
        "size": 8, "handle": 1, "block": 0, "last": 0, "data_size": 0,
    }  # fmt: skip
    data = parse_app(response(h("4605 5b 01 0c00 01000000 03000080 41424344")))
    (block,) = only(data).points
    assert block.value == "41424344"
    assert block.extra is not None and (block.extra["block"], block.extra["last"]) == (3, 1)

    closing = parse_app(request(0x1A, h("4604 5b 01 0d00 01000000 00000000 0000 2b00 00")))
    assert (closing.access, closing.target, closing.operation) == ("none", "file", "file")


def test_other_file_objects() -> None:
    descriptor = "1400 0300 0100 00010000" + T + "a401 0700" + b"abc".hex()
    status = "01000000 05000000 02" + b"busy".hex()
    auth = "0c00 0400 1000 0600 00000000" + b"user".hex() + b"secret".hex()
    objects = (
        h("4607 5b 01 1700") + h(descriptor) + h("4606 5b 01 0d00") + h(status)
        + h("4608 5b 01 0300 2a2e2a") + h("4602 5b 01 1600") + h(auth)
    )  # fmt: skip
    pdu = parse_app(response(objects))
    desc, stat, spec, credentials = (o.points[0] for o in pdu.objects)
    assert (desc.value, desc.time) == ("abc", MS)
    assert desc.extra is not None and (desc.extra["file_type"], desc.extra["file_size"]) == (1, 256)
    assert stat.value == 2 and stat.extra is not None and stat.extra["text"] == "busy"
    assert spec.value == "*.*"
    assert credentials.value == "user"
    assert credentials.extra == {
        "size": 22, "user_name": "user", "password_length": 6, "auth_key": 0,
    }  # fmt: skip
    assert "secret" not in json.dumps(pdu.specific())
    assert pdu.anomalies == ()


# iti auth_change_session_keys.pcap: session key status request/response and key change
KEY_STATUS_REQ = h("c1 20 7804 07 01 0100")
KEY_STATUS = h("c1 83 9000 7805 5b 01 0f00 01000000 0100 01 02 00 0400 73746576")
KEY_CHANGE = h(
    "c2 20 7806 5b 01 4600 01000000 0100 1930b6ff7ed86bceb5b383733d3362952f541c39124dbe85f9"
    "13dae6cd0dbb72da19dc2b6e0e38b5f9496d3150b36698b74450e752898ce3212a802e9cafd7e7"
)


def test_secure_authentication_from_a_real_capture() -> None:
    request_ = parse_app(KEY_STATUS_REQ)
    assert only(request_).points[0].extra == {"user": 1}
    assert (request_.access, request_.target, request_.operation) == ("none", "auth", "auth")
    status = parse_app(KEY_STATUS)
    assert status.iin == 0x9000
    assert only(status).points[0].extra == {
        "size": 15, "key_change_sequence": 1, "user": 1, "key_wrap_algorithm": 1,
        "key_status": 2, "mac_algorithm": 0, "challenge_length": 4, "mac_length": 0,
    }  # fmt: skip
    assert status.operation == "auth"
    change = parse_app(KEY_CHANGE)
    assert only(change).points[0].extra == {
        "size": 70, "key_change_sequence": 1, "user": 1, "wrapped_key_length": 64,
    }  # fmt: skip


def test_other_authentication_objects() -> None:
    objects = (
        h("7801 5b 01 0c00 05000000 0100 04 01 aabbccdd")
        + h("7802 5b 01 0a00 05000000 0100 1122 3344")
        + h("7807 5b 01 1300 05000000 0100 0200 07" + T + "6f6f7073")
        + h("7809 5b 01 0400 01020304") + h("7803 07 01 06000000 0200")
    )  # fmt: skip
    pdu = parse_app(request(0x20, objects))
    challenge, reply, error, mac, aggressive = (o.points[0] for o in pdu.objects)
    assert challenge.extra == {
        "size": 12, "sequence": 5, "user": 1, "mac_algorithm": 4, "reason": 1,
        "challenge_length": 4,
    }  # fmt: skip
    assert reply.extra == {"size": 10, "sequence": 5, "user": 1, "mac_length": 4}
    assert error.time == MS
    assert error.extra == {
        "size": 19, "sequence": 5, "user": 1, "association": 2, "error_code": 7, "text": "oops",
    }  # fmt: skip
    assert mac.extra == {"size": 4, "mac_length": 4}
    assert aggressive.extra == {"sequence": 6, "user": 2}
    assert pdu.anomalies == ()


def test_size_prefixed_object_running_past_the_end() -> None:
    pdu = parse_app(response(h("4605 5b 02 0c00 01000000 03000080 41424344 0c00 0100")))
    assert len(pdu.objects[0].points) == 1
    assert pdu.anomalies == (
        ("dnp3.malformed_fragment", "g70v5: object of 12 bytes runs past the end"),
    )


def test_security_statistics_and_small_integers() -> None:
    pdu = parse_app(response(h("7901 17 01 02 01 0100 05000000") + h("6601 00 0001 07 08")))
    stat, ints = pdu.objects
    assert rows(stat) == [(2, 5, 1, None)] and stat.points[0].extra == {"association": 1}
    assert rows(ints) == [(0, 7, None, None), (1, 8, None, None)]
    assert stat.description == "security_statistic"
