"""IEC 62443 zones and conduits: which zone an address is in, and whether a flow from one
zone to another has a conduit that allows it.

Zones are named sets of networks; an address belongs to the zone of the most specific
network that holds it. A flow inside one zone is always allowed; a flow between two zones
needs a conduit from the client's zone to the server's naming its protocol (or any) and
port (or any). Addresses in no zone are outside the policy: their flows are not judged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from otsec.config import ConduitSpec, ZoneSpec

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    client_zone: str | None
    server_zone: str | None


class ZonePolicy:
    def __init__(self, zones: Sequence[ZoneSpec], conduits: Sequence[ConduitSpec]) -> None:
        nets: list[tuple[Network, str]] = []
        for zone in zones:
            for text in zone.networks:
                nets.append((ipaddress.ip_network(text, strict=False), zone.name))
        # most specific first
        nets.sort(key=lambda item: -item[0].prefixlen)
        self._networks = nets
        self.zones = tuple(zones)
        self.conduits = tuple(conduits)
        self._cache: dict[str, str | None] = {}

    @property
    def active(self) -> bool:
        return bool(self._networks)

    def zone_of(self, ip: str) -> str | None:
        cache = self._cache
        if ip in cache:
            return cache[ip]
        zone = None
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            addr = None
        if addr is not None:
            for net, name in self._networks:
                if addr.version == net.version and addr in net:
                    zone = name
                    break
        if len(cache) < 65536:
            cache[ip] = zone
        return zone

    def check(self, client: str, server: str, protocol: str, port: int) -> Verdict:
        cz = self.zone_of(client)
        sz = self.zone_of(server)
        if cz is None or sz is None or cz == sz:
            return Verdict(True, cz, sz)
        for c in self.conduits:
            if c.source != cz or c.destination != sz:
                continue
            if c.protocols and protocol not in c.protocols:
                continue
            if c.ports and port not in c.ports:
                continue
            return Verdict(True, cz, sz)
        return Verdict(False, cz, sz)
