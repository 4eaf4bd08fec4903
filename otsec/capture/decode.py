"""Layer 2-4 decoding: Ethernet/802.1Q/QinQ, Linux SLL/SLL2, loopback, raw IP, ARP,
IPv4, IPv6 (extension headers walked), TCP and UDP.

This is the per-packet hot path, so it trades a little elegance for speed: one function,
direct byte indexing, precompiled ``struct`` unpackers, offsets into the reader's buffer
instead of copies, and plain tuples as results. :func:`decode` never raises on bad
input; a malformed header becomes an ``ANOMALY`` result naming it (``ip.bad_header_length``).

Results (first element is the kind):

``(TCP, key, vlan, flags, seq, l4off, poff, pend, seglen)``
``(UDP, key, vlan, 0, 0, l4off, poff, pend, seglen)``
    ``key`` is the directional flow key as bytes: source address, destination address
    (4 bytes each for IPv4, 16 for IPv6), source and destination port (2 bytes each,
    network order) and, for tagged frames only, the VLAN as 3 more bytes. Untagged
    IPv4 keys are 12 bytes taken straight from the frame, which is what makes flow lookup
    cheap; :func:`split_key` takes a key apart. ``vlan`` is 0 untagged, the VLAN id with
    one tag, and ``outer << 12 | inner`` with QinQ. ``seq`` is the TCP sequence
    number; the transport header starts at ``l4off`` (the acknowledgement number is
    :data:`ACK_NUM` there + 8). The payload is ``buf[poff:pend]``; ``seglen`` is its
    length on the wire (larger than ``pend - poff`` when the snap length cut it).

The pipeline decodes the most common frame (untagged Ethernet, IPv4 without options,
TCP) inline with :data:`FAST_ETH_IPV4` and calls :func:`decode` for everything else; a
property test keeps the two in agreement.
``(ARP, op, sender_mac, sender_ip, target_mac, target_ip, vlan)``
    MACs and IPv4 addresses as ``bytes`` (6 and 4).
``(OTHER, what)``
    Not IP/ARP or not TCP/UDP: ``what`` names it (``"ethertype-0x88cc"``, ``"icmp"``).
``(ANOMALY, name, detail)``
    A named anomaly; the packet is not processed further.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, Final

from otsec.capture import linktypes as lt

TCP: Final = 6
UDP: Final = 17
ARP: Final = 1
OTHER: Final = 0
ANOMALY: Final = -1

Decoded = tuple[Any, ...]

# TCP flag bits
FIN: Final = 0x01
SYN: Final = 0x02
RST: Final = 0x04
PSH: Final = 0x08
ACK: Final = 0x10
URG: Final = 0x20

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_QINQ_OLD = 0x9100
_VLAN_TYPES = frozenset({ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD})

# IPv6 extension headers walked to reach the transport header (RFC 8200 and IANA).
_V6_HOPOPT = 0
_V6_ROUTING = 43
_V6_FRAGMENT = 44
_V6_AH = 51
_V6_DSTOPTS = 60
_V6_EXT = frozenset({_V6_HOPOPT, _V6_ROUTING, _V6_DSTOPTS, 135, 139, 140, 253, 254})
_MAX_V6_EXT = 8

# Address families in BSD loopback headers (NULL/LOOP link types).
_AF_INET = 2
_AF_INET6 = frozenset({10, 24, 28, 30})

_IP_PROTO_NAMES = {1: "icmp", 2: "igmp", 47: "gre", 50: "esp", 51: "ah", 58: "icmpv6", 89: "ospf",
                   112: "vrrp", 132: "sctp"}  # fmt: skip

#: At frame+12 of untagged Ethernet: type, IPv4 ver/ihl, total length, fragment field,
#: protocol, the 12 bytes src/dst/sport/dport (the flow key), TCP sequence number, data
#: offset and flags. The pipeline's fast path unpacks this once per packet.
FAST_ETH_IPV4 = struct.Struct("!HBxHxxHxBxx12sI4xBB")
_IP4 = struct.Struct("!BxHxxHxBxx")
_TCP_HDR = struct.Struct("!4xI4xBB")
_UDP_HDR = struct.Struct("!4xH")
#: TCP acknowledgement number, at the transport header + 8.
ACK_NUM = struct.Struct("!I")
_U16 = struct.Struct("!H")
_U32LE = struct.Struct("<I")
_U32BE = struct.Struct("!I")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_ARP_ETH_IPV4 = b"\x00\x01\x08\x00\x06\x04"  # hardware type, protocol type, lengths


def _anomaly(name: str, detail: str = "") -> tuple[int, str, str]:
    return (ANOMALY, name, detail)


def decode(buf: bytes, start: int, end: int, linktype: int) -> Decoded:
    """Decode the frame ``buf[start:end]`` of the given link type."""
    if linktype == 1:
        return _ethernet(buf, start, end)
    if linktype == lt.LINUX_SLL:
        if end - start < 16:
            return _anomaly("sll.truncated")
        return _ethertype(buf, start + 16, end, _U16.unpack_from(buf, start + 14)[0], 0)
    if linktype == lt.LINUX_SLL2:
        if end - start < 20:
            return _anomaly("sll.truncated")
        return _ethertype(buf, start + 20, end, _U16.unpack_from(buf, start)[0], 0)
    if linktype in (lt.RAW, lt.RAW_DLT12, lt.RAW_DLT14):
        if end <= start:
            return _anomaly("ip.truncated")
        version = buf[start] >> 4
        if version == 4:
            return _ipv4(buf, start, end, 0)
        if version == 6:
            return _ipv6(buf, start, end, 0)
        return _anomaly("ip.bad_version", f"version {version}")
    if linktype == lt.IPV4:
        return _ipv4(buf, start, end, 0)
    if linktype == lt.IPV6:
        return _ipv6(buf, start, end, 0)
    if linktype in (lt.NULL, lt.LOOP):
        if end - start < 4:
            return _anomaly("loopback.truncated")
        if linktype == lt.LOOP:
            family = _U32BE.unpack_from(buf, start)[0]
        else:
            # Host byte order of the capturing machine: the family is a small number,
            # so whichever reading is small is the right one.
            family = _U32LE.unpack_from(buf, start)[0]
            if family > 0xFFFF:
                family = _U32BE.unpack_from(buf, start)[0]
        if family == _AF_INET:
            return _ipv4(buf, start + 4, end, 0)
        if family in _AF_INET6:
            return _ipv6(buf, start + 4, end, 0)
        return (OTHER, f"loopback-family-{family}")
    return _anomaly("capture.unsupported_linktype", lt.describe(linktype))


def _ethernet(buf: bytes, start: int, end: int) -> Decoded:
    if end - start < 14:
        return _anomaly("eth.truncated", f"{end - start} bytes")
    etype = (buf[start + 12] << 8) | buf[start + 13]
    return _ethertype(buf, start + 14, end, etype, 0)


def _ethertype(buf: bytes, off: int, end: int, etype: int, vlan: int) -> Decoded:
    tags = 0
    while etype in _VLAN_TYPES:
        if end - off < 4:
            return _anomaly("vlan.truncated")
        tci, etype = struct.unpack_from("!HH", buf, off)
        vlan = (vlan << 12) | (tci & 0x0FFF)
        off += 4
        tags += 1
        if tags > 2:
            return _anomaly("vlan.too_many_tags", "more than two 802.1Q tags")
    if etype == ETH_IPV4:
        return _ipv4(buf, off, end, vlan)
    if etype == ETH_IPV6:
        return _ipv6(buf, off, end, vlan)
    if etype == ETH_ARP:
        return _arp(buf, off, end, vlan)
    if etype < 0x0600:
        return (OTHER, "llc")
    return (OTHER, f"ethertype-0x{etype:04x}")


def _arp(buf: bytes, off: int, end: int, vlan: int) -> Decoded:
    if end - off < 28:
        # Other hardware/protocol types have other address lengths, so a shorter body
        # can be complete; only an Ethernet/IPv4 ARP body must have 28 bytes.
        if end - off >= 6 and buf[off : off + 6] != _ARP_ETH_IPV4:
            return (OTHER, "arp-non-ethernet-ipv4")
        return _anomaly("arp.truncated", f"{end - off} bytes")
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(buf, off)
    if htype != 1 or ptype != ETH_IPV4 or hlen != 6 or plen != 4:
        return (OTHER, "arp-non-ethernet-ipv4")
    return (ARP, op, sha, spa, tha, tpa, vlan)


def _ipv4(buf: bytes, off: int, end: int, vlan: int) -> Decoded:
    if end - off < 20:
        return _anomaly("ip.truncated", f"{end - off} bytes")
    vihl, tot, frag, proto = _IP4.unpack_from(buf, off)
    if vihl >> 4 != 4:
        return _anomaly("ip.bad_version", f"version {vihl >> 4} in an IPv4 frame")
    ihl = (vihl & 0x0F) << 2
    if ihl < 20:
        return _anomaly("ip.bad_header_length", f"header length {ihl}")
    if tot < ihl:
        return _anomaly("ip.bad_total_length", f"total length {tot} < header length {ihl}")
    if off + ihl > end:
        return _anomaly("ip.truncated", "header cut by the snap length")
    if frag & 0x3FFF:
        return _anomaly("ip.fragment", f"offset {(frag & 0x1FFF) * 8}, more={bool(frag & 0x2000)}")
    ip_end = off + tot
    return _transport(buf, off + ihl, ip_end, end, proto, buf[off + 12 : off + 20], vlan)


def _ipv6(buf: bytes, off: int, end: int, vlan: int) -> Decoded:
    if end - off < 40:
        return _anomaly("ipv6.truncated", f"{end - off} bytes")
    if buf[off] >> 4 != 6:
        return _anomaly("ip.bad_version", f"version {buf[off] >> 4} in an IPv6 frame")
    plen = _U16.unpack_from(buf, off + 4)[0]
    nxt = buf[off + 6]
    ip_end = off + 40 + plen
    if plen == 0 and nxt == _V6_HOPOPT:
        ip_end = end  # jumbogram: the length is in a hop-by-hop option; trust the frame
    hdr = off + 40
    for _ in range(_MAX_V6_EXT):
        if nxt in _V6_EXT:
            if hdr + 2 > min(end, ip_end):
                return _anomaly("ipv6.bad_extension_header", f"header {nxt} truncated")
            nxt, hlen = buf[hdr], (buf[hdr + 1] + 1) << 3
        elif nxt == _V6_FRAGMENT:
            if hdr + 8 > min(end, ip_end):
                return _anomaly("ipv6.bad_extension_header", "fragment header truncated")
            fo = _U16.unpack_from(buf, hdr + 2)[0]
            if fo & 0xFFF9:
                return _anomaly("ip.fragment", f"IPv6 offset {fo & 0xFFF8}, more={bool(fo & 1)}")
            nxt, hlen = buf[hdr], 8  # atomic fragment: carry on
        elif nxt == _V6_AH:
            if hdr + 2 > min(end, ip_end):
                return _anomaly("ipv6.bad_extension_header", "authentication header truncated")
            nxt, hlen = buf[hdr], (buf[hdr + 1] + 2) << 2
        else:
            break
        hdr += hlen
        if hdr > ip_end:
            return _anomaly("ipv6.bad_extension_header", "extension headers exceed the payload")
    else:
        return _anomaly("ipv6.bad_extension_header", f"more than {_MAX_V6_EXT} extension headers")
    return _transport(buf, hdr, ip_end, end, nxt, buf[off + 8 : off + 40], vlan)


def _transport(
    buf: bytes, off: int, ip_end: int, end: int, proto: int, addrs: bytes, vlan: int
) -> Decoded:
    """TCP or UDP header at ``off``; ``ip_end`` is where the IP payload ends on the wire;
    ``addrs`` is the source and destination address, back to back."""
    if proto == TCP:
        if off + 20 > end or off + 20 > ip_end:
            return _anomaly("tcp.truncated", f"{min(end, ip_end) - off} bytes")
        seq, offb, flags = _TCP_HDR.unpack_from(buf, off)
        thl = (offb >> 4) << 2
        if thl < 20 or off + thl > ip_end:
            return _anomaly("tcp.bad_header_length", f"data offset {thl}")
        if off + thl > end:
            return _anomaly("tcp.truncated", "options cut by the snap length")
        poff = off + thl
        pend = ip_end if ip_end < end else end
        key = addrs + buf[off : off + 4]
        if vlan:
            key += vlan.to_bytes(3, "big")
        return (TCP, key, vlan, flags, seq, off, poff, pend, ip_end - poff)
    if proto == UDP:
        if off + 8 > end or off + 8 > ip_end:
            return _anomaly("udp.truncated", f"{min(end, ip_end) - off} bytes")
        ulen = _UDP_HDR.unpack_from(buf, off)[0]
        if ulen < 8 or off + ulen > ip_end:
            if not (ulen == 0 and len(addrs) == 32):  # IPv6 jumbogram UDP has length 0
                return _anomaly("udp.bad_length", f"length {ulen}, IP payload {ip_end - off}")
            ulen = ip_end - off
        poff = off + 8
        wire_end = off + ulen
        pend = wire_end if wire_end < end else end
        key = addrs + buf[off : off + 4]
        if vlan:
            key += vlan.to_bytes(3, "big")
        return (UDP, key, vlan, 0, 0, off, poff, pend, wire_end - poff)
    return (OTHER, _IP_PROTO_NAMES.get(proto) or f"ip-proto-{proto}")


def split_key(key: bytes) -> tuple[bytes, bytes, int, int, int]:
    """``(src, dst, sport, dport, vlan)`` of a flow key from :func:`decode`."""
    n = len(key)
    alen = 4 if n in (12, 15) else 16
    vlan = int.from_bytes(key[-3:], "big") if n in (15, 39) else 0
    p = 2 * alen
    return key[:alen], key[alen:p], (key[p] << 8) | key[p + 1], (key[p + 2] << 8) | key[p + 3], vlan


def make_key(src: bytes, dst: bytes, sport: int, dport: int, vlan: int) -> bytes:
    """The flow key :func:`decode` would give a packet from ``src:sport`` to ``dst:dport``."""
    key = src + dst + sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return key + vlan.to_bytes(3, "big") if vlan else key


def ip_text(addr: bytes) -> str:
    """Printable form of a 4- or 16-byte address."""
    if len(addr) == 4:
        return socket.inet_ntoa(addr)
    return socket.inet_ntop(socket.AF_INET6, addr)


def mac_text(mac: bytes) -> str:
    """``00:1b:1b:12:34:56`` form of a 6-byte MAC address."""
    return mac.hex(":")
