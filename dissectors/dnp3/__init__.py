"""DNP3 dissector (IEEE 1815): link framing, transport reassembly, application decoding.

Standard library only, sans-IO. One :class:`LinkFramer` per direction turns stream bytes
(or UDP datagrams) into CRC-checked :class:`LinkFrame` records; one
:class:`TransportAssembler` per direction joins their transport segments into application
fragments; :func:`parse_app` decodes a fragment into an :class:`AppPdu` with its object
headers and points. :func:`probe` recognises DNP3 on an unexpected port. ``ANOMALIES``
lists every DNP3 anomaly name with its meaning, those the engine emits included.
"""

from __future__ import annotations

from dissectors.dnp3.anomalies import ANOMALIES
from dissectors.dnp3.app import parse_app
from dissectors.dnp3.consts import (
    FUNCTIONS,
    GROUPS,
    IIN_FLAGS,
    LINK_PRIMARY_FUNCTIONS,
    LINK_SECONDARY_FUNCTIONS,
    function_name,
)
from dissectors.dnp3.crc import crc16
from dissectors.dnp3.link import LinkFrame, LinkFramer, probe
from dissectors.dnp3.records import AppPdu, ObjectHeader, Point
from dissectors.dnp3.transport import TransportAssembler

__all__ = [
    "ANOMALIES",
    "FUNCTIONS",
    "GROUPS",
    "IIN_FLAGS",
    "LINK_PRIMARY_FUNCTIONS",
    "LINK_SECONDARY_FUNCTIONS",
    "AppPdu",
    "LinkFrame",
    "LinkFramer",
    "ObjectHeader",
    "Point",
    "TransportAssembler",
    "crc16",
    "function_name",
    "parse_app",
    "probe",
]
