"""The short attack captures of pcaps/attacks/: one attack each, on normal operation.

Each capture is a stretch of the plant's normal traffic (``normal.normal_stretch``: no
edge cases, writes only where plant_baseline wrote, so the normal part holds nothing a
monitor that learnt plant_baseline.pcap has not seen) from its own start time on
2026-01-06, plus one attack that starts 20-30 s in. Every attack step yields a timeline
note (``gen_plant.py --timeline``), which the capture's README (pcaps/attacks/<name>.md)
lists with its frame number and time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import dnp3, s7
from . import modbus as mb
from . import plant as P
from .act_dnp3 import Dnp3Session
from .act_modbus import one_shot
from .act_modbus_script import MbSession
from .act_recon import arp_sweep, ssh_probe
from .act_s7 import SZL_001C, SZL_0011, S7Session
from .act_s7_script import S7Script
from .attack import block_bytes, s7_download
from .background import arp_exchange
from .normal import normal_stretch
from .plant import Host
from .tcp import Item
from .timeline import MS, SECOND, Ctx
from .wire import BASE_EPOCH_US

HOUR = 3600 * SECOND
DAY2 = BASE_EPOCH_US + 24 * HOUR  # 2026-01-06 08:00:00 UTC
ROGUE = P.ROGUE
PG = 1  # connection type of a programming device in the called TSAP


def tsap(value: int) -> bytes:
    return struct.pack("!H", value)


def arp_for(intruder: Host, target: Host, t: int) -> Iterator[Item]:
    """A host new on the segment asks for a target's MAC before it connects."""
    yield (t, f"{intruder.name} ({intruder.ip}, {intruder.mac}) ARPs for {target.name}")
    yield from arp_exchange(t, intruder, target)


def connection_note(t: int, text: str, rest: Iterator[Item]) -> Iterator[Item]:
    """``text`` as a note on the first frame of ``rest`` (a session starting at ``t``)."""
    yield (t, text)
    yield from rest


# -- a. rogue-01 stops plc-s7-01 -----------------------------------------------------------


def rogue_s7_stop(ctx: Ctx) -> list[Iterator[Item]]:
    return [_rogue_s7_stop(ctx, ctx.t0 + 25 * SECOND)]


def _rogue_s7_stop(ctx: Ctx, start: int) -> Iterator[Item]:
    r, plc = ROGUE.name, P.PLC_S71
    yield from arp_for(ROGUE, plc, start)
    s = S7Script(ctx, "rogue-01/plc-s7-01", ROGUE, plc)
    rng = s.rng
    t = start + rng.randrange(150 * MS, 400 * MS)
    yield (t, f"{r}: TCP connection to {plc.name}:102")
    t = yield from s.open(
        t,
        tsap(0x0100),
        tsap(s7.tsap(0, 2, PG)),
        0,
        0,
        note=f"{r}: COTP CR (TSAP 0x0100 -> 0x0102), {plc.name} answers CC",
    )
    ref = s.ref()
    t = yield from s.exchange(
        t,
        s7.setup_comm(s7.ROSCTR_JOB, ref, 1, 1, 480),
        s7.setup_comm(s7.ROSCTR_ACK_DATA, ref, 1, 1, 240),
        note=f"{r}: S7 setup communication (PDU 480, {plc.name} answers 240)",
    )
    t = yield from s.pause(t, rng.randrange(400 * MS, 900 * MS))
    ref = s.ref()
    t = yield from s.exchange(
        t,
        s7.plc_stop_job(ref),
        s7.simple_ack(ref, s7.FUNC_PLC_STOP),
        note=f"{r}: S7 PLC STOP (0x29, P_PROGRAM)",
        resp_note=f"{plc.name}: ack-data to PLC STOP (the CPU goes to STOP)",
    )
    t = yield from s.pause(t, rng.randrange(300 * MS, 700 * MS))
    yield (t, f"{r} closes the connection (TCP FIN)")
    yield from s.close(t)


# -- b. ews-01 downloads a block to plc-s7-02 ---------------------------------------------


def ews_download(ctx: Ctx) -> list[Iterator[Item]]:
    return [_ews_download(ctx, ctx.t0 + 25 * SECOND)]


def _ews_download(ctx: Ctx, start: int) -> Iterator[Item]:
    e, plc = P.EWS.name, P.PLC_S72
    rng = ctx.rng("ews-01/download/plc-s7-02")
    sess = S7Session(ctx, ctx.connect(P.EWS, plc, 102, rng), rng)
    yield (start, f"{e}: S7 session to {plc.name} (COTP CR, TSAP 0x0100 -> 0x0101, as PG)")
    t = yield from sess.open(start, 0x0100, s7.tsap(0, 1, PG), 1, 960)
    t += rng.randrange(400 * MS, 900 * MS)
    block = block_bytes(668, 17, kind=0x0C, number=17)
    t = yield from s7_download(sess, t, e, "0C", 17, "FC17", block, 540, 500 * MS)
    t += rng.randrange(300 * MS, 700 * MS)
    yield (t, f"{e} closes the session (TCP FIN)")
    yield from sess.conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))


# -- c. rogue-01 writes coils of plc-mb-01 ------------------------------------------------


def modbus_rogue_write(ctx: Ctx) -> list[Iterator[Item]]:
    return [_modbus_rogue_write(ctx, ctx.t0 + 25 * SECOND)]


def _modbus_rogue_write(ctx: Ctx, start: int) -> Iterator[Item]:
    r, plc = ROGUE.name, P.PLC_MB1
    yield from arp_for(ROGUE, plc, start)
    t = start + 300 * MS
    writes = [
        (1, mb.write_single_coil(0, True), f"{r}: FC 5 write single coil 0 = ON (unit 1)"),
        (
            1,
            mb.write_multiple_coils(0, [False] * 10),
            f"{r}: FC 15 write multiple coils 0-9 = OFF (unit 1)",
        ),
    ]
    session = one_shot(ctx, "rogue-01/plc-mb-01", ROGUE, plc, t, writes, gap_us=1500 * MS)
    yield from connection_note(t, f"{r}: TCP connection to {plc.name}:502", session)


# -- d. hmi-01 writes a register it never writes --------------------------------------------


def hmi_new_range(ctx: Ctx) -> list[Iterator[Item]]:
    h, plc = P.HMI1.name, P.PLC_MB1
    t = ctx.t0 + 25 * SECOND
    writes = [
        (1, mb.write_single_register(40, 1500), f"{h}: FC 6 write single register 40 = 1500"),
        (1, mb.write_single_register(40, 1750), f"{h}: FC 6 write single register 40 = 1750"),
    ]
    session = one_shot(ctx, "hmi-01/plc-mb-01/second", P.HMI1, plc, t, writes, gap_us=4 * SECOND)
    note = f"{h}: a second TCP connection to {plc.name}:502 (its poller's stays open)"
    return [connection_note(t, note, session)]


# -- e. fep-01 disables unsolicited reporting of rtu-02 and restarts it ---------------------

COLD_RESTART_AT = 30 * SECOND


def dnp3_restart(ctx: Ctx) -> list[Iterator[Item]]:
    return [_dnp3_restart(ctx, ctx.t0 + 25 * SECOND, ctx.t0 + COLD_RESTART_AT)]


def _dnp3_restart(ctx: Ctx, start: int, cold_at: int) -> Iterator[Item]:
    m, rtu = P.DNP_MASTER.name, P.RTU2
    rng = ctx.rng("fep-01/rtu-02/second")
    conn = ctx.connect(P.DNP_MASTER, rtu, 20000, rng)
    sess = Dnp3Session(conn, rng, P.DNP3_MASTER_ADDR, P.dnp3_address(rtu))
    yield (start, f"{m}: a second TCP connection to {rtu.name}:20000 (master 1, outstation 11)")
    t = yield from conn.handshake(start, rng.randrange(300, 900), rng.randrange(100, 300))
    t += rng.randrange(20 * MS, 80 * MS)
    yield (t, f"{m}: DNP3 DISABLE UNSOLICITED (21) g60v2, g60v3, g60v4 to {rtu.name}")
    objects = dnp3.class_objects((1, 2, 3))
    t = yield from sess.request(t, dnp3.FC_DISABLE_UNSOLICITED, objects, b"")
    yield from conn.delayed_acks(t, cold_at - t)
    t = cold_at
    yield (t, f"{m}: DNP3 COLD RESTART (13) to {rtu.name}, answered g52v2 time delay 4000 ms")
    t = yield from sess.request(t, dnp3.FC_COLD_RESTART, b"", dnp3.time_delay_fine(4000))
    t += rng.randrange(800 * MS, 1500 * MS)
    yield (t, f"{m} closes the second connection (TCP FIN)")
    yield from conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))


# -- f. intranet-01 (enterprise network) opens SSH to plc-mb-03 ----------------------------


def enterprise_ssh(ctx: Ctx) -> list[Iterator[Item]]:
    return [ssh_probe(ctx, "intranet-01/ssh", P.INTRANET, P.PLC_MB3, ctx.t0 + 25 * SECOND)]


# -- g. rogue-01: Modbus function-code scan, S7 SZL sweep ---------------------------------

SCAN_PAYLOAD = b"\x00\x00\x00\x01"
# what plc-mb-02 (Modicon M580) answers to FC n + 00 00 00 01: reads of one bit or register
# at 0 and the write of 1 to holding register 0 succeed, FC 8 sub-function 0 (return query
# data) is echoed, FC 17 answers the server id; the other supported codes reject the
# request (FC 5: value 0x0001 is neither ON nor OFF; FC 15, 16, 22, 23: too short; FC 43:
# MEI type 0 unknown; FC 90: UMAS function 0x00 unknown, error answer 0xFD); anything else
# is exception 1 (illegal function)
SCAN_ANSWERED = (1, 2, 3, 4, 6, 8, 17)
SCAN_REJECTED = {5: 3, 15: 3, 16: 3, 22: 3, 23: 3, 43: 1}
SCAN_NOTES = {
    1: "rogue-01: Modbus function-code scan of plc-mb-02, FC 1-127 with 00 00 00 01",
    5: "rogue-01: FC 5, answered exception 3 (value 0x0001 is neither ON nor OFF)",
    6: "rogue-01: FC 6, accepted: plc-mb-02 writes 1 to holding register 0 and echoes it",
    8: "rogue-01: FC 8 sub-function 0 (return query data), echoed",
    17: "rogue-01: FC 17 report server id, answered",
    43: "rogue-01: FC 43 MEI type 0, answered exception 1",
    90: "rogue-01: FC 90 UMAS function 0x00, answered error 0xFD",
    127: "rogue-01: FC 127, the last probe, answered exception 1",
}

# SZL sweep: (id, index) in the order read; None: the CPU does not know it (the answer
# carries error 0xD401 and return code 0x0A)
SZL_SWEEP = ((0x0000, 0), (0x0011, 0), (0x001C, 0), (0x0131, 1))
SZL_SWEEP += ((0x0232, 4), (0x0424, 0), (0x0074, 0), (0x0111, 1))

# every SZL id each CPU lists in SZL 0x0000
SZL_IDS = {
    "plc-s7-01": (
        0x0000, 0x0011, 0x0012, 0x0013, 0x0014, 0x0015, 0x0017, 0x0018, 0x0019, 0x001C,
        0x0022, 0x0025, 0x0037, 0x0074, 0x0091, 0x0092, 0x0094, 0x00A0, 0x00B1, 0x00B2,
        0x0111, 0x0112, 0x0117, 0x011C, 0x0131, 0x0132, 0x0174, 0x0222, 0x0232, 0x0292,
        0x0424, 0x0524, 0x0591, 0x0632, 0x0A91, 0x0C91, 0x0D91,
    ),
    "plc-s7-02": (
        0x0000, 0x0011, 0x0012, 0x001C, 0x0037, 0x0074, 0x0091, 0x0092, 0x0094, 0x0111,
        0x011C, 0x0174, 0x0424, 0x0A91, 0x0D91,
    ),
}  # fmt: skip
# LED records of SZL 0x0074: LED id, on, flashing (S7-300: SF, INTF, EXTF, RUN, STOP,
# FRCE, BUSF1, BUSF2; S7-1500: RUN/STOP, ERROR, MAINT)
LEDS = {
    "plc-s7-01": ((1, 0, 0), (2, 0, 0), (3, 0, 0), (4, 1, 0), (5, 0, 0), (6, 0, 0)),
    "plc-s7-02": ((4, 1, 0), (1, 0, 0), (0x15, 0, 0)),
}
LEDS["plc-s7-01"] += ((0x0B, 0, 0), (0x0C, 0, 0))


def szl_records(plc: str, szl_id: int) -> list[bytes] | None:
    """The records a CPU answers for an SZL id (None: it does not know the id)."""
    if szl_id not in SZL_IDS[plc] and szl_id & 0x00FF not in SZL_IDS[plc]:
        return None
    if szl_id == 0x0000:
        return [struct.pack("!H", i) for i in SZL_IDS[plc]]
    if szl_id == 0x0011:
        return SZL_0011[plc]
    if szl_id == 0x0111:
        return SZL_0011[plc][:1]
    if szl_id == 0x001C:
        return SZL_001C[plc]
    if szl_id == 0x0131:
        # communication capability, general data: index 1, max PDU, max connections,
        # MPI and K-bus rates (bit/s), 26 reserved bytes
        return [struct.pack("!HHHII", 1, 240, 16, 187_500, 187_500) + bytes(26)]
    if szl_id == 0x0232:
        # protection level: index 4, by key switch (1), parameterized (1), valid (1),
        # mode selector RUN (1), startup switch (0), 28 reserved bytes
        return [struct.pack("!HHHHHH", 4, 1, 1, 1, 1, 0) + bytes(28)]
    if szl_id == 0x0424:
        # current mode RUN (0x08) since the warm restart event 0x4304 this morning
        mode = struct.pack("!HBB", 0x4304, 0xFF, 0x08) + bytes(8)
        return [mode + s7.s7_timestamp(2026, 1, 6, 5, 12, 40, 118, 3)[2:]]
    if szl_id == 0x0074:
        return [struct.pack("!HBB", *led) for led in LEDS[plc]]
    raise ValueError(f"no records for SZL {szl_id:#06x}")


def recon_scan(ctx: Ctx) -> list[Iterator[Item]]:
    t0 = ctx.t0
    targets = [P.PLC_MB2, P.PLC_S71, P.PLC_S72]
    return [
        arp_sweep(ctx, "rogue-01/arp", ROGUE, targets, t0 + 20 * SECOND),
        _fc_scan(ctx, t0 + 22 * SECOND),
        _szl_sweep(ctx, P.PLC_S71, 2, 240, t0 + 32 * SECOND),
        _szl_sweep(ctx, P.PLC_S72, 1, 480, t0 + 36 * SECOND),
    ]


def _fc_scan(ctx: Ctx, start: int) -> Iterator[Item]:
    r, plc = ROGUE.name, P.PLC_MB2
    s = MbSession(ctx, "rogue-01/fc-scan", ROGUE, plc)
    yield (start, f"{r}: TCP connection to {plc.name}:502")
    t = yield from s.open(start)
    for fc in range(1, 128):
        request = bytes((fc,)) + SCAN_PAYLOAD
        if fc in SCAN_ANSWERED:
            response = b""  # the server model answers
        elif fc == mb.UMAS:
            response = mb.umas_response(0, False, b"\x80\x00")
        else:
            response = mb.exception(fc, SCAN_REJECTED.get(fc, mb.ILLEGAL_FUNCTION))
        t = yield from s.exchange(t, 1, request, response, note=SCAN_NOTES.get(fc, ""))
        t += s.rng.randrange(4 * MS, 15 * MS)
    yield (t, f"{r} closes the scan connection (TCP FIN)")
    yield from s.close(t)


def _szl_sweep(ctx: Ctx, plc: Host, slot: int, pdu: int, start: int) -> Iterator[Item]:
    r = ROGUE.name
    s = S7Script(ctx, f"rogue-01/szl/{plc.name}", ROGUE, plc)
    yield (start, f"{r}: S7 session to {plc.name} (TSAP 0x0100 -> 0x010{slot}, PDU {pdu})")
    t = yield from s.open(start, tsap(0x0100), tsap(s7.tsap(0, slot, PG)), 480, pdu)
    for szl_id, index in SZL_SWEEP:
        t += s.rng.randrange(20 * MS, 60 * MS)
        records = szl_records(plc.name, szl_id)
        text = f"{r}: read SZL {szl_id:#06x} index {index:#06x} of {plc.name}"
        if records is None:
            req = s7.octets(struct.pack("!HH", szl_id, index))
            t = yield from s.userdata(
                t,
                s7.GROUP_CPU,
                s7.SUBF_READ_SZL,
                req,
                s7.NO_DATA,
                err=0xD401,
                note=f"{text}: error 0xD401 (SZL id not available)",
            )
        else:
            note = f"{text}: {len(records)} record{'s' * (len(records) > 1)}"
            t = yield from s.szl(t, szl_id, index, records, note=note)
    t = yield from s.pause(t, s.rng.randrange(100 * MS, 300 * MS))
    yield from s.close(t)


# -- h. ews-01 stops both S7 CPUs with segmented PDUs -------------------------------------


def s7_stop_evasion(ctx: Ctx) -> list[Iterator[Item]]:
    return [
        _stop_tiny_segments(ctx, ctx.t0 + 25 * SECOND),
        _stop_cotp_segments(ctx, ctx.t0 + 33 * SECOND),
    ]


def _stop_tiny_segments(ctx: Ctx, start: int) -> Iterator[Item]:
    e, plc = P.EWS.name, P.PLC_S71
    s = S7Script(ctx, "ews-01/stop/plc-s7-01", P.EWS, plc)
    rng = s.rng
    yield (start, f"{e}: S7 session to {plc.name} (TSAP 0x0100 -> 0x0102, PDU 960 -> 240)")
    t = yield from s.open(start, tsap(0x0100), tsap(s7.tsap(0, 2, PG)), 960, 240)
    t = yield from s.pause(t, rng.randrange(300 * MS, 700 * MS))
    ref = s.ref()
    stop = s.tpkts(s7.plc_stop_job(ref))
    cuts, at = [], rng.randrange(1, 4)
    while at < len(stop):
        cuts.append(at)
        at += rng.randrange(1, 4)
    t = yield from s.exchange(
        t,
        s7.plc_stop_job(ref),
        s7.simple_ack(ref, s7.FUNC_PLC_STOP),
        req_cuts=cuts,
        note=(
            f"{e}: S7 PLC STOP (0x29): its {len(stop)} bytes of TPKT, COTP and S7 in "
            f"{len(cuts) + 1} TCP segments of 1-3 bytes"
        ),
        resp_note=f"{plc.name}: ack-data to PLC STOP",
    )
    t = yield from s.pause(t, rng.randrange(300 * MS, 700 * MS))
    yield from s.close(t)


def _stop_cotp_segments(ctx: Ctx, start: int) -> Iterator[Item]:
    e, plc = P.EWS.name, P.PLC_S72
    s = S7Script(ctx, "ews-01/stop/plc-s7-02", P.EWS, plc)
    rng = s.rng
    yield (start, f"{e}: S7 session to {plc.name} (TSAP 0x0100 -> 0x0101, PDU 960)")
    t = yield from s.open(start, tsap(0x0100), tsap(s7.tsap(0, 1, PG)), 960, 960)
    t = yield from s.pause(t, rng.randrange(300 * MS, 700 * MS))
    ref = s.ref()
    pdu = s7.plc_stop_job(ref)
    tpdus = s7.cotp_dts(pdu, 10)  # 10 + 10 + 6 bytes of S7 PDU, EOT on the last
    yield (
        t,
        f"{e}: S7 PLC STOP (0x29): its {len(pdu)}-byte S7 PDU in three COTP DT TPDUs "
        "(EOT only on the last), one TPKT per TCP segment",
    )
    t = yield from s.write(t, True, tpdus, (17, 34))
    t += rng.randrange(*s.latency)
    yield (t, f"{plc.name}: ack-data to PLC STOP")
    t = yield from s.write(t, False, s.tpkts(s7.simple_ack(ref, s7.FUNC_PLC_STOP)))
    t = yield from s.pause(t, rng.randrange(300 * MS, 700 * MS))
    yield from s.close(t)


# -- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttackCapture:
    """A capture of pcaps/attacks/: normal operation plus ``attack`` from ``t0``."""

    t0: int
    duration_us: int
    attack: Callable[[Ctx], list[Iterator[Item]]]
    # outstation -> microseconds after t0 it restarts (reports IIN1.7 until cleared)
    restarts: dict[str, int] = field(default_factory=dict)

    def normal(self, ctx: Ctx) -> list[Iterator[Item]]:
        """The normal part alone (no attack and none of its consequences)."""
        return normal_stretch(ctx, ctx.t0, self.duration_us)

    def build(self, ctx: Ctx) -> list[Iterator[Item]]:
        restarts = {name: ctx.t0 + at for name, at in self.restarts.items()}
        return normal_stretch(ctx, ctx.t0, self.duration_us, restarts) + self.attack(ctx)


ATTACKS: dict[str, AttackCapture] = {
    "attack_rogue_s7_stop": AttackCapture(DAY2, 60 * SECOND, rogue_s7_stop),
    "attack_ews_download": AttackCapture(DAY2 + 1 * HOUR, 60 * SECOND, ews_download),
    "attack_modbus_rogue_write": AttackCapture(DAY2 + 2 * HOUR, 60 * SECOND, modbus_rogue_write),
    "attack_hmi_new_range": AttackCapture(DAY2 + 3 * HOUR, 60 * SECOND, hmi_new_range),
    "attack_dnp3_restart": AttackCapture(
        DAY2 + 4 * HOUR, 60 * SECOND, dnp3_restart, {P.RTU2.name: COLD_RESTART_AT}
    ),
    "attack_enterprise_ssh": AttackCapture(DAY2 + 5 * HOUR, 60 * SECOND, enterprise_ssh),
    "attack_recon_scan": AttackCapture(DAY2 + 6 * HOUR, 75 * SECOND, recon_scan),
    "attack_s7_stop_evasion": AttackCapture(DAY2 + 7 * HOUR, 60 * SECOND, s7_stop_evasion),
}
