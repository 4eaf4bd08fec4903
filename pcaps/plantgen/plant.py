"""The simulated plant: TCP/IP stack profiles, hosts, and the link cache.

All scenarios share these hosts (same names, IPs and MACs), so a baseline learnt on
plant_baseline.pcap applies to plant_attack.pcap. The benchmark adds more hosts of the
same kinds with :func:`bench_hosts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .wire import PLAIN, Encap, Link, build_link


@dataclass(frozen=True)
class Stack:
    """What a host's TCP/IP stack puts in its packets."""

    name: str
    ttl: int
    syn_win: int  # window in SYN / SYN-ACK (never scaled)
    mss: int
    wscale: int | None  # offered window-scale shift, None when the stack does not scale
    sack: bool
    timestamp_in_syn: bool  # offered TS option (only used when the peer echoes it: never here)
    win_unscaled: int  # window field when scaling is not in use
    win_bytes: int  # receive window in bytes when scaling is in use
    delack_us: int  # delayed-ACK timer


WINDOWS = Stack("windows", 128, 64240, 1460, 8, True, False, 64240, 262656, 200_000)
LINUX = Stack("linux", 64, 64240, 1460, 7, True, True, 64240, 64256, 40_000)
SIEMENS = Stack("siemens-cp", 30, 8192, 1460, None, False, False, 8192, 8192, 100_000)
SCHNEIDER = Stack("schneider", 64, 8192, 1460, None, False, False, 8192, 8192, 50_000)
WAGO = Stack("wago", 64, 5840, 1460, None, False, False, 5840, 5840, 40_000)
RTU = Stack("rtu", 64, 4096, 1460, None, False, False, 4096, 4096, 100_000)
ROUTER = Stack("router", 255, 4128, 536, None, False, False, 4128, 4128, 100_000)
MOXA = Stack("moxa", 64, 8760, 1460, None, False, False, 8760, 8760, 50_000)


@dataclass(frozen=True)
class Host:
    name: str
    ip: str
    mac: str
    role: str
    vendor: str
    stack: Stack
    ip6: str = ""
    local: bool = True  # on the monitored OT segment; remote hosts sit behind the gateway


GATEWAY = Host("gw-01", "10.20.1.1", "00:1e:7a:4c:10:01", "gateway/firewall", "Cisco", ROUTER)

HMI1 = Host(
    "hmi-01", "10.20.1.11", "f8:bc:12:a1:0b:11", "HMI (Modbus)", "Dell", WINDOWS, "fd00:20:1::11"
)
HMI2 = Host("hmi-02", "10.20.1.12", "3c:d9:2b:5e:77:12", "HMI (Modbus)", "HP", WINDOWS)
SCADA = Host(
    "scada-01",
    "10.20.1.13",
    "f8:bc:12:a1:0b:13",
    "SCADA server (S7 poller)",
    "Dell",
    WINDOWS,
    "fd00:20:1::13",
)
HIST = Host(
    "hist-01",
    "10.20.1.20",
    "00:50:56:9a:20:20",
    "historian (Modbus, web UI)",
    "VMware VM (Linux)",
    LINUX,
)
EWS = Host(
    "ews-01", "10.20.1.30", "54:ee:75:3a:30:30", "engineering workstation", "Lenovo", WINDOWS
)
DNP_MASTER = Host(
    "fep-01",
    "10.20.1.40",
    "00:50:56:9a:40:40",
    "DNP3 master (SCADA front end)",
    "VMware VM (Linux)",
    LINUX,
    "fd00:20:1::40",
)
NMS = Host(
    "nms-01",
    "10.20.1.60",
    "00:50:56:9a:60:60",
    "network monitoring (ping)",
    "VMware VM (Linux)",
    LINUX,
)

PLC_MB1 = Host(
    "plc-mb-01",
    "10.20.1.101",
    "00:80:f4:12:01:01",
    "PLC (Modbus/TCP server)",
    "Schneider Electric Modicon M340",
    SCHNEIDER,
    "fd00:20:1::101",
)
PLC_MB2 = Host(
    "plc-mb-02",
    "10.20.1.102",
    "00:80:f4:12:01:02",
    "PLC (Modbus/TCP server)",
    "Schneider Electric Modicon M580",
    SCHNEIDER,
)
PLC_MB3 = Host(
    "plc-mb-03",
    "10.20.1.103",
    "00:30:de:0b:01:03",
    "PLC (Modbus/TCP server)",
    "WAGO 750-8102 PFC100",
    WAGO,
)
PLC_S71 = Host(
    "plc-s7-01",
    "10.20.1.111",
    "00:1b:1b:6e:01:11",
    "PLC (S7comm, rack 0 slot 2)",
    "Siemens S7-315-2 PN/DP",
    SIEMENS,
    "fd00:20:1::111",
)
PLC_S72 = Host(
    "plc-s7-02",
    "10.20.1.112",
    "28:63:36:8a:01:12",
    "PLC (S7comm, rack 0 slot 1)",
    "Siemens S7-1516-3 PN/DP",
    SIEMENS,
)
RTU1 = Host(
    "rtu-01",
    "10.20.1.121",
    "00:30:a7:21:01:21",
    "RTU (DNP3 outstation 10)",
    "SEL-3530 RTAC",
    RTU,
    "fd00:20:1::121",
)
RTU2 = Host(
    "rtu-02", "10.20.1.122", "00:30:a7:21:01:22", "RTU (DNP3 outstation 11)", "SEL-3530 RTAC", RTU
)
RTU3 = Host(
    "rtu-03", "10.20.1.123", "00:09:91:23:01:23", "RTU (DNP3 outstation 12)", "GE D20MX", RTU
)

# Modbus/TCP to RTU gateway (modbus_functions only; not part of BASE_HOSTS): serial
# servers 1 (flow computer), 2 (pump drive) and 247 (energy meter) sit behind it, unit 255
# addresses the gateway itself.
MB_GATEWAY = Host(
    "gw-mb-01",
    "10.20.1.130",
    "00:90:e8:4d:01:30",
    "Modbus/TCP to RTU gateway",
    "Moxa MGate MB3180",
    MOXA,
)

# a third S7 CPU, an S7-400 (s7_functions only; not part of BASE_HOSTS)
PLC_S73 = Host(
    "plc-s7-03",
    "10.20.1.113",
    "00:0e:8c:8a:01:13",
    "PLC (S7comm, rack 0 slot 3, PDU 960)",
    "Siemens S7-416-3 PN/DP",
    SIEMENS,
)

DNS_SRV = Host(
    "dns-01",
    "10.1.0.53",
    "00:00:00:00:00:00",
    "DNS server (IT, via gateway)",
    "Windows Server",
    WINDOWS,
    local=False,
)
INTRANET = Host(
    "intranet-01",
    "10.1.0.80",
    "00:00:00:00:00:00",
    "intranet web server (IT)",
    "Linux",
    LINUX,
    local=False,
)

ROGUE = Host(
    "rogue-01",
    "10.20.1.66",
    "d8:3a:dd:66:06:66",
    "intruder laptop (attack only)",
    "Raspberry Pi Trading",
    LINUX,
)

DNP3_ADDR = {RTU1.name: 10, RTU2.name: 11, RTU3.name: 12}
DNP3_MASTER_ADDR = 1


def dnp3_address(host: Host) -> int:
    """Outstation link address: the table above, else the last octet of the IPv4 address."""
    return DNP3_ADDR.get(host.name, int(host.ip.rsplit(".", 1)[1]))


BASE_HOSTS: tuple[Host, ...] = (
    GATEWAY,
    HMI1,
    HMI2,
    SCADA,
    HIST,
    EWS,
    DNP_MASTER,
    NMS,
    PLC_MB1,
    PLC_MB2,
    PLC_MB3,
    PLC_S71,
    PLC_S72,
    RTU1,
    RTU2,
    RTU3,
    DNS_SRV,
    INTRANET,
)


def bench_hosts() -> dict[str, list[Host]]:
    """Extra hosts of the benchmark plant (about 50 hosts in total with the base plant)."""
    mb = [
        Host(
            f"plc-mb-{i:02d}",
            f"10.20.2.{i}",
            f"00:80:f4:12:02:{i:02x}",
            "PLC (Modbus/TCP)",
            "Schneider Electric Modicon M340",
            SCHNEIDER,
        )
        for i in range(4, 14)
    ]
    s7 = [
        Host(
            f"plc-s7-{i:02d}",
            f"10.20.2.{100 + i}",
            f"00:1b:1b:6e:02:{i:02x}",
            "PLC (S7comm)",
            "Siemens S7-315-2 PN/DP",
            SIEMENS,
        )
        for i in range(3, 7)
    ]
    rtu = [
        Host(
            f"rtu-{i:02d}",
            f"10.20.2.{150 + i}",
            f"00:30:a7:21:02:{i:02x}",
            "RTU (DNP3)",
            "SEL-3530 RTAC",
            RTU,
        )
        for i in range(4, 6)
    ]
    hmi = [
        Host(f"hmi-{i:02d}", f"10.20.1.{10 + i}", f"f8:bc:12:a1:0c:{i:02x}", "HMI", "Dell", WINDOWS)
        for i in range(4, 7)
    ]
    office = [
        Host(
            f"ws-{i:02d}",
            f"10.20.1.{200 + i}",
            f"3c:d9:2b:5e:78:{i:02x}",
            "workstation",
            "HP",
            WINDOWS,
        )
        for i in range(1, 11)
    ]
    return {"mb": mb, "s7": s7, "rtu": rtu, "hmi": hmi, "office": office}


class LinkCache:
    """Builds each (src, dst, encapsulation) link once; routes remote hosts via the gateway."""

    def __init__(self, gateway: Host = GATEWAY) -> None:
        self._gw = gateway
        self._links: dict[tuple[str, str, Encap, bool], Link] = {}

    def get(self, src: Host, dst: Host, encap: Encap = PLAIN) -> Link:
        key = (src.name, dst.name, encap, encap.ipv6)
        link = self._links.get(key)
        if link is None:
            src_mac = src.mac if src.local else self._gw.mac
            dst_mac = dst.mac if dst.local else self._gw.mac
            ttl = src.stack.ttl - (0 if src.local else 1)
            src_ip, dst_ip = (src.ip6, dst.ip6) if encap.ipv6 else (src.ip, dst.ip)
            link = build_link(src_mac, dst_mac, src_ip, dst_ip, ttl, encap)
            self._links[key] = link
        return link
