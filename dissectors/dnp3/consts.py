"""DNP3 name tables and the protocol-neutral meaning of each code, as data.

Facts follow IEEE 1815-2012 (link, transport and application layers, object library)
and Wireshark's DNP3 dissector. Unknown codes are never errors: lookups fall back to
``unknown-<n>``.
"""

from __future__ import annotations

from typing import Final

from dissectors.semantics import Semantics  # (access, target, operation)

# -- Link layer ---------------------------------------------------------------------------
START_1: Final = 0x05
START_2: Final = 0x64
LINK_HEADER: Final = 10
#: Smallest LEN: control, destination and source (the LEN byte counts them and the data).
MIN_LINK_LENGTH: Final = 5
BLOCK: Final = 16

#: Primary (PRM = 1) link function codes.
LINK_PRIMARY_FUNCTIONS: Final[dict[int, str]] = {
    0: "reset_link_states",
    1: "reset_user_process",
    2: "test_link_states",
    3: "confirmed_user_data",
    4: "unconfirmed_user_data",
    9: "request_link_status",
}
#: Secondary (PRM = 0) link function codes.
LINK_SECONDARY_FUNCTIONS: Final[dict[int, str]] = {
    0: "ack",
    1: "nack",
    11: "link_status",
    14: "link_not_functioning",
    15: "link_not_used",
}
#: Primary link functions that carry a transport segment.
USER_DATA_FUNCTIONS: Final = frozenset({3, 4})

# -- Application functions ----------------------------------------------------------------
CONFIRM: Final = 0x00
READ: Final = 0x01
WRITE: Final = 0x02
SELECT: Final = 0x03
OPERATE: Final = 0x04
DIRECT_OPERATE: Final = 0x05
DIRECT_OPERATE_NR: Final = 0x06
IMMED_FREEZE: Final = 0x07
IMMED_FREEZE_NR: Final = 0x08
FREEZE_CLEAR: Final = 0x09
FREEZE_CLEAR_NR: Final = 0x0A
FREEZE_AT_TIME: Final = 0x0B
FREEZE_AT_TIME_NR: Final = 0x0C
COLD_RESTART: Final = 0x0D
WARM_RESTART: Final = 0x0E
INITIALIZE_DATA: Final = 0x0F
INITIALIZE_APPL: Final = 0x10
START_APPL: Final = 0x11
STOP_APPL: Final = 0x12
SAVE_CONFIG: Final = 0x13
ENABLE_UNSOLICITED: Final = 0x14
DISABLE_UNSOLICITED: Final = 0x15
ASSIGN_CLASS: Final = 0x16
DELAY_MEASURE: Final = 0x17
RECORD_CURRENT_TIME: Final = 0x18
OPEN_FILE: Final = 0x19
CLOSE_FILE: Final = 0x1A
DELETE_FILE: Final = 0x1B
GET_FILE_INFO: Final = 0x1C
AUTHENTICATE_FILE: Final = 0x1D
ABORT_FILE: Final = 0x1E
ACTIVATE_CONFIG: Final = 0x1F
AUTHENTICATE_REQ: Final = 0x20
AUTH_REQ_NO_ACK: Final = 0x21
RESPONSE: Final = 0x81
UNSOLICITED_RESPONSE: Final = 0x82
AUTHENTICATE_RESP: Final = 0x83
#: ``function`` of an empty fragment.
NO_FUNCTION: Final = -1

FUNCTIONS: Final[dict[int, str]] = {
    CONFIRM: "confirm",
    READ: "read",
    WRITE: "write",
    SELECT: "select",
    OPERATE: "operate",
    DIRECT_OPERATE: "direct_operate",
    DIRECT_OPERATE_NR: "direct_operate_nr",
    IMMED_FREEZE: "immed_freeze",
    IMMED_FREEZE_NR: "immed_freeze_nr",
    FREEZE_CLEAR: "freeze_clear",
    FREEZE_CLEAR_NR: "freeze_clear_nr",
    FREEZE_AT_TIME: "freeze_at_time",
    FREEZE_AT_TIME_NR: "freeze_at_time_nr",
    COLD_RESTART: "cold_restart",
    WARM_RESTART: "warm_restart",
    INITIALIZE_DATA: "initialize_data",
    INITIALIZE_APPL: "initialize_appl",
    START_APPL: "start_appl",
    STOP_APPL: "stop_appl",
    SAVE_CONFIG: "save_config",
    ENABLE_UNSOLICITED: "enable_unsolicited",
    DISABLE_UNSOLICITED: "disable_unsolicited",
    ASSIGN_CLASS: "assign_class",
    DELAY_MEASURE: "delay_measure",
    RECORD_CURRENT_TIME: "record_current_time",
    OPEN_FILE: "open_file",
    CLOSE_FILE: "close_file",
    DELETE_FILE: "delete_file",
    GET_FILE_INFO: "get_file_info",
    AUTHENTICATE_FILE: "authenticate_file",
    ABORT_FILE: "abort_file",
    ACTIVATE_CONFIG: "activate_config",
    AUTHENTICATE_REQ: "authenticate_req",
    AUTH_REQ_NO_ACK: "auth_req_no_ack",
    RESPONSE: "response",
    UNSOLICITED_RESPONSE: "unsolicited_response",
    AUTHENTICATE_RESP: "authenticate_resp",
}
#: Functions whose fragment starts with the two IIN octets.
RESPONSES: Final = frozenset({RESPONSE, UNSOLICITED_RESPONSE, AUTHENTICATE_RESP})
#: Requests whose object headers carry no object data (only index prefixes, and objects
#: that say their own size). FREEZE_AT_TIME(_NR) is here too but its g50 object has data.
HEADER_ONLY: Final = frozenset({
    CONFIRM, READ, IMMED_FREEZE, IMMED_FREEZE_NR, FREEZE_CLEAR, FREEZE_CLEAR_NR,
    FREEZE_AT_TIME, FREEZE_AT_TIME_NR, ENABLE_UNSOLICITED, DISABLE_UNSOLICITED, ASSIGN_CLASS,
})  # fmt: skip
FREEZE_AT_TIME_FUNCTIONS: Final = frozenset({FREEZE_AT_TIME, FREEZE_AT_TIME_NR})

#: IIN bit names, bit 15 (IIN1.7) first: ``iin`` is ``IIN1 << 8 | IIN2``.
IIN_FLAGS: Final[dict[int, str]] = {
    0x0100: "all_stations",
    0x0200: "class_1_events",
    0x0400: "class_2_events",
    0x0800: "class_3_events",
    0x1000: "need_time",
    0x2000: "local_control",
    0x4000: "device_trouble",
    0x8000: "device_restart",
    0x0001: "no_func_code_support",
    0x0002: "object_unknown",
    0x0004: "parameter_error",
    0x0008: "event_buffer_overflow",
    0x0010: "already_executing",
    0x0020: "config_corrupt",
    0x0040: "reserved_2",
    0x0080: "reserved_1",
}
_IIN_ORDER: Final = tuple(sorted(IIN_FLAGS.items(), key=lambda kv: (kv[0] < 0x100, kv[0])))

# -- Object groups ------------------------------------------------------------------------
GROUPS: Final[dict[int, str]] = {
    0: "device_attributes",
    1: "binary_input",
    2: "binary_input_event",
    3: "double_bit_input",
    4: "double_bit_input_event",
    10: "binary_output",
    11: "binary_output_event",
    12: "crob",
    13: "binary_output_command_event",
    20: "counter",
    21: "frozen_counter",
    22: "counter_event",
    23: "frozen_counter_event",
    30: "analog_input",
    31: "frozen_analog_input",
    32: "analog_input_event",
    33: "frozen_analog_input_event",
    34: "analog_input_deadband",
    40: "analog_output_status",
    41: "analog_output_block",
    42: "analog_output_event",
    43: "analog_output_command_event",
    50: "time_and_date",
    51: "time_and_date_cto",
    52: "time_delay",
    60: "class_data",
    70: "file_control",
    80: "internal_indications",
    81: "device_storage",
    82: "device_profile",
    83: "data_set_registration",
    85: "data_set_prototype",
    86: "data_set_descriptor",
    87: "data_set",
    88: "data_set_event",
    90: "application_identifier",
    91: "activate_config_status",
    100: "floating_point",
    101: "bcd",
    102: "unsigned_integer",
    110: "octet_string",
    111: "octet_string_event",
    112: "virtual_terminal_output",
    113: "virtual_terminal_event",
    120: "authentication",
    121: "security_statistic",
    122: "security_statistic_event",
}

# -- Protocol-neutral semantics -------------------------------------------------------------

#: Target of each object group (anything else is "none").
GROUP_TARGETS: Final[dict[int, str]] = {
    0: "device_attributes",
    1: "binary_input",
    2: "binary_input",
    3: "double_bit_input",
    4: "double_bit_input",
    10: "binary_output",
    11: "binary_output",
    12: "binary_output",
    13: "binary_output",
    20: "counter",
    21: "frozen_counter",
    22: "counter",
    23: "frozen_counter",
    30: "analog_input",
    31: "analog_input",
    32: "analog_input",
    33: "analog_input",
    34: "analog_input",
    40: "analog_output",
    41: "analog_output",
    42: "analog_output",
    43: "analog_output",
    50: "time",
    51: "time",
    52: "time",
    60: "class_data",
    70: "file",
    80: "iin",
    110: "octet_string",
    111: "octet_string",
    112: "octet_string",
    113: "octet_string",
    120: "auth",
    121: "auth",
    122: "auth",
}
#: Groups that only qualify the objects after them (a common time of occurrence); a
#: response's target is its first object of any other group.
CONTEXT_GROUPS: Final = frozenset({51})
#: Target placeholder: "the target of the fragment's objects".
FROM_OBJECTS: Final = "*"

FUNCTION_SEMANTICS: Final[dict[int, Semantics]] = {
    CONFIRM: ("none", "none", "session"),
    READ: ("read", FROM_OBJECTS, "read"),
    WRITE: ("write", FROM_OBJECTS, "write"),
    SELECT: ("write", FROM_OBJECTS, "control"),
    OPERATE: ("write", FROM_OBJECTS, "control"),
    DIRECT_OPERATE: ("write", FROM_OBJECTS, "control"),
    DIRECT_OPERATE_NR: ("write", FROM_OBJECTS, "control"),
    IMMED_FREEZE: ("write", "counter", "control"),
    IMMED_FREEZE_NR: ("write", "counter", "control"),
    FREEZE_CLEAR: ("write", "counter", "control"),
    FREEZE_CLEAR_NR: ("write", "counter", "control"),
    FREEZE_AT_TIME: ("write", "counter", "control"),
    FREEZE_AT_TIME_NR: ("write", "counter", "control"),
    COLD_RESTART: ("none", "device", "restart"),
    WARM_RESTART: ("none", "device", "restart"),
    INITIALIZE_DATA: ("none", "application", "mode_change"),
    INITIALIZE_APPL: ("none", "application", "mode_change"),
    START_APPL: ("none", "application", "mode_change"),
    STOP_APPL: ("none", "application", "mode_change"),
    SAVE_CONFIG: ("write", "configuration", "configuration"),
    ENABLE_UNSOLICITED: ("write", "configuration", "configuration"),
    DISABLE_UNSOLICITED: ("write", "configuration", "configuration"),
    ASSIGN_CLASS: ("write", "configuration", "configuration"),
    DELAY_MEASURE: ("none", "time", "time_sync"),
    RECORD_CURRENT_TIME: ("none", "time", "time_sync"),
    OPEN_FILE: ("write", "file", "file"),  # refined by the g70v3 mode (read/write)
    CLOSE_FILE: ("none", "file", "file"),
    DELETE_FILE: ("write", "file", "file"),
    GET_FILE_INFO: ("read", "file", "file"),
    AUTHENTICATE_FILE: ("none", "file", "file"),
    ABORT_FILE: ("none", "file", "file"),
    ACTIVATE_CONFIG: ("write", "configuration", "configuration"),
    AUTHENTICATE_REQ: ("none", "auth", "auth"),
    AUTH_REQ_NO_ACK: ("none", "auth", "auth"),
    RESPONSE: ("read", FROM_OBJECTS, "read"),
    UNSOLICITED_RESPONSE: ("read", FROM_OBJECTS, "read"),
    AUTHENTICATE_RESP: ("none", "auth", "auth"),
}
UNKNOWN_SEMANTICS: Final[Semantics] = ("none", "none", "unknown")
#: Operation overrides for object-derived functions: (function, target) -> operation.
OBJECT_OPERATIONS: Final[dict[tuple[int, str], str]] = {
    (READ, "device_attributes"): "identify",
    (WRITE, "time"): "time_sync",
}
FILE_GROUP: Final = 70
#: g70v3 operational mode -> access of an OPEN_FILE (1 read, 2 write, 3 append).
FILE_MODE_ACCESS: Final[dict[int, str]] = {1: "read", 2: "write", 3: "write"}


def table_name(table: dict[int, str], code: int) -> str:
    name = table.get(code)
    return name if name is not None else f"unknown-{code}"


def function_name(code: int) -> str:
    """IEEE 1815 name of an application function code (``unknown-<n>`` if none)."""
    name = FUNCTIONS.get(code)
    return name if name is not None else f"unknown-{code}"


def link_function_name(prm: bool, code: int) -> str:
    return table_name(LINK_PRIMARY_FUNCTIONS if prm else LINK_SECONDARY_FUNCTIONS, code)


def group_name(group: int) -> str:
    name = GROUPS.get(group)
    return name if name is not None else f"unknown-{group}"


def group_target(group: int) -> str:
    target = GROUP_TARGETS.get(group)
    return target if target is not None else "none"


def iin_flags(iin: int) -> tuple[str, ...]:
    """Names of the set IIN bits, IIN1.0 .. IIN1.7 then IIN2.0 .. IIN2.7."""
    if not iin:
        return ()
    return tuple(name for bit, name in _IIN_ORDER if iin & bit)
