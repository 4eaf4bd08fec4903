"""The pipeline: the one module that knows the order of the stages.

capture (records) -> decode (L2-L4) -> flows (table, TCP reassembly, framing) -> ...

:meth:`Pipeline.feed` is the per-packet loop. It is written for speed: locals for every
attribute it touches, the TCP fast path first, no per-packet allocation beyond the decode
tuple and the flow key, and payload bytes copied only for flows an application handler
follows. Everything rare (new flows, control flags, anomalies, ARP) leaves the loop
through a method call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dissectors.dnp3 import probe as dnp3_probe
from otsec.capture.decode import (
    ACK,
    ACK_NUM,
    ANOMALY,
    ARP,
    FAST_ETH_IPV4,
    OTHER,
    SYN,
    TCP,
    UDP,
    decode,
    ip_text,
    split_key,
)
from otsec.capture.pcapfile import PacketSource
from otsec.config import Settings
from otsec.events.types import ENDED, ESTABLISHED, Connection, Transaction
from otsec.flows.dnp3 import Dnp3App
from otsec.flows.modbus import ModbusApp
from otsec.flows.s7comm import S7App
from otsec.flows.session import (
    AppContext,
    Probe,
    ProtocolStats,
    Service,
    ServiceRegistry,
    StreamCounter,
)
from otsec.flows.table import CLOSED, SYN_SENT, Flow, FlowTable, tcp_control
from otsec.flows.tcp_stream import ReassemblyContext

#: Well-known IT server ports (flow orientation for mid-stream starts and UDP).
IT_SERVER_PORTS = frozenset({
    20, 21, 22, 23, 25, 53, 67, 68, 69, 80, 88, 110, 123, 135, 137, 138, 139, 143, 161, 162,
    389, 443, 445, 514, 636, 993, 995, 1433, 1521, 1883, 3306, 3389, 5432, 5900, 5985, 5986,
    6514, 8080, 8443, 8883,
})  # fmt: skip

ProgressCallback = Callable[[int], None]
LINKTYPE_ETHERNET = 1
PROGRESS_EVERY = 1 << 16


@dataclass(slots=True)
class FileReport:
    name: str
    format: str
    linktypes: list[int]
    packets: int = 0
    bytes: int = 0
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    #: Packet times of the file's first and last packets (None when it had none).
    first_ts: float | None = None
    last_ts: float | None = None
    protocols: dict[str, ProtocolStats] = field(default_factory=dict)


def default_services(settings: Settings, stats: dict[str, int], ctx: AppContext) -> ServiceRegistry:
    """Bind each industrial port to its protocol's handler; ports of protocols without a
    dissector get a :class:`StreamCounter` (reassembly runs, bytes are counted)."""
    registry = ServiceRegistry()
    for port, name in sorted(settings.ics_ports.items()):
        if name == "modbus":
            service = Service(name, lambda flow: ModbusApp(flow, ctx, settings), udp=True)
        elif name == "s7comm":
            service = Service(name, lambda flow: S7App(flow, ctx, settings))
        elif name == "dnp3":
            service = Service(name, lambda flow: Dnp3App(flow, ctx, settings), udp=True)
        else:
            service = Service(name, lambda _flow: StreamCounter(stats), tcp=True, udp=True)
        registry.register(port, service)
    if settings.dnp3.probe:
        dnp3 = Service("dnp3", lambda flow: Dnp3App(flow, ctx, settings), udp=True)
        registry.probes.append(Probe(dnp3, dnp3_probe))
    return registry


def merge_stats(a: ProtocolStats | None, b: ProtocolStats) -> ProtocolStats:
    """``a`` plus ``b`` (new object)."""
    out = a.copy() if a is not None else ProtocolStats()
    for name, hist in b.histograms.items():
        target = out.histograms.setdefault(name, {})
        for k, v in hist.items():
            target[k] = target.get(k, 0) + v
    for k, v in b.transactions.items():
        out.transactions[k] = out.transactions.get(k, 0) + v
    return out


class Pipeline:
    """Runs captures through the stages and keeps the run's counters."""

    #: Decode untagged Ethernet/IPv4/TCP inline in the loop (tests turn it off to check
    #: that it agrees with :func:`~otsec.capture.decode.decode`).
    fast_path = True

    def __init__(
        self, settings: Settings | None = None, services: ServiceRegistry | None = None
    ) -> None:
        self.settings = settings = settings or Settings()
        #: Counters kept by application handlers (reassembled bytes, PDUs ...).
        self.app_stats: dict[str, int] = {}
        self.anomalies: dict[str, int] = {}
        #: Subscribers for protocol transactions (sinks); none means none are built.
        self.event_handlers: list[Callable[[Transaction], None]] = []
        self.apps = AppContext(settings, self.anomaly, self._emit)
        self.services = services or default_services(settings, self.app_stats, self.apps)
        self.reassembly = ReassemblyContext(settings.reassembly, self._stream_anomaly)
        self.flows = FlowTable(
            settings.flows,
            set(settings.ics_ports) | IT_SERVER_PORTS | set(self.services.ports),
            self.reassembly,
            binder=self.services.bind,
            on_end=self._flow_end,
            on_anomaly=self.anomaly,
        )
        self._ics_ports = frozenset(settings.ics_ports)
        #: Ports where a probe recognised a protocol no port setting names (port -> name).
        self.probed_ports: dict[int, str] = {}
        self.packets = 0
        self.bytes = 0
        self.arp_packets = 0
        self.other: dict[str, int] = {}
        self.flows_by_port: dict[int, int] = {}
        self.files: list[FileReport] = []
        self.first_ts: float | None = None
        self.last_ts = 0.0
        #: Packet time of the first packet of the file being read.
        self.file_first_ts: float | None = None
        self.elapsed = 0.0
        #: Subscribers for rare per-packet facts (the inventory uses ARP).
        #: (packet time, sender IP, sender MAC, VLAN) of ARP packets whose sender is a
        #: unicast host with an address (not probes, not multicast senders).
        self.arp_handlers: list[Callable[[float, str, bytes, int], None]] = []
        self.flow_end_handlers: list[Callable[[Flow, str, float], None]] = []
        #: Subscribers for flows as conversations (inventory, baseline, detection).
        self.connection_handlers: list[Callable[[Connection], None]] = []
        #: Called on every sweep (packet time), e.g. to close aggregation windows.
        self.tick_handlers: list[Callable[[float], None]] = []
        self.anomaly_handlers: list[Callable[[str, float, Flow | None, str], None]] = []

    # -- reporting -------------------------------------------------------------------

    def anomaly(self, name: str, ts: float, flow: Flow | None, detail: str = "") -> None:
        self.anomalies[name] = self.anomalies.get(name, 0) + 1
        for handler in self.anomaly_handlers:
            handler(name, ts, flow, detail)

    def _emit(self, transaction: Transaction) -> None:
        for handler in self.event_handlers:
            try:
                handler(transaction)
            except Exception as exc:  # a sink's bug must not stop decoding the flow
                detail = f"{type(exc).__name__}: {exc}"[:300]
                self.anomaly("otsec.sink_error", transaction.ts, None, detail)

    def _stream_anomaly(self, name: str, ts: float, owner: Any, detail: str) -> None:
        self.anomaly(name, ts, owner if isinstance(owner, Flow) else None, detail)

    def _flow_end(self, flow: Flow, reason: str, ts: float) -> None:
        if self.connection_handlers:
            self._report(flow, ENDED)
        for handler in self.flow_end_handlers:
            handler(flow, reason, ts)

    # -- the loop --------------------------------------------------------------------

    def run(self, reader: PacketSource, progress: ProgressCallback | None = None) -> FileReport:
        """Process one capture completely; return what was read from it."""
        report = FileReport(reader.name, reader.format, reader.linktypes)
        before = {name: stats.copy() for name, stats in self.apps.stats.items()}
        self.apps.capture = reader.name
        self.apps.want_events = bool(self.event_handlers)
        started = time.perf_counter()
        try:
            packets, nbytes = self.feed(reader, progress)
        finally:
            self.elapsed += time.perf_counter() - started
        report.protocols = {
            name: stats.since(before.get(name) or ProtocolStats())
            for name, stats in sorted(self.apps.stats.items())
        }
        report.packets = packets
        report.bytes = nbytes
        if packets:
            report.first_ts = self.file_first_ts
            report.last_ts = self.last_ts
        report.truncated = reader.truncated
        report.warnings = list(reader.warnings)
        report.linktypes = list(reader.linktypes)
        self.files.append(report)
        return report

    def feed(
        self, reader: PacketSource, progress: ProgressCallback | None = None
    ) -> tuple[int, int]:
        """The per-packet loop over one reader; returns (packets, bytes) read."""
        flows = self.flows
        tcp_get = flows.tcp.get
        udp_get = flows.udp.get
        decode_ = decode
        fast = FAST_ETH_IPV4.unpack_from
        fast_lt = 1 if self.fast_path else -1
        apps = self.apps
        ack_num = ACK_NUM.unpack_from
        npk = 0
        nby = 0
        # the first packet always calls _tick, which notes when the file starts
        next_sweep = float("-inf")
        self.file_first_ts = None
        every = PROGRESS_EVERY - 1 if progress is not None else -1
        ts = self.last_ts
        for ts, lt, buf, start, end, wirelen in reader.records():
            npk += 1
            nby += wirelen
            flow = None
            try:
                if ts >= next_sweep:
                    self._tick(ts)
                    next_sweep = flows.next_sweep
                if npk & every == 0:
                    progress(npk)  # type: ignore[misc]
                # Fast path, inline: untagged Ethernet, IPv4 without options, TCP or UDP.
                # Anything else (or anything odd) goes through decode(), which handles
                # every case; a property test keeps the two in agreement.
                kind = -2
                if lt == fast_lt and end - start >= 54:
                    etype, vihl, tot, frag, proto, key, seq, offb, flags = fast(buf, start + 12)
                    if etype == 0x0800 and vihl == 0x45 and not frag & 0x3FFF:
                        pend = start + 14 + tot
                        if proto == 6:
                            l4off = start + 34
                            poff = l4off + ((offb >> 4) << 2)
                            seglen = pend - poff
                            if offb >= 0x50 and seglen >= 0 and pend <= end:
                                kind = TCP
                        elif proto == 17:
                            poff = start + 42
                            seglen = ((buf[start + 38] << 8) | buf[start + 39]) - 8
                            if seglen >= 0 and poff + seglen <= pend <= end:
                                pend = poff + seglen
                                kind = UDP
                if kind == -2:
                    r = decode_(buf, start, end, lt)
                    kind = r[0]
                    if kind in (TCP, UDP):
                        if r[7] - r[6] < r[8] and end - start >= wirelen:
                            # The IP length claims more than the frame, which the snap
                            # length did not cut: the header lies.
                            kind = self._bad_total_length(ts, r)
                        else:
                            _, key, _vlan, flags, seq, l4off, poff, pend, seglen = r
                if kind == TCP:
                    ent = tcp_get(key)
                    if ent is None or (flags & SYN and self._restarted(ent[0], flags, seq)):
                        ent = self._new_flow(ent, TCP, key, flags, ts, buf, start, lt, seq)
                    flow, fwd = ent
                    flow.last_ts = ts
                    if fwd:
                        flow.orig_pkts += 1
                        flow.orig_bytes += wirelen
                        flow.orig_data += seglen
                    else:
                        flow.resp_pkts += 1
                        flow.resp_bytes += wirelen
                        flow.resp_data += seglen
                    if flags & 7:
                        tcp_control(flow, fwd, flags)
                    if flow.app is not None:
                        if fwd:
                            stream, other = flow.orig_stream, flow.resp_stream
                        else:
                            stream, other = flow.resp_stream, flow.orig_stream
                        apps.packet = npk
                        # The ACK speaks of the other direction's bytes, sent before this
                        # packet: settle a hole there first, then this packet's data.
                        if flags & 16 and other.ooo:  # type: ignore[union-attr]
                            other.acked(ack_num(buf, l4off + 8)[0], ts)  # type: ignore[union-attr]
                        if seglen or flags & 3:
                            stream.segment(seq, flags, buf[poff:pend], seglen, ts)  # type: ignore[union-attr]
                    elif flow.probing and seglen:
                        apps.packet = npk
                        self._probe(flow, fwd, buf[poff:pend], ts, seq, flags, seglen)
                elif kind == UDP:
                    ent = udp_get(key)
                    if ent is None:
                        ent = self._new_flow(None, UDP, key, 0, ts, buf, start, lt)
                    flow, fwd = ent
                    flow.last_ts = ts
                    if fwd:
                        flow.orig_pkts += 1
                        flow.orig_bytes += wirelen
                        flow.orig_data += pend - poff
                    else:
                        flow.resp_pkts += 1
                        flow.resp_bytes += wirelen
                        flow.resp_data += pend - poff
                    if flow.app is not None:
                        apps.packet = npk
                        flow.app.datagram(fwd, buf[poff:pend], ts)
                    elif flow.probing and pend > poff:
                        apps.packet = npk
                        self._probe(flow, fwd, buf[poff:pend], ts)
                elif kind == ARP:
                    self.arp_packets += 1
                    if self.arp_handlers:
                        self._arp(ts, r)
                elif kind == OTHER:
                    what = r[1]
                    self.other[what] = self.other.get(what, 0) + 1
                elif kind == ANOMALY:
                    self.anomaly(r[1], ts, None, r[2])
            except Exception as exc:  # a bug must cost one packet (or one flow), not the run
                self._packet_error(exc, ts, flow)
        if npk:
            if self.first_ts is None:
                self.first_ts = ts
            self.last_ts = ts
        self.packets += npk
        self.bytes += nby
        return npk, nby

    def _arp(self, ts: float, r: tuple[Any, ...]) -> None:
        """Tell the ARP subscribers who announced which address (decode's ARP tuple:
        kind, op, sender MAC, sender IP, target MAC, target IP, VLAN)."""
        sha, spa, vlan = r[2], r[3], r[6]
        if spa == b"\x00\x00\x00\x00" or sha[0] & 1:
            return
        ip = ip_text(spa)
        for handler in self.arp_handlers:
            handler(ts, ip, sha, vlan)

    def _bad_total_length(self, ts: float, r: tuple[Any, ...]) -> int:
        missing = r[8] - (r[7] - r[6])
        self.anomaly("ip.bad_total_length", ts, None, f"claims {missing} bytes beyond the frame")
        return ANOMALY - 1  # handled: fall through every branch of the loop

    def _packet_error(self, exc: Exception, ts: float, flow: Flow | None) -> None:
        """An exception escaped a stage: report it and stop decoding that flow only."""
        detail = f"{type(exc).__name__}: {exc}"[:300]
        if flow is not None and flow.app is not None:
            flow.app = None
            flow.orig_stream = flow.resp_stream = None
            self.anomaly("otsec.dissector_error", ts, flow, detail)
        else:
            self.anomaly("otsec.packet_error", ts, flow, detail)

    def _tick(self, ts: float) -> None:
        if self.file_first_ts is None:  # the first packet of a capture file
            self.file_first_ts = ts
            if self.first_ts is None:
                self.first_ts = ts
            if ts < self.flows.next_sweep:
                return  # it only marks the file's start: no sweep is due
        self.flows.sweep(ts)
        if self.connection_handlers:
            # flows that outlive a sweep interval and are still active; the others are
            # reported once, when they end
            started = ts - self.settings.flows.sweep_interval
            for flow in list(self.flows.active.values()):
                if (
                    not flow.reported
                    and flow.first_ts <= started < flow.last_ts
                    and flow.conversation
                ):
                    self._report(flow, ESTABLISHED)
        for handler in self.tick_handlers:
            handler(ts)

    def _report(self, flow: Flow, phase: str) -> None:
        """Tell the connection subscribers about a flow (see :class:`Connection`)."""
        again = flow.reported
        flow.reported = True
        fwd_answered = flow.resp_pkts > 0 and (
            flow.transport != TCP or bool(flow.resp_flags & SYN) or flow.midstream
        )
        orig, resp, _op, _rp, vlan = split_key(flow.key)
        conn = Connection(
            phase=phase,
            flow_id=flow.fid,
            transport=flow.transport_name,
            client_ip=ip_text(orig),
            client_port=flow.orig_port,
            server_ip=ip_text(resp),
            server_port=flow.resp_port,
            vlan=vlan,
            service=flow.service,
            client_mac=flow.orig_mac,
            server_mac=flow.resp_mac,
            first_ts=flow.first_ts,
            last_ts=flow.last_ts,
            client_packets=flow.orig_pkts,
            client_bytes=flow.orig_bytes,
            server_packets=flow.resp_pkts,
            server_bytes=flow.resp_bytes,
            client_data=flow.orig_data,
            server_data=flow.resp_data,
            conversation=flow.conversation,
            answered=fwd_answered,
            capture=self.apps.capture,
            flow=flow,
            again=again,
        )
        for handler in self.connection_handlers:
            try:
                handler(conn)
            except Exception as exc:  # a consumer's bug must not stop the run
                detail = f"{type(exc).__name__}: {exc}"[:300]
                self.anomaly("otsec.sink_error", flow.last_ts, flow, detail)

    def _probe(
        self, flow: Flow, fwd: bool, payload: bytes, ts: float, seq: int = 0, flags: int = 0,
        seglen: int = 0,
    ) -> None:  # fmt: skip
        """Payload of a flow no port bound: when a probe recognises its protocol, bind the
        handler and hand it this payload (TCP: reassembly starts at this segment)."""
        app = self.services.probe(flow, payload)
        if app is None:
            return
        self.flows.attach(flow, app)
        port = flow.resp_port
        self.probed_ports[port] = flow.service or "unknown"
        self.flows_by_port[port] = self.flows_by_port.get(port, 0) + 1
        if flow.transport == UDP:
            app.datagram(fwd, payload, ts)
        else:
            stream = flow.orig_stream if fwd else flow.resp_stream
            stream.segment(seq, flags, payload, seglen, ts)  # type: ignore[union-attr]

    @staticmethod
    def _restarted(flow: Flow, flags: int, seq: int) -> bool:
        """A SYN on a known 5-tuple starts a new connection: after the old one closed, or,
        as a client's SYN (no ACK) with another initial sequence number, on one past its
        handshake (the client restarted without a FIN, or a later capture file reuses the
        5-tuple). A retransmitted SYN keeps its sequence number and stays in the flow."""
        if flow.state == CLOSED:
            return True
        return not flags & ACK and flow.state != SYN_SENT and seq != flow.syn_seq

    def _new_flow(
        self, old: tuple[Flow, bool] | None, transport: int, key: bytes, flags: int, ts: float,
        buf: bytes, start: int, linktype: int, seq: int = -1,
    ) -> tuple[Flow, bool]:  # fmt: skip
        if old is not None:
            self.flows.end(old[0], "port_reused", ts)
        ent = self.flows.create(transport, key, flags, ts)
        if flags & SYN and not flags & ACK:
            ent[0].syn_seq = seq
        if linktype == LINKTYPE_ETHERNET:
            dst, src = buf[start : start + 6], buf[start + 6 : start + 12]
            if ent[1]:
                ent[0].orig_mac, ent[0].resp_mac = src, dst
            else:
                ent[0].orig_mac, ent[0].resp_mac = dst, src
        port = ent[0].resp_port
        if port in self._ics_ports:
            self.flows_by_port[port] = self.flows_by_port.get(port, 0) + 1
        return ent

    def close(self) -> None:
        """End of all input: end every flow (flushing reassembly and handlers). What the
        flush still decodes or decides counts toward the last capture file."""
        before = {name: stats.copy() for name, stats in self.apps.stats.items()}
        self.flows.flush(self.last_ts)
        if self.files:
            last = self.files[-1].protocols
            for name, stats in self.apps.stats.items():
                added = stats.since(before.get(name) or ProtocolStats())
                last[name] = merge_stats(last.get(name), added)

    @property
    def protocols(self) -> dict[str, ProtocolStats]:
        """Per-protocol counters of the whole run."""
        return dict(sorted(self.apps.stats.items()))
