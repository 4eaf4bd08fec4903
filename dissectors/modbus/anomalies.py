"""Every anomaly name the Modbus dissector and engine emit, with what it means."""

from __future__ import annotations

from typing import Final

INVALID_PROTOCOL_ID: Final = "modbus.invalid_protocol_id"
INVALID_LENGTH: Final = "modbus.invalid_length"
NOT_MODBUS: Final = "modbus.not_modbus"
INVALID_FUNCTION_CODE: Final = "modbus.invalid_function_code"
MALFORMED_PDU: Final = "modbus.malformed_pdu"
QUANTITY_OUT_OF_RANGE: Final = "modbus.quantity_out_of_range"
INVALID_VALUE: Final = "modbus.invalid_value"
INVALID_EXCEPTION_CODE: Final = "modbus.invalid_exception_code"
UNSOLICITED_RESPONSE: Final = "modbus.unsolicited_response"
UNANSWERED_REQUEST: Final = "modbus.unanswered_request"
TOO_MANY_OUTSTANDING: Final = "modbus.too_many_outstanding"

ANOMALIES: Final[dict[str, str]] = {
    INVALID_PROTOCOL_ID: (
        "An MBAP header's protocol identifier is not 0 (Modbus); the framer skips ahead to "
        "the next plausible header."
    ),
    INVALID_LENGTH: (
        "An MBAP length field is outside 2..254 (or disagrees with the bytes of the ADU); "
        "lengths up to the framer's slack (260) are still decoded, larger ones are skipped."
    ),
    NOT_MODBUS: (
        "A direction on a Modbus port failed the MBAP header checks several times before any "
        "valid ADU, and is no longer parsed as Modbus (reported once per direction)."
    ),
    INVALID_FUNCTION_CODE: (
        "Function code 0 (not a Modbus function), or an exception response (function code "
        "with the 0x80 bit set) sent by the client; from the framer, a header found while "
        "resynchronising whose function code is 0 or 0x80 (skipped)."
    ),
    MALFORMED_PDU: (
        "A PDU is too short or too long for its function, or a byte count or length field "
        "disagrees with its quantity or with the bytes present."
    ),
    QUANTITY_OUT_OF_RANGE: (
        "A quantity or count is 0 or beyond the spec's limit for its function (e.g. more "
        "than 2000 coils or 125 registers read, 1968 coils or 123 registers written)."
    ),
    INVALID_VALUE: (
        "A field holds a value the spec does not allow: a single-coil write other than "
        "0xFF00/0x0000, a read device ID code outside 1-4, a file reference type other "
        "than 6, or a device identification flag or conformity level out of range."
    ),
    INVALID_EXCEPTION_CODE: (
        "An exception response carries an exception code the spec does not define."
    ),
    UNSOLICITED_RESPONSE: (
        "A response arrived whose transaction and unit id match no outstanding request."
    ),
    UNANSWERED_REQUEST: (
        "A request got no response before its timeout, before the flow ended, or before "
        "another request reused its transaction id."
    ),
    TOO_MANY_OUTSTANDING: (
        "A flow had more requests waiting for a response than its limit; the oldest is "
        "given up as unanswered."
    ),
}
