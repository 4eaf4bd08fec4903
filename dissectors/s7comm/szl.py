"""SZL (system status list) records for the inventory: module identification (SZL ID
0x0011 / 0x0111, one index each) and component identification (0x001C / 0x011C).

Layouts as in Wireshark's packet-s7comm_szl_ids.c:

- 0x0011 record (28 bytes): index (2), order number MLFB (20 chars), module type BGTyp
  (2), Ausbg (2), Ausbe (2). Index 0x0001 is the module, 0x0006 the basic hardware (the
  Ausbe word is the hardware version), 0x0007 the basic firmware (version
  ``V<Ausbg low>.<Ausbe high>.<Ausbe low>``).
- 0x001C record (34 bytes): index (2) then 32 bytes whose meaning depends on the index:
  1 PLC name, 2 module name, 3 plant designation, 4 copyright, 5 serial number, 7 module
  type name, 8 memory card serial number, 9 manufacturer/profile ids, 10 OEM id,
  11 location designation.
"""

from __future__ import annotations

from typing import Final

_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}

MODULE_IDENT: Final = frozenset((0x0011, 0x0111, 0x0F11))
COMPONENT_IDENT: Final = frozenset((0x001C, 0x011C, 0x0F1C))

_COMPONENT_FIELDS: Final[dict[int, str]] = {
    1: "plc_name",
    2: "module_name",
    3: "plant_designation",
    4: "copyright",
    5: "serial_number",
    7: "module_type_name",
    8: "memory_card_serial_number",
    11: "location",
}


def text(raw: bytes) -> str:
    """Device string as printable text: latin-1, trailing NULs and spaces stripped."""
    return raw.split(b"\x00", 1)[0].rstrip(b" ").decode("latin-1").translate(_ESCAPES)


def identity(szl_id: int, records: tuple[bytes, ...]) -> dict[str, str]:
    """Named strings from SZL 0x0011/0x001C records; {} for other SZL ids."""
    out: dict[str, str] = {}
    if szl_id in MODULE_IDENT:
        for rec in records:
            if len(rec) >= 28:
                _module(rec, out)
    elif szl_id in COMPONENT_IDENT:
        for rec in records:
            if len(rec) >= 4:
                _component(rec, out)
    return out


def _module(rec: bytes, out: dict[str, str]) -> None:
    index = (rec[0] << 8) | rec[1]
    mlfb = text(rec[2:22])
    ausbg = (rec[24] << 8) | rec[25]
    ausbe = (rec[26] << 8) | rec[27]
    if index == 0x0001:
        out["order_number"] = mlfb
        out["module_version"] = str(ausbe)
    elif index == 0x0006:
        out.setdefault("order_number", mlfb)
        out["hardware_order_number"] = mlfb
        out["hardware_version"] = str(ausbe)
    elif index == 0x0007:
        out["firmware_version"] = f"V{ausbg & 0xFF}.{ausbe >> 8}.{ausbe & 0xFF}"
    elif index == 0x0081:
        out["firmware_extension_order_number"] = mlfb
    elif index == 0x0082:
        out["boot_loader_version"] = f"V{ausbg & 0xFF}.{ausbe >> 8}.{ausbe & 0xFF}"


def _component(rec: bytes, out: dict[str, str]) -> None:
    index = (rec[0] << 8) | rec[1]
    body = rec[2:34]
    name = _COMPONENT_FIELDS.get(index)
    if name is not None:
        out[name] = text(body)
    elif index == 9 and len(body) >= 6:
        out["manufacturer_id"] = f"0x{(body[0] << 8) | body[1]:04x}"
        out["profile_id"] = f"0x{(body[2] << 8) | body[3]:04x}"
        out["profile_specific_type"] = f"0x{(body[4] << 8) | body[5]:04x}"
    elif index == 10 and len(body) >= 32:
        out["oem_copyright"] = text(body[:26])
        out["oem_id"] = f"0x{(body[26] << 8) | body[27]:04x}"
        out["oem_add_id"] = f"0x{int.from_bytes(body[28:32], 'big'):08x}"
