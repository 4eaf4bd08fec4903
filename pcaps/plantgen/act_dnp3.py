"""DNP3 over TCP activities: a master polling an outstation, and scripted sessions."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from . import dnp3
from .plant import DNP3_MASTER_ADDR, Host, dnp3_address
from .process import ProcessImage
from .tcp import Item, TcpConn, Timed
from .timeline import MS, SECOND, Ctx
from .wire import PLAIN, Encap

N_BINARY = 32
N_COUNTERS = 16
N_ANALOG = 40


class Dnp3Framer:
    """Application and transport sequence numbers of one master-outstation association."""

    def __init__(self, rng: random.Random, master: int, outstation: int) -> None:
        self.master = master
        self.outstation = outstation
        self.app_seq = rng.randrange(16)
        self.m_tseq = rng.randrange(64)
        self.o_tseq = rng.randrange(64)

    def next_seq(self) -> int:
        seq = self.app_seq
        self.app_seq = (self.app_seq + 1) & 0x0F
        return seq

    def master_frames(self, apdu: bytes) -> list[bytes]:
        frames, self.m_tseq = dnp3.frames_for_fragment(
            apdu, dnp3.CTRL_MASTER_DATA, self.outstation, self.master, self.m_tseq
        )
        return frames

    def outstation_frames(self, apdu: bytes) -> list[bytes]:
        frames, self.o_tseq = dnp3.frames_for_fragment(
            apdu, dnp3.CTRL_OUTSTATION_DATA, self.master, self.outstation, self.o_tseq
        )
        return frames


class Dnp3Session:
    """A DNP3 association carried by one TCP connection."""

    def __init__(
        self,
        conn: TcpConn,
        rng: random.Random,
        master: int,
        outstation: int,
        frames_per_segment: int = 0,
    ) -> None:
        self.conn = conn
        self.rng = rng
        self.master = master
        self.outstation = outstation
        self.framer = Dnp3Framer(rng, master, outstation)
        # how the outstation writes multi-frame fragments: 0 = all frames in one segment,
        # 1 = one frame per segment
        self.frames_per_segment = frames_per_segment

    def _master_frames(self, apdu: bytes) -> bytes:
        return b"".join(self.framer.master_frames(apdu))

    def _outstation_frames(self, apdu: bytes) -> list[bytes]:
        frames = self.framer.outstation_frames(apdu)
        if self.frames_per_segment == 1:
            return frames
        return [b"".join(frames)]

    def request(
        self,
        t: int,
        func: int,
        objects: bytes,
        answer: bytes | None,
        iin: int = 0,
        con: bool = False,
        delay_us: int = 0,
    ) -> Timed:
        """Master request, outstation response (``answer`` objects), confirm when CON."""
        seq = self.framer.next_seq()
        yield self.conn.send(t, True, self._master_frames(dnp3.request(seq, func, objects)))
        if answer is None:
            return t
        t += delay_us or self.rng.randrange(4 * MS, 25 * MS)
        segments = self._outstation_frames(dnp3.response(seq, iin, answer, con))
        for i, seg in enumerate(segments):
            yield self.conn.send(t + i * 150, False, seg)
        t += (len(segments) - 1) * 150
        if con:
            t += self.rng.randrange(1 * MS, 4 * MS)
            yield self.conn.send(t, True, self._master_frames(dnp3.confirm(seq)))
        return t

    def link_status(self, t: int) -> Timed:
        """Link-layer keep-alive: request link status (no user data) and the answer."""
        req = dnp3.link_frame(dnp3.CTRL_MASTER_LINK_STATUS_REQ, self.outstation, self.master)
        yield self.conn.send(t, True, req)
        t += self.rng.randrange(3 * MS, 12 * MS)
        resp = dnp3.link_frame(dnp3.CTRL_OUTSTATION_LINK_STATUS, self.master, self.outstation)
        yield self.conn.send(t, False, resp)
        return t


def static_data(image: ProcessImage, t_us: int) -> bytes:
    flags = [0x81 if b else 0x01 for b in image.bits(0, N_BINARY, t_us, False)]
    counts = [image.counter(i, t_us) for i in range(N_COUNTERS)]
    analogs = image.registers(0, N_ANALOG, t_us, False)
    return (
        dnp3.binary_inputs(0, flags)
        + dnp3.counters(0, counts)
        + dnp3.analog_inputs(0, [int(v) for v in analogs])
    )


def events(rng: random.Random, image: ProcessImage, t_us: int, epoch_ms: int) -> bytes:
    """Zero to a few binary (g2v2) and analog (g32v1) events since the last poll."""
    out = b""
    n_bin = rng.choice((0, 0, 0, 1, 1, 2))
    if n_bin:
        evs = []
        for _ in range(n_bin):
            idx = rng.randrange(N_BINARY)
            ms = epoch_ms - rng.randrange(10, 4000)
            evs.append((idx, 0x81 if rng.getrandbits(1) else 0x01, ms))
        out += dnp3.binary_events(sorted(evs, key=lambda e: e[2]))
    n_ana = rng.choice((0, 0, 1, 2, 3))
    if n_ana:
        idxs = sorted(rng.sample(range(N_ANALOG), n_ana))
        out += dnp3.analog_events([(i, image.measurement(i, t_us)) for i in idxs])
    return out


@dataclass
class Dnp3PollSpec:
    name: str
    master: Host
    outstation: Host
    start_us: int
    end_us: int
    event_period_us: int = 5 * SECOND
    integrity_period_us: int = 60 * SECOND
    frames_per_segment: int = 0
    select_operate_every: int = 0  # every n-th event poll is followed by SELECT/OPERATE (g12v1)
    direct_operate_every: int = 0  # every n-th event poll is followed by DIRECT OPERATE (g41v2)
    link_status_every: int = 0  # every n-th event poll is preceded by a link status check
    crob_indices: tuple[int, ...] = tuple(range(8))  # the g12v1 points SELECT/OPERATE picks
    analog_indices: tuple[int, ...] = tuple(range(4))  # the g41v2 points DIRECT OPERATE picks
    restart_iin_from_us: int = 0  # from then on the outstation reports IIN1.7 until cleared
    encap: Encap = PLAIN
    close_at_end: bool = False  # FIN teardown when the activity ends


def dnp3_master(ctx: Ctx, spec: Dnp3PollSpec) -> Iterator[Item]:
    """Connect, integrity poll, then class 1/2/3 event polls; integrity poll every minute."""
    rng = ctx.rng(spec.name)
    image = ctx.image(spec.outstation)
    conn = ctx.connect(spec.master, spec.outstation, 20000, rng, spec.encap)
    sess = Dnp3Session(
        conn, rng, DNP3_MASTER_ADDR, dnp3_address(spec.outstation), spec.frames_per_segment
    )
    t = yield from conn.handshake(spec.start_us, rng.randrange(200, 900), rng.randrange(80, 300))
    t += rng.randrange(2 * MS, 6 * MS)
    next_integrity = t
    polls = 0
    restart_cleared = False
    while t < spec.end_us:
        start = t
        epoch_ms = t // 1000
        restarted = spec.restart_iin_from_us and t >= spec.restart_iin_from_us
        iin = dnp3.IIN1_DEVICE_RESTART if restarted and not restart_cleared else 0
        if spec.link_status_every and polls % spec.link_status_every == spec.link_status_every - 1:
            t = yield from sess.link_status(t)
            t += rng.randrange(5 * MS, 20 * MS)
        evs = events(rng, image, t, epoch_ms)
        if t >= next_integrity:
            objs = dnp3.class_objects((1, 2, 3, 0))
            answer = evs + static_data(image, t)
            next_integrity += spec.integrity_period_us
        else:
            objs = dnp3.class_objects((1, 2, 3))
            answer = evs
        t = yield from sess.request(t, dnp3.FC_READ, objs, answer, iin, con=bool(evs))
        if iin:
            t += rng.randrange(5 * MS, 15 * MS)
            t = yield from sess.request(t, dnp3.FC_WRITE, dnp3.clear_restart_iin(), b"")
            restart_cleared = True
        polls += 1
        if spec.select_operate_every and polls % spec.select_operate_every == 0:
            t = yield from _select_operate(sess, rng, t, spec.crob_indices)
        if spec.direct_operate_every and polls % spec.direct_operate_every == 0:
            t += rng.randrange(200 * MS, 900 * MS)
            obj = dnp3.analog_output16(rng.choice(spec.analog_indices), rng.randrange(0, 1000))
            t = yield from sess.request(t, dnp3.FC_DIRECT_OPERATE, obj, obj)
        t_next = start + spec.event_period_us + rng.randrange(-50 * MS, 50 * MS)
        # e.g. the outstation acknowledges the master's confirm after its delayed-ACK timer
        yield from conn.delayed_acks(t, t_next - t)
        t = max(t_next, t + 300 * MS)
    if spec.close_at_end:
        yield from conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))


def _select_operate(
    sess: Dnp3Session, rng: random.Random, t: int, indices: tuple[int, ...]
) -> Timed:
    t += rng.randrange(300 * MS, 1200 * MS)
    obj = dnp3.crob(rng.choice(indices), rng.choice((0x41, 0x81)), 1000, 0)
    t = yield from sess.request(t, dnp3.FC_SELECT, obj, obj)
    t += rng.randrange(20 * MS, 80 * MS)
    return (yield from sess.request(t, dnp3.FC_OPERATE, obj, obj))


def dnp3_udp(
    ctx: Ctx,
    name: str,
    master: Host,
    outstation: Host,
    start_us: int,
    polls: int,
    period_us: int,
    encap: Encap = PLAIN,
) -> Iterator[Item]:
    """DNP3 over UDP port 20000: one datagram per fragment, the whole response in one."""
    rng = ctx.rng(name)
    image = ctx.image(outstation)
    out = ctx.links.get(master, outstation, encap)
    back = ctx.links.get(outstation, master, encap)
    framer = Dnp3Framer(rng, DNP3_MASTER_ADDR, dnp3_address(outstation))
    ip_m, ip_o = rng.randrange(1, 0xFFFF), rng.randrange(1, 0xFFFF)
    t = start_us
    yield (t, f"DNP3 over UDP {master.name} -> {outstation.name}")
    for n in range(polls):
        seq = framer.next_seq()
        classes = (1, 2, 3, 0) if n == 0 else (1, 2, 3)
        req = b"".join(
            framer.master_frames(dnp3.request(seq, dnp3.FC_READ, dnp3.class_objects(classes)))
        )
        yield (t, out.udp(20000, 20000, req, ip_m))
        evs = events(rng, image, t, t // 1000)
        answer = evs + (static_data(image, t) if n == 0 else b"")
        t += rng.randrange(5 * MS, 20 * MS)
        resp = b"".join(framer.outstation_frames(dnp3.response(seq, 0, answer, bool(evs))))
        yield (t, back.udp(20000, 20000, resp, ip_o))
        ip_m, ip_o = (ip_m + 1) & 0xFFFF, (ip_o + 1) & 0xFFFF
        if evs:
            t += rng.randrange(1 * MS, 4 * MS)
            yield (
                t,
                out.udp(20000, 20000, b"".join(framer.master_frames(dnp3.confirm(seq))), ip_m),
            )
            ip_m = (ip_m + 1) & 0xFFFF
        t += period_us
