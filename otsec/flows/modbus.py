"""Modbus/TCP on a flow: MBAP framing per direction, PDU parsing, transaction pairing.

Requests go client -> server: to the Modbus port (502), as Wireshark decides too. That
is the flow's originator, except in the odd flow whose SYN came from port 502.
Each request waits, keyed by (transaction id, unit id), for its response; what comes of
it is one :class:`~otsec.events.types.Transaction` handed to the pipeline: matched,
unanswered (timeout, too many outstanding, replaced, flow end), unsolicited (a response
nobody asked for) or no_response (a broadcast or a request the spec leaves unanswered).
Garbage on port 502 (TLS, HTTP, scanners): while a flow has not produced one valid ADU
in either direction, invalid MBAP headers are counted, not reported one by one; after
``[modbus] give_up_after`` of them (both directions together), or when the flow ends
without a valid ADU, the flow is given up with one ``modbus.not_modbus`` anomaly and no
longer parsed. Once a flow has carried valid Modbus, each bad header is its own anomaly
and the framer resynchronises on the next ADU.
"""

from __future__ import annotations

from typing import Any

from dissectors.modbus import Diagnostics, ExceptionResponse, ModbusFramer, ModbusPdu, parse_adu
from otsec.config import Settings
from otsec.events.transactions import Pairing, Pending
from otsec.events.types import (
    MATCHED,
    NO_RESPONSE,
    UNANSWERED,
    UNSOLICITED,
    Envelope,
    Transaction,
)
from otsec.flows.session import AppContext, ProtocolGuard, ProtocolStats
from otsec.flows.table import Flow

PROTOCOL = "modbus"

_FORCE_LISTEN_ONLY = 4  # diagnostics sub-function answered by silence (spec 6.8.1)
_UNANSWERED_ANOMALY = {
    "timeout": "modbus.unanswered_request",
    "flow_end": "modbus.unanswered_request",
    "replaced": "modbus.unanswered_request",
    "overflow": "modbus.too_many_outstanding",
}


def expects_response(record: ModbusPdu) -> bool:
    """False for requests the spec leaves unanswered: broadcasts (unit 0 on a serial
    gateway) and the diagnostics 'force listen only mode' sub-function."""
    if record.unit == 0 and record.access in ("write", "read_write"):
        return False
    # read the record's field, not its output dict (specific() builds the whole document part)
    return not (isinstance(record, Diagnostics) and record.sub_function == _FORCE_LISTEN_ONLY)


class ModbusApp:
    """The handler bound to one Modbus flow."""

    __slots__ = (
        "_env",
        "ctx",
        "flow",
        "guard",
        "matched",
        "orig",
        "pairing",
        "requests_from_orig",
        "resp",
        "stats",
    )

    def __init__(self, flow: Flow, ctx: AppContext, settings: Settings) -> None:
        self.flow = flow
        self.ctx = ctx
        # The flow-level policy below decides about giving up; the framers never do.
        self.orig = ModbusFramer(give_up_after=1 << 30)
        self.resp = ModbusFramer(give_up_after=1 << 30)
        self.guard = ProtocolGuard(
            ctx, flow, settings.modbus.give_up_after, "modbus.not_modbus", "MBAP headers"
        )
        ports = {p for p, name in settings.ics_ports.items() if name == PROTOCOL}
        self.requests_from_orig = not (flow.orig_port in ports and flow.resp_port not in ports)
        self.matched = 0  # matched transactions not yet added to the stats (see close)
        limits = settings.transactions
        self.pairing = Pairing(limits.max_pending, limits.request_timeout)
        self.stats: ProtocolStats = ctx.protocol_stats(PROTOCOL)
        self._env: Envelope | None = None

    # -- stream interface --------------------------------------------------------------

    def data(self, from_orig: bool, data: bytes, ts: float) -> None:
        if from_orig:
            adus = self.guard.feed(self.orig, self.resp, data, ts)
        else:
            adus = self.guard.feed(self.resp, self.orig, data, ts)
        if adus:
            request = from_orig == self.requests_from_orig
            for adu in adus:
                self._adu(adu, request, ts)

    def gap(self, from_orig: bool, size: int, ts: float) -> None:
        (self.orig if from_orig else self.resp).gap()

    def datagram(self, from_orig: bool, data: bytes, ts: float) -> None:
        """Modbus over UDP: each datagram holds whole ADUs."""
        self.data(from_orig, data, ts)
        (self.orig if from_orig else self.resp).gap()

    def close(self, ts: float) -> None:
        if self.matched:
            outcomes = self.stats.transactions
            outcomes[MATCHED] = outcomes.get(MATCHED, 0) + self.matched
            self.matched = 0
        self.guard.close(ts)
        for pending in self.pairing.flush():
            self._unanswered(pending, ts)

    # -- PDUs --------------------------------------------------------------------------

    def _adu(self, adu: bytes, request: bool, ts: float) -> None:
        record = parse_adu(adu, request)
        fc = record.function
        codes = self.stats.function_codes
        codes[fc] = codes.get(fc, 0) + 1
        if record.anomalies or type(record) is ExceptionResponse:
            self._rare(record, ts)
        ctx = self.ctx
        packet = ctx.packet
        if ctx.pdu_handlers:
            for handler in ctx.pdu_handlers:
                handler(self.flow, request, record, ts, packet)
        if request:
            if (record.unit == 0 or fc == 8) and not expects_response(record):
                self._emit(NO_RESPONSE, record, None, ts, None, packet, None)
                return
            gone = self.pairing.request((record.tid, record.unit), record, ts, packet)
            if gone:
                for pending in gone:
                    self._unanswered(pending, ts)
            return
        waiting = self.pairing.response((record.tid, record.unit))
        if waiting is None:
            ctx.anomaly(
                "modbus.unsolicited_response", ts, self.flow,
                f"transaction {record.tid} unit {record.unit}: no outstanding request",
            )  # fmt: skip
            self._emit(UNSOLICITED, None, record, None, ts, None, packet)
        elif ctx.want_events:
            req, req_ts, req_packet = waiting
            self._emit(MATCHED, req, record, req_ts, ts, req_packet, packet)
        else:
            self.matched += 1

    def _rare(self, record: ModbusPdu, ts: float) -> None:
        """Exception responses and per-PDU anomalies (kept off the common path)."""
        ec = record.exception_code
        if ec is not None:
            codes = self.stats.exception_codes
            codes[ec] = codes.get(ec, 0) + 1
        for name, detail in record.anomalies:
            self.ctx.anomaly(name, ts, self.flow, detail)

    def _unanswered(self, pending: Pending, ts: float) -> None:
        rec = pending.record
        detail = f"transaction {rec.tid} unit {rec.unit} function {rec.function}: {pending.reason}"
        self.ctx.anomaly(_UNANSWERED_ANOMALY[pending.reason], ts, self.flow, detail)
        self._emit(UNANSWERED, rec, None, pending.ts, None, pending.packet, None)

    def _emit(
        self, status: str, request: Any, response: Any, req_ts: float | None,
        resp_ts: float | None, req_packet: int | None, resp_packet: int | None,
    ) -> None:  # fmt: skip
        outcomes = self.stats.transactions
        outcomes[status] = outcomes.get(status, 0) + 1
        if not self.ctx.want_events:
            return
        env = self._env
        if env is None:
            env = self._env = self.ctx.envelope(self.flow, swap=not self.requests_from_orig)
        transaction = Transaction(
            PROTOCOL, env, status, request, response, req_ts, resp_ts, req_packet, resp_packet
        )
        self.ctx.emit(transaction)
