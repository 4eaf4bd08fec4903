"""plant_attack: the same plant six hours later, with an intrusion from a rogue host.

Every attack step yields a timeline note; ``gen_plant.py --timeline`` prints them with the
frame number and packet time that pcaps/README.md lists.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from . import dnp3, s7
from . import modbus as mb
from . import plant as P
from .act_dnp3 import Dnp3Session
from .act_modbus import PollSpec, one_shot, poller
from .act_recon import arp_sweep, ssh_probe, syn_scan
from .act_s7 import SZL_0011, S7Session
from .background import http_session
from .baseline import normal_activities
from .tcp import Item, Timed
from .timeline import MS, SECOND, Ctx

DURATION_US = 240 * SECOND
ROGUE = P.ROGUE

# targets of the scan and their open ports
SCAN_TARGETS = (
    (P.PLC_MB1, (502, 80)),
    (P.PLC_MB2, (502,)),
    (P.PLC_MB3, (502, 22)),
    (P.PLC_S71, (102,)),
    (P.PLC_S72, (102, 80)),
    (P.RTU1, (20000,)),
    (P.RTU2, (20000,)),
    (P.RTU3, (20000,)),
)
SCAN_PORTS = (502, 102, 20000, 22, 80)

COLD_RESTART_AT = 150 * SECOND


def modbus_recon_and_writes(ctx: Ctx, t0: int) -> list[Iterator[Item]]:
    r = ROGUE.name
    recon = one_shot(
        ctx,
        "rogue/modbus-recon",
        ROGUE,
        P.PLC_MB1,
        t0 + 45 * SECOND,
        [
            (1, mb.read_device_id_request(), f"{r}: Modbus FC 43/14 read device identification"),
            (1, mb.report_server_id_request(), f"{r}: Modbus FC 17 report server id"),
        ],
    )
    writes = one_shot(
        ctx,
        "rogue/modbus-writes",
        ROGUE,
        P.PLC_MB1,
        t0 + 55 * SECOND,
        [
            (1, mb.write_single_coil(0, True), f"{r}: unauthorized FC 5 write single coil"),
            (1, mb.write_single_register(9, 9999), f"{r}: unauthorized FC 6 write register"),
            (1, mb.write_multiple_coils(0, [True] * 10), f"{r}: unauthorized FC 15 write coils"),
            (
                1,
                mb.write_multiple_registers(8, [0, 0, 9999, 9999]),
                f"{r}: unauthorized FC 16 write registers",
            ),
            (
                1,
                mb.read_write_registers(0, 4, 12, [1234, 4321]),
                f"{r}: unauthorized FC 23 read/write registers",
            ),
            (0, mb.write_single_register(8, 0), f"{r}: FC 6 broadcast write to unit 0 (no answer)"),
        ],
        gap_us=700 * MS,
    )
    control = one_shot(
        ctx,
        "rogue/modbus-control",
        ROGUE,
        P.PLC_MB2,
        t0 + 70 * SECOND,
        [
            (1, mb.diagnostics(1, 0x0000), f"{r}: FC 8 sub-function 1 restart communications"),
            (1, mb.umas(0x00, 0x02), f"{r}: UMAS FC 90 0x02 read PLC id"),
            (
                1,
                mb.umas(0x00, 0x10, b"\x00\x01\x0cROGUE-01"),
                f"{r}: UMAS FC 90 0x10 take reservation",
            ),
            (1, mb.umas(0x3C, 0x41, b"\xff\x00"), f"{r}: UMAS FC 90 0x41 stop PLC"),
            (1, mb.umas(0x3C, 0x40, b"\xff\x00"), f"{r}: UMAS FC 90 0x40 start PLC"),
            (1, mb.umas(0x3C, 0x11), f"{r}: UMAS FC 90 0x11 release reservation"),
        ],
        gap_us=1500 * MS,
    )
    return [recon, writes, control]


def block_bytes(length: int, seed: int, kind: int = 0x08, number: int = 1) -> bytes:
    """An MC7 block image: 'pp' header, block type (0x08 OB, 0x0C FC ...), number, then
    code bytes."""
    head = bytes((0x70, 0x70, 0x01, 0x01, 0x01, kind)) + struct.pack("!HI", number, length)
    body = bytes((seed * 31 + i * 7) & 0xFF for i in range(length - len(head)))
    return head + body


def s7_download(
    sess: S7Session,
    t: int,
    who: str,
    block_type: str,
    number: int,
    label: str,
    block: bytes,
    mc7_len: int,
    step: int,
) -> Timed:
    """Request download of a block, the CPU pulls it (download block jobs answered with
    ack-data parts of 200 bytes), download ended, then PI service _INSE activates it.
    Returns the time of the _INSE answer."""
    rng = sess.rng
    plc = sess.conn.s.host.name
    name = s7.block_filename(block_type, number)
    ref = sess.ref()
    yield (t, f"{who}: S7 request download (0x1a) of {label}")
    t = yield from sess.exchange(
        t,
        s7.cotp_dt(s7.request_download_job(ref, name, len(block), mc7_len)),
        s7.cotp_dt(s7.simple_ack(ref, s7.FUNC_REQUEST_DOWNLOAD)),
    )
    chunks = [block[i : i + 200] for i in range(0, len(block), 200)]
    for i, chunk in enumerate(chunks):
        t += rng.randrange(5 * MS, 20 * MS)
        ref = sess.ref()
        if i == 0:
            yield (t, f"{plc} pulls the block: S7 download block (0x1b) jobs")
        req = s7.cotp_dt(s7.download_block_job(ref, name))
        resp = s7.cotp_dt(s7.download_block_ack(ref, chunk, i == len(chunks) - 1))
        t = yield from sess.exchange(t, req, resp, from_client=False)
    t += rng.randrange(5 * MS, 20 * MS)
    ref = sess.ref()
    yield (t, f"{plc}: S7 download ended (0x1c)")
    t = yield from sess.exchange(
        t,
        s7.cotp_dt(s7.download_ended_job(ref, name)),
        s7.cotp_dt(s7.simple_ack(ref, s7.FUNC_DOWNLOAD_ENDED)),
        from_client=False,
    )
    t += step
    ref = sess.ref()
    yield (t, f"{who}: S7 PI service _INSE (activate {label})")
    return (
        yield from sess.exchange(
            t,
            s7.cotp_dt(s7.pi_service_job(ref, "_INSE", [(block_type, number)])),
            s7.cotp_dt(s7.simple_ack(ref, s7.FUNC_PI_SERVICE)),
        )
    )


def s7_attack(ctx: Ctx, start_us: int) -> Iterator[Item]:
    r = ROGUE.name
    rng = ctx.rng("rogue/s7")
    sess = S7Session(ctx, ctx.connect(ROGUE, P.PLC_S71, 102, rng), rng)
    yield (start_us, f"{r}: S7 session to plc-s7-01 (COTP CR, TSAP 0x0100 -> 0x0102)")
    t = yield from sess.open(start_us, 0x0100, s7.tsap(0, 2, 1), 1, 480)
    step = 600 * MS
    t += step
    yield (t, f"{r}: S7 read SZL 0x0011")
    t = yield from sess.szl(t, 0x0011, 0x0000, SZL_0011[P.PLC_S71.name])
    t += step
    yield (t, f"{r}: S7 write var DB1.DBB0 (4 bytes)")
    t = yield from sess.write(t, [(s7.VarItem(s7.AREA_DB, 1, 0, 4), b"\x00\x00\x27\x0f")])
    t += step
    t = yield from s7_download(sess, t, r, "08", 1, "OB1", block_bytes(380, 1), 292, step)
    t += step
    ref = sess.ref()
    yield (t, f"{r}: S7 PLC stop (0x29)")
    t = yield from sess.exchange(
        t, s7.cotp_dt(s7.plc_stop_job(ref)), s7.cotp_dt(s7.simple_ack(ref, s7.FUNC_PLC_STOP))
    )
    t += step
    ref = sess.ref()
    yield (t, f"{r}: S7 user data set clock")
    stamp = s7.s7_timestamp(2019, 3, 1, 0, 0, 0, 0, 6)
    t = yield from sess.exchange(
        t,
        s7.cotp_dt(s7.set_clock_request(ref, 0, stamp)),
        s7.cotp_dt(s7.set_clock_response(ref, 1)),
    )
    t += step
    yield from sess.conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))


def dnp3_attack(ctx: Ctx, start_us: int) -> Iterator[Item]:
    r = ROGUE.name
    rng = ctx.rng("rogue/dnp3")
    conn = ctx.connect(ROGUE, P.RTU1, 20000, rng)
    sess = Dnp3Session(conn, rng, P.DNP3_MASTER_ADDR, P.dnp3_address(P.RTU1))
    t = yield from conn.handshake(start_us - 400 * MS, rng.randrange(300, 900), 150)
    t = start_us
    restart = dnp3.IIN1_DEVICE_RESTART
    steps: list[tuple[str, int, bytes, bytes, int]] = [
        ("cold restart (13)", dnp3.FC_COLD_RESTART, b"", dnp3.time_delay_fine(4000), 0),
        ("warm restart (14)", dnp3.FC_WARM_RESTART, b"", dnp3.time_delay_fine(1500), restart),
        (
            "direct operate g12v1 CROB",
            dnp3.FC_DIRECT_OPERATE,
            dnp3.crob(0, 0x41, 5000, 0),
            dnp3.crob(0, 0x41, 5000, 0),
            restart,
        ),
        (
            "disable unsolicited (21)",
            dnp3.FC_DISABLE_UNSOLICITED,
            dnp3.class_objects((1, 2, 3)),
            b"",
            restart,
        ),
        ("write time g50v1", dnp3.FC_WRITE, dnp3.time_and_date(1_551_398_400_000), b"", restart),
        (
            "stop application (18)",
            dnp3.FC_STOP_APPLICATION,
            b"",
            b"",
            restart | dnp3.IIN2_NO_FUNC_SUPPORT << 8,
        ),
    ]
    for i, (text, func, objects, answer, iin) in enumerate(steps):
        yield (t, f"{r}: DNP3 {text} to rtu-01")
        t = yield from sess.request(t, func, objects, answer, iin)
        t += (6 if i == 0 else 2) * SECOND + rng.randrange(0, 500 * MS)
    yield from conn.close(t, True, rng.randrange(300, 2000), rng.randrange(100, 400))


def new_edge(ctx: Ctx, t0: int) -> Iterator[Item]:
    yield (t0 + 130 * SECOND, "hmi-01 polls plc-mb-03 for the first time (new edge)")
    yield from poller(
        ctx,
        PollSpec(
            "hmi-01/plc-mb-03",
            P.HMI1,
            P.PLC_MB3,
            t0 + 130 * SECOND,
            t0 + 160 * SECOND,
            1000 * MS,
            ((3, 0, 10), (4, 0, 4)),
            reconnect_every_us=12 * SECOND,
        ),
    )


def web_probe(ctx: Ctx, t0: int) -> Iterator[Item]:
    t = t0 + 185 * SECOND
    yield (t, f"{ROGUE.name}: HTTP GET / on plc-mb-01 port 80")
    body = b"<html><head><title>Modicon M340</title></head><body>Web server</body></html>\n"
    yield from http_session(
        ctx, "rogue/http", ROGUE, P.PLC_MB1, t, "/", body, server_header="Schneider-WEB"
    )


def build(ctx: Ctx) -> list[Iterator[Item]]:
    t0 = ctx.t0
    acts = normal_activities(
        ctx, t0, DURATION_US, edge_cases=False, restart_iin={P.RTU1.name: t0 + COLD_RESTART_AT}
    )
    acts += [
        arp_sweep(ctx, "rogue/arp", ROGUE, [h for h, _ in SCAN_TARGETS], t0 + 30 * SECOND),
        syn_scan(ctx, "rogue/scan", ROGUE, SCAN_TARGETS, SCAN_PORTS, t0 + 33 * SECOND),
        *modbus_recon_and_writes(ctx, t0),
        s7_attack(ctx, t0 + 95 * SECOND),
        new_edge(ctx, t0),
        dnp3_attack(ctx, t0 + COLD_RESTART_AT),
        ssh_probe(ctx, "rogue/ssh", ROGUE, P.PLC_MB3, t0 + 175 * SECOND),
        web_probe(ctx, t0),
    ]
    return acts
