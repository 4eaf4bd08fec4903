"""L2-L4 decoding, layer by layer, checked against scapy's independent parse."""

from __future__ import annotations

import re
import socket
import struct
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP, IPOption
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import ARP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.packet import Packet, Padding, Raw

from otsec.capture import decode as d
from otsec.capture import linktypes as lt
from otsec.capture.decode import ANOMALY, OTHER, decode, make_key, split_key
from otsec.capture.pcapfile import open_capture
from otsec.events.anomalies import ANOMALIES
from tests.capture import pcapbuild as pb
from tests.conftest import REPO

MAC_A = "00:1b:1b:00:00:01"
MAC_B = "00:0e:8c:00:00:02"
V4_A, V4_B = "192.168.10.5", "192.168.10.20"
V6_A, V6_B = "fd00::5", "fd00:0:0:1::20"

PRE = b"\xee" * 5  # bytes before the frame in the reader's buffer
POST = b"\xdd" * 9  # and after it: decode must look at neither


def eth(payload: Packet, etype: int | None = None) -> Packet:
    if etype is None:
        return Ether(src=MAC_A, dst=MAC_B) / payload
    return Ether(src=MAC_A, dst=MAC_B, type=etype) / payload


def run(frame: bytes, linktype: int = 1) -> tuple[Any, ...]:
    """decode() of ``frame`` at offset 0 and inside a larger buffer: the same result (offsets
    shifted), which is returned with frame-relative offsets."""
    alone = decode(frame, 0, len(frame), linktype)
    inside = decode(PRE + frame + POST, len(PRE), len(PRE) + len(frame), linktype)
    if alone[0] in (d.TCP, d.UDP):
        shifted = inside[:5] + tuple(x - len(PRE) for x in inside[5:8]) + inside[8:]
        assert shifted == alone
        _, _key, _vlan, _flags, _seq, l4off, poff, pend, seglen = alone
        assert 0 <= l4off <= poff <= pend <= len(frame)
        assert seglen >= pend - poff
    else:
        assert inside == alone
    if alone[0] == ANOMALY:
        assert alone[1] in ANOMALIES, alone
    return alone


def key_of(src: str, dst: str, sport: int, dport: int, vlan: int = 0) -> bytes:
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    return make_key(socket.inet_pton(fam, src), socket.inet_pton(fam, dst), sport, dport, vlan)


def scapy_expect(frame: bytes, parsed: Packet, vlan: int = 0) -> tuple[Any, ...]:
    """What decode() must return for a complete TCP/UDP frame, from scapy's parse."""
    ip = parsed[IP] if IP in parsed else parsed[IPv6]
    l4 = parsed[TCP] if TCP in parsed else parsed[UDP]
    tail = bytes(l4)
    l4off = len(frame) - len(tail)
    assert frame[l4off:] == tail
    padding = len(bytes(parsed[Padding])) if Padding in parsed else 0
    payload = bytes(l4.payload)[: len(bytes(l4.payload)) - padding]
    poff = l4off + (l4.dataofs * 4 if isinstance(l4, TCP) else 8)
    pend = poff + len(payload)
    assert frame[poff:pend] == payload
    key = key_of(ip.src, ip.dst, l4.sport, l4.dport, vlan)
    if isinstance(l4, TCP):
        return (d.TCP, key, vlan, int(l4.flags), l4.seq, l4off, poff, pend, len(payload))
    return (d.UDP, key, vlan, 0, 0, l4off, poff, pend, len(payload))


def check(
    pkt: Packet, linktype: int = 1, vlan: int = 0, parse: type[Packet] = Ether
) -> tuple[Any, ...]:
    frame = bytes(pkt)
    got = run(frame, linktype)
    assert got == scapy_expect(frame, parse(frame), vlan)
    return got


def tcp4(payload: bytes = b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a", **kw: Any) -> Packet:
    opts: dict[str, Any] = {
        "sport": 49152,
        "dport": 502,
        "flags": "PA",
        "seq": 0xDEADBEEF,
        "ack": 77,
    }
    opts.update(kw)
    return IP(src=V4_A, dst=V4_B) / TCP(**opts) / Raw(payload)


# -- Ethernet / IPv4 / TCP and UDP --------------------------------------------------------


def test_ethernet_ipv4_tcp_exact_tuple() -> None:
    frame = bytes(eth(tcp4()))
    assert run(frame) == (
        d.TCP,
        key_of(V4_A, V4_B, 49152, 502),
        0,
        d.PSH | d.ACK,
        0xDEADBEEF,
        34,
        54,
        66,
        12,
    )
    # the untagged IPv4 key is the 12 bytes of the frame, addresses and ports
    assert frame[26:38] == key_of(V4_A, V4_B, 49152, 502)
    # the acknowledgement number is at l4off + 8
    assert d.ACK_NUM.unpack_from(frame, 34 + 8)[0] == 77


def test_fast_struct_fields_match_decode() -> None:
    # The pipeline decodes untagged Ethernet/IPv4/TCP inline with FAST_ETH_IPV4 (at frame
    # offset 12); its fields must be the ones decode() reads.
    frame = bytes(eth(tcp4(b"xyz", flags="FPA", seq=0x01020304)))
    etype, vihl, tot, frag, proto, key, seq, offb, flags = d.FAST_ETH_IPV4.unpack_from(frame, 12)
    got = run(frame)
    assert (etype, vihl, tot, frag, proto) == (0x0800, 0x45, 43, 0, 6)
    assert (key, flags, seq) == (got[1], got[3], got[4])
    assert 34 + ((offb >> 4) << 2) == got[6]
    assert d.FAST_ETH_IPV4.size == 54 - 12 - 6  # ends at the TCP flags byte (frame[47])


@pytest.mark.parametrize("flags", ["S", "SA", "A", "FA", "R", "RA", "FPU", "SEC", ""])
def test_tcp_flags(flags: str) -> None:
    got = check(eth(tcp4(b"", flags=flags)))
    assert got[3] == int(TCP(flags=flags).flags)


def test_tcp_with_options_and_no_payload() -> None:
    pkt = eth(
        IP(src=V4_A, dst=V4_B)
        / TCP(sport=1, dport=102, flags="S", seq=1, options=[("MSS", 1460), ("WScale", 7)])
    )
    got = check(pkt)
    assert got[5:] == (34, 34 + 28, 62, 0)


def test_ipv4_options_take_the_slow_path() -> None:
    pkt = eth(IP(src=V4_A, dst=V4_B, options=[IPOption(b"\x01\x01\x01\x00")]) / tcp4()[TCP])
    got = check(pkt)
    assert got[5] == 14 + 24
    pkt = eth(IP(src=V4_A, dst=V4_B, options=[IPOption(b"\x07\x07\x04" + bytes(4) + b"\x00")]))
    got = check(pkt / UDP(sport=20000, dport=20000) / b"\x05\x64")
    assert got[5:] == (14 + 28, 14 + 36, 14 + 38, 2)


def test_udp_exact_tuple() -> None:
    frame = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=20000, dport=20001) / (b"\x05\x64" * 20)))
    assert run(frame) == (d.UDP, key_of(V4_A, V4_B, 20000, 20001), 0, 0, 0, 34, 42, 82, 40)


def test_ethernet_padding_is_not_payload() -> None:
    # Short frames are padded to 60 bytes; the IP total length bounds the payload.
    for payload in (b"", b"\x01", b"\x03\x00"):
        pkt = eth(tcp4(payload))
        frame = bytes(pkt)
        padded = frame + b"\x00" * (60 - len(frame))
        got = run(padded)
        assert got[5:] == (34, 54, 54 + len(payload), len(payload))
        assert got == scapy_expect(padded, Ether(padded))
        # padding that is not zeros (some NICs leak memory there) changes nothing
        assert run(frame + b"\xaa" * (60 - len(frame))) == got
    frame = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=2) / b"z"))
    got = run(frame + b"\x00" * (60 - len(frame)))
    assert got[5:] == (34, 42, 43, 1)


def test_frame_with_trailing_bytes_beyond_ip_total_length() -> None:
    # an Ethernet FCS (or trailer) after the IP packet is not payload either
    frame = bytes(eth(tcp4(b"abcdefgh" * 10))) + b"\x12\x34\x56\x78"
    got = run(frame)
    assert got[5:] == (34, 54, 134, 80)


def test_snap_length_cut_tcp_payload() -> None:
    frame = bytes(eth(tcp4(bytes(range(100)))))
    for cut in (100, 60, 54):
        got = run(frame[:cut])
        assert got[0] == d.TCP
        assert got[5:] == (34, 54, cut, 100)  # pend - poff < seglen
    frame = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=2) / bytes(200)))
    assert run(frame[:100])[5:] == (34, 42, 100, 200)


def test_snap_length_cut_ipv6_payload() -> None:
    frame = bytes(eth(IPv6(src=V6_A, dst=V6_B) / TCP(sport=5, dport=502) / bytes(300)))
    got = run(frame[:96])
    assert got[0] == d.TCP
    assert got[5:] == (54, 74, 96, 300)


# -- VLAN ------------------------------------------------------------------------------


def test_single_vlan_tag() -> None:
    got = check(eth(Dot1Q(vlan=100, prio=5) / tcp4()), vlan=100)
    assert got[1] == key_of(V4_A, V4_B, 49152, 502) + b"\x00\x00\x64"
    assert got[5] == 38


@pytest.mark.parametrize("outer_type", [0x88A8, 0x9100, 0x8100])
def test_qinq(outer_type: int) -> None:
    pkt = eth(Dot1AD(vlan=10) / Dot1Q(vlan=20) / IP(src=V4_A, dst=V4_B) / UDP(sport=3, dport=4))
    pkt[Ether].type = outer_type
    frame = bytes(pkt)
    got = run(frame)
    assert got[2] == 10 << 12 | 20
    assert got[1] == key_of(V4_A, V4_B, 3, 4) + (10 << 12 | 20).to_bytes(3, "big")
    assert got[5:] == (42, 50, 50, 0)
    assert split_key(got[1]) == (
        socket.inet_aton(V4_A),
        socket.inet_aton(V4_B),
        3,
        4,
        10 << 12 | 20,
    )


def test_vlan_ids_at_the_limits() -> None:
    got = run(bytes(eth(Dot1AD(vlan=4095) / Dot1Q(vlan=4095) / tcp4())))
    assert got[2] == 0xFFFFFF
    assert got[1][-3:] == b"\xff\xff\xff"
    # a priority tag (VLAN 0) is no VLAN: the key is the untagged one
    got = run(bytes(eth(Dot1Q(vlan=0, prio=6) / tcp4())))
    assert got[2] == 0
    assert got[1] == key_of(V4_A, V4_B, 49152, 502)


def test_vlan_ipv6_and_arp() -> None:
    got = check(
        eth(Dot1Q(vlan=7) / IPv6(src=V6_A, dst=V6_B) / UDP(sport=9, dport=10) / b"q"), vlan=7
    )
    assert len(got[1]) == 39
    got = run(bytes(eth(Dot1Q(vlan=7) / ARP(op=1, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B))))
    assert got[0] == d.ARP
    assert got[6] == 7


def test_three_tags_are_too_many() -> None:
    frame = bytes(eth(Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / tcp4()))
    assert run(frame) == (ANOMALY, "vlan.too_many_tags", "more than two 802.1Q tags")


@pytest.mark.parametrize("extra", [0, 1, 3])
def test_truncated_vlan_tag(extra: int) -> None:
    frame = bytes(eth(Dot1Q(vlan=5) / tcp4()))[: 14 + extra]
    assert run(frame) == (ANOMALY, "vlan.truncated", "")
    frame = bytes(eth(Dot1AD(vlan=5) / Dot1Q(vlan=6) / tcp4()))[: 18 + extra]
    assert run(frame) == (ANOMALY, "vlan.truncated", "")


# -- ARP ---------------------------------------------------------------------------------


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def test_arp_request_reply_gratuitous() -> None:
    req = eth(ARP(op=1, hwsrc=MAC_A, psrc=V4_A, hwdst="00:00:00:00:00:00", pdst=V4_B))
    assert run(bytes(req)) == (
        d.ARP, 1, _mac(MAC_A), socket.inet_aton(V4_A), bytes(6), socket.inet_aton(V4_B), 0
    )  # fmt: skip
    rep = eth(ARP(op=2, hwsrc=MAC_B, psrc=V4_B, hwdst=MAC_A, pdst=V4_A))
    assert run(bytes(rep)) == (
        d.ARP, 2, _mac(MAC_B), socket.inet_aton(V4_B), _mac(MAC_A), socket.inet_aton(V4_A), 0
    )  # fmt: skip
    grat = Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=MAC_A, psrc=V4_A, hwdst="ff:ff:ff:ff:ff:ff", pdst=V4_A
    )
    got = run(bytes(grat) + bytes(18))  # padded to 60 bytes
    assert got == (
        d.ARP, 1, _mac(MAC_A), socket.inet_aton(V4_A), b"\xff" * 6, socket.inet_aton(V4_A), 0
    )  # fmt: skip
    assert got[3] == got[5]  # gratuitous: sender IP == target IP
    assert d.mac_text(got[2]) == MAC_A
    assert d.ip_text(got[3]) == V4_A


def test_arp_not_ethernet_ipv4_and_truncated() -> None:
    # IEEE 802 hardware type, 6-byte addresses: a full-size body, just not Ethernet
    body = struct.pack("!HHBBH", 6, 0x0800, 6, 4, 1) + bytes(20)
    assert run(bytes(eth(Raw(body), etype=0x0806))) == (OTHER, "arp-non-ethernet-ipv4")
    # hardware addresses of another length make the body shorter than 28 bytes
    frame = bytes(eth(ARP(hwtype=6, op=1, psrc=V4_A, pdst=V4_B)))
    assert len(frame) == 14 + 16
    assert run(frame) == (OTHER, "arp-non-ethernet-ipv4")
    assert run(frame + bytes(14)) == (OTHER, "arp-non-ethernet-ipv4")  # padded
    # ARP over IPv6-sized protocol addresses (not a thing, but well-formed)
    body = struct.pack("!HHBBH", 1, 0x86DD, 6, 16, 1) + bytes(44)
    assert run(bytes(eth(Raw(body), etype=0x0806))) == (OTHER, "arp-non-ethernet-ipv4")
    frame = bytes(eth(ARP(op=1, psrc=V4_A, pdst=V4_B)))
    assert run(frame[: 14 + 27]) == (ANOMALY, "arp.truncated", "27 bytes")
    assert run(frame[:14]) == (ANOMALY, "arp.truncated", "0 bytes")
    assert run(frame[: 14 + 7]) == (ANOMALY, "arp.truncated", "7 bytes")


# -- IPv6 ------------------------------------------------------------------------------


def v6(*ext: Packet, l4: Packet | None = None) -> Packet:
    pkt: Packet = IPv6(src=V6_A, dst=V6_B)
    for e in ext:
        pkt = pkt / e
    return pkt / (
        l4 if l4 is not None else TCP(sport=40000, dport=20000, flags="A", seq=9) / b"dnp"
    )


def test_ipv6_tcp_and_udp() -> None:
    got = check(eth(v6()))
    assert got[5:] == (54, 74, 77, 3)
    assert got[1] == key_of(V6_A, V6_B, 40000, 20000)
    got = check(eth(v6(l4=UDP(sport=20000, dport=20000) / b"\x05\x64\x05")))
    assert got[5:] == (54, 62, 65, 3)


@pytest.mark.parametrize(
    "ext",
    [
        [IPv6ExtHdrHopByHop()],
        [IPv6ExtHdrDestOpt()],
        [IPv6ExtHdrRouting(addresses=["fd00::1", "fd00::2"])],
        [IPv6ExtHdrFragment(offset=0, m=0, id=7)],  # atomic fragment
        [IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt(), IPv6ExtHdrRouting(), IPv6ExtHdrFragment()],
    ],
    ids=["hbh", "dstopts", "routing", "atomic-frag", "chain"],
)
@pytest.mark.parametrize("udp", [False, True], ids=["tcp", "udp"])
def test_ipv6_extension_headers(ext: list[Packet], udp: bool) -> None:
    l4 = UDP(sport=1, dport=2) / b"xyz" if udp else None
    check(eth(v6(*ext, l4=l4)))


def _ah(nh: int) -> bytes:
    # next header, payload length (in 32-bit words, minus 2): 4 -> 24 bytes, reserved,
    # SPI, sequence number, 12-byte ICV
    return struct.pack("!BBHII", nh, 4, 0, 0x1000, 1) + b"\xab" * 12


def test_ipv6_authentication_header() -> None:
    tcp = bytes(TCP(sport=40000, dport=20000, flags="A", seq=9) / b"dnp")
    frame = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=51) / Raw(_ah(6) + tcp)))
    assert run(frame) == (
        d.TCP, key_of(V6_A, V6_B, 40000, 20000), 0, d.ACK, 9, 78, 98, 101, 3
    )  # fmt: skip
    # AH after a hop-by-hop header
    hbh = bytes([51, 0]) + b"\x01\x04" + bytes(4)  # next = AH, PadN option
    frame = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=0) / Raw(hbh + _ah(6) + tcp)))
    assert run(frame)[5:] == (86, 106, 109, 3)


@pytest.mark.parametrize(("offset", "m"), [(0, 1), (185, 1), (185, 0)])
def test_ipv6_fragment(offset: int, m: int) -> None:
    frame = bytes(eth(v6(IPv6ExtHdrFragment(offset=offset, m=m, id=99))))
    got = run(frame)
    assert got[:2] == (ANOMALY, "ip.fragment")
    assert got[2] == f"IPv6 offset {offset * 8}, more={bool(m)}"


def test_ipv6_other_next_headers() -> None:
    icmp6 = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=58) / Raw(b"\x80\x00\x00\x00")))
    assert run(icmp6) == (OTHER, "icmpv6")
    nonext = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=59)))
    assert run(nonext) == (OTHER, "ip-proto-59")
    esp = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=50) / Raw(bytes(16))))
    assert run(esp) == (OTHER, "esp")


def test_ipv6_extension_header_problems() -> None:
    # chain longer than the payload
    long_ext = bytearray(bytes(eth(v6(IPv6ExtHdrDestOpt()))))
    long_ext[14 + 41] = 200  # hdr ext len: 201 * 8 bytes
    got = run(bytes(long_ext))
    assert got == (ANOMALY, "ipv6.bad_extension_header", "extension headers exceed the payload")
    # nine destination-options headers
    frame = bytes(eth(v6(*[IPv6ExtHdrDestOpt() for _ in range(9)])))
    assert run(frame) == (
        ANOMALY,
        "ipv6.bad_extension_header",
        "more than 8 extension headers",
    )
    # fragment header cut by the payload length
    raw = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=44, plen=4) / Raw(b"\x06\x00\x00\x00")))
    assert run(raw) == (ANOMALY, "ipv6.bad_extension_header", "fragment header truncated")
    # an extension header cut by the end of the frame
    frame = bytes(eth(v6(IPv6ExtHdrHopByHop())))[: 14 + 41]
    assert run(frame) == (ANOMALY, "ipv6.bad_extension_header", "header 0 truncated")
    frame = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=51) / Raw(_ah(6))))[: 14 + 41]
    assert run(frame) == (
        ANOMALY, "ipv6.bad_extension_header", "authentication header truncated"
    )  # fmt: skip


def test_ipv6_jumbogram_payload_length_zero() -> None:
    hbh = bytes([6, 0, 0xC2, 4]) + struct.pack("!I", 70000)  # Jumbo Payload option
    tcp = bytes(TCP(sport=1, dport=2, flags="A") / b"jumbo")
    frame = bytes(eth(IPv6(src=V6_A, dst=V6_B, nh=0, plen=0) / Raw(hbh + tcp)))
    got = run(frame)
    assert got[0] == d.TCP
    assert got[5:] == (62, 82, 87, 5)  # bounded by the frame


# -- IPv4 fragments and malformed headers --------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "frag", "detail"),
    [("MF", 0, "offset 0, more=True"), ("MF", 185, "offset 1480, more=True"),
     (0, 185, "offset 1480, more=False")],
)  # fmt: skip
def test_ipv4_fragments(flags: Any, frag: int, detail: str) -> None:
    frame = bytes(eth(IP(src=V4_A, dst=V4_B, flags=flags, frag=frag) / UDP() / bytes(32)))
    assert run(frame) == (ANOMALY, "ip.fragment", detail)


def test_ipv4_dont_fragment_is_not_a_fragment() -> None:
    check(eth(IP(src=V4_A, dst=V4_B, flags="DF") / tcp4()[TCP]))
    check(eth(IP(src=V4_A, dst=V4_B, flags="evil+DF") / tcp4()[TCP]))


def _ip_frame(**fields: Any) -> bytes:
    return bytes(eth(IP(src=V4_A, dst=V4_B, **fields) / tcp4()[TCP]))


def test_ipv4_malformed_headers() -> None:
    assert run(_ip_frame(ihl=4)) == (ANOMALY, "ip.bad_header_length", "header length 16")
    assert run(_ip_frame(ihl=0)) == (ANOMALY, "ip.bad_header_length", "header length 0")
    assert run(_ip_frame(len=10)) == (
        ANOMALY, "ip.bad_total_length", "total length 10 < header length 20"
    )  # fmt: skip
    assert run(_ip_frame(ihl=15, len=40)) == (
        ANOMALY, "ip.bad_total_length", "total length 40 < header length 60"
    )  # fmt: skip
    assert run(_ip_frame(version=6)) == (
        ANOMALY, "ip.bad_version", "version 6 in an IPv4 frame"
    )  # fmt: skip
    assert run(_ip_frame(version=0)) == (
        ANOMALY, "ip.bad_version", "version 0 in an IPv4 frame"
    )  # fmt: skip
    v6_in_v4 = bytes(eth(IPv6(src=V6_A, dst=V6_B) / TCP(), etype=0x0800))
    assert run(v6_in_v4) == (ANOMALY, "ip.bad_version", "version 6 in an IPv4 frame")
    v4_in_v6 = bytes(eth(tcp4() / bytes(40), etype=0x86DD))
    assert run(v4_in_v6) == (ANOMALY, "ip.bad_version", "version 4 in an IPv6 frame")


def test_ipv4_total_length_beyond_the_frame_is_a_snap_cut() -> None:
    # decode cannot tell a lying total length from a snap-length cut: it reports the
    # captured part, and seglen says what the header claims
    frame = bytearray(bytes(eth(tcp4(b"abcd"))))
    struct.pack_into("!H", frame, 16, 1000)
    got = run(bytes(frame))
    assert got[5:] == (34, 54, 58, 960)


def test_tcp_malformed_headers() -> None:
    assert run(bytes(eth(tcp4(dataofs=4)))) == (
        ANOMALY, "tcp.bad_header_length", "data offset 16"
    )  # fmt: skip
    assert run(bytes(eth(tcp4(b"", dataofs=15)))) == (
        ANOMALY, "tcp.bad_header_length", "data offset 60"
    )  # fmt: skip
    # options cut by the end of the captured frame (not by the IP payload)
    frame = bytes(eth(tcp4(b"", options=[("MSS", 1460), ("NOP", None), ("WScale", 2)])))
    assert run(frame[:56]) == (ANOMALY, "tcp.truncated", "options cut by the snap length")


def test_udp_malformed_lengths() -> None:
    frame = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=2, len=4) / b"abcd"))
    assert run(frame) == (ANOMALY, "udp.bad_length", "length 4, IP payload 12")
    frame = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=2, len=200) / b"abcd"))
    assert run(frame) == (ANOMALY, "udp.bad_length", "length 200, IP payload 12")
    frame = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=2, len=0) / b"abcd"))
    assert run(frame) == (ANOMALY, "udp.bad_length", "length 0, IP payload 12")
    # a UDP length shorter than the IP payload bounds the datagram
    frame = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=2, len=10) / b"abcd"))
    assert run(frame)[5:] == (34, 42, 44, 2)


def test_truncated_headers() -> None:
    full = bytes(eth(tcp4()))
    assert run(full[:13]) == (ANOMALY, "eth.truncated", "13 bytes")
    assert run(b"") == (ANOMALY, "eth.truncated", "0 bytes")
    assert run(full[:14]) == (ANOMALY, "ip.truncated", "0 bytes")
    assert run(full[:33]) == (ANOMALY, "ip.truncated", "19 bytes")
    opts = bytes(eth(IP(src=V4_A, dst=V4_B, options=[IPOption(b"\x01" * 8)]) / UDP()))
    assert run(opts[: 14 + 24]) == (ANOMALY, "ip.truncated", "header cut by the snap length")
    assert run(full[:44]) == (ANOMALY, "tcp.truncated", "10 bytes")
    v6full = bytes(eth(v6()))
    assert run(v6full[: 14 + 39]) == (ANOMALY, "ipv6.truncated", "39 bytes")
    assert run(v6full[: 14 + 50]) == (ANOMALY, "tcp.truncated", "10 bytes")
    udp = bytes(eth(IP(src=V4_A, dst=V4_B) / UDP(sport=1, dport=2) / b"x"))
    assert run(udp[:38]) == (ANOMALY, "udp.truncated", "4 bytes")


def test_transport_header_cut_by_the_ip_payload() -> None:
    # the IP total length leaves room for only part of the transport header
    frame = bytearray(bytes(eth(tcp4())))
    struct.pack_into("!H", frame, 16, 30)
    assert run(bytes(frame)) == (ANOMALY, "tcp.truncated", "10 bytes")
    frame = bytearray(bytes(eth(IP(src=V4_A, dst=V4_B) / UDP() / bytes(10))))
    struct.pack_into("!H", frame, 16, 24)
    assert run(bytes(frame)) == (ANOMALY, "udp.truncated", "4 bytes")


# -- other link types ----------------------------------------------------------------------


def test_linux_sll_and_sll2() -> None:
    got = check(CookedLinux(pkttype=4) / tcp4(), lt.LINUX_SLL, parse=CookedLinux)
    assert got[5] == 16 + 20
    got = check(CookedLinuxV2() / v6(), lt.LINUX_SLL2, parse=CookedLinuxV2)
    assert got[5] == 20 + 40
    assert run(bytes(CookedLinux() / tcp4())[:15], lt.LINUX_SLL) == (ANOMALY, "sll.truncated", "")
    assert run(bytes(CookedLinuxV2() / tcp4())[:19], lt.LINUX_SLL2) == (
        ANOMALY, "sll.truncated", ""
    )  # fmt: skip
    arp = CookedLinux(proto=0x0806) / ARP(op=2, hwsrc=MAC_A, psrc=V4_A, hwdst=MAC_B, pdst=V4_B)
    assert run(bytes(arp), lt.LINUX_SLL)[:2] == (d.ARP, 2)
    vlan = CookedLinux(proto=0x8100) / Dot1Q(vlan=33) / tcp4()
    assert run(bytes(vlan), lt.LINUX_SLL)[2] == 33
    llc = bytes(CookedLinux(proto=0x0004)) + b"\x42\x42\x03"
    assert run(llc, lt.LINUX_SLL) == (OTHER, "llc")


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("family", [2, 10, 24, 28, 30])
def test_bsd_null_loopback(order: str, family: int) -> None:
    inner = bytes(tcp4()) if family == 2 else bytes(v6())
    frame = struct.pack(order + "I", family) + inner
    got = run(frame, lt.NULL)
    assert got == scapy_expect(frame, IP(inner) if family == 2 else IPv6(inner))
    assert got[5] == 4 + (20 if family == 2 else 40)


def test_loop_is_network_byte_order() -> None:
    assert run(struct.pack(">I", 2) + bytes(tcp4()), lt.LOOP)[0] == d.TCP
    assert run(struct.pack(">I", 24) + bytes(v6()), lt.LOOP)[0] == d.TCP
    assert run(struct.pack("<I", 2) + bytes(tcp4()), lt.LOOP) == (
        OTHER,
        "loopback-family-33554432",
    )


def test_loopback_other_family_and_truncated() -> None:
    assert run(struct.pack("<I", 7) + bytes(20), lt.NULL) == (OTHER, "loopback-family-7")
    assert run(b"\x02\x00\x00", lt.NULL) == (ANOMALY, "loopback.truncated", "")
    assert run(b"", lt.LOOP) == (ANOMALY, "loopback.truncated", "")


@pytest.mark.parametrize("linktype", [lt.RAW, lt.RAW_DLT12, lt.RAW_DLT14])
def test_raw_ip(linktype: int) -> None:
    got = run(bytes(tcp4()), linktype)
    assert got == scapy_expect(bytes(tcp4()), IP(bytes(tcp4())))
    got = run(bytes(v6()), linktype)
    assert got == scapy_expect(bytes(v6()), IPv6(bytes(v6())))
    assert run(b"\x55" + bytes(30), linktype) == (ANOMALY, "ip.bad_version", "version 5")
    assert run(b"", linktype) == (ANOMALY, "ip.truncated", "")


def test_ipv4_and_ipv6_link_types() -> None:
    v4 = bytes(tcp4())
    assert run(v4, lt.IPV4) == scapy_expect(v4, IP(v4))
    v6b = bytes(v6())
    assert run(v6b, lt.IPV6) == scapy_expect(v6b, IPv6(v6b))
    assert run(v6b, lt.IPV4) == (ANOMALY, "ip.bad_version", "version 6 in an IPv4 frame")
    assert run(v4 + bytes(20), lt.IPV6) == (ANOMALY, "ip.bad_version", "version 4 in an IPv6 frame")


# -- not TCP/UDP, unknown, unsupported ----------------------------------------------------


@pytest.mark.parametrize(
    ("etype", "name"),
    [(0x88CC, "ethertype-0x88cc"), (0x88A4, "ethertype-0x88a4"), (0x8892, "ethertype-0x8892"),
     (0x0600, "ethertype-0x0600"), (0x05FF, "llc"), (0x0026, "llc")],
)  # fmt: skip
def test_other_ethertypes(etype: int, name: str) -> None:
    frame = bytes(Ether(src=MAC_A, dst=MAC_B, type=etype) / Raw(bytes(46)))
    assert run(frame) == (OTHER, name)


@pytest.mark.parametrize(
    ("proto", "name"),
    [(1, "icmp"), (2, "igmp"), (47, "gre"), (50, "esp"), (51, "ah"), (89, "ospf"),
     (112, "vrrp"), (132, "sctp"), (0, "ip-proto-0"), (253, "ip-proto-253")],
)  # fmt: skip
def test_other_ip_protocols(proto: int, name: str) -> None:
    frame = bytes(eth(IP(src=V4_A, dst=V4_B, proto=proto) / Raw(bytes(30))))
    assert run(frame) == (OTHER, name)


@pytest.mark.parametrize(("linktype", "label"), [(147, "147 (USER0)"), (9, "9 (PPP)"),
                                                 (4242, "4242"), (-1, "-1")])  # fmt: skip
def test_unsupported_link_type(linktype: int, label: str) -> None:
    assert run(bytes(eth(tcp4())), linktype) == (ANOMALY, "capture.unsupported_linktype", label)


# -- flow keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "dst", "vlan", "length"),
    [(V4_A, V4_B, 0, 12), (V4_A, V4_B, 100, 15), (V4_A, V4_B, 0xFFFFFF, 15),
     (V6_A, V6_B, 0, 36), (V6_A, V6_B, 5 << 12 | 6, 39)],
)  # fmt: skip
def test_split_and_make_key_round_trip(src: str, dst: str, vlan: int, length: int) -> None:
    key = key_of(src, dst, 65535, 0, vlan)
    assert len(key) == length
    s, t, sport, dport, v = split_key(key)
    assert (d.ip_text(s), d.ip_text(t), sport, dport, v) == (src, dst, 65535, 0, vlan)
    assert make_key(s, t, sport, dport, v) == key


def test_decoded_keys_split_into_the_packet_fields() -> None:
    cases = [
        (eth(tcp4()), 0),
        (eth(Dot1Q(vlan=12) / tcp4()), 12),
        (eth(v6()), 0),
        (eth(Dot1AD(vlan=3) / Dot1Q(vlan=4) / v6()), 3 << 12 | 4),
    ]
    for pkt, vlan in cases:
        got = run(bytes(pkt))
        ip = pkt[IP] if IP in pkt else pkt[IPv6]
        assert split_key(got[1]) == (
            socket.inet_pton(socket.AF_INET6 if IPv6 in pkt else socket.AF_INET, ip.src),
            socket.inet_pton(socket.AF_INET6 if IPv6 in pkt else socket.AF_INET, ip.dst),
            pkt[TCP].sport,
            pkt[TCP].dport,
            vlan,
        )


# -- anomaly names and real captures ------------------------------------------------------


def test_every_anomaly_decode_can_return_is_registered() -> None:
    # the source file, not d.__file__: that may be the compiled module
    source = (REPO / "otsec" / "capture" / "decode.py").read_text()
    names = set(re.findall(r'_anomaly\(\s*"([a-z0-9_.]+)"', source))
    assert len(names) >= 15
    missing = sorted(n for n in names if n not in ANOMALIES)
    assert missing == []


def _real_frames(limit_per_file: int = 400) -> list[tuple[str, int, bytes]]:
    frames = []
    for path in pb.real_pcap_files():
        if path.stat().st_size > 300_000:
            continue
        with open_capture(str(path)) as reader:
            for i, (_ts, linktype, frame, _w) in enumerate(reader.packets()):
                if i >= limit_per_file:
                    break
                frames.append((path.name, linktype, frame))
    return frames


_SCAPY_L2 = {1: Ether, 113: CookedLinux, 276: CookedLinuxV2, 101: IP, 228: IP, 229: IPv6}


@pytest.mark.realpcaps
@pytest.mark.skipif(not pb.real_pcap_files(), reason=pb.REAL_SKIP_REASON)
def test_real_frames_agree_with_scapy() -> None:
    frames = _real_frames()
    assert len(frames) > 1000
    compared = 0
    for name, linktype, frame in frames:
        got = run(frame, linktype)
        cls = _SCAPY_L2.get(linktype)
        if cls is None:
            assert linktype in (0, 108), (name, linktype)
            parsed: Packet = (IP if frame[4] >> 4 == 4 else IPv6)(frame[4:])
        else:
            parsed = cls(frame)
        if got[0] not in (d.TCP, d.UDP):
            assert got[0] in (d.ARP, OTHER, ANOMALY), (name, got)
            if got[0] == d.ARP:
                assert ARP in parsed
            continue
        ip = parsed[IP] if IP in parsed else parsed[IPv6]
        l4 = parsed[TCP] if got[0] == d.TCP else parsed[UDP]
        s, t, sport, dport, _vlan = split_key(got[1])
        assert (d.ip_text(s), d.ip_text(t), sport, dport) == (ip.src, ip.dst, l4.sport, l4.dport)
        if got[0] == d.TCP:
            # decode gives the flags byte (CWR..FIN); scapy's field also holds NS
            assert (got[3], got[4]) == (int(l4.flags) & 0xFF, l4.seq), name
        l4off, poff, pend, seglen = got[5:]
        assert frame[l4off : l4off + 4] == struct.pack("!HH", l4.sport, l4.dport)
        if pend - poff == seglen:  # not cut by the snap length: scapy's payload
            padding = len(bytes(parsed[Padding])) if Padding in parsed else 0
            whole = bytes(l4.payload)
            assert frame[poff:pend] == whole[: len(whole) - padding], name
        compared += 1
    assert compared > 1000
