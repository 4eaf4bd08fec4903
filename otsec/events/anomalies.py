"""Every anomaly name otsec emits, with what it means.

Anomalies are data: a stage that meets malformed or unexpected input records the
anomaly by name and goes on; rules decide what becomes an alert. Names are
``<layer>.<condition>`` in snake_case and stable once published. ``docs/anomalies.md``
is generated from this table and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from dissectors.dnp3 import ANOMALIES as DNP3_ANOMALIES
from dissectors.modbus import ANOMALIES as MODBUS_ANOMALIES
from dissectors.s7comm import ANOMALIES as S7COMM_ANOMALIES


@dataclass(frozen=True, slots=True)
class AnomalyInfo:
    name: str
    layer: str
    description: str


_TABLE: tuple[tuple[str, str], ...] = (
    # capture
    ("capture.unsupported_linktype",
     "A pcapng interface uses a link type otsec cannot decode; each of its packets is "
     "counted under this name and not processed further."),
    # layer 2
    ("eth.truncated", "Ethernet frame shorter than its 14-byte header."),
    ("vlan.truncated", "802.1Q/802.1ad tag cut off by the end of the frame."),
    ("vlan.too_many_tags", "More than two stacked VLAN tags (QinQ has two)."),
    ("sll.truncated", "Linux cooked-capture header (SLL/SLL2) cut off."),
    ("loopback.truncated", "BSD loopback header shorter than 4 bytes."),
    ("arp.truncated", "ARP packet shorter than an Ethernet/IPv4 ARP body (28 bytes)."),
    # layer 3
    ("ip.truncated", "IPv4 header cut off by the end of the frame or the snap length."),
    ("ip.bad_version", "IP version nibble does not match the link-layer protocol type."),
    ("ip.bad_header_length", "IPv4 header length field below 20 bytes."),
    ("ip.bad_total_length",
     "IPv4 total length smaller than the header, or larger than the frame that was not "
     "cut by the snap length."),
    ("ip.fragment",
     "IPv4 or IPv6 fragment; otsec does not reassemble IP fragments, the packet is not "
     "processed further (ICS traffic is never legitimately fragmented on a plant network)."),
    ("ipv6.truncated", "IPv6 header shorter than 40 bytes."),
    ("ipv6.bad_extension_header",
     "IPv6 extension header chain truncated, longer than the payload or deeper than 8."),
    # layer 4
    ("tcp.truncated", "TCP header cut off by the end of the IP payload or the snap length."),
    ("tcp.bad_header_length", "TCP data offset below 20 bytes or beyond the IP payload."),
    ("udp.truncated", "UDP header cut off."),
    ("udp.bad_length", "UDP length field below 8 or larger than the IP payload."),
    # flows and reassembly
    ("flow.evicted",
     "The flow table was full; the least recently seen flows were closed early to make room."),
    ("tcp.gap",
     "Bytes of a TCP stream were never seen (capture loss or mid-stream start of a buffered "
     "direction); the stream resumes after the hole."),
    ("tcp.overlap_mismatch",
     "A retransmitted or overlapping TCP segment carries different bytes than the ones "
     "already delivered (possible evasion); the first copy is kept."),
    ("tcp.ooo_limit",
     "A flow buffered more out-of-order bytes or segments than its limit; the hole before "
     "them is skipped as a gap."),
    ("tcp.buffer_limit",
     "All flows together buffered more out-of-order bytes than the global limit; the hole "
     "is skipped as a gap."),
    ("tcp.snaplen_truncated",
     "A TCP segment was cut by the capture's snap length; the missing bytes are a gap."),
    ("otsec.dissector_error",
     "A protocol dissector failed on this flow's data (a bug); the flow's decoding stops, the "
     "rest of the capture goes on."),
    ("otsec.sink_error",
     "An output (event file, SIEM) failed on one document (a bug); that document is lost, "
     "decoding and the other outputs go on."),
    ("otsec.packet_error",
     "Processing one packet failed outside any dissector (a bug); the packet is skipped, the "
     "rest of the capture goes on."),
)  # fmt: skip

ANOMALIES: dict[str, AnomalyInfo] = {
    name: AnomalyInfo(name, name.split(".", 1)[0], text)
    for name, text in (
        *_TABLE,
        *MODBUS_ANOMALIES.items(),
        *S7COMM_ANOMALIES.items(),
        *DNP3_ANOMALIES.items(),
    )
}


def markdown() -> str:
    """The anomaly table as Markdown (``docs/anomalies.md``)."""
    lines = [
        "# Anomalies",
        "",
        "Named conditions otsec records when input is malformed or unexpected. They are",
        "data, not alerts: the rules in `rules/` decide which become alerts. This file is",
        "generated from `otsec/events/anomalies.py` (`python -m otsec.events.anomalies`).",
        "",
        "| name | meaning |",
        "| --- | --- |",
    ]
    for info in sorted(ANOMALIES.values(), key=lambda a: a.name):
        lines.append(f"| `{info.name}` | {info.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
