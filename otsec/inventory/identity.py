"""What the industrial protocols disclose about a device's identity.

:func:`facts` reads one transaction and returns ``(side, field, value)`` triples, side
being ``client`` or ``server``: Modbus device identification (FC 43/14) and report server
id (FC 17), S7 SZL 0x0011/0x001C records and the rack/slot of the COTP connection, DNP3
link addresses and g0 device attributes. Field names are shared across protocols where
they mean the same thing (``vendor_name``, ``product_name``, ``firmware_version``,
``serial_number``).
"""

from __future__ import annotations

from typing import Any

from dissectors.modbus.consts import device_id_object_name
from dissectors.modbus.records import text
from otsec.events.types import Transaction

Fact = tuple[str, str, str]  # (side, field, value)

#: Modbus device identification object names -> identity fields.
_MODBUS_OBJECTS = {
    "vendor_name": "vendor_name",
    "product_code": "product_code",
    "major_minor_revision": "revision",
    "vendor_url": "vendor_url",
    "product_name": "product_name",
    "model_name": "model_name",
    "user_application_name": "user_application_name",
}
#: SZL identity keys kept (0x0011 module identification, 0x001C component identification).
_SZL_FIELDS = frozenset({
    "order_number", "module_version", "hardware_order_number", "hardware_version",
    "firmware_version", "boot_loader_version", "plc_name", "module_name",
    "plant_designation", "serial_number", "module_type_name", "memory_card_serial_number",
    "location", "copyright",
})  # fmt: skip
#: DNP3 g0 device attribute variations -> identity fields.
_DNP3_ATTRIBUTES = {
    242: "firmware_version",
    243: "hardware_version",
    245: "location",
    246: "user_id_code",
    247: "device_name",
    248: "serial_number",
    250: "product_name",
    252: "vendor_name",
}
#: Units that address the Modbus/TCP device itself rather than one behind a gateway.
_DEVICE_UNITS = frozenset({0, 1, 255})

#: Fields whose change on a known device is reported (firmware or module replaced).
CHANGE_FIELDS = frozenset({
    "firmware_version", "order_number", "hardware_order_number", "hardware_version",
    "module_name", "module_type_name", "serial_number", "product_code", "revision",
    "product_name", "model_name",
})  # fmt: skip


def facts(t: Transaction) -> list[Fact]:
    """Identity facts one transaction discloses (usually none)."""
    proto = t.protocol
    if proto == "s7comm":
        return _s7(t)
    if proto == "dnp3":
        return _dnp3(t)
    if proto == "modbus":
        return _modbus(t)
    return []


def _modbus(t: Transaction) -> list[Fact]:
    resp = t.response
    if resp is None or resp.exception_code is not None:
        return []
    prefix = "" if resp.unit in _DEVICE_UNITS else f"unit{resp.unit}/"
    objects = getattr(resp, "objects", None)
    if t.record.function == 43 and objects:
        out: list[Fact] = []
        for code, raw in objects:
            name = _MODBUS_OBJECTS.get(device_id_object_name(code))
            value = text(raw)
            if name is not None and value:
                out.append(("server", prefix + name, value))
        return out
    if t.record.function == 17 and getattr(resp, "additional_data", b""):
        value = text(resp.additional_data)
        return [("server", prefix + "server_id_data", value)] if value else []
    return []


def _s7(t: Transaction) -> list[Fact]:
    out: list[Fact] = []
    conn = t.extra
    if conn:
        for key in ("rack", "slot"):
            if key in conn:
                out.append(("server", key, str(conn[key])))
    resp = t.response
    if resp is not None and t.operation == "identify" and hasattr(resp, "identity"):
        ident: dict[str, Any] = resp.identity()
        for key in sorted(ident):
            value = ident[key]
            if key in _SZL_FIELDS and value:
                out.append(("server", key, str(value)))
    return out


def _dnp3(t: Transaction) -> list[Fact]:
    out: list[Fact] = []
    extra = t.extra
    if extra and "master" in extra:
        out.append(("client", "dnp3_address", str(extra["master"])))
        out.append(("server", "dnp3_address", str(extra["outstation"])))
    resp = t.response
    if resp is not None and t.operation == "identify":
        for obj in resp.objects:
            name = _DNP3_ATTRIBUTES.get(obj.variation) if obj.group == 0 else None
            if name is None:
                continue
            for point in obj.points:
                if point.value is not None and point.value != "":
                    out.append(("server", name, str(point.value)))
    return out
