"""Raw frame construction: checksums, link templates and the pcap writer.

Every frame is built from a per-link template (Ethernet, optional VLAN tags and the IP
header, built once with scapy) plus per-packet fields packed with ``struct``. Checksums
use the identity ``sum(words) == int.from_bytes(data) mod 0xFFFF``, so no Python loop runs
per byte.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, BinaryIO

# 2026-01-05T08:00:00Z: every scenario's packet time is an offset from this instant.
BASE_EPOCH_US = 1_767_600_000 * 1_000_000

ETH_MIN = 60  # frames shorter than this are zero-padded, as a mirror port delivers them

PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMP = 1

_IP4 = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")
_PCAP_HDR = struct.Struct("<IHHiIII")
_PCAP_REC = struct.Struct("<IIII")

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10


def csum_partial(data: bytes) -> int:
    """Integer whose value mod 0xFFFF is the one's-complement sum of ``data``'s 16-bit words."""
    if len(data) & 1:
        data += b"\x00"
    return int.from_bytes(data, "big") % 0xFFFF


def csum_finish(total: int) -> int:
    """Internet checksum from a sum of partials (data is never all zero here)."""
    rest = total % 0xFFFF
    return 0xFFFF - rest if rest else 0


@dataclass(frozen=True)
class Encap:
    """How a link carries IP: VLAN tags (outermost first) and IPv6 extension headers."""

    vlans: tuple[tuple[int, int, int], ...] = ()  # (tpid, vid, pcp)
    ipv6: bool = False
    ext_headers: tuple[str, ...] = ()  # "hbh" (hop-by-hop) and/or "dst" (destination options)


PLAIN = Encap()


@dataclass
class Link:
    """One direction between two hosts: raw header template plus packing helpers."""

    eth: bytes  # Ethernet header with tags and the final EtherType
    ipv6: bool
    # per upper-layer protocol: IP header template (IPv4 with zero length/id/checksum, or
    # IPv6 with zero payload length, extension headers included) ...
    ip_tpl: dict[int, bytes] = field(default_factory=dict)
    # ... the partial sum of that IPv4 template ...
    ip_sum: dict[int, int] = field(default_factory=dict)
    # ... and the partial sum of the TCP/UDP pseudo-header without its length
    pseudo: dict[int, int] = field(default_factory=dict)

    def ip_frame(self, proto: int, l4: bytes, ip_id: int) -> bytes:
        """Ethernet frame around an upper-layer message whose checksum is already set."""
        tpl = self.ip_tpl[proto]
        if self.ipv6:
            plen = len(tpl) - 40 + len(l4)
            hdr = tpl[:4] + struct.pack("!H", plen) + tpl[6:]
        else:
            total = 20 + len(l4)
            # template words with zero length/id/checksum, plus the two variable words
            csum = csum_finish(self.ip_sum[proto] + total + ip_id)
            hdr = tpl[:2] + struct.pack("!HH", total, ip_id) + tpl[6:10]
            hdr += struct.pack("!H", csum) + tpl[12:]
        frame = self.eth + hdr + l4
        if len(frame) < ETH_MIN:
            frame += bytes(ETH_MIN - len(frame))
        return frame

    def tcp(
        self,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        win: int,
        payload: bytes = b"",
        opts: bytes = b"",
        ip_id: int = 0,
    ) -> bytes:
        off = (20 + len(opts)) // 4
        words = (
            sport
            + dport
            + (seq >> 16)
            + (seq & 0xFFFF)
            + (ack >> 16)
            + (ack & 0xFFFF)
            + ((off << 12) | flags)
            + win
        )
        seglen = 20 + len(opts) + len(payload)
        total = self.pseudo[PROTO_TCP] + seglen + words
        if opts:
            total += csum_partial(opts)
        if payload:
            total += csum_partial(payload)
        hdr = _TCP.pack(sport, dport, seq, ack, off << 4, flags, win, csum_finish(total), 0)
        return self.ip_frame(PROTO_TCP, hdr + opts + payload, ip_id)

    def udp(self, sport: int, dport: int, payload: bytes, ip_id: int = 0) -> bytes:
        length = 8 + len(payload)
        total = self.pseudo[PROTO_UDP] + sport + dport + length + length + csum_partial(payload)
        csum = csum_finish(total) or 0xFFFF
        return self.ip_frame(PROTO_UDP, _UDP.pack(sport, dport, length, csum) + payload, ip_id)

    def icmp(
        self, icmp_type: int, code: int, ident: int, seq: int, data: bytes, ip_id: int
    ) -> bytes:
        body = struct.pack("!BBHHH", icmp_type, code, 0, ident, seq) + data
        csum = csum_finish(csum_partial(body))
        body = body[:2] + struct.pack("!H", csum) + body[4:]
        return self.ip_frame(PROTO_ICMP, body, ip_id)


def _l3_template(src_ip: str, dst_ip: str, ttl: int, encap: Encap, proto: int) -> Any:
    """The IP layer (with IPv6 extension headers) of a link, as a scapy packet."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, PadN

    if not encap.ipv6:
        return IP(src=src_ip, dst=dst_ip, ttl=ttl, flags="DF", id=0, proto=proto)
    l3 = IPv6(src=src_ip, dst=dst_ip, hlim=ttl)
    for ext in encap.ext_headers:
        pad = PadN(optdata=b"\x00" * 4)
        header = IPv6ExtHdrHopByHop if ext == "hbh" else IPv6ExtHdrDestOpt
        l3 = l3 / header(options=[pad])
    l3.lastlayer().nh = proto
    return l3


def build_link(
    src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, ttl: int, encap: Encap = PLAIN
) -> Link:
    """Build the header templates of one link with scapy (once per link, never per packet)."""
    from scapy.compat import raw
    from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

    l2 = Ether(src=src_mac, dst=dst_mac)
    for tpid, vid, pcp in encap.vlans:
        l2 = l2 / (Dot1AD(vlan=vid, prio=pcp) if tpid == 0x88A8 else Dot1Q(vlan=vid, prio=pcp))
    eth_len = 14 + 4 * len(encap.vlans)
    link = Link(eth=b"", ipv6=encap.ipv6)
    protos = (PROTO_TCP, PROTO_UDP) if encap.ipv6 else (PROTO_TCP, PROTO_UDP, PROTO_ICMP)
    for proto in protos:
        frame = raw(l2 / _l3_template(src_ip, dst_ip, ttl, encap, proto))
        link.eth, ip_hdr = frame[:eth_len], frame[eth_len:]  # EtherType set by the IP layer
        if encap.ipv6:
            ip_hdr = ip_hdr[:4] + b"\x00\x00" + ip_hdr[6:]  # payload length: per packet
            link.pseudo[proto] = csum_partial(ip_hdr[8:40]) + proto
        else:  # total length, id and checksum: per packet
            ip_hdr = ip_hdr[:2] + bytes(4) + ip_hdr[6:10] + bytes(2) + ip_hdr[12:]
            link.pseudo[proto] = csum_partial(ip_hdr[12:20]) + proto
            link.ip_sum[proto] = csum_partial(ip_hdr)
        link.ip_tpl[proto] = ip_hdr
    return link


def tcp_options(options: list[tuple[str, object]]) -> bytes:
    """Encode a TCP option list (scapy notation) once, for SYN templates."""
    from scapy.compat import raw
    from scapy.layers.inet import TCP

    return raw(TCP(options=options))[20:]


@cache
def _arp_template() -> bytes:
    """An ARP request built once with scapy; ``arp_frame`` patches its fields."""
    from scapy.compat import raw
    from scapy.layers.l2 import ARP, Ether

    return raw(Ether(src="00:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP(op=1))


@cache
def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


@cache
def _ip4(text: str) -> bytes:
    return socket.inet_aton(text)


def arp_frame(
    op: int, src_mac: str, src_ip: str, dst_mac: str, target_mac: str, target_ip: str
) -> bytes:
    """An ARP request (op 1) or reply (op 2), zero-padded to the Ethernet minimum."""
    tpl = _arp_template()
    frame = (
        _mac(dst_mac)
        + _mac(src_mac)
        + tpl[12:20]
        + struct.pack("!H", op)
        + _mac(src_mac)
        + _ip4(src_ip)
        + _mac(target_mac)
        + _ip4(target_ip)
    )
    return frame + bytes(ETH_MIN - len(frame))


class PcapWriter:
    """Streams classic pcap records (microsecond timestamps, Ethernet) to a file."""

    def __init__(self, stream: BinaryIO, snaplen: int = 65535) -> None:
        self._out = stream
        self.count = 0
        stream.write(_PCAP_HDR.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))

    def write(self, t_us: int, frame: bytes) -> None:
        n = len(frame)
        self._out.write(_PCAP_REC.pack(t_us // 1_000_000, t_us % 1_000_000, n, n))
        self._out.write(frame)
        self.count += 1

    def write_all(self, items: Iterable[tuple[int, bytes]]) -> None:
        for t_us, frame in items:
            self.write(t_us, frame)
