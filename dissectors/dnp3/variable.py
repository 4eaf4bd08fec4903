"""Variable-size objects: g0 device attributes, g70 file control, g120 authentication.

Each decoder takes one object's bytes (its size known from the size prefix, or from the
attribute's length octet) and returns a :class:`Point`. Fields that do not fit are left
out, never guessed; the object's size was already checked by the walker, so nothing here
can run past the fragment. Octet data is kept as hex, text as text (undecodable bytes
replaced). Passwords in g70v2 are never copied, only their length.
"""

from __future__ import annotations

import struct
from typing import Final

from dissectors.dnp3 import objects as o
from dissectors.dnp3.points import fixed_point
from dissectors.dnp3.records import Point, PointValue

Extra = dict[str, int | str]

_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_F32: Final = struct.Struct("<f")
_F64: Final = struct.Struct("<d")
# g70 fixed parts
_FILE_COMMAND: Final = struct.Struct("<HHIHHIIHHH")  # v3, 26 bytes
_FILE_STATUS: Final = struct.Struct("<IIHHB")  # v4, 13 bytes
_FILE_TRANSPORT: Final = struct.Struct("<II")  # v5 (8) and v6 (+ status)
_FILE_DESCRIPTOR: Final = struct.Struct("<HHHIIHHH")  # v7, 20 bytes
_FILE_AUTH: Final = struct.Struct("<HHHHI")  # v2, 12 bytes
# g120 fixed parts
_SEQ_USER: Final = struct.Struct("<IH")
_CHALLENGE: Final = struct.Struct("<IHBB")  # v1
_KEY_STATUS: Final = struct.Struct("<IHBBBH")  # v5
_AUTH_ERROR: Final = struct.Struct("<IHHBIH")  # v7
_STATUS_CHANGE: Final = struct.Struct("<BBIHHHHH")  # v10
_UPDATE_REQUEST: Final = struct.Struct("<BHH")  # v11

VISIBLE_STRING: Final = 1
UNSIGNED: Final = 2
SIGNED: Final = 3
FLOAT: Final = 4


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def attribute(index: int | None, data_type: int, raw: bytes) -> Point:
    """One g0 device attribute: its value by data type (string, integers, float;
    anything else as hex)."""
    value: PointValue
    size = len(raw)
    if data_type == VISIBLE_STRING:
        value = text(raw)
    elif data_type == UNSIGNED and 0 < size <= 8:
        value = int.from_bytes(raw, "little")
    elif data_type == SIGNED and 0 < size <= 8:
        value = int.from_bytes(raw, "little", signed=True)
    elif data_type == FLOAT and size == 4:
        value = _F32.unpack(raw)[0]
    elif data_type == FLOAT and size == 8:
        value = _F64.unpack(raw)[0]
    else:
        value = raw.hex()
    return Point(index, value, None, None, {"data_type": data_type, "length": size})


def sized(
    group: int, variation: int, spec: o.ObjSpec | None, raw: bytes, index: int | None
) -> Point:
    """One object whose size came from its size prefix."""
    if group == 70:
        return file_object(index, variation, raw)
    if group == 120:
        if spec is not None and spec.kind == o.FIXED and len(raw) >= spec.size:
            return fixed_point(spec.layout, index, spec.structs[0].unpack_from(raw), 0)
        return auth_object(index, variation, raw)
    if spec is not None:
        if spec.kind == o.FIXED and len(raw) >= spec.size:
            return fixed_point(spec.layout, index, spec.structs[0].unpack_from(raw), 0)
        if spec.kind == o.ATTRIBUTE and len(raw) >= 2:
            return attribute(index, raw[0], raw[2 : 2 + raw[1]])
    return Point(index, raw.hex(), None, None, {"size": len(raw)})


def _name(raw: bytes, offset: int, size: int, fixed: int) -> str:
    """A string at ``offset`` (from the object start) or, when that points outside the
    object, right after its fixed part."""
    if offset + size > len(raw) or offset < fixed:
        offset = fixed
    return text(raw[offset : offset + size])


def _time(lo: int, hi: int) -> int:
    return lo | hi << 32


def file_object(index: int | None, variation: int, raw: bytes) -> Point:
    """g70 file control objects (IEEE 1815-2012 object library, group 70)."""
    n = len(raw)
    extra: Extra = {"size": n}
    value: PointValue = None
    time: int | None = None
    if variation == 2 and n >= _FILE_AUTH.size:
        uoff, usize, _poff, psize, key = _FILE_AUTH.unpack_from(raw)
        extra.update(user_name=_name(raw, uoff, usize, 12), password_length=psize, auth_key=key)
        value = extra["user_name"]
    elif variation == 3 and n >= _FILE_COMMAND.size:
        noff, nsize, tlo, thi, perms, key, fsize, mode, block, req = _FILE_COMMAND.unpack_from(raw)
        time = _time(tlo, thi)
        value = _name(raw, noff, nsize, _FILE_COMMAND.size)
        extra.update(file_name=value, permissions=perms, auth_key=key, file_size=fsize, mode=mode,
                     max_block_size=block, request_id=req)  # fmt: skip
    elif variation == 4 and n >= _FILE_STATUS.size:
        handle, fsize, block, req, status = _FILE_STATUS.unpack_from(raw)
        value = status
        extra.update(handle=handle, file_size=fsize, max_block_size=block, request_id=req,
                     status=status)  # fmt: skip
        if n > _FILE_STATUS.size:
            extra["text"] = text(raw[_FILE_STATUS.size :])
    elif variation in (5, 6) and n >= _FILE_TRANSPORT.size + variation - 5:
        handle, block = _FILE_TRANSPORT.unpack_from(raw)
        extra.update(handle=handle, block=block & 0x7FFFFFFF, last=block >> 31)
        if variation == 5:
            value = raw[8:].hex()
            extra["data_size"] = n - 8
        else:
            value = raw[8]
            extra["status"] = raw[8]
            if n > 9:
                extra["text"] = text(raw[9:])
    elif variation == 7 and n >= _FILE_DESCRIPTOR.size:
        noff, nsize, ftype, fsize, tlo, thi, perms, req = _FILE_DESCRIPTOR.unpack_from(raw)
        time = _time(tlo, thi)
        value = _name(raw, noff, nsize, _FILE_DESCRIPTOR.size)
        extra.update(file_name=value, file_type=ftype, file_size=fsize, permissions=perms,
                     request_id=req)  # fmt: skip
    elif variation == 8:
        value = text(raw)
        extra["file_specification"] = value
    else:
        value = raw.hex()
    return Point(index, value, None, time, extra)


def auth_object(index: int | None, variation: int, raw: bytes) -> Point:
    """g120 secure authentication objects: the fields that identify the message."""
    n = len(raw)
    extra: Extra = {"size": n}
    time: int | None = None
    if variation in (1, 2, 6, 12, 13) and n >= _SEQ_USER.size:
        seq, user = _SEQ_USER.unpack_from(raw)
        key = "key_change_sequence" if variation in (6, 12, 13) else "sequence"
        extra.update({key: seq, "user": user})
        if variation == 1 and n >= _CHALLENGE.size:
            extra.update(mac_algorithm=raw[6], reason=raw[7], challenge_length=n - 8)
        elif variation == 2:
            extra["mac_length"] = n - 6
        elif variation == 6:
            extra["wrapped_key_length"] = n - 6
    elif variation == 5 and n >= _KEY_STATUS.size:
        ksq, user, kwa, status, mal, clen = _KEY_STATUS.unpack_from(raw)
        extra.update(key_change_sequence=ksq, user=user, key_wrap_algorithm=kwa,
                     key_status=status, mac_algorithm=mal, challenge_length=clen,
                     mac_length=max(0, n - _KEY_STATUS.size - clen))  # fmt: skip
    elif variation == 7 and n >= _AUTH_ERROR.size:
        seq, user, assoc, code, tlo, thi = _AUTH_ERROR.unpack_from(raw)
        time = _time(tlo, thi)
        extra.update(sequence=seq, user=user, association=assoc, error_code=code)
        if n > _AUTH_ERROR.size:
            extra["text"] = text(raw[_AUTH_ERROR.size :])
    elif variation == 8 and n >= 2:
        extra.update(key_change_method=raw[0], certificate_type=raw[1])
    elif variation == 10 and n >= _STATUS_CHANGE.size:
        kcm, op, scs, role, expiry, ulen, _klen, _clen = _STATUS_CHANGE.unpack_from(raw)
        extra.update(key_change_method=kcm, operation=op, sequence=scs, user_role=role,
                     user_role_expiry=expiry)  # fmt: skip
        extra["user_name"] = text(raw[_STATUS_CHANGE.size : _STATUS_CHANGE.size + ulen])
    elif variation == 11 and n >= _UPDATE_REQUEST.size:
        kcm, ulen, _clen = _UPDATE_REQUEST.unpack_from(raw)
        extra["key_change_method"] = kcm
        extra["user_name"] = text(raw[_UPDATE_REQUEST.size : _UPDATE_REQUEST.size + ulen])
    elif variation in (9, 14, 15):
        extra["mac_length" if variation != 14 else "signature_length"] = n
    return Point(index, None, None, time, extra)
