"""Address helpers shared by the stages after the dissectors."""

from __future__ import annotations

import ipaddress


def mac_ecs(mac: bytes) -> str:
    """ECS form of a MAC address: upper case, hyphenated (``00-1B-1B-6E-01-11``)."""
    return mac.hex("-").upper()


def is_asset_address(ip: str) -> bool:
    """A unicast address a device can own (not multicast, broadcast, loopback or
    unspecified; IPv4 addresses ending in .255 are taken for subnet broadcasts)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback:
        return False
    return not (addr.version == 4 and ip.endswith(".255"))


def ip_key(ip: str) -> tuple[int, int]:
    """Sort key: IPv4 before IPv6, numeric order; unparsable text last."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0)
    return (addr.version, int(addr))
