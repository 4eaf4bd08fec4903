"""Siemens S7comm dissector: TPKT framing, COTP, S7 PDU decoding (standard library only).

``TpktFramer`` turns one direction's reassembled bytes into TPKTs; ``parse_tpdu`` decodes
the COTP TPDU of a TPKT into a :class:`Cotp` record; ``CotpAssembler`` (one per direction)
joins COTP DT payloads into S7 PDUs; ``parse_s7`` turns an S7 PDU into a typed record
(:class:`S7Pdu` subclass, or :class:`S7PlusPdu` for S7comm-plus). ``ANOMALIES`` lists every
S7comm anomaly name with its meaning, those the engine emits (pairing) included.
"""

from __future__ import annotations

from dissectors.s7comm.anomalies import ANOMALIES
from dissectors.s7comm.consts import (
    ACK,
    ACK_DATA,
    FUNCTIONS,
    GROUPS,
    JOB,
    NO_FUNCTION,
    ROSCTR,
    S7COMM_ID,
    S7PLUS_ID,
    SUBFUNCTIONS,
    USERDATA,
    USERDATA_FUNCTION,
    function_name,
    group_name,
    rosctr_name,
    userdata_name,
)
from dissectors.s7comm.cotp import Cotp, CotpAssembler, parse_tpdu, rack_slot
from dissectors.s7comm.framing import TpktFramer
from dissectors.s7comm.pdu import parse_s7
from dissectors.s7comm.records import (
    BlockTransfer,
    DataItem,
    PlcControl,
    PlcStop,
    RawS7,
    S7Pdu,
    S7PlusPdu,
    SetupCommunication,
    UserData,
    VarAccess,
    VarItem,
)

__all__ = [
    "ACK",
    "ACK_DATA",
    "ANOMALIES",
    "FUNCTIONS",
    "GROUPS",
    "JOB",
    "NO_FUNCTION",
    "ROSCTR",
    "S7COMM_ID",
    "S7PLUS_ID",
    "SUBFUNCTIONS",
    "USERDATA",
    "USERDATA_FUNCTION",
    "BlockTransfer",
    "Cotp",
    "CotpAssembler",
    "DataItem",
    "PlcControl",
    "PlcStop",
    "RawS7",
    "S7Pdu",
    "S7PlusPdu",
    "SetupCommunication",
    "TpktFramer",
    "UserData",
    "VarAccess",
    "VarItem",
    "function_name",
    "group_name",
    "parse_s7",
    "parse_tpdu",
    "rack_slot",
    "rosctr_name",
    "userdata_name",
]
