"""Modbus/TCP activities: a small server model and polling / one-shot clients."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from . import modbus as mb
from .plant import Host
from .process import ProcessImage
from .tcp import Item, TcpConn, Timed
from .timeline import MS, Ctx
from .wire import PLAIN, Encap

# FC 43/14 basic objects: vendor name, product code, major/minor revision
IDENTITY: dict[str, tuple[str, str, str]] = {
    "Schneider Electric Modicon M340": ("Schneider Electric", "BMX P34 2020", "v3.20"),
    "Schneider Electric Modicon M580": ("Schneider Electric", "BME P58 2040", "v4.10"),
    "WAGO 750-8102 PFC100": ("WAGO", "750-8102", "03.10.08"),
}

MAX_REGISTERS = 1000
MAX_BITS = 2000


def serve(host: Host, image: ProcessImage, pdu: bytes, t_us: int) -> bytes:
    """The PDU a controller answers to ``pdu`` (writes change its process image)."""
    fc = pdu[0]
    if fc in (mb.READ_COILS, mb.READ_DISCRETE_INPUTS):
        addr, qty = struct.unpack_from("!HH", pdu, 1)
        if addr + qty > MAX_BITS:
            return mb.exception(fc, mb.ILLEGAL_DATA_ADDRESS)
        return mb.read_bits_response(fc, image.bits(addr, qty, t_us, fc == mb.READ_COILS))
    if fc in (mb.READ_HOLDING_REGISTERS, mb.READ_INPUT_REGISTERS):
        addr, qty = struct.unpack_from("!HH", pdu, 1)
        if addr + qty > MAX_REGISTERS:
            return mb.exception(fc, mb.ILLEGAL_DATA_ADDRESS)
        values = image.registers(addr, qty, t_us, fc == mb.READ_HOLDING_REGISTERS)
        return mb.read_registers_response(fc, values)
    if fc == mb.WRITE_SINGLE_COIL:
        addr, value = struct.unpack_from("!HH", pdu, 1)
        image.coils[addr] = value == 0xFF00
        return pdu
    if fc == mb.WRITE_SINGLE_REGISTER:
        addr, value = struct.unpack_from("!HH", pdu, 1)
        image.holding[addr] = value
        return pdu
    if fc == mb.WRITE_MULTIPLE_COILS:
        addr, qty = struct.unpack_from("!HH", pdu, 1)
        for i in range(qty):
            image.coils[addr + i] = bool(pdu[6 + i // 8] >> (i % 8) & 1)
        return mb.write_multiple_response(fc, addr, qty)
    if fc == mb.WRITE_MULTIPLE_REGISTERS:
        addr, qty = struct.unpack_from("!HH", pdu, 1)
        for i, value in enumerate(struct.unpack_from(f"!{qty}H", pdu, 6)):
            image.holding[addr + i] = value
        return mb.write_multiple_response(fc, addr, qty)
    if fc == mb.READ_WRITE_MULTIPLE_REGISTERS:
        raddr, rqty, waddr, wqty = struct.unpack_from("!HHHH", pdu, 1)
        for i, value in enumerate(struct.unpack_from(f"!{wqty}H", pdu, 10)):
            image.holding[waddr + i] = value
        return mb.read_registers_response(fc, image.registers(raddr, rqty, t_us, True))
    if fc == mb.DIAGNOSTICS:
        return pdu
    if fc == mb.ENCAPSULATED_INTERFACE:
        vendor, product, revision = IDENTITY.get(host.vendor, (host.vendor, "unknown", "v1.0"))
        return mb.read_device_id_response(1, [(0, vendor), (1, product), (2, revision)])
    if fc == mb.REPORT_SERVER_ID:
        return mb.report_server_id_response(b"\x8a\x02", True, host.vendor.encode("ascii")[:20])
    if fc == mb.UMAS:
        return mb.umas_response(pdu[1])
    return mb.exception(fc, 1)


def transaction(
    conn: TcpConn,
    rng: random.Random,
    image: ProcessImage,
    tid: int,
    unit: int,
    pdus: list[bytes],
    t: int,
    split: int = 0,
    retransmit: bool = False,
) -> Timed:
    """Requests (several in one segment when ``pdus`` has more than one) and their answers.

    ``split`` cuts the response in two segments at that offset. Returns, through
    StopIteration, the time of the last frame. A request to unit 0 (broadcast) gets no
    answer; the server only acknowledges it.
    """
    server = conn.s.host
    req = b"".join(mb.adu(tid + i, unit, p) for i, p in enumerate(pdus))
    yield conn.send(t, True, req)
    if retransmit:
        t += 300 * MS + rng.randrange(0, 20 * MS)
        yield (t, "exact TCP retransmission of the previous Modbus request")
        yield conn.retransmit(t, True)
    t += rng.randrange(1500, 6000)
    if unit == 0:
        t += server.stack.delack_us
        ack = conn.ack(t, False)
        if ack is not None:
            yield ack
        return t
    resp = b"".join(mb.adu(tid + i, unit, serve(server, image, p, t)) for i, p in enumerate(pdus))
    if split and split < len(resp):
        yield from conn.send_parts(t, False, [resp[:split], resp[split:]], 60)
        return t + 60
    yield conn.send(t, False, resp)
    return t


@dataclass
class PollSpec:
    """A client that polls one server cyclically, over one or several connections."""

    name: str
    client: Host
    server: Host
    start_us: int
    end_us: int
    period_us: int
    polls: tuple[tuple[int, int, int], ...]  # (function code, address, quantity)
    unit: int = 1
    jitter_us: int = 30 * MS
    pipeline: bool = False  # a cycle's requests go in one segment, answers in one segment
    writes_every_us: int = 0  # operator writes (FC 5 / FC 6)
    write_coils: tuple[int, ...] = (0, 1, 4, 5)  # the coils an operator write picks from
    write_registers: tuple[int, ...] = (8, 9, 12)  # the holding registers it picks from
    bad_read_every: int = 0  # every n-th cycle reads an invalid address (exception 2)
    busy_every: int = 0  # every n-th write is answered "server device busy" (exception 6)
    split_every: int = 0  # every n-th response is cut in two segments
    reconnect_every_us: int = 0
    retransmit_cycle: int = -1  # that cycle's first request is retransmitted once
    encap: Encap = PLAIN
    close_at_end: bool = False  # FIN teardown when the activity ends


def poller(ctx: Ctx, spec: PollSpec) -> Iterator[Item]:
    rng = ctx.rng(spec.name)
    image = ctx.image(spec.server)
    tid = rng.randrange(1, 3000)
    t = spec.start_us
    cycle = writes = responses = 0
    next_write = spec.start_us + spec.writes_every_us // 2 if spec.writes_every_us else 0
    delack = spec.client.stack.delack_us
    while t < spec.end_us:
        conn = ctx.connect(spec.client, spec.server, 502, rng, spec.encap)
        t = yield from conn.handshake(t, rng.randrange(200, 900), rng.randrange(80, 300))
        t += rng.randrange(1 * MS, 4 * MS)
        stop = spec.end_us
        if spec.reconnect_every_us:
            stop = min(stop, t + spec.reconnect_every_us + rng.randrange(0, 5_000 * MS))
        while t < stop:
            cycle_start = t
            pdus = [mb.read_request(fc, a, q) for fc, a, q in spec.polls]
            if spec.bad_read_every and cycle % spec.bad_read_every == spec.bad_read_every - 1:
                pdus.append(mb.read_request(mb.READ_HOLDING_REGISTERS, 9000, 2))
            if next_write and t >= next_write:
                writes += 1
                pdus.append(_operator_write(rng, writes, spec))
                next_write += spec.writes_every_us + rng.randrange(0, spec.writes_every_us // 2)
            step = 5 if spec.pipeline else 1  # at most five ADUs share a segment
            groups = [pdus[i : i + step] for i in range(0, len(pdus), step)]
            for n, group in enumerate(groups):
                responses += 1
                split = 0
                if spec.split_every and responses % spec.split_every == 0:
                    split = 9 if responses % (2 * spec.split_every) else 12
                busy = (
                    spec.busy_every
                    and group[0][0] in (mb.WRITE_SINGLE_COIL, mb.WRITE_SINGLE_REGISTER)
                    and writes % spec.busy_every == 0
                )
                if busy:
                    t = yield from _busy(conn, rng, tid, spec.unit, group[0], t)
                else:
                    retx = cycle == spec.retransmit_cycle and n == 0
                    t = yield from transaction(
                        conn, rng, image, tid, spec.unit, group, t, split, retx
                    )
                tid = (tid + len(group)) & 0xFFFF
                t += rng.randrange(800, 3000)
            cycle += 1
            t_next = cycle_start + spec.period_us + rng.randrange(-spec.jitter_us, spec.jitter_us)
            yield from conn.delayed_acks(t, t_next - t)
            t = max(t_next, t + delack + MS)
        if spec.reconnect_every_us and t < spec.end_us:
            yield from conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))
            t += rng.randrange(500 * MS, 2_500 * MS)
        else:
            if spec.close_at_end:
                yield from conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))
            return


def _operator_write(rng: random.Random, n: int, spec: PollSpec) -> bytes:
    if n % 2:
        return mb.write_single_coil(rng.choice(spec.write_coils), bool(rng.getrandbits(1)))
    return mb.write_single_register(rng.choice(spec.write_registers), rng.randrange(300, 900))


def _busy(conn: TcpConn, rng: random.Random, tid: int, unit: int, pdu: bytes, t: int) -> Timed:
    yield conn.send(t, True, mb.adu(tid, unit, pdu))
    t += rng.randrange(2000, 8000)
    yield conn.send(t, False, mb.adu(tid, unit, mb.exception(pdu[0], mb.SERVER_DEVICE_BUSY)))
    return t


def one_shot(
    ctx: Ctx,
    name: str,
    client: Host,
    server: Host,
    start_us: int,
    requests: list[tuple[int, bytes, str]],
    gap_us: int = 400 * MS,
) -> Iterator[Item]:
    """Connect, send each (unit, PDU, timeline note) and read the answer, disconnect."""
    rng = ctx.rng(name)
    image = ctx.image(server)
    conn = ctx.connect(client, server, 502, rng)
    t = yield from conn.handshake(start_us, rng.randrange(200, 900), rng.randrange(80, 300))
    t += rng.randrange(2 * MS, 10 * MS)
    tid = rng.randrange(1, 200)
    for unit, pdu, note in requests:
        if note:
            yield (t, note)
        t = yield from transaction(conn, rng, image, tid, unit, [pdu], t)
        tid += 1
        t += gap_us + rng.randrange(0, gap_us // 2 + 1)
    yield from conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))
