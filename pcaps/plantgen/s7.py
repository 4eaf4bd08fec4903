"""S7comm over ISO-on-TCP: TPKT (RFC 1006), COTP (ISO 8073) and S7 PDUs."""

from __future__ import annotations

import struct
from dataclasses import dataclass

ROSCTR_JOB = 1
ROSCTR_ACK_DATA = 3
ROSCTR_USERDATA = 7

FUNC_READ_VAR = 0x04
FUNC_WRITE_VAR = 0x05
FUNC_REQUEST_DOWNLOAD = 0x1A
FUNC_DOWNLOAD_BLOCK = 0x1B
FUNC_DOWNLOAD_ENDED = 0x1C
FUNC_PI_SERVICE = 0x28
FUNC_PLC_STOP = 0x29
FUNC_SETUP_COMM = 0xF0

AREA_I = 0x81
AREA_Q = 0x82
AREA_M = 0x83
AREA_DB = 0x84

TS_BIT = 0x01
TS_BYTE = 0x02
TS_WORD = 0x04

RET_OK = 0xFF
RET_OBJECT_DOES_NOT_EXIST = 0x0A

_TPKT = struct.Struct("!BBH")


def tpkt(payload: bytes) -> bytes:
    return _TPKT.pack(3, 0, len(payload) + 4) + payload


def cotp_dt(s7_pdu: bytes) -> bytes:
    """TPKT + COTP DT (last data unit) + S7 PDU."""
    return tpkt(b"\x02\xf0\x80" + s7_pdu)


def tsap(rack: int, slot: int, conn_type: int = 1) -> int:
    """TSAP of a CPU: connection type (1 = PG, 2 = OP, 3 = S7 basic) and rack/slot."""
    return (conn_type << 8) | (rack << 5) | slot


def _cotp_conn(pdu_type: int, dst_ref: int, src_ref: int, calling: int, called: int) -> bytes:
    params = b"\xc0\x01\x0a" + struct.pack("!BBH", 0xC1, 2, calling)
    params += struct.pack("!BBH", 0xC2, 2, called)
    body = struct.pack("!BHHB", pdu_type, dst_ref, src_ref, 0) + params
    return tpkt(bytes((len(body),)) + body)


def cotp_cr(src_ref: int, calling: int, called: int) -> bytes:
    """Connection request, TPDU size 1024, calling/called TSAPs."""
    return _cotp_conn(0xE0, 0, src_ref, calling, called)


def cotp_cc(dst_ref: int, src_ref: int, calling: int, called: int) -> bytes:
    return _cotp_conn(0xD0, dst_ref, src_ref, calling, called)


def header(rosctr: int, pduref: int, param: bytes, data: bytes, err: int = 0) -> bytes:
    head = struct.pack("!BBHHHH", 0x32, rosctr, 0, pduref & 0xFFFF, len(param), len(data))
    if rosctr in (2, ROSCTR_ACK_DATA):
        head += struct.pack("!H", err)
    return head + param + data


def setup_comm(rosctr: int, pduref: int, amq_calling: int, amq_called: int, pdu_len: int) -> bytes:
    param = struct.pack("!BBHHH", FUNC_SETUP_COMM, 0, amq_calling, amq_called, pdu_len)
    return header(rosctr, pduref, param, b"")


@dataclass(frozen=True)
class VarItem:
    """An S7ANY address: ``length`` elements of ``tsize`` at area/db/byte.bit."""

    area: int
    db: int
    start: int
    length: int
    tsize: int = TS_BYTE
    bit: int = 0

    def spec(self) -> bytes:
        addr = (self.start << 3) | self.bit
        return struct.pack(
            "!BBBBHHB", 0x12, 0x0A, 0x10, self.tsize, self.length, self.db, self.area
        ) + addr.to_bytes(3, "big")

    def nbytes(self) -> int:
        return self.length * (2 if self.tsize == TS_WORD else 1)


def read_var_job(pduref: int, items: list[VarItem]) -> bytes:
    param = bytes((FUNC_READ_VAR, len(items))) + b"".join(i.spec() for i in items)
    return header(ROSCTR_JOB, pduref, param, b"")


def _data_items(entries: list[tuple[int, int, bytes]]) -> bytes:
    """Return-code/transport-size/length/data items; a fill byte follows odd-sized items
    except the last. Transport size 0x04 counts the length in bits, 0x03 (BIT) and 0x09
    (octet string) in bytes."""
    out = bytearray()
    for i, (ret, tsize, data) in enumerate(entries):
        if ret not in (RET_OK, 0x00):
            out += struct.pack("!BBH", ret, 0, 0)
            continue
        length = len(data) * 8 if tsize == 0x04 else len(data)
        out += struct.pack("!BBH", ret, tsize, length) + data
        if len(data) % 2 and i < len(entries) - 1:
            out.append(0)
    return bytes(out)


def read_var_ack(pduref: int, results: list[tuple[int, bytes]]) -> bytes:
    """``results``: (return code, data); successful items use transport size BYTE/WORD (0x04)."""
    entries = [(ret, 0x04, data) for ret, data in results]
    param = bytes((FUNC_READ_VAR, len(results)))
    return header(ROSCTR_ACK_DATA, pduref, param, _data_items(entries))


def write_var_job(pduref: int, writes: list[tuple[VarItem, bytes]]) -> bytes:
    param = bytes((FUNC_WRITE_VAR, len(writes))) + b"".join(i.spec() for i, _ in writes)
    entries = [(0x00, 0x03 if i.tsize == TS_BIT else 0x04, data) for i, data in writes]
    return header(ROSCTR_JOB, pduref, param, _data_items(entries))


def write_var_ack(pduref: int, codes: list[int]) -> bytes:
    return header(ROSCTR_ACK_DATA, pduref, bytes((FUNC_WRITE_VAR, len(codes))), bytes(codes))


# -- user data (ROSCTR 7) ------------------------------------------------------------------

GROUP_CPU = 0x4
GROUP_TIME = 0x7
SUBF_READ_SZL = 0x01
SUBF_SET_CLOCK = 0x02


def _ud_request(pduref: int, group: int, subf: int, seq: int, data: bytes) -> bytes:
    param = struct.pack("!BBBBBBBB", 0x00, 0x01, 0x12, 4, 0x11, 0x40 | group, subf, seq)
    return header(ROSCTR_USERDATA, pduref, param, data)


def _ud_response(pduref: int, group: int, subf: int, seq: int, data: bytes) -> bytes:
    param = struct.pack("!BBBBBBBBBBH", 0x00, 0x01, 0x12, 8, 0x12, 0x80 | group, subf, seq, 0, 0, 0)
    return header(ROSCTR_USERDATA, pduref, param, data)


def szl_request(pduref: int, seq: int, szl_id: int, index: int) -> bytes:
    data = struct.pack("!BBHHH", RET_OK, 0x09, 4, szl_id, index)
    return _ud_request(pduref, GROUP_CPU, SUBF_READ_SZL, seq, data)


def szl_response(pduref: int, seq: int, szl_id: int, index: int, records: list[bytes]) -> bytes:
    rec_len = len(records[0]) if records else 0
    body = struct.pack("!HHHH", szl_id, index, rec_len, len(records)) + b"".join(records)
    data = struct.pack("!BBH", RET_OK, 0x09, len(body)) + body
    return _ud_response(pduref, GROUP_CPU, SUBF_READ_SZL, seq, data)


def szl_0011_record(index: int, order_no: str, firmware: tuple[int, int, int] | None) -> bytes:
    """Module identification record (28 bytes): index, MLFB, BGTyp, Ausbg, Ausbe.

    Firmware records (index 7) carry the version as 'V' + major, minor, patch."""
    mlfb = order_no.encode("ascii").ljust(20, b" ")
    if firmware is None:
        ausbg, ausbe = 0x0000, 0x0001
    else:
        ausbg, ausbe = 0x5600 | firmware[0], (firmware[1] << 8) | firmware[2]
    return struct.pack("!H", index) + mlfb + struct.pack("!HHH", 0x00C0, ausbg, ausbe)


def szl_001c_record(index: int, text: str) -> bytes:
    """Component identification record (34 bytes): index + 32 bytes of text."""
    return struct.pack("!H", index) + text.encode("ascii").ljust(32, b"\x00")


def bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


def s7_timestamp(
    year: int, month: int, day: int, hour: int, minute: int, sec: int, msec: int, weekday: int
) -> bytes:
    """10-byte BCD timestamp (reserved, year high/low, month ... msec, weekday nibble)."""
    return bytes(
        (
            0,
            bcd(year // 100),
            bcd(year % 100),
            bcd(month),
            bcd(day),
            bcd(hour),
            bcd(minute),
            bcd(sec),
            bcd(msec // 10),
            ((msec % 10) << 4) | weekday,
        )
    )


def set_clock_request(pduref: int, seq: int, stamp: bytes) -> bytes:
    data = struct.pack("!BBH", RET_OK, 0x09, len(stamp)) + stamp
    return _ud_request(pduref, GROUP_TIME, SUBF_SET_CLOCK, seq, data)


def set_clock_response(pduref: int, seq: int) -> bytes:
    return _ud_response(pduref, GROUP_TIME, SUBF_SET_CLOCK, seq, b"\x0a\x00\x00\x00")


# -- block transfer and PLC control --------------------------------------------------------


def block_filename(block_type: str, number: int, filesys: str = "P") -> bytes:
    """'_' + block type (two ASCII hex digits: 08 OB, 0A DB, 0C FC, 0E FB) + 5 digits + fs."""
    return f"_{block_type}{number:05d}{filesys}".encode("ascii")


def request_download_job(pduref: int, name: bytes, load_len: int, mc7_len: int) -> bytes:
    part2 = b"1" + f"{load_len:06d}{mc7_len:06d}".encode("ascii")
    param = struct.pack("!BBHI", FUNC_REQUEST_DOWNLOAD, 0, 0x0100, 0) + bytes((len(name),)) + name
    param += bytes((len(part2),)) + part2
    return header(ROSCTR_JOB, pduref, param, b"")


def download_block_job(pduref: int, name: bytes) -> bytes:
    """Sent by the PLC to the programming device to pull the next part of the block."""
    param = struct.pack("!BBHI", FUNC_DOWNLOAD_BLOCK, 0, 0, 0) + bytes((len(name),)) + name
    return header(ROSCTR_JOB, pduref, param, b"")


def download_block_ack(pduref: int, chunk: bytes, last: bool) -> bytes:
    param = bytes((FUNC_DOWNLOAD_BLOCK, 0x00 if last else 0x01))
    data = struct.pack("!HH", len(chunk), 0x00FB) + chunk
    return header(ROSCTR_ACK_DATA, pduref, param, data)


def download_ended_job(pduref: int, name: bytes) -> bytes:
    param = struct.pack("!BBHI", FUNC_DOWNLOAD_ENDED, 0, 0, 0) + bytes((len(name),)) + name
    return header(ROSCTR_JOB, pduref, param, b"")


def simple_ack(pduref: int, func: int) -> bytes:
    """Ack-data whose parameter is the function code only (download, PI, stop ...)."""
    return header(ROSCTR_ACK_DATA, pduref, bytes((func,)), b"")


def pi_service_job(pduref: int, service: str, blocks: list[tuple[str, int]]) -> bytes:
    """PI service, e.g. _INSE (activate downloaded blocks) with block type/number list."""
    block = bytes((len(blocks), 0)) + b"".join(
        f"{btype}{num:05d}P".encode("ascii") for btype, num in blocks
    )
    name = service.encode("ascii")
    param = bytes((FUNC_PI_SERVICE,)) + b"\x00\x00\x00\x00\x00\x00\xfd"
    param += struct.pack("!H", len(block)) + block + bytes((len(name),)) + name
    return header(ROSCTR_JOB, pduref, param, b"")


def plc_stop_job(pduref: int) -> bytes:
    name = b"P_PROGRAM"
    param = bytes((FUNC_PLC_STOP,)) + bytes(5) + bytes((len(name),)) + name
    return header(ROSCTR_JOB, pduref, param, b"")


# -- coverage builders (s7_functions) ---------------------------------------------------

FUNC_START_UPLOAD = 0x1D
FUNC_UPLOAD = 0x1E
FUNC_END_UPLOAD = 0x1F

AREA_COUNTER = 0x1C
AREA_TIMER = 0x1D

TS_INT = 0x05
TS_REAL = 0x08
TS_COUNTER = 0x1C
TS_TIMER = 0x1D

RET_ADDRESS_OUT_OF_RANGE = 0x05

GROUP_PROG = 0x1
GROUP_BLOCK = 0x3
GROUP_SECURITY = 0x5
SUBF_VAR_STATUS = 0x02
SUBF_LIST_BLOCKS = 0x01
SUBF_LIST_BLOCKS_OF_TYPE = 0x02
SUBF_BLOCK_INFO = 0x03
SUBF_PASSWORD = 0x01
SUBF_READ_CLOCK = 0x01

# request transport size -> (data transport size, bytes per element, length in bits)
_DATA_TS = {
    TS_BIT: (0x03, 1, False),
    TS_BYTE: (0x04, 1, True),
    TS_WORD: (0x04, 2, True),
    TS_INT: (0x05, 2, True),
    TS_REAL: (0x07, 4, False),
    TS_COUNTER: (0x09, 2, False),
    TS_TIMER: (0x09, 2, False),
}


def item_nbytes(item: VarItem) -> int:
    return item.length * _DATA_TS[item.tsize][1]


def typed_items(entries: list[tuple[int, VarItem, bytes]]) -> bytes:
    """Data items with the transport size each request item's type calls for: INT 0x05
    and BYTE/WORD 0x04 count bits, BIT 0x03, REAL 0x07 and octet strings 0x09 bytes. A
    fill byte follows odd-sized items except the last; an error item is 4 bytes."""
    out = bytearray()
    for i, (ret, item, data) in enumerate(entries):
        if ret not in (RET_OK, 0x00):
            out += struct.pack("!BBH", ret, 0, 0)
            continue
        tsize, _, bits = _DATA_TS[item.tsize]
        out += struct.pack("!BBH", ret, tsize, len(data) * 8 if bits else len(data)) + data
        if len(data) % 2 and i < len(entries) - 1:
            out.append(0)
    return bytes(out)


def read_var_ack_typed(pduref: int, results: list[tuple[int, VarItem, bytes]]) -> bytes:
    param = bytes((FUNC_READ_VAR, len(results)))
    return header(ROSCTR_ACK_DATA, pduref, param, typed_items(results))


def write_var_job_typed(pduref: int, writes: list[tuple[VarItem, bytes]]) -> bytes:
    param = bytes((FUNC_WRITE_VAR, len(writes))) + b"".join(i.spec() for i, _ in writes)
    return header(ROSCTR_JOB, pduref, param, typed_items([(0x00, i, d) for i, d in writes]))


def error_ack(pduref: int, param: bytes, err: int) -> bytes:
    """Ack-data with an error class/code in the header (e.g. 0x8500, 0x8104)."""
    return header(ROSCTR_ACK_DATA, pduref, param, b"", err)


def cotp_conn_raw(pdu_type: int, dst_ref: int, src_ref: int, calling: bytes, called: bytes,
                  tpdu_size: int = 0x0A) -> bytes:  # fmt: skip
    """CR (0xE0) or CC (0xD0) with TSAPs of any length (S7comm-plus uses strings)."""
    params = bytes((0xC0, 1, tpdu_size, 0xC1, len(calling))) + calling
    params += bytes((0xC2, len(called))) + called
    body = struct.pack("!BHHB", pdu_type, dst_ref, src_ref, 0) + params
    return tpkt(bytes((len(body),)) + body)


def cotp_dr(dst_ref: int, src_ref: int, reason: int = 0x80) -> bytes:
    """Disconnect request (reason 0x80: normal disconnect initiated by session entity)."""
    return tpkt(struct.pack("!BBHHB", 6, 0x80, dst_ref, src_ref, reason))


def cotp_dc(dst_ref: int, src_ref: int) -> bytes:
    """Disconnect confirm."""
    return tpkt(struct.pack("!BBHH", 5, 0xC0, dst_ref, src_ref))


def cotp_dts(pdu: bytes, room: int) -> bytes:
    """``pdu`` in COTP DT TPDUs of at most ``room`` payload bytes, each in its own TPKT;
    only the last carries EOT."""
    parts = [pdu[i : i + room] for i in range(0, len(pdu), room)]
    return b"".join(
        tpkt(b"\x02\xf0" + bytes((0x80 if i == len(parts) - 1 else 0x00,)) + part)
        for i, part in enumerate(parts)
    )


def ud_request(pduref: int, group: int, subf: int, data: bytes, seq: int = 0) -> bytes:
    return _ud_request(pduref, group, subf, seq, data)


def ud_response(
    pduref: int, group: int, subf: int, seq: int, data: bytes, err: int = 0, kind: int = 0x8
) -> bytes:
    """User-data answer (type 8) or push (type 0) with its error code."""
    param = struct.pack(
        "!BBBBBBBBBBH", 0x00, 0x01, 0x12, 8, 0x12, (kind << 4) | group, subf, seq, 0, 0, err
    )
    return header(ROSCTR_USERDATA, pduref, param, data)


def octets(data: bytes, ret: int = RET_OK) -> bytes:
    """A user-data data part: return code, transport size octet string, length, data."""
    return struct.pack("!BBH", ret, 0x09, len(data)) + data


NO_DATA = b"\x0a\x00\x00\x00"  # the data part of an answer (or request) without data


def scramble_password(password: str) -> bytes:
    """The S7 legitimation scrambling of an 8-character password."""
    pw = password.encode("ascii").ljust(8, b" ")[:8]
    out = bytearray((pw[0] ^ 0x55, pw[1] ^ 0x55))
    for i in range(2, 8):
        out.append(pw[i] ^ 0x55 ^ out[i - 2])
    return bytes(out)


def s7_date(days_since_1984: int, ms_of_day: int) -> bytes:
    """6-byte block timestamp: milliseconds since midnight, days since 1984-01-01."""
    return struct.pack("!IH", ms_of_day, days_since_1984)


def block_info_data(
    subblk: int,
    number: int,
    lang: int,
    load_len: int,
    mc7_len: int,
    code_ts: bytes,
    iface_ts: bytes,
    author: str,
    family: str,
    name: str,
    checksum: int,
    local_len: int = 0,
) -> bytes:
    """Block info (3/3) answer body, 78 bytes, as an S7-300/400 gives it."""
    body = struct.pack("!BBHHBB", 0x01, 0x00, 74, 0x2200, 0x70, 0x70)
    body += struct.pack("!BBBBHII", 0x01, 0x01, lang, subblk, number, load_len, 0)
    body += code_ts + iface_ts
    body += struct.pack("!HHHH", 20 if subblk == 0x0A else 0, 0, local_len, mc7_len)
    for text in (author, family, name):
        body += text.encode("ascii").ljust(8, b"\x00")[:8]
    body += struct.pack("!BBHII", 0x10, 0, checksum, 0, 0)
    assert len(body) == 78
    return body


def start_upload_job(pduref: int, name: bytes) -> bytes:
    param = struct.pack("!BBHI", FUNC_START_UPLOAD, 0, 0, 0) + bytes((len(name),)) + name
    return header(ROSCTR_JOB, pduref, param, b"")


def start_upload_ack(pduref: int, upload_id: int, block_len: int) -> bytes:
    text = f"{block_len:07d}".encode("ascii")
    param = struct.pack("!BBHI", FUNC_START_UPLOAD, 0, 0x0100, upload_id)
    return header(ROSCTR_ACK_DATA, pduref, param + bytes((len(text),)) + text, b"")


def upload_job(pduref: int, func: int, upload_id: int) -> bytes:
    """Upload (0x1E) or end upload (0x1F) job."""
    return header(ROSCTR_JOB, pduref, struct.pack("!BBHI", func, 0, 0, upload_id), b"")


def upload_ack(pduref: int, chunk: bytes, more: bool) -> bytes:
    param = bytes((FUNC_UPLOAD, 0x01 if more else 0x00))
    return header(ROSCTR_ACK_DATA, pduref, param, struct.pack("!HH", len(chunk), 0x00FB) + chunk)


def pi_service_raw(pduref: int, service: str, params: bytes) -> bytes:
    """PI service with a raw parameter block (``P_PROGRAM``: b"C ", ``_MODU``: b"EP")."""
    name = service.encode("ascii")
    param = bytes((FUNC_PI_SERVICE,)) + b"\x00\x00\x00\x00\x00\x00\xfd"
    param += struct.pack("!H", len(params)) + params + bytes((len(name),)) + name
    return header(ROSCTR_JOB, pduref, param, b"")
