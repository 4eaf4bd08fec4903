"""The DNP3 object library as data: how big each group/variation is and how to read it.

Every object the walker can size has an :class:`ObjSpec`:

* ``FIXED``: ``size`` bytes laid out as ``fmt`` (little-endian ``struct`` codes); the
  ``layout`` says which field is the value, the flags, the time ... One precompiled
  ``Struct`` per index prefix width (none, 1, 2, 4 octets) reads a whole run of points.
* ``PACKED``: ``size`` bits per point, packed from bit 0 of the first octet (g1v1, g3v1,
  g10v1, g12v3, g80v1).
* ``OCTETS``: as many octets as the variation number (g110, g111, g112, g113).
* ``ATTRIBUTE``: a g0 device attribute, data type + length + value.
* ``SIZED``: variable size, only walkable with an object size prefix (g70 files, most of
  g120 authentication, g90 application identifiers, data sets ...).
* ``EMPTY``: never carries data (g60 class objects, g0v254).

Sizes and layouts follow the IEEE 1815-2012 object library tables. Variation 0 ("any
variation") has no entry: it only appears in requests without object data.
"""

from __future__ import annotations

import struct
from typing import Final

FIXED: Final = 0
PACKED: Final = 1
OCTETS: Final = 2
ATTRIBUTE: Final = 3
SIZED: Final = 4
EMPTY: Final = 5

# Layouts of FIXED objects (field order after any index prefix).
FLAGS_BIT: Final = 0  # flags; the state is flag bit 7
FLAGS_BIT_T48: Final = 1  # flags, time48
FLAGS_BIT_T16: Final = 2  # flags, relative time16
FLAGS_DBL: Final = 3  # flags; the double-bit state is flag bits 6-7
FLAGS_DBL_T48: Final = 4
FLAGS_DBL_T16: Final = 5
FLAG_VALUE: Final = 6  # flags, value
FLAG_VALUE_T48: Final = 7  # flags, value, time48
VALUE: Final = 8  # value
VALUE_STATUS: Final = 9  # value, status (g41 analog output block)
STATUS_VALUE: Final = 10  # status, value (g43 analog output command event)
STATUS_VALUE_T48: Final = 11
CROB: Final = 12  # code, count, on ms, off ms, status (g12v1/v2)
COMMAND_EVENT: Final = 13  # commanded state (bit 7) and status (bits 0-6) (g13)
COMMAND_EVENT_T48: Final = 14
TIME: Final = 15  # time48 (g50v1, g50v3, g51)
TIME_INTERVAL: Final = 16  # time48, interval ms (g50v2)
TIME_INDEXED: Final = 17  # time48, interval count, interval units (g50v4)
DELAY_S: Final = 18  # u16 seconds (g52v1)
DELAY_MS: Final = 19  # u16 milliseconds (g52v2)
SEC_STAT: Final = 20  # flags, association id, value (g121v1, g122v1)
SEC_STAT_T48: Final = 21
AUTH_SEQ_USER: Final = 22  # challenge sequence, user (g120v3)
AUTH_USER: Final = 23  # user (g120v4)

_PREFIX_CODES: Final = ("", "B", "H", "I")


class ObjSpec:
    """How one group/variation is sized and read."""

    __slots__ = ("kind", "layout", "size", "structs")

    def __init__(self, kind: int, size: int = 0, fmt: str = "", layout: int = -1) -> None:
        self.kind = kind
        #: FIXED: bytes per object; PACKED: bits per point.
        self.size = size
        self.layout = layout
        #: FIXED: the object's Struct behind no / 1 / 2 / 4-octet index prefixes.
        self.structs: tuple[struct.Struct, ...] = (
            tuple(struct.Struct("<" + p + fmt) for p in _PREFIX_CODES) if fmt else ()
        )
        if fmt:
            self.size = self.structs[0].size


def _fixed(fmt: str, layout: int) -> ObjSpec:
    return ObjSpec(FIXED, 0, fmt, layout)


def gv(group: int, variation: int) -> int:
    return group << 8 | variation


#: g32, g33, g42: analog (output) events.
_FLAGGED_EVENTS: Final[dict[int, tuple[str, int]]] = {
    1: ("Bi", FLAG_VALUE), 2: ("Bh", FLAG_VALUE), 3: ("BiIH", FLAG_VALUE_T48),
    4: ("BhIH", FLAG_VALUE_T48), 5: ("Bf", FLAG_VALUE), 6: ("Bd", FLAG_VALUE),
    7: ("BfIH", FLAG_VALUE_T48), 8: ("BdIH", FLAG_VALUE_T48),
}  # fmt: skip
#: g21 v1-v8, g22, g23: counters with flags (and time).
_COUNTER_EVENTS: Final[dict[int, tuple[str, int]]] = {
    1: ("BI", FLAG_VALUE), 2: ("BH", FLAG_VALUE), 3: ("BI", FLAG_VALUE), 4: ("BH", FLAG_VALUE),
    5: ("BIIH", FLAG_VALUE_T48), 6: ("BHIH", FLAG_VALUE_T48), 7: ("BIIH", FLAG_VALUE_T48),
    8: ("BHIH", FLAG_VALUE_T48),
}  # fmt: skip

_FIXED_TABLE: Final[dict[int, tuple[str, int]]] = {
    gv(1, 2): ("B", FLAGS_BIT),
    gv(2, 1): ("B", FLAGS_BIT),
    gv(2, 2): ("BIH", FLAGS_BIT_T48),
    gv(2, 3): ("BH", FLAGS_BIT_T16),
    gv(3, 2): ("B", FLAGS_DBL),
    gv(4, 1): ("B", FLAGS_DBL),
    gv(4, 2): ("BIH", FLAGS_DBL_T48),
    gv(4, 3): ("BH", FLAGS_DBL_T16),
    gv(10, 2): ("B", FLAGS_BIT),
    gv(11, 1): ("B", FLAGS_BIT),
    gv(11, 2): ("BIH", FLAGS_BIT_T48),
    gv(12, 1): ("BBIIB", CROB),
    gv(12, 2): ("BBIIB", CROB),
    gv(13, 1): ("B", COMMAND_EVENT),
    gv(13, 2): ("BIH", COMMAND_EVENT_T48),
    gv(20, 1): ("BI", FLAG_VALUE),
    gv(20, 2): ("BH", FLAG_VALUE),
    gv(20, 3): ("BI", FLAG_VALUE),
    gv(20, 4): ("BH", FLAG_VALUE),
    gv(20, 5): ("I", VALUE),
    gv(20, 6): ("H", VALUE),
    gv(20, 7): ("I", VALUE),
    gv(20, 8): ("H", VALUE),
    gv(21, 9): ("I", VALUE),
    gv(21, 10): ("H", VALUE),
    gv(21, 11): ("I", VALUE),
    gv(21, 12): ("H", VALUE),
    gv(30, 1): ("Bi", FLAG_VALUE),
    gv(30, 2): ("Bh", FLAG_VALUE),
    gv(30, 3): ("i", VALUE),
    gv(30, 4): ("h", VALUE),
    gv(30, 5): ("Bf", FLAG_VALUE),
    gv(30, 6): ("Bd", FLAG_VALUE),
    gv(31, 1): ("Bi", FLAG_VALUE),
    gv(31, 2): ("Bh", FLAG_VALUE),
    gv(31, 3): ("BiIH", FLAG_VALUE_T48),
    gv(31, 4): ("BhIH", FLAG_VALUE_T48),
    gv(31, 5): ("i", VALUE),
    gv(31, 6): ("h", VALUE),
    gv(31, 7): ("Bf", FLAG_VALUE),
    gv(31, 8): ("Bd", FLAG_VALUE),
    gv(34, 1): ("H", VALUE),
    gv(34, 2): ("I", VALUE),
    gv(34, 3): ("f", VALUE),
    gv(40, 1): ("Bi", FLAG_VALUE),
    gv(40, 2): ("Bh", FLAG_VALUE),
    gv(40, 3): ("Bf", FLAG_VALUE),
    gv(40, 4): ("Bd", FLAG_VALUE),
    gv(41, 1): ("iB", VALUE_STATUS),
    gv(41, 2): ("hB", VALUE_STATUS),
    gv(41, 3): ("fB", VALUE_STATUS),
    gv(41, 4): ("dB", VALUE_STATUS),
    gv(43, 1): ("Bi", STATUS_VALUE),
    gv(43, 2): ("Bh", STATUS_VALUE),
    gv(43, 3): ("BiIH", STATUS_VALUE_T48),
    gv(43, 4): ("BhIH", STATUS_VALUE_T48),
    gv(43, 5): ("Bf", STATUS_VALUE),
    gv(43, 6): ("Bd", STATUS_VALUE),
    gv(43, 7): ("BfIH", STATUS_VALUE_T48),
    gv(43, 8): ("BdIH", STATUS_VALUE_T48),
    gv(50, 1): ("IH", TIME),
    gv(50, 2): ("IHI", TIME_INTERVAL),
    gv(50, 3): ("IH", TIME),
    gv(50, 4): ("IHIB", TIME_INDEXED),
    gv(51, 1): ("IH", TIME),
    gv(51, 2): ("IH", TIME),
    gv(52, 1): ("H", DELAY_S),
    gv(52, 2): ("H", DELAY_MS),
    gv(102, 1): ("B", VALUE),
    gv(120, 3): ("IH", AUTH_SEQ_USER),
    gv(120, 4): ("H", AUTH_USER),
    gv(121, 1): ("BHI", SEC_STAT),
    gv(122, 1): ("BHI", SEC_STAT),
    gv(122, 2): ("BHIIH", SEC_STAT_T48),
}


def _specs() -> dict[int, ObjSpec]:
    table = dict(_FIXED_TABLE)
    for variation, entry in _COUNTER_EVENTS.items():
        for group in (21, 22, 23):
            table[gv(group, variation)] = entry
    for variation, entry in _FLAGGED_EVENTS.items():
        for group in (32, 33, 42):
            table[gv(group, variation)] = entry
    out = {key: _fixed(fmt, layout) for key, (fmt, layout) in table.items()}
    for key in (gv(1, 1), gv(10, 1), gv(12, 3), gv(80, 1)):
        out[key] = ObjSpec(PACKED, 1)
    out[gv(3, 1)] = ObjSpec(PACKED, 2)
    for variation in range(1, 256):
        out[gv(0, variation)] = ObjSpec(ATTRIBUTE)
    out[gv(0, 254)] = ObjSpec(EMPTY)
    for variation in range(1, 5):
        out[gv(60, variation)] = ObjSpec(EMPTY)
    for group in (110, 111, 112, 113):
        for variation in range(256):
            out[gv(group, variation)] = ObjSpec(OCTETS, variation)
    sized = [gv(70, v) for v in range(1, 9)] + [gv(120, v) for v in range(1, 16)]
    sized += [gv(90, 1), gv(91, 1), gv(81, 1), gv(82, 1), gv(83, 1), gv(83, 2)]
    sized += [gv(g, 1) for g in (85, 86, 87, 88)]
    for key in sized:
        out.setdefault(key, ObjSpec(SIZED))
    return out


#: (group << 8 | variation) -> how to size and read it.
SPECS: Final[dict[int, ObjSpec]] = _specs()
