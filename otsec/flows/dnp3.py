"""DNP3 on a flow (TCP or UDP): link framing and transport reassembly per direction,
application fragments parsed and paired per association.

Each direction has its own link framer and transport assembler (which keys partial
fragments by link source and destination). A complete application fragment is parsed and
paired by association (master address, outstation address) and application sequence
number: a request waits for the response with its sequence; the fragments of a response
spread over several fragments (FIR on the first, FIN on the last) all pair with that
request. Unsolicited responses (function 0x82) are their own kind, with status
``unsolicited`` and no anomaly; a solicited response (0x81) nobody asked for is
``unsolicited`` too, with ``dnp3.unexpected_response``. Requests the outstation does not
answer by design (``*_NR`` functions, broadcasts) are ``no_response``. An application
confirm (function 0x00) is tied to the response it confirms (same association, sequence
and UNS bit) and carries that response's packet number.

The master is told by function code (requests come from the master), not by the link
DIR bit, which some devices set wrong. Garbage on the DNP3 port follows the same policy as
Modbus and S7 (``dnp3.not_dnp3``).
"""

from __future__ import annotations

from typing import Any

from dissectors.dnp3 import AppPdu, LinkFramer, TransportAssembler, parse_app
from otsec.config import Settings
from otsec.events.transactions import Pairing, Pending
from otsec.events.types import (
    MATCHED,
    NO_RESPONSE,
    OBSERVED,
    UNANSWERED,
    UNSOLICITED,
    Envelope,
    Transaction,
)
from otsec.flows.session import AppContext, ProtocolGuard, ProtocolStats
from otsec.flows.table import Flow

PROTOCOL = "dnp3"

CONFIRM = 0x00
RESPONSE = 0x81
UNSOLICITED_RESPONSE = 0x82
#: Requests the outstation never answers (IEEE 1815 "no acknowledgement" functions).
NO_ACK_FUNCTIONS = frozenset({0x06, 0x08, 0x0A, 0x0C, 0x21})
#: Link destination addresses that reach several outstations (never answered).
BROADCAST_MIN = 0xFFFD

_UNANSWERED_ANOMALY = {
    "timeout": "dnp3.unanswered_request",
    "flow_end": "dnp3.unanswered_request",
    "replaced": "dnp3.unanswered_request",
    "overflow": "dnp3.too_many_outstanding",
}

#: (master, outstation, sequence) -> (request record, requester is the originator)
Key = tuple[int, int, int]


class Dnp3App:
    """The handler bound to one DNP3 flow."""

    __slots__ = (
        "_env",
        "asm",
        "confirmable",
        "continuing",
        "ctx",
        "flow",
        "framers",
        "function_hist",
        "guard",
        "link_hist",
        "matched",
        "max_points",
        "object_hist",
        "pairing",
        "stats",
    )

    def __init__(self, flow: Flow, ctx: AppContext, settings: Settings) -> None:
        self.flow = flow
        self.ctx = ctx
        cfg = settings.dnp3
        # index 0: the originator's direction, 1: the responder's
        self.framers = (LinkFramer(give_up_after=1 << 30), LinkFramer(give_up_after=1 << 30))
        self.asm = (TransportAssembler(cfg.max_fragment), TransportAssembler(cfg.max_fragment))
        self.max_points = cfg.max_points
        limits = settings.transactions
        self.pairing = Pairing(limits.max_pending, limits.request_timeout)
        self.guard = ProtocolGuard(
            ctx, flow, cfg.give_up_after, "dnp3.not_dnp3", "DNP3 link headers"
        )
        self.stats: ProtocolStats = ctx.protocol_stats(PROTOCOL)
        h = self.stats.histograms
        self.function_hist = h["function_codes"]
        self.object_hist = h["objects"]
        self.link_hist = h["link_functions"]
        self.matched = 0  # matched exchanges not yet added to the stats (see close)
        #: (master, outstation) -> the request a multi-fragment response still answers
        self.continuing: dict[tuple[int, int], tuple[Any, float, int, bool]] = {}
        #: (master, outstation, uns, sequence) -> packet of a response that asked for a
        #: confirm (CON), until the master confirms it
        self.confirmable: dict[tuple[int, int, bool, int], int] = {}
        self._env: dict[bool, Envelope] = {}

    # -- stream interface --------------------------------------------------------------

    def data(self, from_orig: bool, data: bytes, ts: float) -> None:
        i = 0 if from_orig else 1
        frames = self.guard.feed(self.framers[i], self.framers[1 - i], data, ts)
        if not frames:
            return
        asm = self.asm[i]
        hist = self.link_hist
        for frame in frames:
            key = frame.control & 0x4F  # PRM and function: what the link frame does
            hist[key] = hist.get(key, 0) + 1
            if not frame.has_user_data:
                continue
            fragment = asm.add(frame)
            if asm.anomalies:
                for name, detail in asm.anomalies:
                    self.ctx.anomaly(name, ts, self.flow, detail)
                asm.anomalies.clear()
            if fragment is not None:
                self._fragment(fragment, frame.source, frame.destination, from_orig, ts)

    def gap(self, from_orig: bool, size: int, ts: float) -> None:
        i = 0 if from_orig else 1
        self.framers[i].gap()
        asm = self.asm[i]
        asm.gap()
        asm.anomalies.clear()  # a partial fragment lost to the gap was reported as the gap

    def datagram(self, from_orig: bool, data: bytes, ts: float) -> None:
        """DNP3 over UDP: each datagram holds whole link frames."""
        self.data(from_orig, data, ts)
        framer = self.framers[0 if from_orig else 1]
        if framer.pending:  # a frame cut by the end of the datagram never continues
            framer.gap()

    def close(self, ts: float) -> None:
        if self.matched:
            outcomes = self.stats.transactions
            outcomes[MATCHED] = outcomes.get(MATCHED, 0) + self.matched
            self.matched = 0
        self.guard.close(ts)
        for pending in self.pairing.flush():
            self._unanswered(pending, ts)

    # -- application fragments ---------------------------------------------------------

    def _fragment(self, fragment: bytes, src: int, dst: int, from_orig: bool, ts: float) -> None:
        record = parse_app(fragment, self.max_points)
        ctx = self.ctx
        packet = ctx.packet
        fc = record.function
        h = self.function_hist
        h[fc] = h.get(fc, 0) + 1
        objects = record.objects
        if objects:
            h = self.object_hist
            for obj in objects:
                gv = (obj.group, obj.variation)
                h[gv] = h.get(gv, 0) + 1
        if record.anomalies:
            for name, detail in record.anomalies:
                ctx.anomaly(name, ts, self.flow, detail)
        if ctx.pdu_handlers:
            for handler in ctx.pdu_handlers:
                handler(self.flow, from_orig, record, ts, packet)
        if record.request:
            self._request(record, src, dst, from_orig, ts, packet)
        else:
            self._response(record, dst, src, from_orig, ts, packet)

    def _request(
        self, record: AppPdu, master: int, outstation: int, from_orig: bool, ts: float,
        packet: int,
    ) -> None:  # fmt: skip
        fc = record.function
        if fc == CONFIRM:
            key = (master, outstation, record.uns, record.seq)
            confirmed = self.confirmable.pop(key, None)
            status = MATCHED if confirmed is not None else OBSERVED
            self._emit(status, record, None, ts, None, packet, None, from_orig, master,
                       outstation, confirmed)  # fmt: skip
            return
        if fc in NO_ACK_FUNCTIONS or outstation >= BROADCAST_MIN:
            self._emit(NO_RESPONSE, record, None, ts, None, packet, None, from_orig, master,
                       outstation)  # fmt: skip
            return
        gone = self.pairing.request(
            (master, outstation, record.seq), (record, from_orig), ts, packet
        )
        if gone:
            for pending in gone:
                self._unanswered(pending, ts)

    def _response(
        self, record: AppPdu, master: int, outstation: int, from_orig: bool, ts: float,
        packet: int,
    ) -> None:  # fmt: skip
        if record.con:
            self.confirmable[(master, outstation, record.uns, record.seq)] = packet
            if len(self.confirmable) > 64:  # confirms the capture never showed
                del self.confirmable[next(iter(self.confirmable))]
        requester_is_orig = not from_orig
        if record.function == UNSOLICITED_RESPONSE:
            self._emit(UNSOLICITED, None, record, None, ts, None, packet, requester_is_orig,
                       master, outstation)  # fmt: skip
            return
        association = (master, outstation)
        if record.fir:
            waiting = self.pairing.response((master, outstation, record.seq))
            if waiting is not None:
                (req, req_from_orig), req_ts, req_packet = waiting
                if not record.fin:
                    self.continuing[association] = (req, req_ts, req_packet, req_from_orig)
                self._matched(req, record, req_ts, ts, req_packet, packet, req_from_orig,
                              master, outstation)  # fmt: skip
                return
        else:
            cont = self.continuing.get(association)
            if cont is not None:
                req, req_ts, req_packet, req_from_orig = cont
                if record.fin:
                    del self.continuing[association]
                self._matched(req, record, req_ts, ts, req_packet, packet, req_from_orig,
                              master, outstation)  # fmt: skip
                return
        self.ctx.anomaly(
            "dnp3.unexpected_response", ts, self.flow,
            f"response sequence {record.seq} from outstation {outstation} to master {master}:"
            " no outstanding request",
        )  # fmt: skip
        self._emit(UNSOLICITED, None, record, None, ts, None, packet, requester_is_orig,
                   master, outstation)  # fmt: skip

    def _matched(
        self, req: AppPdu, resp: AppPdu, req_ts: float, ts: float, req_packet: int,
        packet: int, req_from_orig: bool, master: int, outstation: int,
    ) -> None:  # fmt: skip
        if self.ctx.want_events:
            self._emit(MATCHED, req, resp, req_ts, ts, req_packet, packet, req_from_orig,
                       master, outstation)  # fmt: skip
        else:
            self.matched += 1

    def _unanswered(self, pending: Pending, ts: float) -> None:
        req, req_from_orig = pending.record
        key: Key = pending.key  # type: ignore[assignment]
        master, outstation, seq = key
        detail = (
            f"{req.function_name} sequence {seq} from master {master} to outstation"
            f" {outstation}: {pending.reason}"
        )
        self.ctx.anomaly(_UNANSWERED_ANOMALY[pending.reason], ts, self.flow, detail)
        self._emit(UNANSWERED, req, None, pending.ts, None, pending.packet, None, req_from_orig,
                   master, outstation)  # fmt: skip

    def _emit(
        self, status: str, request: Any, response: Any, req_ts: float | None,
        resp_ts: float | None, req_packet: int | None, resp_packet: int | None,
        requester_is_orig: bool, master: int, outstation: int, confirms: int | None = None,
    ) -> None:  # fmt: skip
        outcomes = self.stats.transactions
        outcomes[status] = outcomes.get(status, 0) + 1
        if not self.ctx.want_events:
            return
        env = self._env.get(requester_is_orig)
        if env is None:
            env = self._env[requester_is_orig] = self.ctx.envelope(
                self.flow, swap=not requester_is_orig
            )
        extra: dict[str, Any] = {"master": master, "outstation": outstation}
        if confirms is not None:
            extra["confirms_packet"] = confirms  # the response this confirm acknowledges
        transaction = Transaction(
            PROTOCOL,
            env,
            status,
            request,
            response,
            req_ts,
            resp_ts,
            req_packet,
            resp_packet,
            extra,
        )
        self.ctx.emit(transaction)
