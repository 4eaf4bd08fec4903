"""Siemens S7comm on a flow: TPKT framing, COTP (connection TSAPs, DT reassembly), S7
PDU parsing and job / ack-data pairing by PDU reference.

The side that sends a job (or a user-data request) is the requester of that exchange:
usually the client, but in a download the PLC sends the download-block jobs, so the
requester is decided per PDU, from its ROSCTR, not from the flow's direction. COTP
connection requests and confirms carry the TSAPs (and so rack and slot); they are kept
for the flow and added to every document of it. S7comm-plus PDUs (protocol id 0x72) are
recognised and counted, one document each, not decoded further.
"""

from __future__ import annotations

from typing import Any

from dissectors.s7comm import (
    USERDATA_FUNCTION,
    CotpAssembler,
    S7PlusPdu,
    TpktFramer,
    UserData,
    parse_s7,
    parse_tpdu,
)
from otsec.config import Settings
from otsec.events.transactions import Pairing, Pending
from otsec.events.types import MATCHED, UNANSWERED, UNSOLICITED, Envelope, Transaction
from otsec.flows.session import AppContext, ProtocolGuard, ProtocolStats
from otsec.flows.table import Flow

PROTOCOL = "s7comm"
PLUS = "s7comm_plus"
#: A message recorded on its own (S7comm-plus, not paired).
OBSERVED = "observed"
_USERDATA = 7
_CR, _CC = 0xE0, 0xD0
_UNANSWERED_ANOMALY = {
    "timeout": "s7comm.unanswered_request",
    "flow_end": "s7comm.unanswered_request",
    "replaced": "s7comm.unanswered_request",
    "overflow": "s7comm.too_many_outstanding",
}


class S7App:
    """The handler bound to one S7comm (ISO-on-TCP, port 102) flow."""

    __slots__ = (
        "_env",
        "asm",
        "connection",
        "ctx",
        "flow",
        "framers",
        "function_hist",
        "guard",
        "matched",
        "pairing",
        "plus",
        "rosctr_hist",
        "stats",
    )

    def __init__(self, flow: Flow, ctx: AppContext, settings: Settings) -> None:
        self.flow = flow
        self.ctx = ctx
        # index 0: the originator's direction, 1: the responder's
        self.framers = (TpktFramer(give_up_after=1 << 30), TpktFramer(give_up_after=1 << 30))
        self.asm = (CotpAssembler(), CotpAssembler())
        limits = settings.transactions
        self.pairing = Pairing(limits.max_pending, limits.request_timeout)
        self.stats: ProtocolStats = ctx.protocol_stats(PROTOCOL)
        self.rosctr_hist = self.stats.histograms["rosctr"]
        self.function_hist = self.stats.histograms["functions"]
        self.matched = 0  # matched exchanges not yet added to the stats (see close)
        self.plus: ProtocolStats | None = None
        self.guard = ProtocolGuard(
            ctx, flow, settings.s7comm.give_up_after, "s7comm.not_s7comm", "TPKT headers"
        )
        #: TSAPs, rack and slot from the COTP connection request / confirm.
        self.connection: dict[str, Any] = {}
        self._env: dict[bool, Envelope] = {}

    # -- stream interface --------------------------------------------------------------

    def data(self, from_orig: bool, data: bytes, ts: float) -> None:
        i = 0 if from_orig else 1
        tpkts = self.guard.feed(self.framers[i], self.framers[1 - i], data, ts)
        if not tpkts:
            return
        asm = self.asm[i]
        for tpkt in tpkts:
            # Fast path: a COTP DT with EOT (length indicator 2, type 0xF0, EOT bit) and
            # nothing collected: its payload is a whole S7 PDU, no record needed.
            if (
                len(tpkt) > 7
                and tpkt[4] == 2
                and tpkt[5] == 0xF0
                and tpkt[6] & 0x80
                and not asm.pending
            ):
                self._pdu(tpkt[7:], from_orig, ts)
                continue
            cotp = parse_tpdu(tpkt)
            if cotp.anomalies:
                for name, detail in cotp.anomalies:
                    self.ctx.anomaly(name, ts, self.flow, detail)
            if cotp.tpdu_type in (_CR, _CC):
                self._connect(cotp)
            pdu = asm.add(cotp)
            if asm.anomalies:
                for name, detail in asm.anomalies:
                    self.ctx.anomaly(name, ts, self.flow, detail)
                asm.anomalies.clear()
            if pdu is not None:
                self._pdu(pdu, from_orig, ts)

    def gap(self, from_orig: bool, size: int, ts: float) -> None:
        i = 0 if from_orig else 1
        self.framers[i].gap()
        self.asm[i].gap()
        asm = self.asm[i]
        if asm.anomalies:  # a partial PDU lost to the gap is expected, not reported again
            asm.anomalies.clear()

    def datagram(self, from_orig: bool, data: bytes, ts: float) -> None:
        self.data(from_orig, data, ts)
        self.gap(from_orig, 0, ts)

    def close(self, ts: float) -> None:
        if self.matched:
            outcomes = self.stats.transactions
            outcomes[MATCHED] = outcomes.get(MATCHED, 0) + self.matched
            self.matched = 0
        self.guard.close(ts)
        for pending in self.pairing.flush():
            self._unanswered(pending, ts)

    def _connect(self, cotp: Any) -> None:
        conn = self.connection
        for key in ("calling_tsap", "called_tsap", "rack", "slot"):
            value = getattr(cotp, key, None)
            if value is not None and key not in conn:
                conn[key] = value

    # -- PDUs --------------------------------------------------------------------------

    def _pdu(self, pdu: bytes, from_orig: bool, ts: float) -> None:
        record: Any = parse_s7(pdu)  # S7Pdu subclasses or S7PlusPdu, told apart below
        ctx = self.ctx
        packet = ctx.packet
        if record.anomalies:
            for name, detail in record.anomalies:
                ctx.anomaly(name, ts, self.flow, detail)
        if ctx.pdu_handlers:
            for handler in ctx.pdu_handlers:
                handler(self.flow, from_orig, record, ts, packet)
        kind = type(record)
        if kind is S7PlusPdu:
            self._plus(record, from_orig, ts, packet)
            return
        # histograms as tshark counts them (see _count), the common case inline
        h = self.rosctr_hist
        rosctr = record.rosctr
        h[rosctr] = h.get(rosctr, 0) + 1
        func = record.function
        if 0 <= func < USERDATA_FUNCTION:
            h = self.function_hist
            h[func] = h.get(func, 0) + 1
        elif kind is UserData:
            self._count_userdata(record)
            if record.ud_type == 0:
                # push messages (alarms, diagnostics, cyclic data) are not answered
                self._emit(OBSERVED, None, record, None, ts, None, packet, not from_orig)
                return
        key = (rosctr == _USERDATA, record.pdu_ref)
        if record.request:
            gone = self.pairing.request(key, (record, from_orig), ts, packet)
            if gone:
                for pending in gone:
                    self._unanswered(pending, ts)
            return
        waiting = self.pairing.response(key)
        if waiting is None:
            ctx.anomaly(
                "s7comm.unsolicited_response", ts, self.flow,
                f"PDU reference {record.pdu_ref}: no outstanding request",
            )  # fmt: skip
            # the requester is the other side of whoever sent this response
            self._emit(UNSOLICITED, None, record, None, ts, None, packet, not from_orig)
        elif ctx.want_events:
            (req, req_from_orig), req_ts, req_packet = waiting
            self._emit(MATCHED, req, record, req_ts, ts, req_packet, packet, req_from_orig)
        else:
            self.matched += 1

    def _count_userdata(self, record: Any) -> None:
        """User-data histograms: group/subfunction (not mode transitions, which tshark
        gives no subfunction) and SZL ids."""
        h = self.stats.histograms
        if record.group:
            pair = (record.group, record.subfunction)
            userdata = h["userdata"]
            userdata[pair] = userdata.get(pair, 0) + 1
        szl = record.szl_id
        if szl is not None:
            szl_ids = h["szl_ids"]
            szl_ids[szl] = szl_ids.get(szl, 0) + 1

    def _plus(self, record: Any, from_orig: bool, ts: float, packet: int) -> None:
        plus = self.plus
        if plus is None:
            plus = self.plus = self.ctx.protocol_stats(PLUS)
        versions = plus.histograms["versions"]
        versions[record.version] = versions.get(record.version, 0) + 1
        self._emit(OBSERVED, record, None, ts, None, packet, None, from_orig, PLUS)

    def _unanswered(self, pending: Pending, ts: float) -> None:
        req, req_from_orig = pending.record
        detail = f"PDU reference {req.pdu_ref} ({req.function_name}): {pending.reason}"
        self.ctx.anomaly(_UNANSWERED_ANOMALY[pending.reason], ts, self.flow, detail)
        self._emit(UNANSWERED, req, None, pending.ts, None, pending.packet, None, req_from_orig)

    def _emit(
        self, status: str, request: Any, response: Any, req_ts: float | None,
        resp_ts: float | None, req_packet: int | None, resp_packet: int | None,
        requester_is_orig: bool, protocol: str = PROTOCOL,
    ) -> None:  # fmt: skip
        stats = self.stats if protocol == PROTOCOL else self.plus
        assert stats is not None
        stats.transactions[status] = stats.transactions.get(status, 0) + 1
        if not self.ctx.want_events:
            return
        env = self._env.get(requester_is_orig)
        if env is None:
            env = self._env[requester_is_orig] = self.ctx.envelope(
                self.flow, swap=not requester_is_orig
            )
        transaction = Transaction(
            protocol, env, status, request, response, req_ts, resp_ts, req_packet, resp_packet,
            dict(self.connection) or None,
        )  # fmt: skip
        self.ctx.emit(transaction)
