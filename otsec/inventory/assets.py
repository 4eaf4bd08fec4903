"""The asset inventory of one run: one :class:`Asset` per IP address that sent traffic.

The inventory listens to three kinds of events: connections (flows, oriented client ->
server, with the Ethernet addresses of their first frame), protocol transactions and ARP.
From them each asset gets its MACs and vendor, VLANs, the services it serves and uses,
roles derived from behaviour, identity facts with their provenance, first/last seen and
packet/byte counts. :meth:`Inventory.to_doc` gives the JSON document that
``otsec replay --inventory`` writes and that baseline files embed.

MACs: a frame from a host behind a router carries the router's MAC. A MAC that ARP
assigns to another address, or that is seen for several addresses and never announced by
ARP, is the asset's ``via`` (its router) rather than its own.

Identity changes: when a device reports a different value for a field of
:data:`~otsec.inventory.identity.CHANGE_FIELDS` (firmware, order number, module ...) than
it did earlier in the run or than the reference inventory (the baseline's) holds, the
``on_change`` callback hears of it; detection turns that into an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from otsec.events.addresses import ip_key, is_asset_address, mac_ecs
from otsec.events.polling import MAX_SAMPLES, Cadence
from otsec.events.ports import service_label
from otsec.events.types import ENDED, Connection, Envelope, Transaction, isotime
from otsec.inventory import identity

INVENTORY_VERSION = 1
#: Addresses remembered per MAC (to tell a router's MAC from a host's).
ROUTER_MAC_IPS = 3
#: Values kept per identity field (newest first).
MAX_FACTS = 8
#: MACs remembered per asset.
MAX_MACS = 8

#: protocol -> (client role, server role)
PROTOCOL_ROLES = {
    "modbus": ("modbus_client", "modbus_server"),
    "s7comm": ("s7_client", "s7_plc"),
    "s7comm_plus": ("s7_client", "s7_plc"),
    "dnp3": ("dnp3_master", "dnp3_outstation"),
}
#: Operations only an engineering workstation (or an attacker acting as one) performs.
ENGINEERING_OPS = frozenset({"program_download", "program_upload", "program_delete",
                             "mode_change", "firmware"})  # fmt: skip
#: Operations that change a device.
WRITE_OPS = frozenset({"write", "control", "program_download", "program_delete", "mode_change",
                       "restart", "configuration", "firmware", "time_sync"})  # fmt: skip

#: Identity fields an alert's asset context carries.
_CONTEXT_FIELDS = ("product_name", "model_name", "order_number", "product_code",
                   "firmware_version", "revision", "module_name", "plant_designation")  # fmt: skip
#: (value, protocol, capture file, packet number, packet time)
Fact = tuple[str, str, str, int | None, float]
ChangeCallback = Callable[[str, str, str, str, Transaction], None]


class _Binding:
    """What the inventory resolved for one side of one flow (its assets, the operations
    already recorded, the poll cadence), so that a flow's thousandth transaction costs
    a few comparisons."""

    __slots__ = ("cadence", "client", "ops", "server")

    def __init__(self) -> None:
        self.client: Asset | None = None
        self.server: Asset | None = None
        self.cadence: Cadence | None = None
        self.ops: set[str] = set()


class Asset:
    """Everything the run learned about one IP address."""

    __slots__ = (
        "arp_macs", "bytes_received", "bytes_sent", "client_protocols", "first_ts", "identity",
        "ip", "last_ts", "macs", "ops", "packets_received", "packets_sent", "polls",
        "s7_identify", "server_protocols", "services", "uses", "vlans",
    )  # fmt: skip

    def __init__(self, ip: str, ts: float) -> None:
        self.ip = ip
        self.first_ts = self.last_ts = ts
        #: MAC -> frames it was seen on as this address (from flows' first frames).
        self.macs: dict[bytes, int] = {}
        #: MACs ARP announced for this address.
        self.arp_macs: set[bytes] = set()
        self.vlans: set[int] = set()
        self.packets_sent = self.packets_received = self.bytes_sent = self.bytes_received = 0
        #: (transport, port, protocol) served / used as a client.
        self.services: set[tuple[str, int, str]] = set()
        self.uses: set[tuple[str, int, str]] = set()
        self.client_protocols: set[str] = set()
        self.server_protocols: set[str] = set()
        #: Operation classes requested as a client.
        self.ops: set[str] = set()
        self.s7_identify = False
        #: server IP -> request cadence, for read requests this asset sent.
        self.polls: dict[str, Cadence] = {}
        self.identity: dict[str, list[Fact]] = {}

    def seen(self, ts: float) -> None:
        self.first_ts = min(self.first_ts, ts)
        self.last_ts = max(self.last_ts, ts)

    def roles(self) -> list[str]:
        out: set[str] = set()
        for proto in self.client_protocols:
            out.add(PROTOCOL_ROLES.get(proto, (f"{proto}_client", ""))[0])
        for proto in self.server_protocols:
            out.add(PROTOCOL_ROLES.get(proto, ("", f"{proto}_server"))[1])
        if self.ops & ENGINEERING_OPS or self.s7_identify:
            out.add("engineering_workstation")
        polled = [ip for ip, cadence in self.polls.items() if cadence.regular()]
        if polled:
            if len(polled) >= 2 and not self.ops & WRITE_OPS:
                out.add("historian")
            else:
                out.add("hmi_scada")
        return sorted(out)

    def newest(self, field: str) -> str | None:
        facts = self.identity.get(field)
        return facts[0][0] if facts else None


class Inventory:
    """Assets by IP address, fed by the pipeline's events."""

    def __init__(
        self,
        vendor: Callable[[bytes], str | None] | None = None,
        reference: dict[str, dict[str, Any]] | None = None,
        on_change: ChangeCallback | None = None,
    ) -> None:
        self.assets: dict[str, Asset] = {}
        self.vendor = vendor
        #: ip -> asset document of a reference inventory (a baseline's), for changes.
        self.reference = reference or {}
        self.on_change = on_change
        self.sources: list[str] = []
        self._capture = ""
        #: MAC -> the addresses it was seen for (bounded), and the address ARP gave it.
        self._mac_ips: dict[bytes, set[str]] = {}
        self._arp_owner: dict[bytes, str] = {}
        self._rejected: set[str] = set()
        #: flow id * 2 + swapped -> what the flow's transactions resolved already.
        self._bound: dict[int, _Binding] = {}
        #: (flow id, swapped) -> the connection facts last read from its transactions.
        self._extras: dict[tuple[int, bool], tuple[Any, ...]] = {}
        self.last_ts = 0.0

    # -- events ----------------------------------------------------------------------

    def asset(self, ip: str, ts: float) -> Asset | None:
        """The asset of ``ip``, created on first sight; None for addresses no device owns."""
        a = self.assets.get(ip)
        if a is not None:
            return a
        if ip in self._rejected or not is_asset_address(ip):
            if len(self._rejected) < 65536:
                self._rejected.add(ip)
            return None
        a = self.assets[ip] = Asset(ip, ts)
        return a

    def connection(self, c: Connection) -> None:
        if c.capture != self._capture:
            self._capture = c.capture
            if c.capture and c.capture not in self.sources:
                self.sources.append(c.capture)
        self.last_ts = max(self.last_ts, c.last_ts)
        assets = self.assets
        if c.again:  # its addresses, MACs and services came with its first report
            client = assets.get(c.client_ip) if c.client_packets else None
            server = assets.get(c.server_ip) if c.server_packets else None
        else:
            client, server = self._first_report(c)
        if client is not None:
            client.last_ts = max(client.last_ts, c.last_ts)
        if server is not None:
            server.last_ts = max(server.last_ts, c.last_ts)
        if c.phase != ENDED:
            return
        if client is not None:
            client.packets_sent += c.client_packets
            client.bytes_sent += c.client_bytes
            client.packets_received += c.server_packets
            client.bytes_received += c.server_bytes
        if server is not None:
            server.packets_sent += c.server_packets
            server.bytes_sent += c.server_bytes
            server.packets_received += c.client_packets
            server.bytes_received += c.client_bytes

    def _first_report(self, c: Connection) -> tuple[Asset | None, Asset | None]:
        """Addresses, MACs, VLAN and services of a flow reported for the first time."""
        label = service_label(c.transport, c.server_port, c.service)
        service = (c.transport, c.server_port, label)
        client = self.asset(c.client_ip, c.first_ts) if c.client_packets else None
        if client is not None:
            client.seen(c.first_ts)
            self._mac(client, c.client_mac)
            if c.vlan:
                client.vlans.add(c.vlan)
            if c.conversation:
                client.uses.add(service)
        server = self.asset(c.server_ip, c.first_ts) if c.server_packets else None
        if server is not None:
            self._mac(server, c.server_mac)
            if c.vlan:
                server.vlans.add(c.vlan)
            if c.conversation or (c.answered and c.transport == "tcp"):
                server.services.add(service)
        return client, server

    def _mac(self, asset: Asset, mac: bytes) -> None:
        if not mac or mac[0] & 1:
            return
        macs = asset.macs
        if mac in macs:
            macs[mac] += 1
            return
        if len(macs) < MAX_MACS:
            macs[mac] = 1
        ips = self._mac_ips.setdefault(mac, set())
        if len(ips) <= ROUTER_MAC_IPS:
            ips.add(asset.ip)

    def arp(self, ts: float, ip: str, sha: bytes, vlan: int) -> None:
        """A host announced ``ip`` with its MAC ``sha``."""
        a = self.asset(ip, ts)
        if a is None:
            return
        a.seen(ts)
        self.last_ts = max(self.last_ts, ts)
        if vlan:
            a.vlans.add(vlan)
        if sha not in a.arp_macs and len(a.arp_macs) < MAX_MACS:
            a.arp_macs.add(sha)
        self._arp_owner.setdefault(sha, ip)

    def transaction(self, t: Transaction) -> None:
        env = t.envelope
        ts = t.ts
        proto = t.protocol
        op = t.operation
        fkey = env.flow_id * 2 + (1 if env.swapped else 0)
        b = self._bound.get(fkey)
        if b is None:
            if len(self._bound) >= 65536:
                self._bound.clear()
            b = self._bound[fkey] = _Binding()
        client = b.client
        if t.request is not None:
            if client is None:
                client = b.client = self.asset(env.client_ip, ts)
                if client is not None:
                    client.client_protocols.add(proto)
                    cadence = client.polls.get(env.server_ip)
                    if cadence is None:
                        cadence = client.polls[env.server_ip] = Cadence()
                    b.cadence = cadence
            if client is not None:
                if ts > client.last_ts:  # noqa: PLR1730 (a compare is cheaper than max())
                    client.last_ts = ts
                if op not in b.ops:
                    b.ops.add(op)
                    client.ops.add(op)
                    if op == "identify" and proto == "s7comm":
                        client.s7_identify = True
                cadence = b.cadence
                if op == "read" and cadence is not None and cadence.count < MAX_SAMPLES:
                    rec = t.record
                    cadence.add((rec.function, rec.address), ts)
        server = b.server
        if t.response is not None:
            if server is None:
                server = b.server = self.asset(env.server_ip, ts)
                if server is not None:
                    server.server_protocols.add(proto)
            if server is not None:
                rts = t.response_ts
                if rts is not None and rts > server.last_ts:
                    server.last_ts = rts
        extra = t.extra
        if op == "identify" or (extra is not None and self._new_extra(env, extra)):
            for side, field, value in identity.facts(t):
                who = client if side == "client" else server
                if who is None:
                    who = self.asset(env.client_ip if side == "client" else env.server_ip, ts)
                if who is not None:
                    self._fact(who, field, value, proto, t)

    def _new_extra(self, env: Envelope, extra: dict[str, Any]) -> bool:
        """The connection facts of a transaction (S7 rack/slot, DNP3 link addresses)
        differ from the last ones of its flow: worth reading for identity."""
        sig = (extra.get("rack"), extra.get("slot"), extra.get("master"), extra.get("outstation"))
        key = (env.flow_id, env.swapped)
        cache = self._extras
        if cache.get(key) == sig:
            return False
        if len(cache) >= 65536:
            cache.clear()
        cache[key] = sig
        return True

    def _fact(self, asset: Asset, field: str, value: str, proto: str, t: Transaction) -> None:
        facts = asset.identity.get(field)
        if facts and facts[0][0] == value:
            return
        packet = t.response_packet if t.response_packet is not None else t.request_packet
        fact: Fact = (value, proto, t.envelope.capture, packet, t.ts)
        if facts is None:
            asset.identity[field] = [fact]
            old = self._reference_value(asset.ip, field)
        else:
            old = facts[0][0]
            facts[:] = [fact, *(f for f in facts if f[0] != value)][:MAX_FACTS]
        changed = old is not None and old != value and field in identity.CHANGE_FIELDS
        if changed and self.on_change is not None:
            self.on_change(asset.ip, field, old or "", value, t)

    def _reference_value(self, ip: str, field: str) -> str | None:
        doc = self.reference.get(ip)
        if doc is None:
            return None
        facts = doc.get("identity", {}).get(field)
        if not facts:
            return None
        value = facts[0].get("value")
        return value if isinstance(value, str) else None

    # -- views -----------------------------------------------------------------------

    def own_macs(self, a: Asset) -> tuple[list[bytes], list[bytes]]:
        """(the asset's own MACs, the MACs of routers it is reached through)."""
        own: list[bytes] = []
        via: list[bytes] = []
        for mac in sorted(set(a.macs) | a.arp_macs):
            owner = self._arp_owner.get(mac)
            if mac in a.arp_macs or owner == a.ip:
                own.append(mac)
            elif owner is not None or len(self._mac_ips.get(mac, ())) > 1:
                via.append(mac)
            else:
                own.append(mac)
        return own, via

    def asset_doc(self, a: Asset) -> dict[str, Any]:
        own, via = self.own_macs(a)
        vendor = None
        if own and self.vendor is not None:
            vendor = self.vendor(own[0])
        return {
            "ip": a.ip,
            "macs": [mac_ecs(m) for m in own],
            "via": [mac_ecs(m) for m in via],
            "vendor": vendor,
            "vlans": sorted(a.vlans),
            "roles": a.roles(),
            "services": _services(a.services),
            "uses": _services(a.uses),
            "identity": {
                field: [
                    {"value": v, "protocol": p, "source": src, "packet": pkt, "seen": isotime(ts)}
                    for v, p, src, pkt, ts in facts
                ]
                for field, facts in sorted(a.identity.items())
            },
            "first_seen": isotime(a.first_ts),
            "last_seen": isotime(a.last_ts),
            "packets_sent": a.packets_sent,
            "packets_received": a.packets_received,
            "bytes_sent": a.bytes_sent,
            "bytes_received": a.bytes_received,
        }

    def context(self, ip: str) -> dict[str, Any] | None:
        """A short description of an asset for alerts: MAC, vendor, roles, identity; what
        this run has not seen (yet) comes from the reference inventory (the baseline's)."""
        a = self.assets.get(ip)
        ref = self.reference.get(ip)
        if a is None and ref is None:
            return None
        out: dict[str, Any] = {}
        if a is not None:
            own, _via = self.own_macs(a)
            out["roles"] = a.roles()
            if own:
                out["mac"] = mac_ecs(own[0])
                if self.vendor is not None:
                    vendor = self.vendor(own[0])
                    if vendor:
                        out["vendor"] = vendor
            for field in _CONTEXT_FIELDS:
                value = a.newest(field)
                if value is not None:
                    out[field] = value
        if ref is not None:
            if not out.get("roles") and isinstance(ref.get("roles"), list):
                out["roles"] = [str(r) for r in ref["roles"]]
            macs = ref.get("macs")
            if "mac" not in out and isinstance(macs, list) and macs:
                out["mac"] = str(macs[0])
            if "vendor" not in out and isinstance(ref.get("vendor"), str):
                out["vendor"] = ref["vendor"]
            for field in _CONTEXT_FIELDS:
                if field not in out:
                    value = self._reference_value(ip, field)
                    if value is not None:
                        out[field] = value
        return out

    def to_doc(self) -> dict[str, Any]:
        return {
            "otsec_inventory": INVENTORY_VERSION,
            "generated": isotime(self.last_ts),
            "sources": list(self.sources),
            "assets": [self.asset_doc(self.assets[ip]) for ip in sorted(self.assets, key=ip_key)],
        }


def _services(items: set[tuple[str, int, str]]) -> list[dict[str, Any]]:
    return [{"transport": t, "port": p, "protocol": n} for t, p, n in sorted(items)]
