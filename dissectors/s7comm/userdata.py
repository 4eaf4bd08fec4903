"""User data (ROSCTR 7): parameter head, data header, SZL reads and clock values.

Parameter: 00 01 12, parameter length (4 or 8 after this byte), method (0x11 request,
0x12 response), type (high nibble: 0 push, 4 request, 8 response) and function group
(low nibble), subfunction, sequence number; when the length is 8: data unit reference,
last data unit (0 yes), error code (2).
Data: return code (1), transport size (1), length (2), then the subfunction's data. Read
SZL request: SZL id (2), index (2). Response (first data unit): SZL id, index, record
length (2), record count (2), records. Clock: reserved (1), year (2 BCD), month, day, hour,
minute, second (BCD), milliseconds (3 BCD digits) and weekday (1 digit).
"""

from __future__ import annotations

from dissectors.s7comm import consts
from dissectors.s7comm.anomalies import MALFORMED_PDU
from dissectors.s7comm.records import Anomalies, UserData
from dissectors.s7comm.wire import NONE, Head


def userdata(pdu: bytes, head: Head) -> UserData:
    p = head.param
    end = head.data
    anomalies: Anomalies = NONE
    if end - p < 8:
        problem = f"user-data parameter of {end - p} bytes (at least 8 needed)"
        return UserData(
            head.rosctr, head.pdu_ref, consts.USERDATA_FUNCTION, False, None, None,
            None, None, None, ((MALFORMED_PDU, problem),), 0, 0, 0, 0, None, None, None,
            None, None, pdu[head.data : head.data_end], None, None, (), None,
        )  # fmt: skip
    ud_type = pdu[p + 5] >> 4
    group = pdu[p + 5] & 0x0F
    sub = pdu[p + 6]
    seq = pdu[p + 7]
    unit_ref = last = err = None
    if pdu[p + 3] >= 8 and end - p >= 12:
        unit_ref = pdu[p + 8]
        last = pdu[p + 9] == 0
        err = (pdu[p + 10] << 8) | pdu[p + 11]
    d = head.data
    dend = head.data_end
    ret = tsize = None
    data = b""
    if dend - d >= 4:
        ret, tsize = pdu[d], pdu[d + 1]
        dlen = (pdu[d + 2] << 8) | pdu[d + 3]
        if d + 4 + dlen > dend:
            anomalies = ((MALFORMED_PDU, f"user data of {dlen} bytes runs past the PDU"),)
        data = pdu[d + 4 : min(d + 4 + dlen, dend)]
    elif dend > d:
        anomalies = ((MALFORMED_PDU, f"user-data data part of {dend - d} bytes"),)
    szl_id = szl_index = None
    records: tuple[bytes, ...] = ()
    clock = None
    if group == consts.GROUP_CPU and sub == consts.READ_SZL and len(data) >= 4 and ret == 0xFF:
        if ud_type == consts.UD_REQUEST or _szl_head(data, last):
            szl_id = (data[0] << 8) | data[1]
            szl_index = (data[2] << 8) | data[3]
            if ud_type != consts.UD_REQUEST and len(data) >= 8:
                records = _szl_records(data)
            data = data[4:] if not records else b""
    elif group == consts.GROUP_TIME and len(data) >= 10:
        clock = _clock(data)
    request = ud_type == consts.UD_REQUEST
    return UserData(
        head.rosctr, head.pdu_ref, consts.USERDATA_FUNCTION | group << 8 | sub, request, None,
        None, szl_index, None, None, anomalies, group, sub, ud_type, seq, unit_ref, last, err,
        ret, tsize, data, szl_id, szl_index, records, clock,
    )  # fmt: skip


def _szl_head(data: bytes, last: bool | None) -> bool:
    """Whether a response's data starts with an SZL header (a follow-on data unit does
    not): record length and count agree with the bytes (exactly, or more of them to come
    when this is not the last data unit)."""
    if len(data) < 8:
        return False
    if len(data) == 8 and data[0] & 0x0F == 0x0F:
        return True  # SZL id 0x0Fxx: "partial list header information only", no records
    size = (data[4] << 8) | data[5]
    want = 8 + size * ((data[6] << 8) | data[7])
    return want == len(data) or (last is False and want > len(data) and size > 0)


def _szl_records(data: bytes) -> tuple[bytes, ...]:
    size = (data[4] << 8) | data[5]
    count = (data[6] << 8) | data[7]
    if not size:
        return ()
    body = data[8:]
    count = min(count, len(body) // size)
    return tuple(body[i * size : (i + 1) * size] for i in range(count))


def _bcd(b: int) -> int:
    return (b >> 4) * 10 + (b & 0x0F)


def _clock(data: bytes) -> str | None:
    digits = data[1:10]
    if any((b >> 4) > 9 or (b & 0x0F) > 9 for b in digits[:8]):
        return None
    year = _bcd(data[1]) * 100 + _bcd(data[2])
    month, day, hour, minute, second = (_bcd(b) for b in data[3:8])
    ms = _bcd(data[8]) * 10 + (data[9] >> 4)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}"
