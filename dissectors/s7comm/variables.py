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
    rosctr = head.rosctr
    bounds = (p, head.data, head.data_end, fc)
    # Check the structure now (anomalies are not lazy); build item objects only on use.
    problems: list[str] = []
    if head.data - p < 2:
        problems.append("item count missing")
    address = quantity = None
    values: tuple[int, ...] | None = None
    if rosctr == consts.JOB:
        problem = _check_items(pdu, p + 2, head.data, count)
        if problem:
            problems.append(problem)
        if count and head.data - p >= 14 and pdu[p + 4] == 0x10:  # first item, S7ANY
            quantity = (pdu[p + 6] << 8) | pdu[p + 7]
            address = ((pdu[p + 11] << 16) | (pdu[p + 12] << 8) | pdu[p + 13]) >> 3
        if fc == consts.WRITE_VAR:
            problem, values = _check_data(pdu, head.data, head.data_end, count)
            if problem:
                problems.append(problem)
    elif fc == consts.READ_VAR:
        problem, values = _check_data(pdu, head.data, head.data_end, count)
        if problem:
            problems.append(problem)
    elif head.data_end - head.data < count:
        problems.append(f"{head.data_end - head.data} of {count} return codes")
    anomalies: Anomalies = NONE
    if problems:
        anomalies = tuple((MALFORMED_PDU, p) for p in problems)
    return VarAccess(
        rosctr, head.pdu_ref, fc, request, head.error_class, head.error_code,
        address, quantity, values, anomalies, count, pdu, bounds,
    )  # fmt: skip


def _check_items(pdu: bytes, start: int, end: int, count: int) -> str | None:
    """The problem with the item specifications' lengths, if any (no objects built)."""
    pos = start
    for i in range(count):
        if pos + 3 > end:
            return f"item {i + 1} of {count} cut off"
        spec_len = pdu[pos + 1]
        if spec_len < 1 or pos + 2 + spec_len > end:
            return f"item {i + 1} of {count}: length {spec_len} runs past the parameter"
        pos += 2 + spec_len
    return None


def _check_data(
    pdu: bytes, start: int, end: int, count: int
) -> tuple[str | None, tuple[int, ...] | None]:
    """The data items' problem, if any, and the first item's value bytes (the walk of
    ``_data_items`` without building objects)."""
    values: tuple[int, ...] | None = None
    pos = start
    for i in range(count):
        if pos + 4 > end:
            if i == count - 1 and pos + 1 == end:
                return None, values
            return f"data item {i + 1} of {count} cut off", values
        code = pdu[pos]
        length = (pdu[pos + 2] << 8) | pdu[pos + 3]
        if code not in (0x00, 0xFF):
            length = 0
        elif pdu[pos + 1] in consts.BIT_LENGTH_SIZES:
            length = (length + 7) >> 3
        value_end = pos + 4 + length
        if i == 0:
            values = tuple(pdu[pos + 4 : min(value_end, end)])
        if value_end > end:
            return f"data item {i + 1} of {count}: {length} bytes run past the data", values
        pos = value_end + (length & 1 and i < count - 1)
    return None, values


def build_items(rec: VarAccess) -> tuple[tuple[VarItem, ...], tuple[DataItem, ...]]:
    """The item objects of a VarAccess record (see VarAccess)."""
    pdu = rec.raw
    p, data, data_end, fc = rec.bounds
    count = rec.item_count
    items: tuple[VarItem, ...] = ()
    data_items: tuple[DataItem, ...] = ()
    if rec.rosctr == consts.JOB:
        items = _items(pdu, p + 2, data, count)[0]
        if fc == consts.WRITE_VAR:
            data_items = _data_items(pdu, data, data_end, count)[0]
    elif fc == consts.READ_VAR:
        data_items = _data_items(pdu, data, data_end, count)[0]
    else:
        data_items = tuple(DataItem(c, None, b"") for c in pdu[data:data_end][:count])
    return items, data_items
