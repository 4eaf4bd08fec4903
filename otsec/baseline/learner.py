"""Learning a baseline: per client -> server edge, what was done and how often.

The :class:`Learner` listens to connections and transactions. An edge is keyed by
(client IP, server IP, transport, server port) and carries its protocol, the operation
classes and function codes seen, per address space the ranges read and written, counts,
first/last seen and the typical request interval (:class:`~otsec.events.polling.Cadence`).
Non-ICS flows (SSH, HTTP, SMB ...) are edges too; when the baseline is built, those
between two assets that never spoke an industrial protocol are left out (they are IT's
business, not the OT baseline's).

A zone policy, when configured, is enforced while learning too: an edge between zones
without a conduit is not learned, and is listed as a violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from otsec.baseline.zones import ZonePolicy
from otsec.events.addresses import ip_key
from otsec.events.polling import Cadence
from otsec.events.ports import service_label
from otsec.events.regions import merge_ranges, regions
from otsec.events.types import ENDED, Connection, Transaction, isotime

EdgeKey = tuple[str, str, str, int]  # client, server, transport, server port
#: Distinct ranges remembered per address space before they are merged.
MAX_RANGES = 4096


class EdgeStats:
    """What one client -> server edge did."""

    __slots__ = (
        "bytes", "cadence", "client", "connections", "first_ts", "functions", "last_ts",
        "names", "operations", "packets", "port", "protocol", "reads", "server",
        "transactions", "transport", "writes",
    )  # fmt: skip

    def __init__(self, key: EdgeKey, protocol: str, ts: float) -> None:
        self.client, self.server, self.transport, self.port = key
        self.protocol = protocol
        self.first_ts = self.last_ts = ts
        self.connections = self.packets = self.bytes = self.transactions = 0
        self.operations: dict[str, int] = {}
        self.functions: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.reads: dict[str, set[tuple[int, int]]] = {}
        self.writes: dict[str, set[tuple[int, int]]] = {}
        self.cadence = Cadence()

    def seen(self, ts: float) -> None:
        self.first_ts = min(self.first_ts, ts)
        self.last_ts = max(self.last_ts, ts)

    def to_doc(self) -> dict[str, Any]:
        median = self.cadence.median()
        return {
            "client": self.client,
            "server": self.server,
            "transport": self.transport,
            "port": self.port,
            "protocol": self.protocol,
            "first_seen": isotime(self.first_ts),
            "last_seen": isotime(self.last_ts),
            "connections": self.connections,
            "packets": self.packets,
            "bytes": self.bytes,
            "transactions": self.transactions,
            "operations": dict(sorted(self.operations.items())),
            "functions": {
                str(fc): {"name": self.names[fc], "count": n}
                for fc, n in sorted(self.functions.items())
            },
            "reads": _ranges_doc(self.reads),
            "writes": _ranges_doc(self.writes),
            "interval": None
            if median is None or not self.cadence.regular()
            else {"median": round(median, 6), "samples": self.cadence.count},
        }


def _ranges_doc(spaces: dict[str, set[tuple[int, int]]]) -> dict[str, list[list[int]]]:
    return {space: merge_ranges(list(r)) for space, r in sorted(spaces.items())}


def _add_range(spaces: dict[str, set[tuple[int, int]]], space: str, a: int, b: int) -> None:
    ranges = spaces.get(space)
    if ranges is None:
        ranges = spaces[space] = set()
    ranges.add((a, b))
    if len(ranges) > MAX_RANGES:
        merged = merge_ranges(list(ranges))
        ranges.clear()
        ranges.update((x, y) for x, y in merged)


class Learner:
    """Builds the edges of a baseline from the pipeline's events."""

    def __init__(self, zones: ZonePolicy | None = None) -> None:
        self.edges: dict[EdgeKey, EdgeStats] = {}
        self.zones = zones if zones is not None and zones.active else None
        #: Edges refused by the zone policy: key -> (client zone, server zone, first ts).
        self.violations: dict[EdgeKey, tuple[str | None, str | None, float]] = {}
        #: Addresses that spoke an industrial protocol (client or server).
        self.ics_assets: set[str] = set()

    def _edge(self, key: EdgeKey, protocol: str, ts: float) -> EdgeStats | None:
        edge = self.edges.get(key)
        if edge is not None:
            return edge
        if key in self.violations:
            return None
        if self.zones is not None:
            verdict = self.zones.check(key[0], key[1], protocol, key[3])
            if not verdict.allowed:
                self.violations[key] = (verdict.client_zone, verdict.server_zone, ts)
                return None
        edge = self.edges[key] = EdgeStats(key, protocol, ts)
        return edge

    def connection(self, c: Connection) -> None:
        if not c.conversation:
            return
        key = (c.client_ip, c.server_ip, c.transport, c.server_port)
        protocol = service_label(c.transport, c.server_port, c.service)
        edge = self._edge(key, protocol, c.first_ts)
        if edge is None:
            return
        edge.seen(c.first_ts)
        edge.seen(c.last_ts)
        if c.phase == ENDED:
            edge.connections += 1
            edge.packets += c.client_packets + c.server_packets
            edge.bytes += c.client_bytes + c.server_bytes

    def transaction(self, t: Transaction) -> None:
        env = t.envelope
        ts = t.ts
        proto = t.protocol
        key = env.connection_key()
        edge = self.edges.get(key)
        if edge is None:
            self.ics_assets.add(key[0])
            self.ics_assets.add(key[1])
            edge = self._edge(key, proto, ts)
            if edge is None:
                return
        edge.seen(ts)
        edge.protocol = proto
        edge.transactions += 1
        rec = t.record
        op = t.operation
        edge.operations[op] = edge.operations.get(op, 0) + 1
        fc = rec.function
        n = edge.functions.get(fc)
        if n is None:
            if fc is not None:  # an S7comm-plus PDU too short to carry its function
                edge.functions[fc] = 1
                edge.names[fc] = rec.function_name
        else:
            edge.functions[fc] = n + 1
        req = t.request
        if req is None:
            return
        for access, space, first, last in regions(proto, req):
            _add_range(edge.reads if access == "read" else edge.writes, space, first, last)
        if op == "read":
            edge.cadence.add((fc, rec.address), ts)

    def kept(self, roles: Iterable[tuple[str, Iterable[str]]]) -> list[EdgeStats]:
        """The edges a baseline keeps: IT edges only when one end is an ICS asset (spoke an
        industrial protocol here, or has an industrial role in ``roles``: (ip, roles) of
        the inventory's assets)."""
        ics = set(self.ics_assets)
        for ip, asset_roles in roles:
            if any(r in _ICS_ROLES for r in asset_roles):
                ics.add(ip)
        return [e for k, e in self.edges.items() if k[0] in ics or k[1] in ics]

    def edge_docs(self, assets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The kept edges as documents, sorted (``assets``: the inventory's asset
        documents). :func:`otsec.baseline.store.to_graph` makes the graph of them."""
        kept = self.kept((doc["ip"], doc.get("roles", ())) for doc in assets)
        kept.sort(key=lambda e: (ip_key(e.client), ip_key(e.server), e.transport, e.port))
        return [e.to_doc() for e in kept]


#: Inventory roles of assets that speak an industrial protocol.
_ICS_ROLES = frozenset({"modbus_client", "modbus_server", "s7_client", "s7_plc", "dnp3_master",
                        "dnp3_outstation"})  # fmt: skip
