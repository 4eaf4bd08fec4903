"""Scripted S7comm sessions: explicit jobs and answers, COTP segmentation, segment cuts.

``act_s7`` polls from a cycle; the coverage capture (``s7_functions``) needs every exchange
spelled out: which PDU, which answer, where the bytes are cut into TCP segments, several
TPKTs in one segment, an S7 PDU spread over several COTP DT TPDUs (the connection's TPDU
size decides that), and the COTP disconnect. ``S7Script`` does that on one ``TcpConn``.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from typing import Any

from . import s7
from .act_modbus_script import CUT_GAP_US, cut
from .plant import Host
from .tcp import Item, TcpConn, Timed
from .timeline import MS, Ctx


class S7Script:
    """One ISO-on-TCP connection from a client (PG, OP) to a CPU, scripted."""

    def __init__(
        self, ctx: Ctx, name: str, client: Host, server: Host, tpdu_size: int = 0x0A
    ) -> None:
        self.rng: random.Random = ctx.rng(name)
        self.conn: TcpConn = ctx.connect(client, server, 102, self.rng)
        self.tpdu_size = tpdu_size  # COTP TPDU size code: 2 ** code octets
        self.room = (1 << tpdu_size) - 3  # S7 bytes per DT TPDU
        self.pduref = self.rng.randrange(0x100, 0x800)
        self.ud_seq = self.rng.randrange(1, 0x40)  # the CPU's user-data sequence numbers
        self.latency = (2 * MS, 12 * MS)
        self.refs = (0, 0)  # COTP source references (client, server)

    def ref(self) -> int:
        self.pduref = (self.pduref + 1) & 0xFFFF or 1
        return self.pduref

    def seq(self) -> int:
        self.ud_seq = (self.ud_seq + 1) & 0xFF or 1
        return self.ud_seq

    def tpkts(self, pdu: bytes) -> bytes:
        return s7.cotp_dts(pdu, self.room)

    def write(self, t: int, from_client: bool, data: bytes, cuts: Sequence[int] = ()) -> Timed:
        """Bytes as one TCP segment, or cut in several; returns the time of the last one."""
        parts = cut(data, cuts)
        yield from self.conn.send_parts(t, from_client, parts, CUT_GAP_US)
        return t + CUT_GAP_US * (len(parts) - 1)

    def open(
        self,
        t: int,
        calling: bytes,
        called: bytes,
        pdu_req: int,
        pdu_max: int,
        amq: tuple[int, int] = (1, 1),
        note: str = "",
    ) -> Timed:
        """Handshake, COTP CR/CC, setup communication (``amq``: calling/called max AmQ;
        the CPU answers ``min(pdu_req, pdu_max)``). ``pdu_max`` 0: no setup communication."""
        conn, rng = self.conn, self.rng
        t = yield from conn.handshake(t, rng.randrange(200, 900), rng.randrange(80, 300))
        t += rng.randrange(1 * MS, 3 * MS)
        self.refs = (rng.randrange(1, 0xFFFF), rng.randrange(1, 0xFFFF))
        src, dst = self.refs
        if note:
            yield (t, note)
        cr = s7.cotp_conn_raw(0xE0, 0, src, calling, called, self.tpdu_size)
        cc = s7.cotp_conn_raw(0xD0, src, dst, calling, called, self.tpdu_size)
        t = yield from self.write(t, True, cr)
        t += rng.randrange(2 * MS, 8 * MS)
        t = yield from self.write(t, False, cc)
        t += rng.randrange(1 * MS, 3 * MS)
        if not pdu_max:
            return t
        ref = self.ref()
        req = s7.setup_comm(s7.ROSCTR_JOB, ref, amq[0], amq[1], pdu_req)
        resp = s7.setup_comm(s7.ROSCTR_ACK_DATA, ref, amq[0], amq[1], min(pdu_req, pdu_max))
        return (yield from self.exchange(t, req, resp))

    def exchange(
        self,
        t: int,
        request: bytes,
        response: bytes,
        *,
        from_client: bool = True,
        latency: int = 0,
        req_cuts: Sequence[int] = (),
        resp_cuts: Sequence[int] = (),
        note: str = "",
        resp_note: str = "",
    ) -> Timed:
        """One S7 PDU and its answer (each in COTP DTs as the TPDU size requires);
        ``from_client`` False: the CPU sends the job (download block, download ended)."""
        if note:
            yield (t, note)
        t = yield from self.write(t, from_client, self.tpkts(request), req_cuts)
        t += latency or self.rng.randrange(*self.latency)
        if resp_note:
            yield (t, resp_note)
        return (yield from self.write(t, not from_client, self.tpkts(response), resp_cuts))

    def pipelined(
        self, t: int, pairs: Sequence[tuple[bytes, bytes]], note: str = "", resp_note: str = ""
    ) -> Timed:
        """Several jobs in one segment (one TPKT each), all answers in one segment."""
        if note:
            yield (t, note)
        t = yield from self.write(t, True, b"".join(self.tpkts(req) for req, _ in pairs))
        t += self.rng.randrange(*self.latency) + 1 * MS * len(pairs)
        if resp_note:
            yield (t, resp_note)
        return (yield from self.write(t, False, b"".join(self.tpkts(r) for _, r in pairs)))

    def userdata(
        self,
        t: int,
        group: int,
        subf: int,
        req_data: bytes,
        resp_data: bytes,
        err: int = 0,
        **kw: Any,
    ) -> Timed:
        """A user-data request (type 4) and the CPU's answer (type 8)."""
        ref = self.ref()
        req = s7.ud_request(ref, group, subf, req_data)
        resp = s7.ud_response(ref, group, subf, self.seq(), resp_data, err)
        return (yield from self.exchange(t, req, resp, **kw))

    def szl(self, t: int, szl_id: int, index: int, records: list[bytes], **kw: Any) -> Timed:
        rec_len = len(records[0]) if records else 0
        body = struct.pack("!HHHH", szl_id, index, rec_len, len(records)) + b"".join(records)
        req = s7.octets(struct.pack("!HH", szl_id, index))
        return (
            yield from self.userdata(t, s7.GROUP_CPU, s7.SUBF_READ_SZL, req, s7.octets(body), **kw)
        )

    def push(self, t: int, group: int, subf: int, data: bytes) -> Timed:
        """A user-data push (type 0) from the CPU, PDU reference 0."""
        pdu = s7.ud_response(0, group, subf, self.seq(), data, kind=0x0)
        return (yield from self.write(t, False, self.tpkts(pdu)))

    def pause(self, t: int, gap_us: int) -> Timed:
        yield from self.conn.delayed_acks(t, gap_us)
        return t + gap_us

    def close(self, t: int, disconnect: bool = False, note: str = "") -> Timed:
        """FIN teardown from the client; ``disconnect``: COTP DR / DC first."""
        rng = self.rng
        if disconnect:
            src, dst = self.refs
            if note:
                yield (t, note)
            t = yield from self.write(t, True, s7.cotp_dr(dst, src))
            t += rng.randrange(1 * MS, 4 * MS)
            t = yield from self.write(t, False, s7.cotp_dc(src, dst))
            t += rng.randrange(1 * MS, 3 * MS)
        items: list[Item] = self.conn.close(
            t, True, rng.randrange(300, 2000), rng.randrange(100, 400)
        )
        yield from items
        return items[-1][0]
