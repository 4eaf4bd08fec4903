"""The bidirectional flow table.

A flow is keyed by its 5-tuple plus VLAN. The table keeps one dict per transport whose
keys are the *directional* flow keys of :func:`otsec.capture.decode.decode` (addresses,
ports and VLAN as bytes, cut straight from the frame); both directions of a flow are
entered, each mapping to ``(flow, from_originator)``, so a packet finds its flow and its
direction with a single dict lookup.

The originator is the side that sent the SYN; for a flow whose start was not captured
(and for UDP) it is the client side by port: the side *not* using a well-known server
port (502, 102, 20000, 53, 80 ...), else the side with the higher port, else the first
sender.

Flows end on idle timeouts that depend on their state (handshake, established, closed,
UDP), when a closed TCP 5-tuple is reused by a new SYN, when the table is full (the least
recently seen flows are evicted, and reported as such) and at the end of the input. Every
ending goes through :meth:`FlowTable.end`, which flushes the flow's reassembly and tells
the ``on_end`` callback why the flow ended: ``closed`` (FIN from both sides or RST,
then the closed timeout passed), ``idle_timeout``, ``evicted``, ``port_reused`` or
``end_of_input``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Protocol

from otsec.capture.decode import ACK, FIN, RST, SYN, TCP, ip_text, split_key
from otsec.config import FlowLimits
from otsec.flows.keys import community_id
from otsec.flows.tcp_stream import ReassemblyContext, TcpStream

# TCP states
SYN_SENT = 0  # SYN seen, no SYN-ACK yet
ESTABLISHED = 1  # handshake answered, or data seen without a handshake (mid-stream)
CLOSING = 2  # FIN from one side
CLOSED = 3  # FIN from both sides, or RST
UDP_STATE = 4

STATE_NAMES = ("syn_sent", "established", "closing", "closed", "udp")

Addr = bytes
Key = bytes


class FlowApp(Protocol):
    """Per-flow application handler: receives ordered stream bytes and datagrams."""

    def data(self, from_orig: bool, data: bytes, ts: float) -> None: ...

    def gap(self, from_orig: bool, size: int, ts: float) -> None: ...

    def datagram(self, from_orig: bool, data: bytes, ts: float) -> None: ...

    def close(self, ts: float) -> None: ...


class Flow:
    """One bidirectional conversation; ``orig_*`` is the originator (client) side.

    Addresses, ports and VLAN live in the flow keys (bytes, as the decoder cut them from
    the frames); the accessors below take them apart when someone asks.
    """

    __slots__ = (
        "_community_id",
        "app",
        "end_reason",
        "fid",
        "first_ts",
        "key",
        "last_ts",
        "midstream",
        "orig_bytes",
        "orig_data",
        "orig_flags",
        "orig_mac",
        "orig_pkts",
        "orig_port",
        "orig_stream",
        "probing",
        "reported",
        "resp_bytes",
        "resp_data",
        "resp_flags",
        "resp_mac",
        "resp_pkts",
        "resp_port",
        "resp_stream",
        "rkey",
        "service",
        "state",
        "syn_seq",
        "transport",
    )

    def __init__(
        self, fid: int, transport: int, key: Key, rkey: Key, ports: tuple[int, int], ts: float
    ) -> None:
        self.fid = fid
        self.transport = transport
        self.orig_port, self.resp_port = ports
        #: Flow keys of the originator's and of the responder's packets.
        self.key = key
        self.rkey = rkey
        self.first_ts = self.last_ts = ts
        self.orig_pkts = self.orig_bytes = self.resp_pkts = self.resp_bytes = 0
        self.orig_flags = self.resp_flags = 0
        #: Payload bytes (TCP segment or UDP datagram contents) each side sent.
        self.orig_data = self.resp_data = 0
        #: Ethernet addresses from the flow's first frame (b"" when the link has none).
        self.orig_mac = self.resp_mac = b""
        #: The flow was reported as an established conversation (see the pipeline).
        self.reported = False
        #: Sequence number of the originator's SYN (-1: the start was not captured).
        self.syn_seq = -1
        self.state = ESTABLISHED if transport == TCP else UDP_STATE
        self.midstream = False
        self.service: str | None = None
        self.app: FlowApp | None = None
        #: Payload packets still to show to the protocol probes (0: not probing), for a
        #: flow no service is bound to by port.
        self.probing = 0
        self.orig_stream: TcpStream | None = None
        self.resp_stream: TcpStream | None = None
        self.end_reason: str | None = None
        self._community_id: str | None = None

    @property
    def orig_ip(self) -> Addr:
        return split_key(self.key)[0]

    @property
    def resp_ip(self) -> Addr:
        return split_key(self.key)[1]

    @property
    def vlan(self) -> int:
        return split_key(self.key)[4]

    @property
    def community_id(self) -> str:
        """Community ID v1 (ECS ``network.community_id``), computed on first use."""
        cid = self._community_id
        if cid is None:
            o, r, op, rp, _ = split_key(self.key)
            cid = self._community_id = community_id(self.transport, o, r, op, rp)
        return cid

    @property
    def conversation(self) -> bool:
        """A real exchange rather than a probe: a UDP flow that carried payload; a TCP flow
        whose server answered (SYN-ACK, or any packet when the start was not captured) and
        that carried payload either way. Half-open and connect scans are not."""
        if not (self.orig_data or self.resp_data):
            return False
        if self.transport != TCP:
            return True
        if self.resp_flags & SYN and self.resp_flags & ACK:
            return True
        return self.midstream and self.resp_pkts > 0

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state]

    @property
    def transport_name(self) -> str:
        return "tcp" if self.transport == TCP else "udp"

    def __repr__(self) -> str:
        o, r, op, rp, vlan = split_key(self.key)
        return (
            f"<Flow {self.fid} {self.transport_name} {ip_text(o)}:{op} -> {ip_text(r)}:{rp}"
            f" vlan={vlan} {self.state_name}>"
        )


def tcp_control(flow: Flow, fwd: bool, flags: int) -> None:
    """Advance the TCP state machine on a packet with SYN, FIN or RST (and remember the
    control flags each side sent)."""
    if fwd:
        flow.orig_flags |= flags
    else:
        flow.resp_flags |= flags
    if flags & RST:
        flow.state = CLOSED
    elif flags & FIN:
        if flow.state != CLOSED:
            other = flow.resp_flags if fwd else flow.orig_flags
            flow.state = CLOSED if other & FIN else CLOSING
    elif flags & SYN and flags & ACK and flow.state == SYN_SENT:
        flow.state = ESTABLISHED


#: Decides, when a flow is created, which application handler (if any) follows it.
Binder = Callable[[Flow], FlowApp | None]
EndCallback = Callable[[Flow, str, float], None]
AnomalyCallback = Callable[[str, float, Flow | None, str], None]


class FlowTable:
    """Flow lookup, creation, expiry and eviction (see the module docstring)."""

    def __init__(
        self,
        limits: FlowLimits,
        server_ports: frozenset[int] | set[int],
        reassembly: ReassemblyContext,
        *,
        binder: Binder | None = None,
        on_end: EndCallback | None = None,
        on_anomaly: AnomalyCallback | None = None,
    ) -> None:
        self.limits = limits
        self.server_ports = frozenset(server_ports)
        self.reassembly = reassembly
        self.binder = binder
        self.on_end = on_end
        self.on_anomaly = on_anomaly
        self.tcp: dict[Key, tuple[Flow, bool]] = {}
        self.udp: dict[Key, tuple[Flow, bool]] = {}
        self.active: dict[int, Flow] = {}
        self.next_fid = 1
        self.next_sweep = 0.0
        self.now = 0.0
        # counters
        self.created_tcp = 0
        self.created_udp = 0
        self.evicted = 0
        self.ended: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.active)

    # -- creation --------------------------------------------------------------------

    def create(self, transport: int, key: Key, flags: int, ts: float) -> tuple[Flow, bool]:
        """Create the flow for a packet that matched none; return its ``(flow, fwd)`` entry."""
        if len(self.active) >= self.limits.max_flows:
            self._make_room(ts)
        n = len(key)
        alen = 4 if n in (12, 15) else 16
        p = alen + alen
        sport = (key[p] << 8) | key[p + 1]
        dport = (key[p + 2] << 8) | key[p + 3]
        rkey = key[alen:p] + key[:alen] + key[p + 2 : p + 4] + key[p : p + 2] + key[p + 4 :]
        if transport == TCP and flags & SYN:
            src_is_orig = not flags & ACK
        else:
            src_is_orig = self._src_is_client(sport, dport)
        if src_is_orig:
            flow = Flow(self.next_fid, transport, key, rkey, (sport, dport), ts)
        else:
            flow = Flow(self.next_fid, transport, rkey, key, (dport, sport), ts)
        self.next_fid += 1
        if transport == TCP:
            self.created_tcp += 1
            if flags & SYN and not flags & ACK:
                flow.state = SYN_SENT
            elif not flags & SYN:
                flow.midstream = True
            table = self.tcp
        else:
            self.created_udp += 1
            table = self.udp
        fwd_entry = (flow, True)
        rev_entry = (flow, False)
        table[flow.key] = fwd_entry
        table[flow.rkey] = rev_entry
        self.active[flow.fid] = flow
        if self.binder is not None:
            app = self.binder(flow)
            if app is not None:
                self.attach(flow, app)
        return fwd_entry if src_is_orig else rev_entry

    def attach(self, flow: Flow, app: FlowApp) -> None:
        """Bind an application handler to the flow (TCP: with a reassembly stream per
        direction, which picks up wherever the next data starts)."""
        flow.app = app
        flow.probing = 0
        if flow.transport == TCP:
            flow.orig_stream = TcpStream(app, True, self.reassembly, flow)
            flow.resp_stream = TcpStream(app, False, self.reassembly, flow)

    def _src_is_client(self, sport: int, dport: int) -> bool:
        servers = self.server_ports
        if dport in servers and sport not in servers:
            return True
        if sport in servers and dport not in servers:
            return False
        if sport != dport and (sport < 1024 or dport < 1024):
            return sport > dport
        return True

    # -- ending ----------------------------------------------------------------------

    def end(self, flow: Flow, reason: str, ts: float) -> None:
        """Remove a flow, flush its reassembly and application state, report it."""
        if self.active.pop(flow.fid, None) is None:
            return
        table = self.tcp if flow.transport == TCP else self.udp
        table.pop(flow.key, None)
        table.pop(flow.rkey, None)
        flow.end_reason = reason
        self.ended[reason] = self.ended.get(reason, 0) + 1
        app = flow.app
        if app is not None:
            try:
                if flow.orig_stream is not None:
                    flow.orig_stream.flush(ts)
                if flow.resp_stream is not None:
                    flow.resp_stream.flush(ts)
                app.close(ts)
            except Exception as exc:  # a dissector bug at flow end costs that flow only
                if self.on_anomaly is not None:
                    detail = f"{type(exc).__name__}: {exc}"[:300]
                    self.on_anomaly("otsec.dissector_error", ts, flow, detail)
        if self.on_end is not None:
            self.on_end(flow, reason, ts)

    def sweep(self, now: float) -> int:
        """End every flow idle longer than its state's timeout; return how many ended."""
        self.now = now
        self.next_sweep = now + self.limits.sweep_interval
        lim = self.limits
        # a flow in state s has expired when its last packet is older than deadline[s]
        deadline = (
            now - lim.tcp_handshake_timeout,  # SYN_SENT
            now - lim.tcp_established_timeout,  # ESTABLISHED
            now - lim.tcp_established_timeout,  # CLOSING
            now - lim.tcp_closed_timeout,  # CLOSED
            now - lim.udp_timeout,  # UDP_STATE
        )
        expired = [f for f in self.active.values() if f.last_ts < deadline[f.state]]
        for flow in expired:
            self.end(flow, "closed" if flow.state == CLOSED else "idle_timeout", flow.last_ts)
        return len(expired)

    def _make_room(self, ts: float) -> None:
        self.sweep(ts)
        excess = len(self.active) - self.limits.max_flows + 1
        if excess <= 0:
            return
        count = max(excess, self.limits.max_flows // 16)
        victims = heapq.nsmallest(count, self.active.values(), key=lambda f: f.last_ts)
        for flow in victims:
            self.evicted += 1
            if self.on_anomaly is not None:
                self.on_anomaly("flow.evicted", ts, flow, f"table full ({self.limits.max_flows})")
            self.end(flow, "evicted", ts)

    def flush(self, ts: float, reason: str = "end_of_input") -> None:
        """End every flow (end of the input)."""
        for flow in list(self.active.values()):
            self.end(flow, reason, max(ts, flow.last_ts))
