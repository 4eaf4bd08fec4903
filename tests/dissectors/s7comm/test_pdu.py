"""parse_s7 on hand-built PDUs: every shape with exact field values."""

from __future__ import annotations

import json
import struct

from dissectors.s7comm import (
    BlockTransfer,
    PlcControl,
    PlcStop,
    RawS7,
    S7PlusPdu,
    SetupCommunication,
    UserData,
    VarAccess,
    function_name,
    parse_s7,
    rosctr_name,
    userdata_name,
)
from tests.dissectors.s7comm.helpers import s7, s7any, userdata_param

READ_REQ = s7(1, 0x0500, b"\x04\x02" + s7any(2, 4, 1, 0x84, 10, 0) + s7any(1, 1, 0, 0x83, 3, 5))
READ_RSP = s7(3, 0x0500, b"\x04\x02", b"\xff\x04\x00\x20\x01\x02\x03\x04" + b"\xff\x03\x00\x01\x01")


def _json(rec: object) -> None:
    json.dumps(rec.specific())  # type: ignore[attr-defined]


def test_setup_communication() -> None:
    rec = parse_s7(s7(1, 0xFFFF, b"\xf0\x00\x00\x01\x00\x01\x01\xe0"))
    assert isinstance(rec, SetupCommunication)
    assert (rec.max_amq_calling, rec.max_amq_called, rec.pdu_size) == (1, 1, 480)
    assert (rec.request, rec.function_name, rec.operation) == (
        True,
        "setup_communication",
        "session",
    )
    assert rec.anomalies == ()


def test_read_var_request_and_response() -> None:
    rec = parse_s7(READ_REQ)
    assert isinstance(rec, VarAccess) and rec.request and rec.rosctr_name == "job"
    assert (rec.item_count, rec.address, rec.quantity) == (2, 10, 4)
    first, second = rec.items
    assert (first.syntax_id, first.transport_size, first.db_number, first.area) == (
        0x10,
        2,
        1,
        0x84,
    )
    assert (second.area, second.byte_address, second.bit_address) == (0x83, 3, 5)
    assert (rec.access, rec.target, rec.operation) == ("read", "db", "read")
    spec = rec.specific()
    assert spec["items"][1]["area"] == {"code": 0x83, "name": "flags"}
    rsp = parse_s7(READ_RSP)
    assert isinstance(rsp, VarAccess) and not rsp.request
    assert rsp.values == (1, 2, 3, 4)
    assert [d.data for d in rsp.data_items] == [b"\x01\x02\x03\x04", b"\x01"]
    assert rsp.specific()["data_items"][0]["return_code"]["name"] == "success"
    assert rsp.anomalies == () and rsp.error_class == 0


def test_write_var_request_and_response() -> None:
    data = b"\x00\x04\x00\x18\x0a\x0b\x0c" + b"\x00" + b"\x00\x03\x00\x01\x01"
    req = parse_s7(
        s7(1, 9, b"\x05\x02" + s7any(2, 3, 5, 0x84, 2) + s7any(1, 1, 0, 0x82, 0, 1), data)
    )
    assert isinstance(req, VarAccess) and req.operation == "write" and req.access == "write"
    assert req.values == (10, 11, 12) and req.data_items[1].data == b"\x01"
    assert req.items[1].target == "output"
    rsp = parse_s7(s7(3, 9, b"\x05\x02", b"\xff\x0a"))
    assert isinstance(rsp, VarAccess)
    assert [d.return_code for d in rsp.data_items] == [0xFF, 0x0A]
    assert rsp.specific()["data_items"][1]["return_code"]["name"] == "object_does_not_exist"


def test_error_ack_data_and_ack() -> None:
    rec = parse_s7(s7(2, 3, b"", error=b"\x85\x00"))
    assert isinstance(rec, RawS7)
    assert (rec.error_class, rec.error_code, rec.error_name) == (0x85, 0, "error_on_supplies")
    assert rec.function == -1 and rec.function_name == "none" and not rec.request


def test_download_and_upload() -> None:
    name = b"_0A00001P"
    req = s7(1, 1, b"\x1a\x00\x01\x00\x00\x00\x00\x00\x09" + name + b"\x0d1000100000040")
    rec = parse_s7(req)
    assert isinstance(rec, BlockTransfer)
    assert (rec.file_name, rec.block_type, rec.block_number, rec.filesystem) == (
        "_0A00001P", "DB", 1, "passive",
    )  # fmt: skip
    assert rec.lengths == "1000100000040" and rec.operation == "program_download"
    up = parse_s7(s7(1, 2, b"\x1d\x00\x00\x00\x00\x00\x00\x00\x09_0800001A"))
    assert isinstance(up, BlockTransfer) and up.operation == "program_upload"
    assert (up.block_type, up.filesystem) == ("OB", "active")
    ack = parse_s7(s7(3, 2, b"\x1d\x00\x01\x00\x00\x00\x00\x07\x07" + b"0000104"))
    assert isinstance(ack, BlockTransfer) and (ack.upload_id, ack.lengths) == (7, "0000104")
    blk = parse_s7(s7(3, 3, b"\x1e\x00", b"\x00\x04\x00\xfb\x01\x02\x03\x04"))
    assert isinstance(blk, BlockTransfer) and blk.data_length == 4
    assert function_name(0x1F) == "end_upload"


def test_plc_control_and_stop() -> None:
    block = b"\x01\x00" + b"0A00001P"
    param = b"\x28" + b"\x00" * 6 + b"\xfd" + struct.pack(">H", len(block)) + block + b"\x05_INSE"
    rec = parse_s7(s7(1, 4, param))
    assert isinstance(rec, PlcControl)
    assert (rec.service, rec.blocks, rec.operation) == ("_INSE", ("0A00001P",), "program_download")
    dele = parse_s7(s7(1, 4, param.replace(b"_INSE", b"_DELE")))
    assert dele.operation == "program_delete"
    prog = b"\x28" + b"\x00" * 6 + b"\xfd\x00\x00\x09P_PROGRAM"
    assert parse_s7(s7(1, 5, prog)).operation == "mode_change"
    garb = b"\x28" + b"\x00" * 6 + b"\xfd\x00\x00\x05_GARB"
    assert parse_s7(s7(1, 5, garb)).operation == "control"
    stop = parse_s7(s7(1, 6, b"\x29\x00\x00\x00\x00\x00\x09P_PROGRAM"))
    assert isinstance(stop, PlcStop) and stop.service == "P_PROGRAM"
    assert stop.operation == "mode_change" and stop.function_name == "plc_stop"


def _szl_response(szl_id: int, index: int, records: list[bytes]) -> bytes:
    size = len(records[0])
    body = struct.pack(">HHHH", szl_id, index, size, len(records)) + b"".join(records)
    data = b"\xff\x09" + struct.pack(">H", len(body)) + body
    return s7(7, 0, userdata_param(8, 4, 1, 1, b"\x00\x00\x00\x00"), data)


def test_szl_read_and_identity() -> None:
    req = parse_s7(s7(7, 1, userdata_param(4, 4, 1), b"\xff\x09\x00\x04\x00\x11\x00\x00"))
    assert isinstance(req, UserData) and req.request
    assert (req.group, req.subfunction, req.szl_id, req.szl_index) == (4, 1, 0x11, 0)
    assert (req.operation, req.target, req.function_name) == (
        "identify",
        "szl",
        "cpu_functions/read_szl",
    )
    mlfb = b"6ES7 315-2EH14-0AB0 ".ljust(20)
    rsp = parse_s7(
        _szl_response(0x11, 0, [
            b"\x00\x01" + mlfb + b"\xc0\x00\x00\x01\x00\x01",
            b"\x00\x07" + mlfb + b"\xc0\x00\x56\x03\x02\x06",
        ])
    )  # fmt: skip
    assert isinstance(rsp, UserData) and not rsp.request and len(rsp.szl_records) == 2
    assert rsp.identity() == {
        "order_number": "6ES7 315-2EH14-0AB0",
        "module_version": "1",
        "firmware_version": "V3.2.6",
    }
    comp = parse_s7(
        _szl_response(0x1C, 0, [
            b"\x00\x01" + b"SNAP7-SERVER".ljust(32, b"\x00"),
            b"\x00\x05" + b"S C-C2UR28922012".ljust(32, b"\x00"),
        ])
    )  # fmt: skip
    assert isinstance(comp, UserData)
    assert comp.identity() == {"plc_name": "SNAP7-SERVER", "serial_number": "S C-C2UR28922012"}
    assert comp.specific()["identity"]["plc_name"] == "SNAP7-SERVER"


def test_userdata_groups() -> None:
    clock = b"\xff\x09\x00\x0a\x00\x20\x24\x03\x15\x10\x20\x30\x12\x34"
    setc = parse_s7(s7(7, 2, userdata_param(4, 7, 2), clock))
    assert isinstance(setc, UserData) and setc.operation == "time_sync"
    assert setc.clock == "2024-03-15T10:20:30.123"
    assert parse_s7(s7(7, 2, userdata_param(4, 7, 1), b"\x0a\x00\x00\x00")).operation == "read"
    pwd = parse_s7(s7(7, 2, userdata_param(4, 5, 1), b"\xff\x09\x00\x08" + b"\x00" * 8))
    assert pwd.operation == "auth"
    force = parse_s7(s7(7, 2, userdata_param(4, 1, 0x10), b"\x0a\x00\x00\x00"))
    assert force.operation == "write"
    blocks = parse_s7(s7(7, 2, userdata_param(4, 3, 1), b"\x0a\x00\x00\x00"))
    assert (blocks.operation, blocks.target) == ("read", "block")
    push = parse_s7(s7(7, 0, userdata_param(0, 0, 2), b""))
    assert isinstance(push, UserData) and push.operation == "mode_change" and not push.request
    assert push.ud_type_name == "push"
    assert userdata_name(2, 1) == "cyclic_data/memory" and userdata_name(0xF, 9) == (
        "nc_programming/unknown-0x09"
    )
    assert rosctr_name(9) == "unknown-0x09"
    for rec in (setc, pwd, force, blocks, push):
        _json(rec)


def test_unknown_function_and_malformed() -> None:
    rec = parse_s7(s7(1, 1, b"\x99\x01\x02"))
    assert isinstance(rec, RawS7) and rec.function_name == "unknown-0x99"
    assert rec.specific() == {"param": "0102"}
    cut = parse_s7(READ_REQ[:-3])
    assert cut.anomalies and cut.anomalies[0][0] == "s7comm.malformed_pdu"
    assert parse_s7(b"\x33" + READ_REQ[1:]).anomalies[0][0] == "s7comm.invalid_protocol_id"
    assert parse_s7(b"\x32\x01").anomalies[0][0] == "s7comm.malformed_pdu"


def test_s7comm_plus() -> None:
    body = bytes.fromhex("31000004ca0000000100000000")
    rec = parse_s7(b"\x72\x01" + struct.pack(">H", len(body)) + body + b"\x72\x01\x00\x00")
    assert isinstance(rec, S7PlusPdu)
    assert (rec.protocol, rec.version, rec.opcode, rec.function) == ("s7comm_plus", 1, 0x31, 0x04CA)
    assert rec.request and rec.function_name == "create_object" and rec.sequence == 1
    _json(rec)
    v3 = parse_s7(b"\x72\x03\x00\x30\x20" + b"\xaa" * 32 + bytes.fromhex("3200000542000000020000"))
    assert isinstance(v3, S7PlusPdu) and v3.integrity and v3.function == 0x0542
    assert not v3.request and v3.operation == "write"
