"""Application layer: header fields, IIN, every qualifier kind, truncation and limits."""

from __future__ import annotations

import json
import struct

import pytest

from dissectors.dnp3 import ANOMALIES, AppPdu, ObjectHeader, Point, function_name, parse_app
from tests.dissectors.dnp3.helpers import h, header, request, response

# zeek dnp3_read.pcap: class 0 poll response (binary inputs, outputs, 32-bit analogs)
POLL = h(
    "c881000001020000088101810101010101010a02000006000000000000011e0100000e01ef0300000103"
    "00000001ed030000012bd1ffff01ed03000001e62e000001170d0200000000000001b50c020000000000"
    "00018a0d02000000000000000000000000000000000000000000"
)


def names(pdu: AppPdu) -> list[str]:
    return [name for name, _ in pdu.anomalies]


def only(pdu: AppPdu) -> ObjectHeader:
    assert len(pdu.objects) == 1, pdu.objects
    return pdu.objects[0]


def values(obj: ObjectHeader) -> list[int | float | str | None]:
    return [p.value for p in obj.points]


def test_class_poll_request() -> None:
    pdu = parse_app(h("c8013c02063c03063c04063c0106"))
    assert (pdu.fir, pdu.fin, pdu.con, pdu.uns, pdu.seq) == (True, True, False, False, 8)
    assert (pdu.function, pdu.function_name, pdu.request, pdu.iin) == (1, "read", True, None)
    assert [(o.name, o.qualifier, o.range_code, o.count) for o in pdu.objects] == [
        ("g60v2", 6, 6, None), ("g60v3", 6, 6, None), ("g60v4", 6, 6, None),
        ("g60v1", 6, 6, None),
    ]  # fmt: skip
    assert all(o.points == () and o.description == "class_data" for o in pdu.objects)
    assert (pdu.access, pdu.target, pdu.operation) == ("read", "class_data", "read")
    assert (pdu.address, pdu.quantity, pdu.values) == (None, None, None)
    assert pdu.anomalies == () and pdu.points_dropped == 0


def test_poll_response_matches_tshark() -> None:
    pdu = parse_app(POLL)
    assert (pdu.function_name, pdu.request, pdu.unsolicited, pdu.iin) == (
        "response", False, False, 0,
    )  # fmt: skip
    assert [(o.name, o.start, o.stop, o.count) for o in pdu.objects] == [
        ("g1v2", 0, 8, 9), ("g10v2", 0, 6, 7), ("g30v1", 0, 14, 15),
    ]  # fmt: skip
    bi, _, ai = pdu.objects
    assert values(bi) == [1, 0, 1, 0, 0, 0, 0, 0, 0]
    assert [p.flags for p in bi.points[:3]] == [0x81, 0x01, 0x81]
    assert [p.index for p in ai.points] == list(range(15))
    assert values(ai)[:7] == [1007, 3, 1005, -11989, 1005, 12006, 134423]
    assert (pdu.access, pdu.target, pdu.operation) == ("read", "binary_input", "read")
    assert (pdu.address, pdu.quantity) == (0, 9)
    assert pdu.values == (1, 0, 1, 0, 0, 0, 0, 0, 0)
    assert pdu.anomalies == ()


def test_iin_flags() -> None:
    pdu = parse_app(response(iin=0x9006))
    assert pdu.iin == 0x9006
    assert pdu.iin_flags == ("need_time", "device_restart", "object_unknown", "parameter_error")
    assert parse_app(response(iin=0)).iin_flags == ()
    every = parse_app(response(iin=0xFFFF)).iin_flags
    assert every == (
        "all_stations", "class_1_events", "class_2_events", "class_3_events", "need_time",
        "local_control", "device_trouble", "device_restart", "no_func_code_support",
        "object_unknown", "parameter_error", "event_buffer_overflow", "already_executing",
        "config_corrupt", "reserved_2", "reserved_1",
    )  # fmt: skip
    assert parse_app(request(1)).iin_flags == ()


def test_unsolicited_and_auth_responses_carry_iin() -> None:
    pdu = parse_app(response(iin=0x0100, fc=0x82, ctl=0xF3))
    assert (pdu.unsolicited, pdu.uns, pdu.con, pdu.iin) == (True, True, True, 0x0100)
    assert parse_app(response(iin=0x1234, fc=0x83)).iin == 0x1234


@pytest.mark.parametrize(
    ("qualifier", "range_field", "prefixes", "start", "stop", "count", "indexes"),
    [
        (0x00, "0507", [], 5, 7, 3, [5, 6, 7]),
        (0x01, "0001 0201", [], 0x100, 0x102, 3, [0x100, 0x101, 0x102]),
        (0x02, "00000100 02000100", [], 0x10000, 0x10002, 3, [0x10000, 0x10001, 0x10002]),
        (0x03, "0507", [], 5, 7, 3, [5, 6, 7]),
        (0x04, "0500 0700", [], 5, 7, 3, [5, 6, 7]),
        (0x05, "05000000 07000000", [], 5, 7, 3, [5, 6, 7]),
        (0x07, "03", [], None, None, 3, [0, 1, 2]),
        (0x08, "0300", [], None, None, 3, [0, 1, 2]),
        (0x09, "03000000", [], None, None, 3, [0, 1, 2]),
        (0x17, "03", ["04", "09", "20"], None, None, 3, [4, 9, 0x20]),
        (0x28, "0300", ["0400", "0900", "2001"], None, None, 3, [4, 9, 0x120]),
        (0x39, "03000000", ["04000000", "09000000", "20000100"], None, None, 3,
         [4, 9, 0x10020]),
    ],
)  # fmt: skip
def test_range_and_index_prefix_kinds(
    qualifier: int, range_field: str, prefixes: list[str], start: int | None,
    stop: int | None, count: int, indexes: list[int],
) -> None:  # fmt: skip
    # g20v6, 16-bit counters without flags, each behind its index prefix (if any)
    data = h(range_field)
    for i in range(count):
        data += (h(prefixes[i]) if prefixes else b"") + struct.pack("<H", 1000 + i)
    pdu = parse_app(response(header(20, 6, qualifier) + data))
    obj = only(pdu)
    assert (obj.start, obj.stop, obj.count) == (start, stop, count)
    assert (obj.prefix_code, obj.range_code) == (qualifier >> 4, qualifier & 15)
    assert [p.index for p in obj.points] == indexes
    assert values(obj) == [1000, 1001, 1002]
    assert pdu.anomalies == ()


def test_index_prefixes_in_a_read_request_have_no_values() -> None:
    pdu = parse_app(request(1, h("0102 17 02 03 09") + h("1e01 06")))
    first, second = pdu.objects
    assert [(p.index, p.value) for p in first.points] == [(3, None), (9, None)]
    assert (second.name, second.points) == ("g30v1", ())
    assert pdu.address == 3 and pdu.quantity == 2 and pdu.anomalies == ()


def test_read_with_start_stop_has_no_data() -> None:
    pdu = parse_app(request(1, h("1e02 00 0009") + h("0102 01 00000a00")))
    assert [(o.name, o.count, o.points) for o in pdu.objects] == [
        ("g30v2", 10, ()), ("g1v2", 11, ()),
    ]  # fmt: skip
    assert pdu.anomalies == ()


def test_packed_objects() -> None:
    pdu = parse_app(
        response(h("0101 00 0009 a501") + h("0301 00 0004 e4 02") + h("0a01 0000 02 05"))
    )
    bits, doubles, outputs = pdu.objects
    assert values(bits) == [1, 0, 1, 0, 0, 1, 0, 1, 1, 0]
    assert [p.index for p in doubles.points] == [0, 1, 2, 3, 4]
    assert values(doubles) == [0, 1, 2, 3, 2]
    assert values(outputs) == [1, 0, 1]
    assert pdu.anomalies == ()


def test_write_clearing_the_restart_bit() -> None:
    pdu = parse_app(request(2, h("5001 00 0707 00")))
    obj = only(pdu)
    assert [(p.index, p.value) for p in obj.points] == [(7, 0)]
    assert (pdu.access, pdu.target, pdu.operation) == ("write", "iin", "write")


def test_free_format_with_one_byte_size_prefix() -> None:
    pdu = parse_app(request(2, h("6e03 4b 02 03 616263 03 646566")))  # g110v3, qualifier 0x4B
    obj = only(pdu)
    assert (obj.name, obj.prefix_code, obj.range_code, obj.count) == ("g110v3", 4, 11, 2)
    assert [(p.index, p.value) for p in obj.points] == [(None, "616263"), (None, "646566")]


def test_free_format_without_a_prefix_is_sized_by_the_object_library() -> None:
    pdu = parse_app(request(2, h("6e02 0b 02 6162 6364") + h("3201 0b 01 7b68e5cf8b01")))
    strings, time = pdu.objects
    assert [(p.index, p.value) for p in strings.points] == [(None, "6162"), (None, "6364")]
    assert [(p.index, p.value) for p in time.points] == [(None, 1700000000123)]
    assert pdu.anomalies == ()
    read = parse_app(request(1, h("6e02 0b 02 3c01 06")))
    assert [(o.name, o.count, o.points) for o in read.objects] == [
        ("g110v2", 2, ()), ("g60v1", None, ()),
    ]  # fmt: skip


def test_octet_strings() -> None:
    pdu = parse_app(response(h("6e04 00 0102 deadbeef 01020304") + h("7102 17 01 05 abcd")))
    strings, events = pdu.objects
    assert [(p.index, p.value) for p in strings.points] == [(1, "deadbeef"), (2, "01020304")]
    assert [(p.index, p.value) for p in events.points] == [(5, "abcd")]
    assert pdu.target == "octet_string"


def test_object_header_cut() -> None:
    pdu = parse_app(request(1, h("3c0206 3c")))
    assert [o.name for o in pdu.objects] == ["g60v2"]
    assert names(pdu) == ["dnp3.malformed_fragment"]
    assert pdu.anomalies[0][1] == "object header cut at offset 5"


@pytest.mark.parametrize(
    ("objects", "problem"),
    [
        (h("0102 00 05"), "g1v2: range cut"),
        (h("0102 01 0500"), "g1v2: range cut"),
        (h("0102 08 05"), "g1v2: count cut"),
        (h("0102 00 0502"), "g1v2: range stop 2 before start 5"),
        (h("0102 0a 05"), "g1v2: reserved range code 10"),
        (h("0102 7b 01"), "g1v2: reserved prefix code 7"),
    ],
)
def test_bad_qualifiers_and_ranges(objects: bytes, problem: str) -> None:
    tail = b"" if "cut" in problem else h("1e04 0000 00 0100")
    pdu = parse_app(response(h("1e04 0000 00 0100") + objects + tail))
    assert [o.name for o in pdu.objects] == ["g30v4", "g1v2"]  # the walk ends at the fault
    assert pdu.anomalies == (("dnp3.malformed_fragment", problem),)


def test_object_data_running_past_the_end_keeps_what_fits() -> None:
    pdu = parse_app(response(h("1e02 00 0004 01 0a00 01 0b00 01 0c")))
    obj = only(pdu)
    assert (obj.count, values(obj)) == (5, [10, 11])
    assert pdu.anomalies == (
        ("dnp3.malformed_fragment", "g30v2: 5 objects of 3 bytes run past the end"),
    )


def test_packed_data_running_past_the_end() -> None:
    pdu = parse_app(response(h("0101 00 0017 ff")))  # 24 points, one octet
    assert values(only(pdu)) == [1] * 8
    assert names(pdu) == ["dnp3.malformed_fragment"]


def test_unknown_object_ends_the_walk() -> None:
    pdu = parse_app(
        response(h("1e04 00 0000 0700") + h("6301 00 0000 00") + h("1e04 00 0000 0700"))
    )
    assert [o.name for o in pdu.objects] == ["g30v4", "g99v1"]
    assert pdu.anomalies == (("dnp3.unknown_object", "g99v1"),)
    assert values(pdu.objects[0]) == [7]


def test_unknown_object_in_a_read_is_fine() -> None:
    pdu = parse_app(request(1, h("6301 06 ff00 06")))
    assert [o.name for o in pdu.objects] == ["g99v1", "g255v0"]
    assert pdu.anomalies == ()


def test_variable_size_object_without_size_prefix() -> None:
    pdu = parse_app(request(25, h("4603 07 01 00")))
    assert [o.name for o in pdu.objects] == ["g70v3"]
    assert pdu.anomalies == (("dnp3.unknown_object", "g70v3: variable size without a size prefix"),)


def test_points_truncated_across_objects() -> None:
    objects = h("0102 00 0004 0181010101") + h("0a02 00 0002 010101")
    pdu = parse_app(response(objects), max_points=6)
    first, second = pdu.objects
    assert (len(first.points), len(second.points)) == (5, 1)
    assert pdu.points_dropped == 2
    assert pdu.anomalies == (("dnp3.points_truncated", "2 points beyond the first 6"),)
    assert pdu.specific()["points_dropped"] == 2
    assert parse_app(response(objects), max_points=0).points_dropped == 8


def test_huge_ranges_cost_nothing_beyond_the_kept_points() -> None:
    # 2^32 - 1 zero-length objects (g110v0) and a READ of 4 billion points
    pdu = parse_app(request(2, h("6e00 02 00000000 feffffff")))
    obj = only(pdu)
    assert obj.count == 0xFFFFFFFF and len(obj.points) == 4096
    assert pdu.points_dropped == 0xFFFFFFFF - 4096
    assert parse_app(request(1, h("1e01 02 00000000 ffffffff"))).anomalies == ()


def test_invalid_function_code() -> None:
    pdu = parse_app(h("c040 0102 06"))
    assert (pdu.function, pdu.function_name, pdu.objects) == (0x40, "unknown-64", ())
    assert pdu.anomalies == (("dnp3.invalid_function_code", "function code 64"),)
    assert (pdu.access, pdu.target, pdu.operation) == ("none", "none", "unknown")


def test_empty_and_short_fragments() -> None:
    empty = parse_app(b"")
    assert (empty.function, empty.function_name, empty.objects) == (-1, "none", ())
    assert empty.anomalies == (("dnp3.malformed_fragment", "empty fragment"),)
    one = parse_app(b"\xc3")
    assert (one.function, one.fir, one.fin, one.seq) == (-1, True, True, 3)
    assert names(one) == ["dnp3.malformed_fragment"]
    cut = parse_app(h("c081 00"))
    assert (cut.function, cut.iin, names(cut)) == (0x81, None, ["dnp3.malformed_fragment"])
    confirm = parse_app(h("d000"))
    assert (confirm.function_name, confirm.anomalies, confirm.uns) == ("confirm", (), True)


def test_function_names() -> None:
    assert function_name(0x05) == "direct_operate"
    assert function_name(0x21) == "auth_req_no_ack"
    assert function_name(0x83) == "authenticate_resp"
    assert function_name(0x22) == "unknown-34"
    assert [parse_app(bytes((0xC0, fc))).function_name for fc in (0x0B, 0x1F)] == [
        "freeze_at_time", "activate_config",
    ]  # fmt: skip


def test_specific_is_json_ready() -> None:
    pdu = parse_app(response(h("1e06 00 0000 01 000000000000f87f"), iin=0x8000))  # NaN double
    out = pdu.specific()
    json.dumps(out, allow_nan=False)
    assert out["application_control"] == {
        "fir": True, "fin": True, "con": False, "uns": False, "sequence": 1,
    }  # fmt: skip
    assert out["iin"] == {"value": 0x8000, "flags": ["device_restart"]}
    assert out["objects"] == [{
        "group": 30, "variation": 6, "name": "g30v6", "qualifier": 0, "prefix_code": 0,
        "range_code": 0, "start": 0, "stop": 0, "count": 1,
        "points": [{"index": 0, "text": "nan", "flags": 1}],
    }]  # fmt: skip
    assert "iin" not in parse_app(request(1)).specific()
    assert "objects" not in parse_app(request(13)).specific()


def test_point_as_dict_omits_empty_parts() -> None:
    assert Point(None, None, None, None, None).as_dict() == {}
    assert Point(3, 1.5, 1, 99, {"status": 0}).as_dict() == {
        "index": 3, "value": 1.5, "flags": 1, "time": 99, "status": 0,
    }  # fmt: skip


def test_anomaly_names_are_registered() -> None:
    pdus = [
        parse_app(b""),
        parse_app(h("c040")),
        parse_app(response(h("6301 00 0000 00"))),
        parse_app(response(h("0102 00 0004 0181010101")), max_points=1),
    ]
    for pdu in pdus:
        assert pdu.anomalies
        assert all(name in ANOMALIES for name, _ in pdu.anomalies)


def test_records_compare_hash_and_print() -> None:
    a, b = parse_app(POLL), parse_app(POLL)
    assert a == b and a.objects[0] == b.objects[0] and a.objects[0] != a.objects[1]
    assert a.objects[0].points[0] == Point(0, 1, 0x81, None, None)
    assert hash(a.objects[0]) == hash(b.objects[0])
    assert len({p for o in a.objects for p in o.points}) > 1
    assert repr(a.objects[0]).startswith("ObjectHeader(g1v2, qualifier=0x00, start=0, stop=8")
    assert repr(Point(1, 2, None, None, {"status": 0})) == (
        "Point(index=1, value=2, flags=None, time=None, extra={'status': 0})"
    )
