"""Block transfer (0x1A-0x1F), PI service / PLC control (0x28) and PLC stop (0x29).

Job parameters (after the function code): function status (1), 2 bytes (unknown, or for
end upload / download ended an error code), upload id (4); then for request download,
download block, download ended and start upload a file name length (1) and file name
such as ``_0A00001P`` (``_``, block type as two hex digits, 5-digit number, destination
filesystem P/A/B); request download adds a length (1) and a string ``1`` + load memory
length (6 digits) + MC7 length (6 digits). Start upload ack-data: status, 2 bytes, upload
id (4), length (1) and the block length string. Upload / download block ack-data: status;
data part: length (2), 2 bytes, block data.
PI service job: 7 unknown bytes, parameter block length (2), parameter block, service
name length (1), service name. PLC stop job: 5 unknown bytes, length (1), service name.
"""

from __future__ import annotations

from dissectors.s7comm import consts
from dissectors.s7comm.anomalies import MALFORMED_PDU
from dissectors.s7comm.records import Anomalies, BlockTransfer, PlcControl, PlcStop
from dissectors.s7comm.wire import NONE, Head

_WITH_NAME = frozenset(
    (consts.REQUEST_DOWNLOAD, consts.DOWNLOAD_BLOCK, consts.DOWNLOAD_ENDED, consts.START_UPLOAD)
)


def _ascii(raw: bytes) -> str:
    return raw.decode("latin-1").translate(_PRINTABLE)


_PRINTABLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def file_name_parts(name: str) -> tuple[str | None, int | None, str | None]:
    """(block type, number, filesystem) of ``_0A00001P`` (leading underscore optional)."""
    body = name[1:] if name.startswith("_") else name
    if len(body) < 8:
        return None, None, None
    btype = consts.BLOCK_TYPES.get(body[:2].upper(), f"unknown-{body[:2]}")
    number = int(body[2:7]) if body[2:7].isdigit() else None
    fs = consts.FILESYSTEMS.get(body[7], f"unknown-{body[7]}")
    return btype, number, fs


def block_transfer(pdu: bytes, head: Head, request: bool) -> BlockTransfer:
    p = head.param
    end = head.data
    fc = pdu[p]
    status = pdu[p + 1] if end - p >= 2 else None
    upload_id = name = lengths = None
    data_length = None
    problem: str | None = None
    if head.rosctr == consts.JOB:
        if end - p >= 8:
            upload_id = int.from_bytes(pdu[p + 4 : p + 8], "big")
        if fc in _WITH_NAME:
            if end - p >= 9 and p + 9 + pdu[p + 8] <= end:
                name = _ascii(pdu[p + 9 : p + 9 + pdu[p + 8]])
                q = p + 9 + pdu[p + 8]
                if fc == consts.REQUEST_DOWNLOAD and q < end:
                    lengths = _ascii(pdu[q + 1 : min(q + 1 + pdu[q], end)])
            else:
                problem = "file name cut off"
    elif fc == consts.START_UPLOAD and end - p >= 9:
        upload_id = int.from_bytes(pdu[p + 4 : p + 8], "big")
        lengths = _ascii(pdu[p + 9 : min(p + 9 + pdu[p + 8], end)])
    elif fc in (consts.UPLOAD, consts.DOWNLOAD_BLOCK) and head.data_end - head.data >= 4:
        d = head.data
        data_length = (pdu[d] << 8) | pdu[d + 1]
    btype = number = fs = None
    if name is not None:
        btype, number, fs = file_name_parts(name)
    anomalies: Anomalies = NONE if problem is None else ((MALFORMED_PDU, problem),)
    return BlockTransfer(
        head.rosctr, head.pdu_ref, fc, request, head.error_class, head.error_code,
        number, None, None, anomalies, status, upload_id, name, btype, number, fs, lengths,
        data_length,
    )  # fmt: skip


def plc_control(pdu: bytes, head: Head, request: bool) -> PlcControl:
    p = head.param
    end = head.data
    if head.rosctr != consts.JOB:
        return PlcControl(
            head.rosctr, head.pdu_ref, consts.PI_SERVICE, request, head.error_class,
            head.error_code, None, None, None, NONE, None, (), (),
        )  # fmt: skip
    service = None
    params: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    anomalies: Anomalies = NONE
    if end - p >= 10:
        blen = (pdu[p + 8] << 8) | pdu[p + 9]
        block = pdu[p + 10 : min(p + 10 + blen, end)]
        q = p + 10 + blen
        if q < end and q + 1 + pdu[q] <= end:
            service = _ascii(pdu[q + 1 : q + 1 + pdu[q]])
        else:
            anomalies = ((MALFORMED_PDU, "PI service name cut off"),)
        blocks, params = _pi_parameters(block, service or "")
    else:
        anomalies = ((MALFORMED_PDU, "PI service parameters cut off"),)
    number = None
    if blocks:
        number = file_name_parts(blocks[0])[1]
    return PlcControl(
        head.rosctr, head.pdu_ref, consts.PI_SERVICE, request, head.error_class,
        head.error_code, number, None, None, anomalies, service, params, blocks,
    )  # fmt: skip


def _pi_parameters(block: bytes, service: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(block names, other strings) of a PI parameter block. _INSE/_DELE: number of
    blocks (1), 1 unknown byte, then 8 characters per block (``0A00001P``)."""
    if service in ("_INSE", "_DELE") and len(block) >= 2:
        count = block[0]
        names = block[2:]
        if count and len(names) >= 8 * count:
            return tuple(_ascii(names[8 * i : 8 * i + 8]) for i in range(count)), ()
    if not block:
        return (), ()
    return (), (_ascii(block),)


def plc_stop(pdu: bytes, head: Head, request: bool) -> PlcStop:
    p = head.param
    end = head.data
    service = None
    anomalies: Anomalies = NONE
    if head.rosctr == consts.JOB:
        if end - p >= 7 and p + 7 + pdu[p + 6] <= end:
            service = _ascii(pdu[p + 7 : p + 7 + pdu[p + 6]])
        else:
            anomalies = ((MALFORMED_PDU, "PLC stop service name cut off"),)
    return PlcStop(
        head.rosctr, head.pdu_ref, consts.PLC_STOP, request, head.error_class, head.error_code,
        None, None, None, anomalies, service,
    )  # fmt: skip
