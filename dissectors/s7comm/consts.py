"""S7comm name tables and the protocol-neutral meaning of each code, as data.

Facts follow Wireshark's S7comm dissector (packet-s7comm.c, packet-s7comm_szl_ids.c),
COTP (packet-cotp.c, ISO 8073) and TPKT (RFC 1006). Unknown codes are never errors: every
lookup falls back to ``unknown-0x..``.
"""

from __future__ import annotations

from typing import Final

from dissectors.semantics import Semantics  # (access, target, operation)

S7COMM_ID: Final = 0x32
S7PLUS_ID: Final = 0x72

# -- ROSCTR -----------------------------------------------------------------------------
JOB: Final = 1
ACK: Final = 2
ACK_DATA: Final = 3
USERDATA: Final = 7
ROSCTR: Final[dict[int, str]] = {JOB: "job", ACK: "ack", ACK_DATA: "ack_data", USERDATA: "userdata"}

# -- Job functions ----------------------------------------------------------------------
CPU_SERVICES: Final = 0x00
SETUP_COMMUNICATION: Final = 0xF0
READ_VAR: Final = 0x04
WRITE_VAR: Final = 0x05
REQUEST_DOWNLOAD: Final = 0x1A
DOWNLOAD_BLOCK: Final = 0x1B
DOWNLOAD_ENDED: Final = 0x1C
START_UPLOAD: Final = 0x1D
UPLOAD: Final = 0x1E
END_UPLOAD: Final = 0x1F
PI_SERVICE: Final = 0x28
PLC_STOP: Final = 0x29

FUNCTIONS: Final[dict[int, str]] = {
    CPU_SERVICES: "cpu_services",
    SETUP_COMMUNICATION: "setup_communication",
    READ_VAR: "read_var",
    WRITE_VAR: "write_var",
    REQUEST_DOWNLOAD: "request_download",
    DOWNLOAD_BLOCK: "download_block",
    DOWNLOAD_ENDED: "download_ended",
    START_UPLOAD: "start_upload",
    UPLOAD: "upload",
    END_UPLOAD: "end_upload",
    PI_SERVICE: "plc_control",
    PLC_STOP: "plc_stop",
}

#: A user-data record's ``function`` is ``USERDATA_FUNCTION | group << 8 | subfunction``,
#: outside the one-byte job function space so the two never collide.
USERDATA_FUNCTION: Final = 0x10000
#: ``function`` of a PDU without a parameter part (an ack, an error ack-data).
NO_FUNCTION: Final = -1

ERROR_CLASSES: Final[dict[int, str]] = {
    0x00: "no_error",
    0x81: "application_relationship",
    0x82: "object_definition",
    0x83: "no_resources_available",
    0x84: "error_on_service_processing",
    0x85: "error_on_supplies",
    0x87: "access_error",
}

#: Data item return codes (read var response, write var response, user data).
RETURN_CODES: Final[dict[int, str]] = {
    0x00: "reserved",
    0x01: "hardware_fault",
    0x03: "accessing_object_not_allowed",
    0x05: "address_out_of_range",
    0x06: "data_type_not_supported",
    0x07: "data_type_inconsistent",
    0x0A: "object_does_not_exist",
    0xFF: "success",
}

SYNTAX_IDS: Final[dict[int, str]] = {
    0x10: "s7any",
    0x13: "pbc_r_id",
    0x15: "alarm_lockfree",
    0x16: "alarm_ind",
    0x19: "alarm_ack",
    0x1A: "alarm_queryreq",
    0x1C: "notify_ind",
    0x82: "nck",
    0x83: "nck_metric",
    0x84: "nck_inch",
    0xA2: "drive_es_any",
    0xB0: "dbread",
    0xB2: "symbolic_1200",
}

#: Transport sizes in an S7ANY item specification.
ITEM_TRANSPORT_SIZES: Final[dict[int, str]] = {
    0x01: "bit",
    0x02: "byte",
    0x03: "char",
    0x04: "word",
    0x05: "int",
    0x06: "dword",
    0x07: "dint",
    0x08: "real",
    0x09: "date",
    0x0A: "tod",
    0x0B: "time",
    0x0C: "s5time",
    0x0F: "date_and_time",
    0x1C: "counter",
    0x1D: "timer",
    0x1E: "iec_timer",
    0x1F: "iec_counter",
    0x20: "hs_counter",
}

#: Transport sizes in a data item (the value part).
DATA_TRANSPORT_SIZES: Final[dict[int, str]] = {
    0x00: "null",
    0x03: "bit",
    0x04: "byte_word_dword",
    0x05: "integer",
    0x06: "dinteger",
    0x07: "real",
    0x09: "octet_string",
}
#: Data transport sizes whose length field counts bits, not bytes.
BIT_LENGTH_SIZES: Final = frozenset((0x03, 0x04, 0x05))

AREAS: Final[dict[int, str]] = {
    0x03: "system_info_200",
    0x05: "system_flags_200",
    0x06: "analog_inputs_200",
    0x07: "analog_outputs_200",
    0x1C: "counter",
    0x1D: "timer",
    0x1E: "iec_counter_200",
    0x1F: "iec_timer_200",
    0x80: "peripheral",
    0x81: "inputs",
    0x82: "outputs",
    0x83: "flags",
    0x84: "data_blocks",
    0x85: "instance_data_blocks",
    0x86: "local_data",
    0x87: "previous_local_data",
}
#: Protocol-neutral target of each area.
AREA_TARGETS: Final[dict[int, str]] = {
    0x1C: "counter",
    0x1D: "timer",
    0x1E: "counter",
    0x1F: "timer",
    0x80: "peripheral",
    0x81: "input",
    0x82: "output",
    0x83: "merker",
    0x84: "db",
    0x85: "db",
    0x86: "local",
    0x87: "local",
    0x03: "system",
    0x05: "system",
    0x06: "input",
    0x07: "output",
}

#: Block types in a file name (``_0A00001P``) and block-function user data.
BLOCK_TYPES: Final[dict[str, str]] = {
    "08": "OB",
    "09": "CMOD",
    "0A": "DB",
    "0B": "SDB",
    "0C": "FC",
    "0D": "SFC",
    "0E": "FB",
    "0F": "SFB",
}
FILESYSTEMS: Final[dict[str, str]] = {"P": "passive", "A": "active", "B": "active_and_passive"}

# -- User data --------------------------------------------------------------------------
UD_PUSH: Final = 0x0
UD_REQUEST: Final = 0x4
UD_RESPONSE: Final = 0x8
USERDATA_TYPES: Final[dict[int, str]] = {
    UD_PUSH: "push",
    UD_REQUEST: "request",
    UD_RESPONSE: "response",
}

GROUP_MODE: Final = 0x0
GROUP_PROG: Final = 0x1
GROUP_CYCLIC: Final = 0x2
GROUP_BLOCK: Final = 0x3
GROUP_CPU: Final = 0x4
GROUP_SECURITY: Final = 0x5
GROUP_PBC: Final = 0x6
GROUP_TIME: Final = 0x7
GROUP_NC: Final = 0xF
GROUPS: Final[dict[int, str]] = {
    GROUP_MODE: "mode_transition",
    GROUP_PROG: "programmer_commands",
    GROUP_CYCLIC: "cyclic_data",
    GROUP_BLOCK: "block_functions",
    GROUP_CPU: "cpu_functions",
    GROUP_SECURITY: "security",
    GROUP_PBC: "pbc_bsend_brecv",
    GROUP_TIME: "time_functions",
    GROUP_NC: "nc_programming",
}
SUBFUNCTIONS: Final[dict[int, dict[int, str]]] = {
    GROUP_MODE: {
        0: "stop",
        1: "warm_restart",
        2: "run",
        3: "hot_restart",
        4: "hold",
        6: "cold_restart",
        9: "run_r",
        11: "link_up",
        12: "update",
    },
    GROUP_PROG: {
        0x01: "request_diag_data_type1",
        0x02: "vartab",
        0x0C: "erase",
        0x0E: "read_diag_data",
        0x0F: "remove_diag_data",
        0x10: "forces",
        0x13: "request_diag_data_type2",
    },
    GROUP_CYCLIC: {0x01: "memory", 0x04: "unsubscribe", 0x05: "change_driven", 0x07: "rdrec"},
    GROUP_BLOCK: {0x01: "list_blocks", 0x02: "list_blocks_of_type", 0x03: "get_block_info"},
    GROUP_CPU: {
        0x01: "read_szl",
        0x02: "message_service",
        0x03: "diagnostic_message",
        0x05: "alarm8_indication",
        0x06: "notify_indication",
        0x07: "alarm8_lock",
        0x08: "alarm8_unlock",
        0x09: "scan_indication",
        0x0B: "alarm_ack",
        0x0C: "alarm_ack_indication",
        0x0D: "alarm_lock_indication",
        0x0E: "alarm_unlock_indication",
        0x11: "alarm_sq_indication",
        0x12: "alarm_s_indication",
        0x13: "alarm_query",
        0x16: "notify8_indication",
    },
    GROUP_SECURITY: {0x01: "plc_password", 0x02: "clean_session"},
    GROUP_PBC: {0x01: "bsend_brecv"},
    GROUP_TIME: {
        0x01: "read_clock",
        0x02: "set_clock",
        0x03: "read_clock_following",
        0x04: "set_clock",
    },
    GROUP_NC: {},
}
READ_SZL: Final = 0x01

# -- Operation classes shared by all protocols (DESIGN.md principle 7) --------------------
READ: Final = "read"
WRITE: Final = "write"
PROGRAM_DOWNLOAD: Final = "program_download"
PROGRAM_UPLOAD: Final = "program_upload"
#: Deleting blocks from the PLC (PI service ``_DELE``): as dangerous as a download.
PROGRAM_DELETE: Final = "program_delete"
MODE_CHANGE: Final = "mode_change"
CONTROL: Final = "control"
TIME_SYNC: Final = "time_sync"
AUTH: Final = "auth"
IDENTIFY: Final = "identify"
DIAGNOSTIC: Final = "diagnostic"
#: Connection set-up (COTP connect, S7 setup communication).
SESSION: Final = "session"
UNKNOWN: Final = "unknown"

UNKNOWN_SEMANTICS: Final[Semantics] = ("none", "none", UNKNOWN)

#: (access, target, operation) per job function; read/write var refine the target by area.
FUNCTION_SEMANTICS: Final[dict[int, Semantics]] = {
    CPU_SERVICES: ("none", "plc", UNKNOWN),
    SETUP_COMMUNICATION: ("none", "none", SESSION),
    READ_VAR: ("read", "memory", READ),
    WRITE_VAR: ("write", "memory", WRITE),
    REQUEST_DOWNLOAD: ("write", "block", PROGRAM_DOWNLOAD),
    DOWNLOAD_BLOCK: ("write", "block", PROGRAM_DOWNLOAD),
    DOWNLOAD_ENDED: ("write", "block", PROGRAM_DOWNLOAD),
    START_UPLOAD: ("read", "block", PROGRAM_UPLOAD),
    UPLOAD: ("read", "block", PROGRAM_UPLOAD),
    END_UPLOAD: ("read", "block", PROGRAM_UPLOAD),
    PI_SERVICE: ("none", "plc", CONTROL),
    PLC_STOP: ("none", "plc", MODE_CHANGE),
}

#: PI services (PLC control) by name prefix -> (access, target, operation).
PI_SEMANTICS: Final[dict[str, Semantics]] = {
    "_INSE": ("write", "block", PROGRAM_DOWNLOAD),
    "_DELE": ("write", "block", PROGRAM_DELETE),
    "P_PROGRAM": ("none", "plc", MODE_CHANGE),
    "_MODU": ("none", "plc", MODE_CHANGE),
    "_GARB": ("none", "plc", CONTROL),
    "_N_": ("none", "nc", CONTROL),
}
PI_SERVICES: Final[dict[str, str]] = {
    "_INSE": "activate_inserted_block",
    "_DELE": "delete_block",
    "P_PROGRAM": "program_invocation",
    "_MODU": "copy_ram_to_rom",
    "_GARB": "compress_memory",
    "_N_LOGIN_": "nc_login",
    "_N_LOGOUT": "nc_logout",
    "_N_CANCEL": "nc_cancel_alarm",
    "_N_DASAVE": "nc_save_data",
    "_N_DIGIOF": "nc_digitizing_off",
    "_N_DIGION": "nc_digitizing_on",
    "_N_DZERO_": "nc_set_all_d_numbers_invalid",
    "_N_ENDRPT": "nc_end_repositioning",
    "_N_F_OPER": "nc_open_file_read_only",
    "_N_OST_OF": "nc_overstore_off",
    "_N_OST_ON": "nc_overstore_on",
    "_N_SCALE_": "nc_unit_system",
    "_N_SETUFR": "nc_activate_user_frame",
    "_N_STRTLK": "nc_global_start_disable_set",
    "_N_STRTUL": "nc_global_start_disable_reset",
    "_N_TMRASS": "nc_reset_active_state",
    "_N_F_DELE": "nc_delete_file",
    "_N_EXTERN": "nc_select_external_program",
    "_N_EXTMOD": "nc_select_external_program_mode",
    "_N_F_DELR": "nc_delete_file_even_without_access",
    "_N_F_XFER": "nc_select_file_for_upload",
    "_N_LOCKE_": "nc_lock_active_file_for_editing",
    "_N_SELECT": "nc_select_program",
    "_N_SRTEXT": "nc_mark_file_in_search",
    "_N_F_CLOS": "nc_close_file",
    "_N_F_OPEN": "nc_open_file",
    "_N_F_SEEK": "nc_seek_file",
    "_N_ASUP__": "nc_assign_interrupt",
    "_N_CHEKDM": "nc_start_uniqueness_check",
    "_N_CHKDNO": "nc_check_tool_numbers",
    "_N_CONFIG": "nc_reconfigure",
    "_N_CRCEDN": "nc_create_cutting_edge",
    "_N_DELECE": "nc_delete_cutting_edge",
    "_N_CREACE": "nc_create_cutting_edge_order",
    "_N_CREATO": "nc_create_tool",
    "_N_DELETO": "nc_delete_tool",
    "_N_CRTOCE": "nc_generate_tool_with_edge",
    "_N_DELVAR": "nc_delete_data_block",
    "_N_F_COPY": "nc_copy_file",
    "_N_F_DMDA": "nc_delete_mdn_data",
    "_N_F_PROR": "nc_file_protection_read",
    "_N_F_PROT": "nc_file_protection",
    "_N_F_RENA": "nc_rename_file",
    "_N_FINDBL": "nc_activate_search",
    "_N_IBN_SS": "nc_set_setup_switch",
    "_N_MMCSEM": "nc_mmc_semaphore",
    "_N_NCKMOD": "nc_mode",
    "_N_NEWPWD": "nc_new_password",
    "_N_SEL_BL": "nc_select_new_block",
    "_N_SETTST": "nc_activate_tools_for_replacement",
    "_N_TMAWCO": "nc_set_active_wear_group",
    "_N_TMCRTC": "nc_create_tool_with_name",
    "_N_TMCRTO": "nc_create_tool_tmcrto",
    "_N_TMFDPL": "nc_find_empty_place",
    "_N_TMFPBP": "nc_find_empty_place_tmfpbp",
    "_N_TMGETT": "nc_get_tool_t_number",
    "_N_TMMVTL": "nc_move_tool",
    "_N_TMPCIT": "nc_set_piece_counter_increment",
    "_N_TMPOSM": "nc_position_magazine",
    "_N_TRESMO": "nc_reset_monitoring_values",
    "_N_TSEARC": "nc_complex_tool_search",
}

#: (access, target, operation) per user-data (group, subfunction); group-wide defaults
#: under subfunction -1.
USERDATA_SEMANTICS: Final[dict[tuple[int, int], Semantics]] = {
    (GROUP_MODE, -1): ("none", "plc", MODE_CHANGE),
    (GROUP_PROG, -1): ("read", "memory", DIAGNOSTIC),
    (GROUP_PROG, 0x02): ("read", "memory", READ),
    (GROUP_PROG, 0x0C): ("write", "memory", WRITE),
    (GROUP_PROG, 0x10): ("write", "memory", WRITE),
    (GROUP_CYCLIC, -1): ("read", "memory", READ),
    (GROUP_BLOCK, -1): ("read", "block", READ),
    (GROUP_CPU, -1): ("none", "plc", DIAGNOSTIC),
    (GROUP_CPU, READ_SZL): ("read", "szl", IDENTIFY),
    (GROUP_SECURITY, -1): ("none", "plc", AUTH),
    (GROUP_PBC, -1): ("none", "none", UNKNOWN),
    (GROUP_TIME, -1): ("read", "clock", READ),
    (GROUP_TIME, 0x02): ("write", "clock", TIME_SYNC),
    (GROUP_TIME, 0x04): ("write", "clock", TIME_SYNC),
    (GROUP_NC, -1): ("none", "nc", CONTROL),
}

# -- COTP -------------------------------------------------------------------------------
TPDU_CR: Final = 0xE0
TPDU_CC: Final = 0xD0
TPDU_DR: Final = 0x80
TPDU_DC: Final = 0xC0
TPDU_DT: Final = 0xF0
TPDU_ED: Final = 0x10
TPDU_AK: Final = 0x60
TPDU_EA: Final = 0x20
TPDU_RJ: Final = 0x50
TPDU_ER: Final = 0x70
TPDU_TYPES: Final[dict[int, str]] = {
    TPDU_CR: "cr",
    TPDU_CC: "cc",
    TPDU_DR: "dr",
    TPDU_DC: "dc",
    TPDU_DT: "dt",
    TPDU_ED: "ed",
    TPDU_AK: "ak",
    TPDU_EA: "ea",
    TPDU_RJ: "rj",
    TPDU_ER: "er",
}
#: TSAP connection types (first byte of an S7 TSAP).
TSAP_TYPES: Final[dict[int, str]] = {1: "pg", 2: "op", 3: "s7_basic"}


# -- Lookups ----------------------------------------------------------------------------


def table_name(table: dict[int, str], code: int) -> str:
    """The name of ``code`` in ``table``, ``unknown-0x..`` when it has none."""
    name = table.get(code)
    return name if name is not None else f"unknown-0x{code:02x}"


def rosctr_name(code: int) -> str:
    return table_name(ROSCTR, code)


def group_name(group: int) -> str:
    return table_name(GROUPS, group)


def userdata_name(group: int, sub: int) -> str:
    """``<group>/<subfunction>`` names, e.g. ``cpu_functions/read_szl``."""
    subs = SUBFUNCTIONS.get(group, {})
    return f"{group_name(group)}/{table_name(subs, sub)}"


def function_name(code: int) -> str:
    """Name of a job function, or of a user-data ``function`` (see USERDATA_FUNCTION)."""
    if code >= USERDATA_FUNCTION:
        return userdata_name((code >> 8) & 0xFF, code & 0xFF)
    if code == NO_FUNCTION:
        return "none"
    return table_name(FUNCTIONS, code)


def error_class_name(code: int) -> str:
    return table_name(ERROR_CLASSES, code)


def pi_semantics(service: str) -> Semantics:
    for prefix, sem in PI_SEMANTICS.items():
        if service.startswith(prefix):
            return sem
    return FUNCTION_SEMANTICS[PI_SERVICE]


def pi_service_name(service: str) -> str:
    return PI_SERVICES.get(service, "unknown")


def userdata_semantics(group: int, sub: int) -> Semantics:
    sem = USERDATA_SEMANTICS.get((group, sub))
    if sem is None:
        sem = USERDATA_SEMANTICS.get((group, -1), UNKNOWN_SEMANTICS)
    return sem


# -- S7comm-plus (header only) ----------------------------------------------------------
S7PLUS_OPCODES: Final[dict[int, str]] = {
    0x31: "request",
    0x32: "response",
    0x33: "notification",
    0x02: "response2",
}
S7PLUS_FUNCTIONS: Final[dict[int, str]] = {
    0x04BB: "explore",
    0x04CA: "create_object",
    0x04D4: "delete_object",
    0x04F2: "set_variable",
    0x04FC: "get_variable",
    0x0524: "get_link",
    0x0542: "set_multi_variables",
    0x054C: "get_multi_variables",
    0x0556: "begin_sequence",
    0x0560: "end_sequence",
    0x056B: "invoke",
    0x0586: "get_var_substreamed",
}
S7PLUS_SEMANTICS: Final[dict[int, Semantics]] = {
    0x04BB: ("read", "plc", READ),
    0x04CA: ("none", "none", SESSION),
    0x04D4: ("none", "none", SESSION),
    0x04F2: ("write", "variable", WRITE),
    0x04FC: ("read", "variable", READ),
    0x0524: ("read", "plc", READ),
    0x0542: ("write", "variable", WRITE),
    0x054C: ("read", "variable", READ),
    0x0556: ("none", "plc", CONTROL),
    0x0560: ("none", "plc", CONTROL),
    0x056B: ("none", "plc", CONTROL),
    0x0586: ("read", "variable", READ),
}
