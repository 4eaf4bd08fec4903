"""Link-layer header types (LINKTYPE_* values of the pcap/pcapng formats) otsec knows."""

from __future__ import annotations

ETHERNET = 1
NULL = 0  # BSD loopback, address family in the capturing host's byte order
LOOP = 108  # OpenBSD loopback, address family in network byte order
RAW = 101  # raw IPv4 or IPv6, version from the first nibble
RAW_DLT12 = 12  # DLT_RAW on most platforms, written by some old tools
RAW_DLT14 = 14  # DLT_RAW on OpenBSD
IPV4 = 228
IPV6 = 229
LINUX_SLL = 113
LINUX_SLL2 = 276

SUPPORTED: frozenset[int] = frozenset(
    {ETHERNET, NULL, LOOP, RAW, RAW_DLT12, RAW_DLT14, IPV4, IPV6, LINUX_SLL, LINUX_SLL2}
)

# Names for the link types people meet in captures, so that an error can name them.
NAMES: dict[int, str] = {
    0: "NULL",
    1: "ETHERNET",
    6: "IEEE802_5",
    9: "PPP",
    10: "FDDI",
    12: "RAW",
    14: "RAW",
    50: "PPP_HDLC",
    51: "PPP_ETHER",
    101: "RAW",
    104: "C_HDLC",
    105: "IEEE802_11",
    108: "LOOP",
    113: "LINUX_SLL",
    119: "PRISM_HEADER",
    127: "IEEE802_11_RADIOTAP",
    147: "USER0",
    148: "USER1",
    189: "USB_LINUX",
    192: "PPI",
    195: "IEEE802_15_4_WITHFCS",
    201: "BLUETOOTH_HCI_H4_WITH_PHDR",
    215: "IEEE802_15_4_NONASK_PHY",
    220: "USB_LINUX_MMAPPED",
    227: "CAN_SOCKETCAN",
    228: "IPV4",
    229: "IPV6",
    249: "NETLINK",
    252: "WIRESHARK_UPPER_PDU",
    274: "NFLOG",
    276: "LINUX_SLL2",
}


def describe(linktype: int) -> str:
    """``147 (USER0)`` style label for messages."""
    name = NAMES.get(linktype)
    return f"{linktype} ({name})" if name else str(linktype)
