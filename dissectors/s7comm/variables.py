"""Read var (0x04) and write var (0x05): item specifications and data items.

Request parameter: function, item count, then per item: variable specification 0x12,
length of the rest, syntax id, and for S7ANY (0x10): transport size (1), length (2),
DB number (2), area (1), address (3: byte address << 3 | bit address). DBREAD (0xB0):
number of areas, then per area length (1), DB number (2), start (2).
Data part (write request, read response): per item return code (1), transport size (1),
length (2; bits for transport sizes 3, 4, 5), value, a fill byte after an odd-length value
that is not the last. Write var response data: one return code per item.
"""

from __future__ import annotations

from dissectors.s7comm import consts
from dissectors.s7comm.anomalies import MALFORMED_PDU
from dissectors.s7comm.records import Anomalies, DataItem, VarAccess, VarItem
from dissectors.s7comm.wire import NONE, Head


def _items(pdu: bytes, start: int, end: int, count: int) -> tuple[tuple[VarItem, ...], str | None]:
    items: list[VarItem] = []
    pos = start
    for i in range(count):
        if pos + 3 > end:
            return tuple(items), f"item {i + 1} of {count} cut off"
        spec_len = pdu[pos + 1]
        item_end = pos + 2 + spec_len
        if item_end > end or spec_len < 1:
            return tuple(
                items
            ), f"item {i + 1} of {count}: length {spec_len} runs past the parameter"
        syntax = pdu[pos + 2]
        if syntax == 0x10 and spec_len >= 10:
            addr = (pdu[pos + 9] << 16) | (pdu[pos + 10] << 8) | pdu[pos + 11]
            items.append(
                VarItem(
                    syntax,
                    pdu[pos + 3],
                    (pdu[pos + 4] << 8) | pdu[pos + 5],
                    (pdu[pos + 6] << 8) | pdu[pos + 7],
                    pdu[pos + 8],
                    addr >> 3,
                    addr & 7,
                    b"",
                )
            )
        elif syntax == 0xB0 and spec_len >= 7:
            items.append(
                VarItem(
                    syntax,
                    None,
                    pdu[pos + 4],
                    (pdu[pos + 5] << 8) | pdu[pos + 6],
                    0x84,
                    (pdu[pos + 7] << 8) | pdu[pos + 8],
                    0,
                    pdu[pos + 3 : item_end],
                )
            )
        else:
            raw = pdu[pos + 3 : item_end]
            items.append(VarItem(syntax, None, None, None, None, None, None, raw))
        pos = item_end
    return tuple(items), None


def _data_items(
    pdu: bytes, start: int, end: int, count: int
) -> tuple[tuple[DataItem, ...], str | None]:
    items: list[DataItem] = []
    pos = start
    for i in range(count):
        if pos + 4 > end:
            if pos + 1 <= end and i == count - 1 and pos + 1 == end:
                items.append(DataItem(pdu[pos], None, b""))
                return tuple(items), None
            return tuple(items), f"data item {i + 1} of {count} cut off"
        tsize = pdu[pos + 1]
        length = (pdu[pos + 2] << 8) | pdu[pos + 3]
        if pdu[pos] not in (0x00, 0xFF):
            length = 0  # an error item has no value, whatever its length field says
        elif tsize in consts.BIT_LENGTH_SIZES:
            length = (length + 7) >> 3
        value_end = pos + 4 + length
        if value_end > end:
            items.append(DataItem(pdu[pos], tsize, pdu[pos + 4 : end]))
            return tuple(items), f"data item {i + 1} of {count}: {length} bytes run past the data"
        items.append(DataItem(pdu[pos], tsize, pdu[pos + 4 : value_end]))
        pos = value_end + (length & 1 and i < count - 1)
    return tuple(items), None


def read_var(pdu: bytes, head: Head, request: bool) -> VarAccess:
    return _var_access(pdu, head, request, consts.READ_VAR)


def write_var(pdu: bytes, head: Head, request: bool) -> VarAccess:
    return _var_access(pdu, head, request, consts.WRITE_VAR)


def _var_access(pdu: bytes, head: Head, request: bool, fc: int) -> VarAccess:
    p = head.param
    count = pdu[p + 1] if head.data - p >= 2 else 0
    problems: list[str] = []
    if head.data - p < 2:
        problems.append("item count missing")
    items: tuple[VarItem, ...] = ()
    data_items: tuple[DataItem, ...] = ()
    if head.rosctr == consts.JOB:
        items, problem = _items(pdu, p + 2, head.data, count)
        if problem:
            problems.append(problem)
        if fc == consts.WRITE_VAR:
            data_items, problem = _data_items(pdu, head.data, head.data_end, count)
            if problem:
                problems.append(problem)
    elif fc == consts.READ_VAR:
        data_items, problem = _data_items(pdu, head.data, head.data_end, count)
        if problem:
            problems.append(problem)
    else:
        data_items = tuple(DataItem(c, None, b"") for c in pdu[head.data : head.data_end][:count])
        if len(data_items) < count:
            problems.append(f"{len(data_items)} of {count} return codes")
    anomalies: Anomalies = NONE
    if problems:
        anomalies = tuple((MALFORMED_PDU, p) for p in problems)
    address = quantity = None
    if items:
        address, quantity = items[0].byte_address, items[0].length
    values = None
    if data_items and data_items[0].transport_size is not None:
        values = tuple(data_items[0].data)
    return VarAccess(
        head.rosctr, head.pdu_ref, fc, request, head.error_class, head.error_code,
        address, quantity, values, anomalies, count, items, data_items,
    )  # fmt: skip
