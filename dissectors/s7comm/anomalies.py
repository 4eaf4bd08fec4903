"""Every anomaly name the S7comm dissector and engine emit, with what it means."""

from __future__ import annotations

from typing import Final

INVALID_TPKT_VERSION: Final = "s7comm.invalid_tpkt_version"
TPKT_LENGTH_MISMATCH: Final = "s7comm.tpkt_length_mismatch"
COTP_INVALID_LENGTH: Final = "s7comm.cotp_invalid_length"
COTP_UNEXPECTED_TPDU: Final = "s7comm.cotp_unexpected_tpdu"
INVALID_PROTOCOL_ID: Final = "s7comm.invalid_protocol_id"
MALFORMED_PDU: Final = "s7comm.malformed_pdu"
PDU_TOO_LARGE: Final = "s7comm.pdu_too_large"
REASSEMBLY_GAP: Final = "s7comm.reassembly_gap"
NOT_S7COMM: Final = "s7comm.not_s7comm"
UNSOLICITED_RESPONSE: Final = "s7comm.unsolicited_response"
UNANSWERED_REQUEST: Final = "s7comm.unanswered_request"
TOO_MANY_OUTSTANDING: Final = "s7comm.too_many_outstanding"

ANOMALIES: Final[dict[str, str]] = {
    INVALID_TPKT_VERSION: (
        "A TPKT header does not start with version 3 and reserved 0; the framer skips ahead "
        "to the next plausible TPKT header."
    ),
    TPKT_LENGTH_MISMATCH: (
        "A TPKT length is below 7 (no room for a COTP header) or above the framer's limit, "
        "or disagrees with the bytes of the TPDU; the framer resynchronises."
    ),
    COTP_INVALID_LENGTH: (
        "A COTP length indicator is 0, runs past the end of the TPKT, or is too short for "
        "the TPDU type's fixed fields or a parameter."
    ),
    COTP_UNEXPECTED_TPDU: "A COTP TPDU type code that ISO 8073 does not define.",
    INVALID_PROTOCOL_ID: (
        "A reassembled COTP payload starts with neither 0x32 (S7comm) nor 0x72 (S7comm-plus)."
    ),
    MALFORMED_PDU: (
        "An S7 PDU is shorter than its header, its parameter/data lengths disagree with "
        "its size, or a function's fields or items run past the bytes present."
    ),
    PDU_TOO_LARGE: (
        "COTP data units were collected beyond the reassembly limit without an EOT; the "
        "partial S7 PDU is dropped."
    ),
    REASSEMBLY_GAP: (
        "A partial S7 PDU spread over COTP data units was dropped because stream bytes "
        "were lost or a non-data TPDU interrupted it."
    ),
    NOT_S7COMM: (
        "A direction on an S7 port failed the TPKT header checks several times before any "
        "valid TPKT and is no longer parsed (reported once per direction)."
    ),
    UNSOLICITED_RESPONSE: (
        "An ack/ack-data (or user-data response) arrived whose PDU reference matches no "
        "outstanding request."
    ),
    UNANSWERED_REQUEST: (
        "A job or user-data request got no response before its timeout, before the flow "
        "ended, or before another request reused its PDU reference."
    ),
    TOO_MANY_OUTSTANDING: (
        "A flow had more requests waiting for a response than its limit; the oldest is "
        "given up as unanswered."
    ),
}
