"""Modbus name tables and the protocol-neutral meaning of each code, as data.

Sources: Modbus Application Protocol Specification V1.1b3 (function, exception, diagnostics
sub-function and MEI codes, device identification objects), Modbus Messaging on TCP/IP
Implementation Guide V1.0b (MBAP header) and, for Schneider Electric's proprietary UMAS
(function 90), the public reverse-engineering work that Wireshark's UMAS dissector also
follows (P. Liras, "The Unity (UMAS) protocol", 2017; Kaspersky ICS CERT, "The secrets of
Schneider Electric's UMAS protocol", 2022).

Unknown codes are never errors: every lookup falls back to ``unknown-<n>``.
"""

from __future__ import annotations

from typing import Final

# -- Function codes ---------------------------------------------------------------------

FUNCTIONS: Final[dict[int, str]] = {
    1: "read_coils",
    2: "read_discrete_inputs",
    3: "read_holding_registers",
    4: "read_input_registers",
    5: "write_single_coil",
    6: "write_single_register",
    7: "read_exception_status",
    8: "diagnostics",
    11: "get_comm_event_counter",
    12: "get_comm_event_log",
    15: "write_multiple_coils",
    16: "write_multiple_registers",
    17: "report_server_id",
    20: "read_file_record",
    21: "write_file_record",
    22: "mask_write_register",
    23: "read_write_multiple_registers",
    24: "read_fifo_queue",
    43: "encapsulated_interface_transport",
    90: "umas",
}

#: Function codes 65-72 and 100-110 are reserved by the spec for user-defined functions.
USER_DEFINED: Final[frozenset[int]] = frozenset((*range(65, 73), *range(100, 111)))

# Operation classes shared by all protocols (DESIGN.md principle 7).
READ: Final = "read"
WRITE: Final = "write"
DIAGNOSTIC: Final = "diagnostic"
IDENTIFY: Final = "identify"
RESTART: Final = "restart"
MODE_CHANGE: Final = "mode_change"
PROGRAM_DOWNLOAD: Final = "program_download"
PROGRAM_UPLOAD: Final = "program_upload"
AUTH: Final = "auth"
UNKNOWN: Final = "unknown"

#: (access, target, operation) of each public function. Diagnostics, MEI and UMAS refine
#: theirs by sub-function (see the tables below); other codes are ``UNKNOWN_SEMANTICS``.
SEMANTICS: Final[dict[int, tuple[str, str, str]]] = {
    1: ("read", "coil", READ),
    2: ("read", "discrete_input", READ),
    3: ("read", "holding_register", READ),
    4: ("read", "input_register", READ),
    5: ("write", "coil", WRITE),
    6: ("write", "holding_register", WRITE),
    7: ("read", "exception_status", DIAGNOSTIC),
    8: ("none", "diagnostic_counter", DIAGNOSTIC),
    11: ("read", "diagnostic_counter", DIAGNOSTIC),
    12: ("read", "event_log", DIAGNOSTIC),
    15: ("write", "coil", WRITE),
    16: ("write", "holding_register", WRITE),
    17: ("read", "server_id", IDENTIFY),
    20: ("read", "file", READ),
    21: ("write", "file", WRITE),
    22: ("write", "holding_register", WRITE),
    23: ("read_write", "holding_register", WRITE),
    24: ("read", "fifo", READ),
    43: ("none", "none", UNKNOWN),
    90: ("none", "plc", UNKNOWN),
}
UNKNOWN_SEMANTICS: Final = ("none", "none", UNKNOWN)

#: Largest quantity a request may carry (spec sections 6.1-6.17), per function.
QUANTITY_LIMITS: Final[dict[int, int]] = {1: 2000, 2: 2000, 3: 125, 4: 125, 15: 1968, 16: 123}
#: Function 23: at most 125 registers read and 121 written in one request.
RW_READ_LIMIT: Final = 125
RW_WRITE_LIMIT: Final = 121
#: Function 24: a FIFO queue holds at most 31 registers.
FIFO_LIMIT: Final = 31


def function_name(code: int) -> str:
    """snake_case name of a function code; ``unknown-<n>`` for codes without one."""
    name = FUNCTIONS.get(code)
    return name if name is not None else f"unknown-{code}"


# -- Exception codes --------------------------------------------------------------------

EXCEPTIONS: Final[dict[int, str]] = {
    1: "illegal_function",
    2: "illegal_data_address",
    3: "illegal_data_value",
    4: "server_device_failure",
    5: "acknowledge",
    6: "server_device_busy",
    7: "negative_acknowledge",  # Modicon legacy, kept by most implementations
    8: "memory_parity_error",
    10: "gateway_path_unavailable",
    11: "gateway_target_device_failed_to_respond",
}


def exception_name(code: int) -> str:
    name = EXCEPTIONS.get(code)
    return name if name is not None else f"unknown-{code}"


# -- Diagnostics (function 8) sub-functions ----------------------------------------------

DIAGNOSTICS: Final[dict[int, str]] = {
    0: "return_query_data",
    1: "restart_communications_option",
    2: "return_diagnostic_register",
    3: "change_ascii_input_delimiter",
    4: "force_listen_only_mode",
    10: "clear_counters_and_diagnostic_register",
    11: "return_bus_message_count",
    12: "return_bus_communication_error_count",
    13: "return_bus_exception_error_count",
    14: "return_server_message_count",
    15: "return_server_no_response_count",
    16: "return_server_nak_count",
    17: "return_server_busy_count",
    18: "return_bus_character_overrun_count",
    # 19 and 21 are reserved in V1.1b3; Modicon's PI-MBUS-300 defined them for Modbus Plus.
    19: "return_iop_overrun_count",
    20: "clear_overrun_counter_and_flag",
    21: "get_clear_modbus_plus_statistics",
}

#: (access, operation) per diagnostics sub-function; the default is ("read", diagnostic).
DIAGNOSTIC_SEMANTICS: Final[dict[int, tuple[str, str]]] = {
    0: ("none", DIAGNOSTIC),  # loopback
    1: ("none", RESTART),  # restarts the server's serial port, may clear the event log
    3: ("none", DIAGNOSTIC),
    4: ("none", MODE_CHANGE),  # the server stops answering until restarted
    10: ("write", DIAGNOSTIC),
    20: ("write", DIAGNOSTIC),
}
DIAGNOSTIC_DEFAULT: Final = ("read", DIAGNOSTIC)


def diagnostic_name(code: int) -> str:
    name = DIAGNOSTICS.get(code)
    return name if name is not None else f"unknown-{code}"


# -- Encapsulated interface transport (function 43) --------------------------------------

MEI_CANOPEN: Final = 13
MEI_DEVICE_ID: Final = 14
MEI_TYPES: Final[dict[int, str]] = {
    MEI_CANOPEN: "canopen_general_reference",
    MEI_DEVICE_ID: "read_device_identification",
}

#: Read device ID codes (request) - which object category the client asks for.
READ_DEVICE_ID_CODES: Final[dict[int, str]] = {
    1: "basic",
    2: "regular",
    3: "extended",
    4: "individual",
}

#: Conformity levels a server reports (bit 7: individual access supported as well).
CONFORMITY_LEVELS: Final[dict[int, str]] = {
    0x01: "basic",
    0x02: "regular",
    0x03: "extended",
    0x81: "basic_individual",
    0x82: "regular_individual",
    0x83: "extended_individual",
}

DEVICE_ID_OBJECTS: Final[dict[int, str]] = {
    0: "vendor_name",
    1: "product_code",
    2: "major_minor_revision",
    3: "vendor_url",
    4: "product_name",
    5: "model_name",
    6: "user_application_name",
}


def mei_name(code: int) -> str:
    name = MEI_TYPES.get(code)
    return name if name is not None else f"unknown-{code}"


def device_id_object_name(code: int) -> str:
    """Name of a device identification object; reserved and private ones are
    ``object-<n>`` (7-0x7F are reserved, 0x80-0xFF are vendor-specific)."""
    name = DEVICE_ID_OBJECTS.get(code)
    return name if name is not None else f"object-{code}"


def table_name(table: dict[int, str], code: int) -> str:
    name = table.get(code)
    return name if name is not None else f"unknown-{code}"


# -- Schneider Electric UMAS (function 90 / 0x5A) ----------------------------------------
#
# A UMAS request is ``0x5A <pairing key> <UMAS function> <data>``; the response repeats the
# pairing key and carries 0xFE (OK) or 0xFD (error) in place of the function. The pairing
# key is 0x00 until a reservation (0x10) returns one.
#
# Careful with upload/download: UMAS names them from the PLC's point of view, the opposite
# of Schneider's engineering tools and of S7. 0x30-0x32 ("upload") copy a program from the
# engineering PC INTO the PLC, and 0x33-0x35 ("download") copy it OUT of the PLC (checked
# on quickdraw__modicon_test.pcap: the 0x34 responses carry the blocks). otsec's operation
# classes follow the direction of the program, as they do for S7: into the PLC is
# ``program_download``, out of it is ``program_upload``.

UMAS_RESPONSE_OK: Final = 0xFE
UMAS_RESPONSE_ERROR: Final = 0xFD

#: code -> (name, access, operation)
UMAS_FUNCTIONS: Final[dict[int, tuple[str, str, str]]] = {
    0x01: ("init_comm", "none", DIAGNOSTIC),
    0x02: ("read_id", "read", IDENTIFY),
    0x03: ("read_project_info", "read", IDENTIFY),
    0x04: ("read_plc_info", "read", IDENTIFY),
    0x06: ("read_card_info", "read", IDENTIFY),
    0x0A: ("repeat", "none", DIAGNOSTIC),
    0x10: ("take_plc_reservation", "none", AUTH),
    0x11: ("release_plc_reservation", "none", AUTH),
    0x12: ("keep_alive", "none", AUTH),
    0x20: ("read_memory_block", "read", READ),
    0x22: ("read_variables", "read", READ),
    0x23: ("write_variables", "write", WRITE),
    0x24: ("read_coils_registers", "read", READ),
    0x25: ("write_coils_registers", "write", WRITE),
    0x26: ("data_dictionary", "read", READ),
    0x30: ("initialize_upload", "write", PROGRAM_DOWNLOAD),
    0x31: ("upload_block", "write", PROGRAM_DOWNLOAD),
    0x32: ("end_strategy_upload", "write", PROGRAM_DOWNLOAD),
    0x33: ("initialize_download", "read", PROGRAM_UPLOAD),
    0x34: ("download_block", "read", PROGRAM_UPLOAD),
    0x35: ("end_strategy_download", "read", PROGRAM_UPLOAD),
    0x39: ("read_ethernet_master_data", "read", READ),
    0x40: ("start_plc", "none", MODE_CHANGE),
    0x41: ("stop_plc", "none", MODE_CHANGE),
    0x50: ("monitor_plc", "read", READ),  # observed reading variables; may also force them
    0x58: ("check_plc", "none", DIAGNOSTIC),
    0x70: ("read_io_object", "read", READ),
    0x71: ("write_io_object", "write", WRITE),
    0x73: ("get_status_module", "read", DIAGNOSTIC),
    UMAS_RESPONSE_ERROR: ("response_error", "none", UNKNOWN),
    UMAS_RESPONSE_OK: ("response_ok", "none", UNKNOWN),
}
UMAS_UNKNOWN: Final = ("none", UNKNOWN)


def umas_name(code: int) -> str:
    entry = UMAS_FUNCTIONS.get(code)
    return entry[0] if entry is not None else f"unknown-{code}"
