"""Every anomaly name the DNP3 dissector and engine emit, with what it means."""

from __future__ import annotations

from typing import Final

# Link layer (LinkFramer)
BAD_START: Final = "dnp3.bad_start"
BAD_LINK_CRC: Final = "dnp3.bad_link_crc"
INVALID_LINK_LENGTH: Final = "dnp3.invalid_link_length"
BAD_DATA_CRC: Final = "dnp3.bad_data_crc"
NOT_DNP3: Final = "dnp3.not_dnp3"
# Transport layer (TransportAssembler)
TRANSPORT_OUT_OF_SEQUENCE: Final = "dnp3.transport_out_of_sequence"
TRANSPORT_NO_FIRST_SEGMENT: Final = "dnp3.transport_no_first_segment"
TRANSPORT_INCOMPLETE: Final = "dnp3.transport_incomplete"
FRAGMENT_TOO_LARGE: Final = "dnp3.fragment_too_large"
# Application layer (parse_app)
MALFORMED_FRAGMENT: Final = "dnp3.malformed_fragment"
UNKNOWN_OBJECT: Final = "dnp3.unknown_object"
INVALID_FUNCTION_CODE: Final = "dnp3.invalid_function_code"
POINTS_TRUNCATED: Final = "dnp3.points_truncated"
# Engine (request/response pairing)
UNEXPECTED_RESPONSE: Final = "dnp3.unexpected_response"
UNANSWERED_REQUEST: Final = "dnp3.unanswered_request"
TOO_MANY_OUTSTANDING: Final = "dnp3.too_many_outstanding"

ANOMALIES: Final[dict[str, str]] = {
    BAD_START: (
        "Bytes where a link frame should begin do not start with 0x05 0x64; the framer "
        "skips to the next 05 64 whose header CRC is valid."
    ),
    BAD_LINK_CRC: (
        "A link header's CRC does not match its first eight bytes; the framer skips to the "
        "next 05 64 whose header CRC is valid."
    ),
    INVALID_LINK_LENGTH: (
        "A link header with a valid CRC has a LEN below 5 (it must count control, "
        "destination and source); the framer resynchronises."
    ),
    BAD_DATA_CRC: (
        "A 16-byte user data block of a link frame fails its CRC; the whole frame is "
        "skipped and framing goes on after it."
    ),
    NOT_DNP3: (
        "A direction on a DNP3 port failed the link header checks several times before any "
        "valid link frame, and is no longer parsed (reported once per direction)."
    ),
    TRANSPORT_OUT_OF_SEQUENCE: (
        "A transport segment continuing a fragment does not carry the next sequence number "
        "(and is not a repeat of the last segment); the partial fragment is dropped."
    ),
    TRANSPORT_NO_FIRST_SEGMENT: (
        "A transport segment without FIR arrived while no fragment was being assembled for "
        "its source and destination (mid-stream start or lost first segment); dropped."
    ),
    TRANSPORT_INCOMPLETE: (
        "An unfinished application fragment was dropped because a new first segment (FIR) "
        "arrived for the same source and destination, or because too many addresses had "
        "fragments in progress at once (the oldest goes)."
    ),
    FRAGMENT_TOO_LARGE: (
        "Transport segments were collected beyond the fragment size limit without a FIN; "
        "the partial application fragment is dropped."
    ),
    MALFORMED_FRAGMENT: (
        "An application fragment is cut inside its header or an object header, object data "
        "runs past its end, a qualifier uses a reserved range code, or a start-stop range "
        "ends before it starts; the objects before the fault are kept."
    ),
    UNKNOWN_OBJECT: (
        "An object header names a group/variation whose data size is unknown (or a "
        "variable-size object without a size prefix) in a fragment that carries object "
        "data; the walk stops there, keeping what was parsed."
    ),
    INVALID_FUNCTION_CODE: (
        "An application function code IEEE 1815 does not define (neither 0x00-0x21 nor "
        "0x81-0x83); its objects are not decoded."
    ),
    POINTS_TRUNCATED: (
        "A fragment holds more points than the configured maximum; the rest are walked "
        "(sizes checked) but not kept, and counted in points_dropped."
    ),
    UNEXPECTED_RESPONSE: (
        "A response (not unsolicited) arrived whose application sequence number matches no "
        "outstanding request of the master."
    ),
    UNANSWERED_REQUEST: (
        "A request that expects a response got none before its timeout, before the flow "
        "ended, or before another request reused its sequence number."
    ),
    TOO_MANY_OUTSTANDING: (
        "A flow had more requests waiting for a response than its limit; the oldest is "
        "given up as unanswered."
    ),
}
