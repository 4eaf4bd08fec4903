"""S7comm activities: sessions (COTP connect + setup communication) and cyclic polling."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from . import s7
from .plant import Host
from .process import ProcessImage
from .tcp import Item, TcpConn, Timed
from .timeline import MS, Ctx
from .wire import PLAIN, Encap

# largest PDU each CPU accepts in setup communication
PDU_MAX = {"plc-s7-01": 240, "plc-s7-02": 960}

# data blocks each PLC has; reading another one answers "object does not exist" (0x0A)
KNOWN_DBS = frozenset({1, 2, 3, 10})

SZL_0011: dict[str, list[bytes]] = {
    "plc-s7-01": [
        s7.szl_0011_record(1, "6ES7 315-2EH14-0AB0", None),
        s7.szl_0011_record(6, "6ES7 315-2EH14-0AB0", None),
        s7.szl_0011_record(7, "Boot Loader", (3, 2, 16)),
    ],
    "plc-s7-02": [
        s7.szl_0011_record(1, "6ES7 516-3AN01-0AB0", None),
        s7.szl_0011_record(6, "6ES7 516-3AN01-0AB0", None),
        s7.szl_0011_record(7, "Boot Loader", (2, 8, 3)),
    ],
}
SZL_001C: dict[str, list[bytes]] = {
    "plc-s7-01": [
        s7.szl_001c_record(1, "SIMATIC 300 WTP-North"),
        s7.szl_001c_record(2, "CPU 315-2 PN/DP"),
        s7.szl_001c_record(3, "WTP-North filtration"),
        s7.szl_001c_record(4, "Original Siemens Equipment"),
        s7.szl_001c_record(5, "S C-H4N308712019"),
        s7.szl_001c_record(7, "CPU 315-2 PN/DP"),
    ],
    "plc-s7-02": [
        s7.szl_001c_record(1, "S7-1500 WTP-North pumps"),
        s7.szl_001c_record(2, "PLC_PUMPS"),
        s7.szl_001c_record(3, "WTP-North pump hall"),
        s7.szl_001c_record(4, "Original Siemens Equipment"),
        s7.szl_001c_record(5, "S V-L9C771032017"),
        s7.szl_001c_record(7, "CPU 1516-3 PN/DP"),
    ],
}


def read_results(
    image: ProcessImage, items: list[s7.VarItem], t_us: int
) -> list[tuple[int, bytes]]:
    out = []
    for item in items:
        if item.area == s7.AREA_DB and item.db not in KNOWN_DBS:
            out.append((s7.RET_OBJECT_DOES_NOT_EXIST, b""))
            continue
        words = (item.nbytes() + 1) // 2
        base = item.start + 64 * item.db + 1000 * (item.area - 0x80)
        values = image.registers(base % 900, min(words, 100), t_us, item.area == s7.AREA_DB)
        data = struct.pack(f"!{len(values)}H", *values)
        while len(data) < item.nbytes():
            data += data
        out.append((s7.RET_OK, data[: item.nbytes()]))
    return out


class S7Session:
    """One ISO-on-TCP connection: COTP, setup communication, then jobs."""

    def __init__(self, ctx: Ctx, conn: TcpConn, rng: random.Random) -> None:
        self.conn = conn
        self.rng = rng
        self.image = ctx.image(conn.s.host)
        self.pduref = rng.randrange(1, 0x400)
        self.ud_seq = 0

    def ref(self) -> int:
        self.pduref = (self.pduref + 1) & 0xFFFF or 1
        return self.pduref

    def open(self, t: int, calling: int, called: int, amq: int = 1, pdu_len: int = 480) -> Timed:
        conn, rng = self.conn, self.rng
        t = yield from conn.handshake(t, rng.randrange(200, 900), rng.randrange(80, 300))
        t += rng.randrange(1 * MS, 3 * MS)
        src_ref = rng.randrange(1, 0xFFFF)
        dst_ref = rng.randrange(1, 0xFFFF)
        yield conn.send(t, True, s7.cotp_cr(src_ref, calling, called))
        t += rng.randrange(2 * MS, 8 * MS)
        yield conn.send(t, False, s7.cotp_cc(src_ref, dst_ref, calling, called))
        t += rng.randrange(1 * MS, 3 * MS)
        ref = self.ref()
        setup_req = s7.setup_comm(s7.ROSCTR_JOB, ref, amq, amq, pdu_len)
        negotiated = min(pdu_len, PDU_MAX.get(self.conn.s.host.name, 480))
        setup_resp = s7.setup_comm(s7.ROSCTR_ACK_DATA, ref, amq, amq, negotiated)
        return (yield from self.exchange(t, s7.cotp_dt(setup_req), s7.cotp_dt(setup_resp)))

    def exchange(
        self, t: int, req: bytes, resp: bytes, from_client: bool = True, split: int = 0
    ) -> Timed:
        """A request and its answer; ``split`` cuts the answer in two segments."""
        yield self.conn.send(t, from_client, req)
        t += self.rng.randrange(2 * MS, 15 * MS)
        if split:
            yield from self.conn.send_parts(t, not from_client, [resp[:split], resp[split:]], 80)
            return t + 80
        yield self.conn.send(t, not from_client, resp)
        return t

    def read(self, t: int, items: list[s7.VarItem], split: int = 0) -> Timed:
        ref = self.ref()
        req = s7.cotp_dt(s7.read_var_job(ref, items))
        resp = s7.cotp_dt(s7.read_var_ack(ref, read_results(self.image, items, t)))
        return (yield from self.exchange(t, req, resp, split=split))

    def read_pipelined(self, t: int, batches: list[list[s7.VarItem]]) -> Timed:
        """Several read jobs in one segment; the PLC answers them in one segment."""
        reqs, resps = b"", b""
        for items in batches:
            ref = self.ref()
            reqs += s7.cotp_dt(s7.read_var_job(ref, items))
            resps += s7.cotp_dt(s7.read_var_ack(ref, read_results(self.image, items, t)))
        return (yield from self.exchange(t, reqs, resps))

    def write(self, t: int, writes: list[tuple[s7.VarItem, bytes]]) -> Timed:
        ref = self.ref()
        codes = [
            s7.RET_OK if i.area != s7.AREA_DB or i.db in KNOWN_DBS else 0x0A for i, _ in writes
        ]
        req = s7.cotp_dt(s7.write_var_job(ref, writes))
        return (yield from self.exchange(t, req, s7.cotp_dt(s7.write_var_ack(ref, codes))))

    def szl(self, t: int, szl_id: int, index: int, records: list[bytes]) -> Timed:
        ref = self.ref()
        self.ud_seq = (self.ud_seq + 1) & 0xFF
        req = s7.cotp_dt(s7.szl_request(ref, 0, szl_id, index))
        resp = s7.cotp_dt(s7.szl_response(ref, self.ud_seq, szl_id, index, records))
        return (yield from self.exchange(t, req, resp))


@dataclass
class S7PollSpec:
    name: str
    client: Host
    server: Host
    start_us: int
    end_us: int
    period_us: int
    rack: int
    slot: int
    items: tuple[s7.VarItem, ...]
    conn_type: int = 2  # OP (HMI / SCADA)
    amq: int = 1
    writes_every_us: int = 0
    missing_every: int = 0  # n-th cycle also reads a DB that does not exist (return code 0x0A)
    pipeline_every: int = 0  # n-th cycle sends two read jobs in one segment (needs amq >= 2)
    split_every: int = 0  # n-th cycle reads a large DB10 block answered in two segments
    reconnect_every_us: int = 0
    jitter_us: int = 40 * MS
    encap: Encap = PLAIN
    close_at_end: bool = False  # FIN teardown when the activity ends


def s7_poller(ctx: Ctx, spec: S7PollSpec) -> Iterator[Item]:
    rng = ctx.rng(spec.name)
    t = spec.start_us
    cycle = 0
    next_write = spec.start_us + spec.writes_every_us // 3 if spec.writes_every_us else 0
    calling = 0x0100
    called = s7.tsap(spec.rack, spec.slot, spec.conn_type)
    while t < spec.end_us:
        conn = ctx.connect(spec.client, spec.server, 102, rng, spec.encap)
        sess = S7Session(ctx, conn, rng)
        t = yield from sess.open(t, calling, called, spec.amq)
        t += rng.randrange(5 * MS, 40 * MS)
        stop = spec.end_us
        if spec.reconnect_every_us:
            stop = min(stop, t + spec.reconnect_every_us + rng.randrange(0, 5_000 * MS))
        while t < stop:
            start = t
            cycle += 1
            items = list(spec.items)
            if spec.missing_every and cycle % spec.missing_every == 0:
                items.append(s7.VarItem(s7.AREA_DB, 99, 0, 4))
            if spec.pipeline_every and cycle % spec.pipeline_every == 0:
                half = len(items) // 2 or 1
                t = yield from sess.read_pipelined(t, [items[:half], items[half:]])
            else:
                t = yield from sess.read(t, items)
            if spec.split_every and cycle % spec.split_every == 0:
                t += rng.randrange(2 * MS, 6 * MS)
                big = [s7.VarItem(s7.AREA_DB, 10, 0, 200)]
                t = yield from sess.read(t, big, split=rng.randrange(40, 180))
            if next_write and t >= next_write:
                t += rng.randrange(2 * MS, 6 * MS)
                setpoint = rng.randrange(100, 2000)
                t = yield from sess.write(
                    t, [(s7.VarItem(s7.AREA_DB, 2, 4, 2), struct.pack("!H", setpoint))]
                )
                next_write += spec.writes_every_us + rng.randrange(0, spec.writes_every_us // 2)
            t_next = start + spec.period_us + rng.randrange(-spec.jitter_us, spec.jitter_us)
            yield from sess.conn.delayed_acks(t, t_next - t)
            t = max(t_next, t + spec.client.stack.delack_us + MS)
        if spec.reconnect_every_us and t < spec.end_us:
            yield from sess.conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))
            t += rng.randrange(500 * MS, 2_500 * MS)
        else:
            if spec.close_at_end:
                yield from sess.conn.close(
                    t, True, rng.randrange(300, 2000), rng.randrange(100, 400)
                )
            return


def s7_identify(
    ctx: Ctx, name: str, client: Host, server: Host, start_us: int, rack: int, slot: int
) -> Iterator[Item]:
    """Engineering-station routine: connect as PG, read SZL 0x0011 and 0x001C, disconnect."""
    rng = ctx.rng(name)
    sess = S7Session(ctx, ctx.connect(client, server, 102, rng), rng)
    t = yield from sess.open(start_us, 0x0100, s7.tsap(rack, slot, 1), 1, 960)
    t += rng.randrange(20 * MS, 80 * MS)
    t = yield from sess.szl(t, 0x0011, 0x0000, SZL_0011[server.name])
    t += rng.randrange(20 * MS, 80 * MS)
    t = yield from sess.szl(t, 0x001C, 0x0000, SZL_001C[server.name])
    t += rng.randrange(100 * MS, 400 * MS)
    yield from sess.conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))
