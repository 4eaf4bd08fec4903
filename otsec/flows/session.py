"""Binding flows to application handlers, and the handler that runs framers.

The :class:`ServiceRegistry` maps a server port (TCP and/or UDP) to a service name and a
factory that builds the handler for one flow. The pipeline asks the registry when a flow
is created; flows on no registered port get no handler and cost nothing beyond their
counters (no reassembly, no copies).

:class:`FramedApp` is the handler the protocol issues plug into: one framer per direction
(:mod:`dissectors.framing`), each complete PDU handed to a callback, framing anomalies
reported, gaps passed on so the framer resynchronises. :class:`StreamCounter` is the
handler for industrial ports that have no dissector yet: it proves the reassembly path and
counts the in-order bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from dissectors.framing import Framer
from otsec.capture.decode import ip_text
from otsec.events.types import Envelope, Transaction
from otsec.flows.table import Flow, FlowApp

AppFactory = Callable[[Flow], FlowApp]
#: (flow, from_originator, pdu bytes, timestamp)
PduCallback = Callable[[Flow, bool, bytes, float], None]
#: (anomaly name, timestamp, flow, detail)
AnomalyCallback = Callable[[str, float, Flow | None, str], None]


#: Per protocol: its histograms in report order; the first counts every PDU once.
HISTOGRAMS: dict[str, tuple[str, ...]] = {
    "modbus": ("function_codes", "exception_codes"),
    "s7comm": ("rosctr", "functions", "userdata", "szl_ids"),
    "s7comm_plus": ("versions",),
    "dnp3": ("function_codes", "objects", "link_functions"),
}


class ProtocolStats:
    """Per-protocol counters: named histograms (value -> count) and transaction outcomes."""

    __slots__ = ("histograms", "transactions")

    def __init__(self, protocol: str = "") -> None:
        names = HISTOGRAMS.get(protocol, ("function_codes",))
        self.histograms: dict[str, dict[Any, int]] = {name: {} for name in names}
        self.transactions: dict[str, int] = {}

    @property
    def pdus(self) -> int:
        """PDUs decoded (each counted once, in the first histogram)."""
        return sum(next(iter(self.histograms.values())).values())

    @property
    def function_codes(self) -> dict[Any, int]:
        return self.histograms["function_codes"]

    @property
    def exception_codes(self) -> dict[Any, int]:
        return self.histograms["exception_codes"]

    def copy(self) -> ProtocolStats:
        other = ProtocolStats()
        other.histograms = {k: dict(v) for k, v in self.histograms.items()}
        other.transactions = dict(self.transactions)
        return other

    def since(self, earlier: ProtocolStats) -> ProtocolStats:
        """The counts added after ``earlier`` (a copy taken before)."""

        def diff(now: dict[Any, int], then: dict[Any, int]) -> dict[Any, int]:
            return {k: v - then.get(k, 0) for k, v in now.items() if v != then.get(k, 0)}

        out = ProtocolStats()
        out.histograms = {
            name: diff(h, earlier.histograms.get(name, {})) for name, h in self.histograms.items()
        }
        out.transactions = diff(self.transactions, earlier.transactions)
        return out


class AppContext:
    """What every protocol handler shares with the pipeline.

    The pipeline keeps ``packet`` (number of the packet being processed, 1-based within
    its capture file) and ``capture`` current; handlers report through the callbacks.
    """

    __slots__ = (
        "anomaly",
        "capture",
        "emit",
        "packet",
        "pdu_handlers",
        "settings",
        "stats",
        "want_events",
    )

    def __init__(
        self, settings: object, anomaly: AnomalyCallback, emit: Callable[[Transaction], None]
    ) -> None:
        self.settings = settings
        self.anomaly = anomaly
        self.emit = emit
        self.packet = 0
        self.capture = ""
        #: False while nobody subscribes to transactions: handlers then only count.
        self.want_events = False
        self.stats: dict[str, ProtocolStats] = {}
        #: Debug/test hook: called with (flow, from_orig, record, ts, packet) for every PDU.
        self.pdu_handlers: list[Callable[[Flow, bool, object, float, int], None]] = []

    def protocol_stats(self, protocol: str) -> ProtocolStats:
        stats = self.stats.get(protocol)
        if stats is None:
            stats = self.stats[protocol] = ProtocolStats(protocol)
        return stats

    def envelope(self, flow: Flow, *, swap: bool = False) -> Envelope:
        """The flow as text, client = originator (the responder with ``swap``)."""
        client, cport = flow.orig_ip, flow.orig_port
        server, sport = flow.resp_ip, flow.resp_port
        if swap:
            client, cport, server, sport = server, sport, client, cport
        return Envelope(
            flow_id=flow.fid,
            transport=flow.transport_name,
            client_ip=ip_text(client),
            client_port=cport,
            server_ip=ip_text(server),
            server_port=sport,
            vlan=flow.vlan,
            community_id=flow.community_id,
            capture=self.capture,
            swapped=swap,
        )


T = TypeVar("T")


class GuardedFramer(Protocol[T]):
    """What :meth:`ProtocolGuard.feed` needs of a framer (MBAP, TPKT, DNP3 link ...)."""

    anomalies: list[tuple[str, str]]

    def feed(self, data: bytes) -> list[T]: ...

    def gap(self) -> None: ...


class ProtocolGuard:
    """Garbage on an industrial port (TLS, HTTP, scanners), the same policy for every
    protocol: while a flow has not carried one valid frame in either direction, invalid
    headers are counted, not reported one by one; after ``give_up_after`` of them, or when
    the flow ends without a valid frame, the flow is given up with one anomaly (e.g.
    ``modbus.not_modbus``). Once valid frames were seen, each bad header is reported."""

    __slots__ = ("anomaly_name", "ctx", "flow", "give_up_after", "invalid", "rejected", "valid",
                 "what")  # fmt: skip

    def __init__(
        self, ctx: AppContext, flow: Flow, give_up_after: int, anomaly_name: str, what: str
    ) -> None:
        self.ctx = ctx
        self.flow = flow
        self.give_up_after = give_up_after
        self.anomaly_name = anomaly_name
        self.what = what  # "MBAP headers", "TPKT headers" ...
        self.valid = False
        self.invalid = 0
        self.rejected = False

    def feed(self, framer: GuardedFramer[T], other: GuardedFramer[Any], data: bytes,
             ts: float) -> list[T]:  # fmt: skip
        """One direction's bytes through its ``framer`` (``other`` frames the opposite
        direction): the framed PDUs, its anomalies reported or counted as above; nothing
        once the flow is given up (both framers then drop what they hold)."""
        if self.rejected:
            return []
        out = framer.feed(data)
        if framer.anomalies and not self.framing(framer.anomalies, bool(out), ts):
            framer.gap()
            other.gap()
            return []
        if out:
            self.valid = True
        return out

    def framing(self, found: list[tuple[str, str]], framed: bool, ts: float) -> bool:
        """Take (and clear) a framer's anomalies; False when the flow was just given up."""
        items = list(found)
        found.clear()
        if self.valid or framed:
            for name, detail in items:
                self.ctx.anomaly(name, ts, self.flow, detail)
            return True
        self.invalid += len(items)
        if self.invalid >= self.give_up_after:
            why = f"{self.invalid} invalid {self.what}, no valid one ({items[-1][1]})"
            self.give_up(ts, why)
            return False
        return True

    def give_up(self, ts: float, why: str) -> None:
        self.rejected = True
        self.ctx.anomaly(self.anomaly_name, ts, self.flow, why)

    def close(self, ts: float) -> None:
        if not self.valid and not self.rejected and self.invalid:
            self.give_up(ts, f"flow ended after {self.invalid} invalid {self.what}, no valid one")


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    factory: AppFactory
    tcp: bool = True
    udp: bool = False


@dataclass(frozen=True, slots=True)
class Probe:
    """Recognises a protocol from a flow's first payload, whatever the ports."""

    service: Service
    #: True when the payload (the first bytes a direction sent) is this protocol.
    test: Callable[[bytes], bool]


#: Payload packets of an unbound flow shown to the probes before giving up.
PROBE_PACKETS = 4


class ServiceRegistry:
    """Port -> service; a flow is bound by its responder (server) port."""

    def __init__(self) -> None:
        self._tcp: dict[int, Service] = {}
        self._udp: dict[int, Service] = {}
        self.probes: list[Probe] = []

    def register(self, port: int, service: Service) -> None:
        if service.tcp:
            self._tcp[port] = service
        if service.udp:
            self._udp[port] = service

    def lookup(self, flow: Flow) -> Service | None:
        ports = self._tcp if flow.transport == 6 else self._udp
        return ports.get(flow.resp_port) or ports.get(flow.orig_port)

    def bind(self, flow: Flow) -> FlowApp | None:
        """The :data:`~otsec.flows.table.Binder` the flow table calls for a new flow."""
        service = self.lookup(flow)
        if service is None:
            if self.probes:
                flow.probing = PROBE_PACKETS
            return None
        flow.service = service.name
        return service.factory(flow)

    def probe(self, flow: Flow, payload: bytes) -> FlowApp | None:
        """Show one payload of an unbound flow to the probes: the handler of the protocol
        it is, or None (after PROBE_PACKETS payloads the flow stops being probed)."""
        flow.probing -= 1
        tcp = flow.transport == 6
        for probe in self.probes:
            service = probe.service
            if (service.tcp if tcp else service.udp) and probe.test(payload):
                flow.service = service.name
                return service.factory(flow)
        return None

    @property
    def ports(self) -> dict[int, str]:
        out = {p: s.name for p, s in self._udp.items()}
        out.update((p, s.name) for p, s in self._tcp.items())
        return out


class FramedApp:
    """Feeds each direction's ordered bytes to its own framer; PDUs go to ``on_pdu``."""

    __slots__ = ("flow", "incomplete", "on_anomaly", "on_pdu", "orig", "pdus", "resp")

    def __init__(
        self, flow: Flow, orig: Framer, resp: Framer, on_pdu: PduCallback,
        on_anomaly: AnomalyCallback,
    ) -> None:  # fmt: skip
        self.flow = flow
        self.orig = orig
        self.resp = resp
        self.on_pdu = on_pdu
        self.on_anomaly = on_anomaly
        self.pdus = 0
        self.incomplete = 0

    def data(self, from_orig: bool, data: bytes, ts: float) -> None:
        framer = self.orig if from_orig else self.resp
        pdus = framer.feed(data)
        if framer.anomalies:
            for name, detail in framer.anomalies:
                self.on_anomaly(name, ts, self.flow, detail)
            framer.anomalies.clear()
        for pdu in pdus:
            self.pdus += 1
            self.on_pdu(self.flow, from_orig, pdu, ts)

    def gap(self, from_orig: bool, size: int, ts: float) -> None:
        (self.orig if from_orig else self.resp).gap()

    def datagram(self, from_orig: bool, data: bytes, ts: float) -> None:
        self.data(from_orig, data, ts)
        (self.orig if from_orig else self.resp).gap()  # a datagram never continues

    def close(self, ts: float) -> None:
        for framer in (self.orig, self.resp):
            if framer.pending:
                self.incomplete += 1
            framer.gap()


class StreamCounter:
    """Handler for a port whose dissector does not exist yet: counts reassembled bytes."""

    __slots__ = ("bytes", "chunks", "gaps", "stats")

    def __init__(self, stats: dict[str, int]) -> None:
        self.stats = stats
        self.bytes = 0
        self.chunks = 0
        self.gaps = 0

    def data(self, from_orig: bool, data: bytes, ts: float) -> None:
        self.bytes += len(data)
        self.chunks += 1

    def gap(self, from_orig: bool, size: int, ts: float) -> None:
        self.gaps += 1

    def datagram(self, from_orig: bool, data: bytes, ts: float) -> None:
        self.data(from_orig, data, ts)

    def close(self, ts: float) -> None:
        stats = self.stats
        stats["stream_bytes"] = stats.get("stream_bytes", 0) + self.bytes
        stats["stream_chunks"] = stats.get("stream_chunks", 0) + self.chunks
