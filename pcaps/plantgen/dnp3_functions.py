"""dnp3_functions: a small coverage capture for the DNP3 dissector.

The SCADA front end fep-01 (DNP3 master, link address 1) talks DNP3 over TCP port 20000
to two outstations, rtu-01 (address 10, SEL-3530 RTAC) and rtu-02 (address 11), and over
UDP port 20000 to rtu-03 (address 12, GE D20MX). Between them the sessions carry the link
layer's request link status and reset link states, integrity polls (READ class 1, 2, 3,
0) answered with static data of every common type (g1v2, g10v2, g20v1, g20v5, g21v1,
g30v1, g30v5, g40v1), event polls answered with g2v2, g22v1, g32v1 and g32v7 events and
confirmed, SELECT/OPERATE and DIRECT_OPERATE of CROBs (g12v1) and analog outputs (g41v2,
g41v3), DIRECT_OPERATE_NR, time synchronisation (DELAY_MEASURE and WRITE g50v1 after IIN1.4;
RECORD_CURRENT_TIME and WRITE g50v3), COLD_RESTART and WARM_RESTART with IIN1.7 cleared by
a WRITE of g80v1, unsolicited responses (ENABLE/DISABLE_UNSOLICITED, confirms with UNS
set), a device attribute read (g0v254), counter freezes (IMMED_FREEZE, FREEZE_CLEAR) and
ASSIGN_CLASS. Framing edge cases: a fragment of three transport segments, two link frames
of different fragments in one TCP segment, link frames cut across TCP segments, a link
frame whose data-block CRC is wrong (a flipped bit in an unsolicited response: the master
drops it and sends no confirm, the outstation repeats it after its confirm timeout), a
request never answered, and a UDP datagram of two link frames. Every edge case yields a
timeline note (``gen_plant.py --timeline``).

Sequence numbers follow IEEE 1815: a solicited response and its confirm carry the request's
application sequence number; unsolicited responses (and their confirms, UNS set) count in
their own sequence space, and a repeated unsolicited response keeps its number.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import dnp3
from . import plant as P
from .act_dnp3 import Dnp3Framer
from .act_modbus_script import CUT_GAP_US, cut
from .plant import Host
from .process import ProcessImage
from .tcp import Item, TcpConn, Timed
from .timeline import MS, SECOND, Ctx

UNSOLICITED_CONFIRM_TIMEOUT = 5 * SECOND  # rtu-01 repeats an unconfirmed unsolicited response
RESPONSE_TIMEOUT = 5 * SECOND  # fep-01 gives up on a request after this
CLASSES_123 = dnp3.class_objects((1, 2, 3))
CLASSES_1230 = dnp3.class_objects((1, 2, 3, 0))


def corrupt(frame: bytes, offset: int, bit: int = 0x04) -> bytes:
    """A link frame with one bit of a user-data octet flipped: that data block's CRC no
    longer matches (the header and the other blocks stay valid)."""
    assert offset >= 10 and (offset - 10) % 18 < 16, "not a user-data octet"
    return frame[:offset] + bytes((frame[offset] ^ bit,)) + frame[offset + 1 :]


class Dnp3Script:
    """One DNP3 association over one TCP connection (fep-01 the client), scripted."""

    def __init__(self, ctx: Ctx, name: str, outstation: Host, frames_per_segment: int = 0):
        self.rng: random.Random = ctx.rng(name)
        self.conn: TcpConn = ctx.connect(P.DNP_MASTER, outstation, 20000, self.rng)
        self.image: ProcessImage = ctx.image(outstation)
        self.addr = P.dnp3_address(outstation)
        self.framer = Dnp3Framer(self.rng, P.DNP3_MASTER_ADDR, self.addr)
        self.uns_seq = self.rng.randrange(16)  # the outstation's unsolicited sequence
        self.iin = 0  # IIN the outstation reports (IIN1 low byte, IIN2 high byte)
        # 0: a fragment's link frames in one TCP segment; 1: one frame per TCP segment
        self.frames_per_segment = frames_per_segment
        self.latency = (4 * MS, 18 * MS)
        self.pending = b""  # a confirm written together with the next request

    # -- bytes on the wire -------------------------------------------------------------

    def write(self, t: int, from_master: bool, data: bytes, cuts: Sequence[int] = ()) -> Timed:
        """Bytes as one TCP segment, or cut in several; returns the time of the last one."""
        parts = cut(data, cuts)
        yield from self.conn.send_parts(t, from_master, parts, CUT_GAP_US)
        return t + CUT_GAP_US * (len(parts) - 1)

    def master(self, apdu: bytes) -> bytes:
        return b"".join(self.framer.master_frames(apdu))

    def outstation(self, t: int, apdu: bytes, cuts: Sequence[int] = ()) -> Timed:
        frames = self.framer.outstation_frames(apdu)
        if self.frames_per_segment == 1 and len(frames) > 1:
            assert not cuts
            for i, frame in enumerate(frames):
                yield self.conn.send(t + i * 180, False, frame)
            return t + (len(frames) - 1) * 180
        return (yield from self.write(t, False, b"".join(frames), cuts))

    # -- link layer ------------------------------------------------------------------------

    def open(self, t: int, note: str = "") -> Timed:
        rng = self.rng
        if note:
            yield (t, note)
        t = yield from self.conn.handshake(t, rng.randrange(200, 900), rng.randrange(80, 300))
        return t + rng.randrange(2 * MS, 6 * MS)

    def link(self, t: int, req_ctrl: int, resp_ctrl: int, note: str = "") -> Timed:
        """A link-layer request without user data and the outstation's answer."""
        if note:
            yield (t, note)
        yield self.conn.send(t, True, dnp3.link_frame(req_ctrl, self.addr, P.DNP3_MASTER_ADDR))
        t += self.rng.randrange(3 * MS, 9 * MS)
        yield self.conn.send(t, False, dnp3.link_frame(resp_ctrl, P.DNP3_MASTER_ADDR, self.addr))
        return t

    # -- application layer -----------------------------------------------------------------

    def exchange(
        self,
        t: int,
        func: int,
        objects: bytes = b"",
        answer: bytes | None = b"",
        *,
        iin: int | None = None,
        con: bool = False,
        defer_confirm: bool = False,
        latency: int = 0,
        resp_cuts: Sequence[int] = (),
        note: str = "",
        resp_note: str = "",
    ) -> Timed:
        """A request and its solicited response (same sequence number), confirmed when
        ``con``. ``answer`` None: no response (DIRECT_OPERATE_NR, or an outstation that
        never answers; only its TCP ACK). ``defer_confirm``: the confirm goes out in the
        same TCP segment as the next request. A pending confirm goes first."""
        seq = self.framer.next_seq()
        if note:
            yield (t, note)
        data, self.pending = self.pending + self.master(dnp3.request(seq, func, objects)), b""
        t = yield from self.write(t, True, data)
        if answer is None:
            delay = self.conn.s.host.stack.delack_us
            ack = self.conn.ack(t + delay, False)
            if ack is not None:
                yield ack
                t = ack[0]
            return t
        t += latency or self.rng.randrange(*self.latency)
        if resp_note:
            yield (t, resp_note)
        apdu = dnp3.response(seq, self.iin if iin is None else iin, answer, con)
        t = yield from self.outstation(t, apdu, resp_cuts)
        if con:
            confirm = self.master(dnp3.confirm(seq))
            if defer_confirm:
                self.pending = confirm
            else:
                t += self.rng.randrange(1 * MS, 4 * MS)
                t = yield from self.write(t, True, confirm)
        return t

    def unsolicited(
        self,
        t: int,
        objects: bytes,
        *,
        corrupt_at: int = 0,
        note: str = "",
        confirm_note: str = "",
    ) -> Timed:
        """An unsolicited response (0x82, CON and UNS set) in the outstation's own sequence
        space, and the master's confirm (UNS set, the same number). ``corrupt_at``: flip a
        bit of that frame octet; the master drops the frame and sends no confirm, and the
        sequence number stays for the repetition."""
        seq = self.uns_seq
        if note:
            yield (t, note)
        frames = self.framer.outstation_frames(dnp3.unsolicited(seq, self.iin, objects))
        if corrupt_at:
            assert len(frames) == 1
            frames = [corrupt(frames[0], corrupt_at)]
        t = yield from self.write(t, False, b"".join(frames))
        if corrupt_at:
            return t
        self.uns_seq = (seq + 1) & 0x0F
        t += self.rng.randrange(1 * MS, 4 * MS)
        if confirm_note:
            yield (t, confirm_note)
        return (yield from self.write(t, True, self.master(dnp3.confirm(seq, uns=True))))

    def poll(self, t: int, events: bytes = b"", **kw: Any) -> Timed:
        """An event poll (READ class 1, 2, 3), answered with ``events`` (CON, confirmed)."""
        return (
            yield from self.exchange(t, dnp3.FC_READ, CLASSES_123, events, con=bool(events), **kw)
        )

    def polling(
        self, t: int, until: int, events: Callable[[int], bytes], period: int = 2 * SECOND
    ) -> Timed:
        """Event polls every ``period`` (+-40 ms) while the next would start before
        ``until``; ``events(t)`` gives each answer's events. Returns the next poll time."""
        while t < until:
            start = t
            t = yield from self.poll(t, events(t))
            t = yield from self.pause(t, start + period + self.rng.randrange(-40 * MS, 40 * MS) - t)
        return t

    def pause(self, t: int, gap_us: int) -> Timed:
        """Idle for ``gap_us``: the delayed ACKs that fire meanwhile, then the next time."""
        yield from self.conn.delayed_acks(t, gap_us)
        return t + gap_us

    def close(self, t: int) -> Timed:
        rng = self.rng
        items: list[Item] = self.conn.close(
            t, True, rng.randrange(300, 2000), rng.randrange(100, 400)
        )
        yield from items
        return items[-1][0]


# -- values ------------------------------------------------------------------------------


def _flags(bits: list[bool]) -> list[int]:
    """Binary flags: ONLINE, state in bit 7."""
    return [0x81 if b else 0x01 for b in bits]


def _analog_flags(index: int) -> int:
    """ONLINE, except a few points: 0x21 over-range (index 5), 0x05 comm lost (index 17),
    0x11 local forced (index 30)."""
    return {5: 0x21, 17: 0x05, 30: 0x11}.get(index, 0x01)


def static_rtu01(image: ProcessImage, t: int) -> bytes:
    """rtu-01's class 0 data: 518 bytes with the response header (three transport
    segments): 64 binary inputs, 16 binary outputs, counters 0-7 with flag and 8-15
    without, 8 frozen counters, 40 analog inputs (2-byte range), 12 floats, 4 setpoints."""
    analogs = image.registers(0, 40, t, False)
    floats = image.registers(40, 12, t, False)
    return (
        dnp3.binary_inputs(0, _flags(image.bits(0, 64, t, False)))
        + dnp3.binary_output_status(0, _flags(image.bits(0, 16, t, True)))
        + dnp3.counters(0, [image.counter(i, t) for i in range(8)])
        + dnp3.counters_noflag(8, [image.counter(i, t) for i in range(8, 16)])
        + dnp3.frozen_counters(0, [image.counter(i, t - 900 * SECOND) for i in range(8)])
        + dnp3.analog_inputs_flags(
            0, [(_analog_flags(i), v) for i, v in enumerate(analogs)], wide=True
        )
        + dnp3.analog_inputs_float(40, [(0x01, v / 100) for v in floats])
        + dnp3.analog_output_status(0, image.registers(0, 4, t, True))
    )


def static_rtu02(image: ProcessImage, t: int) -> bytes:
    """rtu-02's class 0 data: 279 bytes with the header (two transport segments)."""
    return (
        dnp3.binary_inputs(0, _flags(image.bits(0, 32, t, False)))
        + dnp3.binary_output_status(0, _flags(image.bits(0, 8, t, True)))
        + dnp3.counters(0, [image.counter(i, t) for i in range(16)])
        + dnp3.analog_inputs_flags(0, [(0x01, v) for v in image.registers(0, 24, t, False)])
        + dnp3.analog_output_status(0, image.registers(0, 2, t, True))
    )


def static_rtu03(image: ProcessImage, t: int) -> bytes:
    """rtu-03's class 0 data: 265 bytes with the header (two transport segments)."""
    return (
        dnp3.binary_inputs(0, _flags(image.bits(0, 16, t, False)))
        + dnp3.counters(0, [image.counter(i, t) for i in range(16)])
        + dnp3.analog_inputs_flags(0, [(0x01, v) for v in image.registers(0, 30, t, False)])
    )


def binary_events(rng: random.Random, t: int, n: int, points: int = 64) -> bytes:
    """``n`` g2v2 events of the last few seconds, oldest first."""
    now = t // 1000
    evs = [
        (rng.randrange(points), 0x81 if rng.getrandbits(1) else 0x01, now - rng.randrange(50, 3000))
        for _ in range(n)
    ]
    return dnp3.binary_events(sorted(evs, key=lambda e: e[2]))


def analog_events(image: ProcessImage, t: int, idxs: list[int]) -> bytes:
    return dnp3.analog_events([(i, image.measurement(i, t)) for i in idxs])


def float_events(image: ProcessImage, rng: random.Random, t: int, idxs: list[int]) -> bytes:
    now = t // 1000
    return dnp3.analog_events_float(
        [(i, 0x01, image.measurement(i, t) / 100, now - rng.randrange(20, 1500)) for i in idxs]
    )


def counter_events(image: ProcessImage, t: int, idxs: list[int]) -> bytes:
    return dnp3.counter_events([(i, image.counter(i, t)) for i in idxs])


def identity(pairs: list[tuple[int, str]]) -> bytes:
    return b"".join(dnp3.device_attribute(var, text) for var, text in pairs)


RTU02_ATTRIBUTES = [
    (dnp3.DA_PRODUCT_NAME, "SEL-3530 RTAC"),
    (dnp3.DA_MANUFACTURER, "Schweitzer Engineering Laboratories"),
    (dnp3.DA_SOFTWARE_VERSION, "R151-V3"),
    (dnp3.DA_HARDWARE_VERSION, "3530#L9X4"),
    (dnp3.DA_SERIAL_NUMBER, "1203480212"),
    (dnp3.DA_USER_DEVICE_NAME, "WTP-RTU-02"),
    (dnp3.DA_USER_LOCATION, "Clearwell pump station"),
    (dnp3.DA_SUBSET_CONFORMANCE, "2:2012"),
]

# CROB control codes: trip/close in bits 7-6, operation in bits 3-0
LATCH_ON = 0x03
PULSE_ON = 0x01


# -- fep-01 -> rtu-01: TCP, each fragment in one TCP segment --------------------------------


def rtu01(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = Dnp3Script(ctx, "fep-01/rtu-01", P.RTU1)
    rng, image = s.rng, s.image

    def step(t: int, lo: int = 150 * MS, hi: int = 400 * MS) -> Timed:
        return (yield from s.pause(t, rng.randrange(lo, hi)))

    def events(t: int) -> bytes:
        """What rtu-01 has collected since the last poll: often nothing."""
        kind = rng.randrange(6)
        if kind == 1:
            return binary_events(rng, t, 1)
        if kind == 2:
            return analog_events(image, t, sorted(rng.sample(range(40), 2)))
        if kind == 3:
            return binary_events(rng, t, 1) + float_events(image, rng, t, [rng.randrange(40, 52)])
        return b""

    t = yield from s.open(
        t0 + 200 * MS, note="DNP3 over TCP 20000: fep-01 (master 1) -> rtu-01 (outstation 10)"
    )
    t = yield from s.link(
        t,
        dnp3.CTRL_MASTER_LINK_STATUS_REQ,
        dnp3.CTRL_OUTSTATION_LINK_STATUS,
        note="link layer: REQUEST_LINK_STATUS (0xC9), LINK_STATUS (0x0B)",
    )
    t = yield from step(t, 5 * MS, 15 * MS)
    t = yield from s.link(
        t,
        dnp3.CTRL_MASTER_RESET_LINK,
        dnp3.CTRL_OUTSTATION_ACK,
        note="link layer: RESET_LINK_STATES (0xC0), ACK (0x00)",
    )
    t = yield from step(t, 5 * MS, 15 * MS)

    s.iin = dnp3.IIN1_NEED_TIME
    static = static_rtu01(image, t)
    t = yield from s.exchange(
        t,
        dnp3.FC_READ,
        CLASSES_1230,
        static,
        latency=rng.randrange(25 * MS, 40 * MS),
        note="integrity poll: READ g60v2, g60v3, g60v4, g60v1 (class 1, 2, 3, 0)",
        resp_note=f"integrity response of {len(static) + 4} bytes in 3 transport segments "
        "(FIR, middle, FIN) in one TCP segment: g1v2, g10v2, g20v1, g20v5, g21v1, g30v1, "
        "g30v5, g40v1; IIN1.4 need time",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        dnp3.FC_DELAY_MEASURE,
        b"",
        dnp3.time_delay_fine(7),
        note="DELAY_MEASURE (23) answered g52v2 time delay fine (7 ms)",
    )
    t = yield from step(t, 3 * MS, 8 * MS)
    s.iin = 0
    t = yield from s.exchange(
        t,
        dnp3.FC_WRITE,
        dnp3.time_and_date(t // 1000 + 7),
        note="WRITE g50v1 time and date (the answer clears IIN1.4)",
    )
    t = yield from step(t, 500 * MS, 900 * MS)
    evs = (
        binary_events(rng, t, 2)
        + counter_events(image, t, [3])
        + analog_events(image, t, [2, 11])
        + float_events(image, rng, t, [40, 44])
    )
    start = t
    t = yield from s.poll(
        t,
        evs,
        note="event poll READ class 1, 2, 3 answered with g2v2, g22v1, g32v1, g32v7 (CON), "
        "then CONFIRM (0)",
    )
    t = yield from s.pause(t, start + 2 * SECOND - t)
    t = yield from s.polling(t, t0 + 5 * SECOND, events)

    crob = dnp3.crob(2, LATCH_ON, 1000, 1000)
    t = yield from s.exchange(
        t,
        dnp3.FC_SELECT,
        crob,
        crob,
        note="SELECT (3) g12v1 CROB index 2 latch on (qualifier 0x28, on 1000 ms, off 1000 ms), "
        "echoed",
    )
    t = yield from step(t, 30 * MS, 70 * MS)
    t = yield from s.exchange(
        t,
        dnp3.FC_OPERATE,
        crob,
        crob,
        iin=dnp3.IIN1_CLASS1_EVENTS,
        note="OPERATE (4) of the same CROB, echoed (IIN1.1: class 1 events)",
    )
    t = yield from step(t, 20 * MS, 60 * MS)
    t = yield from s.exchange(
        t,
        dnp3.FC_READ,
        dnp3.class_objects((1,)),
        binary_events(rng, t, 1, 16),
        con=True,
        defer_confirm=True,
        resp_note="class 1 read answered with the relay's g2v2 event (CON); its CONFIRM goes "
        "out with the next request",
    )
    t = yield from step(t, 60 * MS, 120 * MS)
    start = t
    t = yield from s.poll(
        t, note="two link frames in one TCP segment: CONFIRM (0) and READ class 1, 2, 3"
    )
    t = yield from s.pause(t, start + 2 * SECOND - t)

    pulse = dnp3.crob(4, PULSE_ON, 2000, 0, count=1)
    t = yield from s.exchange(
        t,
        dnp3.FC_DIRECT_OPERATE,
        pulse,
        pulse,
        note="DIRECT_OPERATE (5) g12v1 CROB index 4 pulse on (count 1, on 2000 ms), echoed",
    )
    t = yield from step(t)
    setpoint = dnp3.analog_output16(1, 725)
    t = yield from s.exchange(
        t,
        dnp3.FC_DIRECT_OPERATE,
        setpoint,
        setpoint,
        note="DIRECT_OPERATE (5) g41v2 16-bit analog output index 1 = 725, echoed",
    )
    t = yield from step(t)
    flow = dnp3.analog_output_float(3, 12.75)
    t = yield from s.exchange(
        t,
        dnp3.FC_DIRECT_OPERATE,
        flow,
        flow,
        note="DIRECT_OPERATE (5) g41v3 float analog output index 3 = 12.75, echoed",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        dnp3.FC_DIRECT_OPERATE_NR,
        dnp3.crob(7, PULSE_ON, 500, 0),
        None,
        note="DIRECT_OPERATE_NR (6) g12v1 CROB index 7 pulse on: no response, only a TCP ACK",
    )
    t = yield from step(t, 1200 * MS, 1500 * MS)
    t = yield from s.polling(t, t0 + 11 * SECOND, events)
    start = t
    t = yield from s.poll(
        t,
        analog_events(image, t, [2, 3, 9]),
        resp_cuts=(6,),
        resp_note="response link frame cut across two TCP segments inside its link header "
        "(6 bytes in)",
    )
    t = yield from s.pause(t, start + 2 * SECOND - t)
    t = yield from s.polling(t, t0 + 13 * SECOND, events)

    t = yield from s.exchange(
        t,
        dnp3.FC_ENABLE_UNSOLICITED,
        CLASSES_123,
        note="ENABLE_UNSOLICITED (20) g60v2, g60v3, g60v4",
    )
    t = yield from step(t, 1500 * MS, 2000 * MS)
    t = yield from s.unsolicited(
        t,
        binary_events(rng, t, 1) + float_events(image, rng, t, [41]),
        note="UNSOLICITED_RESPONSE (0x82, UNS and CON set) with g2v2 and g32v7 events",
        confirm_note="CONFIRM (0) of the unsolicited response: UNS set, the same sequence",
    )
    t = yield from step(t, 300 * MS, 600 * MS)
    t = yield from s.polling(t, t0 + 19 * SECOND, lambda _t: b"")
    bad = analog_events(image, t, [4, 12]) + binary_events(rng, t, 1)
    t = yield from s.unsolicited(
        t,
        bad,
        corrupt_at=10 + 18 + 5,
        note="unsolicited response with a wrong data-block CRC (a bit flipped in its second "
        "block): dropped by the master, not confirmed",
    )
    t = yield from s.pause(t, UNSOLICITED_CONFIRM_TIMEOUT)
    t = yield from s.unsolicited(
        t,
        bad,
        note="the same unsolicited response repeated after the 5 s confirm timeout (same "
        "sequence number), confirmed",
    )
    t = yield from step(t, 1200 * MS, 1600 * MS)
    t = yield from s.unsolicited(t, counter_events(image, t, [0, 1]))
    t = yield from step(t, 1000 * MS, 1400 * MS)
    t = yield from s.exchange(
        t,
        dnp3.FC_DISABLE_UNSOLICITED,
        CLASSES_123,
        note="DISABLE_UNSOLICITED (21) g60v2, g60v3, g60v4",
    )
    t = yield from step(t, 1500 * MS, 1900 * MS)
    t = yield from s.polling(t, t0 + 30 * SECOND, events)

    t = yield from s.exchange(
        t,
        dnp3.FC_IMMED_FREEZE,
        dnp3.all_objects(20),
        note="IMMED_FREEZE (7) g20v0 qualifier 0x06 (all counters)",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        dnp3.FC_READ,
        dnp3.all_objects(21),
        dnp3.frozen_counters(0, [image.counter(i, t) for i in range(8)]),
        note="READ g21v0 answered with g21v1 frozen counters",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        dnp3.FC_FREEZE_CLEAR,
        dnp3.all_objects(20),
        note="FREEZE_CLEAR (9) g20v0 qualifier 0x06",
    )
    t = yield from step(t, 1500 * MS, 1900 * MS)
    t = yield from s.poll(t, counter_events(image, t, [0, 1, 2, 3]))
    t = yield from step(t, 1500 * MS, 1900 * MS)
    t = yield from s.polling(t, t0 + 38 * SECOND, events)

    t = yield from s.exchange(
        t,
        dnp3.FC_WARM_RESTART,
        b"",
        dnp3.time_delay_fine(1500),
        note="WARM_RESTART (14) answered g52v2 time delay fine (1500 ms)",
    )
    t = yield from step(t, 2500 * MS, 3000 * MS)
    s.iin = dnp3.IIN1_DEVICE_RESTART
    t = yield from s.poll(t, resp_note="response with IIN1.7 device restart after the warm restart")
    t = yield from step(t, 5 * MS, 15 * MS)
    s.iin = 0
    t = yield from s.exchange(
        t,
        dnp3.FC_WRITE,
        dnp3.clear_restart_iin(),
        note="WRITE g80v1 index 7 = 0 (clear IIN1.7), answered without it",
    )
    t = yield from step(t, 1500 * MS, 1900 * MS)
    t = yield from s.polling(t, t0 + 58 * SECOND, events)
    yield from s.close(t)


# -- fep-01 -> rtu-02: TCP, one link frame per TCP segment -------------------------------


def rtu02(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = Dnp3Script(ctx, "fep-01/rtu-02", P.RTU2, frames_per_segment=1)
    rng, image = s.rng, s.image

    def step(t: int, lo: int = 150 * MS, hi: int = 400 * MS) -> Timed:
        return (yield from s.pause(t, rng.randrange(lo, hi)))

    def events(t: int) -> bytes:
        kind = rng.randrange(4)
        if kind == 1:
            return binary_events(rng, t, 1, 32) + analog_events(image, t, [rng.randrange(24)])
        if kind == 2:
            return analog_events(image, t, [rng.randrange(24)])
        return b""

    t = yield from s.open(
        t0 + 3 * SECOND, note="DNP3 over TCP 20000: fep-01 (master 1) -> rtu-02 (outstation 11)"
    )
    t = yield from s.link(t, dnp3.CTRL_MASTER_LINK_STATUS_REQ, dnp3.CTRL_OUTSTATION_LINK_STATUS)
    t = yield from step(t, 5 * MS, 15 * MS)
    t = yield from s.link(t, dnp3.CTRL_MASTER_RESET_LINK, dnp3.CTRL_OUTSTATION_ACK)
    t = yield from step(t, 5 * MS, 15 * MS)
    static = static_rtu02(image, t)
    t = yield from s.exchange(
        t,
        dnp3.FC_READ,
        CLASSES_1230,
        static,
        latency=rng.randrange(20 * MS, 30 * MS),
        resp_note=f"integrity response of {len(static) + 4} bytes in 2 transport segments, "
        "one link frame per TCP segment",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        dnp3.FC_READ,
        dnp3.all_objects(0, dnp3.DA_ALL_ATTRIBUTES),
        identity(RTU02_ATTRIBUTES),
        note="READ g0v254 (all device attributes, qualifier 0x06) answered with g0v250 "
        "product, g0v252 manufacturer, g0v242 software version and 5 more",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        dnp3.FC_RECORD_CURRENT_TIME,
        note="RECORD_CURRENT_TIME (24), then WRITE g50v3 time at the last recorded time",
    )
    recorded = t // 1000
    t = yield from step(t, 3 * MS, 8 * MS)
    t = yield from s.exchange(t, dnp3.FC_WRITE, dnp3.last_recorded_time(recorded))
    t = yield from step(t)
    targets = dnp3.assign_class(1, dnp3.all_objects(1)) + dnp3.assign_class(
        2, bytes((30, 0, 0x00, 0, 7))
    )
    t = yield from s.exchange(
        t,
        dnp3.FC_ASSIGN_CLASS,
        targets,
        note="ASSIGN_CLASS (22): g60v2 + g1v0 (all binary inputs to class 1), "
        "g60v3 + g30v0 0-7 (analog inputs to class 2)",
    )
    t = yield from step(t, 1500 * MS, 1900 * MS)
    t = yield from s.polling(t, t0 + 10 * SECOND, events)
    start = t
    t = yield from s.poll(
        t,
        analog_events(image, t, [1, 4, 6]),
        resp_cuts=(31,),
        resp_note="response link frame cut across two TCP segments inside its second "
        "data block (31 bytes in)",
    )
    t = yield from s.pause(t, start + 2 * SECOND - t)
    t = yield from s.polling(t, t0 + 22 * SECOND, events)

    t = yield from s.exchange(
        t,
        dnp3.FC_COLD_RESTART,
        b"",
        dnp3.time_delay_coarse(6),
        note="COLD_RESTART (13) answered g52v1 time delay coarse (6 s)",
    )
    t = yield from step(t, 6500 * MS, 7000 * MS)
    s.iin = dnp3.IIN1_DEVICE_RESTART | dnp3.IIN1_NEED_TIME
    t = yield from s.poll(
        t, resp_note="event poll answered with IIN1.7 device restart and IIN1.4 need time"
    )
    t = yield from step(t, 5 * MS, 15 * MS)
    static = static_rtu02(image, t)
    t = yield from s.exchange(
        t,
        dnp3.FC_READ,
        CLASSES_1230,
        static,
        latency=rng.randrange(20 * MS, 30 * MS),
        note="integrity poll after the restart (IIN1.7 still set in the response)",
    )
    t = yield from step(t, 5 * MS, 15 * MS)
    s.iin = dnp3.IIN1_NEED_TIME
    t = yield from s.exchange(
        t,
        dnp3.FC_WRITE,
        dnp3.clear_restart_iin(),
        note="WRITE g80v1 index 7 = 0 (clear IIN1.7)",
    )
    t = yield from step(t, 5 * MS, 15 * MS)
    t = yield from s.exchange(t, dnp3.FC_RECORD_CURRENT_TIME)
    recorded = t // 1000
    t = yield from step(t, 3 * MS, 8 * MS)
    s.iin = 0
    t = yield from s.exchange(t, dnp3.FC_WRITE, dnp3.last_recorded_time(recorded))
    t = yield from step(t, 1500 * MS, 1900 * MS)
    t = yield from s.polling(t, t0 + 47 * SECOND, events)
    t = yield from s.exchange(
        t,
        dnp3.FC_READ,
        CLASSES_123,
        None,
        note="request never answered (READ class 1, 2, 3); fep-01 closes the connection after "
        "its 5 s response timeout",
    )
    t = yield from s.pause(t, RESPONSE_TIMEOUT)
    yield from s.close(t)


# -- fep-01 -> rtu-03: UDP 20000 ---------------------------------------------------------


def rtu03_udp(ctx: Ctx, t0: int) -> Iterator[Item]:
    """One datagram per fragment (its link frames together), port 20000 both ways."""
    rng = ctx.rng("fep-01/rtu-03/udp")
    image = ctx.image(P.RTU3)
    out = ctx.links.get(P.DNP_MASTER, P.RTU3)
    back = ctx.links.get(P.RTU3, P.DNP_MASTER)
    framer = Dnp3Framer(rng, P.DNP3_MASTER_ADDR, P.dnp3_address(P.RTU3))
    ids = [rng.randrange(1, 0xFFFF), rng.randrange(1, 0xFFFF)]

    def send(t: int, from_master: bool, apdu: bytes) -> Item:
        if from_master:
            data, link, i = b"".join(framer.master_frames(apdu)), out, 0
        else:
            data, link, i = b"".join(framer.outstation_frames(apdu)), back, 1
        frame = link.udp(20000, 20000, data, ids[i])
        ids[i] = (ids[i] + 1) & 0xFFFF
        return (t, frame)

    t = t0 + 40 * SECOND
    yield (t, "DNP3 over UDP 20000: fep-01 (master 1) -> rtu-03 (outstation 12)")
    seq = framer.next_seq()
    yield (t, "READ g60v1 (class 0) over UDP, answered by two link frames in one datagram")
    yield send(t, True, dnp3.request(seq, dnp3.FC_READ, dnp3.class_objects((0,))))
    t += rng.randrange(10 * MS, 25 * MS)
    yield send(t, False, dnp3.response(seq, 0, static_rtu03(image, t)))
    t += 2 * SECOND
    while t < t0 + 60 * SECOND:
        seq = framer.next_seq()
        yield send(t, True, dnp3.request(seq, dnp3.FC_READ, CLASSES_123))
        evs = b""
        if rng.randrange(3) == 0:
            evs = binary_events(rng, t, 1, 16) + analog_events(image, t, [rng.randrange(30)])
        start = t
        t += rng.randrange(5 * MS, 15 * MS)
        yield send(t, False, dnp3.response(seq, 0, evs, con=bool(evs)))
        if evs:
            t += rng.randrange(1 * MS, 4 * MS)
            yield send(t, True, dnp3.confirm(seq))
        t = start + 2 * SECOND + rng.randrange(-40 * MS, 40 * MS)


def build(ctx: Ctx) -> list[Iterator[Item]]:
    t0 = ctx.t0
    return [rtu01(ctx, t0), rtu02(ctx, t0), rtu03_udp(ctx, t0)]
