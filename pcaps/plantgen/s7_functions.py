"""s7_functions: a small coverage capture for the S7comm dissector.

An engineering station (ews-01, as PG) and an HMI (hmi-02, as OP) talk S7comm over
ISO-on-TCP to two S7-300/400 CPUs: plc-s7-01 (S7-315-2, rack 0 slot 2, PDU 240) and
plc-s7-03 (S7-416-3, rack 0 slot 3, PDU 960). Between them the sessions carry setup
communication with PDU sizes 240, 480 and 960, read var and write var with items of every
common area and transport size (return codes 0xFF, 0x0A, 0x05), an ack-data error in the
header (0x8500 and 0x8104), upload and download of blocks, PLC stop and the PI services
``_INSE``, ``_DELE``, ``_GARB``, ``_MODU`` and ``P_PROGRAM``, and user data of the groups
programmer commands (variable status), block functions (list blocks, list blocks of
type, block info), CPU functions (read SZL 0x0011, 0x001C, 0x0424), security (password)
and time functions (read and set clock). Framing edge cases: an S7 PDU cut across two
TCP segments, one spread over three COTP DT TPDUs (the connection negotiated a 256-octet
TPDU size), two TPKTs in one segment, a COTP DR/DC before the TCP teardown. Last, the TIA
portal opens an S7comm-plus connection (payload 0x72 0x01 / 0x72 0x02) to the S7-1516
plc-s7-02. Every edge case yields a timeline note (``gen_plant.py --timeline``).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

from . import plant as P
from . import s7
from .act_s7 import SZL_001C, SZL_0011
from .act_s7_script import S7Script
from .tcp import Item, Timed
from .timeline import MS, SECOND, Ctx

PG, OP = 1, 2  # connection types in the called TSAP
PDU_S7_01 = 240  # S7-315-2
PDU_S7_03 = 960  # S7-416-3

SZL_0011_S7_03 = [
    s7.szl_0011_record(1, "6ES7 416-3ES07-0AB0", None),
    s7.szl_0011_record(6, "6ES7 416-3ES07-0AB0", None),
    s7.szl_0011_record(7, "Boot Loader", (7, 0, 3)),
]
SZL_001C_S7_03 = [
    s7.szl_001c_record(1, "SIMATIC 400 WTP-North"),
    s7.szl_001c_record(2, "CPU 416-3 PN/DP"),
    s7.szl_001c_record(3, "WTP-North chemical dosing"),
    s7.szl_001c_record(4, "Original Siemens Equipment"),
    s7.szl_001c_record(5, "S C-J7K281442016"),
]

# DBs on plc-s7-01; DB99 does not exist (0x0A), DB1 has 64 bytes (beyond: 0x05)
DB_PROCESS, DB_SETPOINTS, DB_MISSING = 1, 2, 99


def tsap(value: int) -> bytes:
    return struct.pack("!H", value)


def _ts(cpu_time_us: int) -> bytes:
    """The CPU's clock as an S7 BCD timestamp (the capture runs on 2026-01-05, a Monday)."""
    ms = cpu_time_us // 1000
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, msec = divmod(rem, 1000)
    return s7.s7_timestamp(2026, 1, 5, 10 + h, m, s, msec, 2)


def _value(item: s7.VarItem, rng: random.Random) -> bytes:
    """Plausible values per transport size: levels and flows as REAL, counts as INT/WORD,
    S7 counters in BCD, timers as S5TIME (time base 1, 10 ms, BCD value)."""
    out = b""
    for _ in range(item.length):
        if item.tsize == s7.TS_REAL:
            out += struct.pack("!f", round(rng.uniform(0.5, 95.0), 2))
        elif item.tsize == s7.TS_INT:
            out += struct.pack("!h", rng.randrange(-200, 1500))
        elif item.tsize == s7.TS_WORD:
            out += struct.pack("!H", rng.randrange(0, 4000))
        elif item.tsize == s7.TS_COUNTER:
            out += struct.pack("!H", int(str(rng.randrange(0, 999)), 16))
        elif item.tsize == s7.TS_TIMER:
            out += struct.pack("!H", 0x1000 | int(str(rng.randrange(0, 999)), 16))
        elif item.tsize == s7.TS_BIT:
            out += bytes((rng.randrange(0, 2),))
        else:
            out += bytes((rng.randrange(0, 256),))
    return out


def _results(
    items: list[s7.VarItem], rng: random.Random, codes: dict[int, int] | None = None
) -> list[tuple[int, s7.VarItem, bytes]]:
    codes = codes or {}
    return [
        (codes[i], item, b"") if i in codes else (s7.RET_OK, item, _value(item, rng))
        for i, item in enumerate(items)
    ]


def _read(
    s: S7Script,
    t: int,
    items: list[s7.VarItem],
    codes: dict[int, int] | None = None,
    **kw: object,
) -> Timed:
    """A read var job and its answer; ``codes``: item index -> error return code."""
    ref = s.ref()
    req = s7.read_var_job(ref, items)
    resp = s7.read_var_ack_typed(ref, _results(items, s.rng, codes))
    return (yield from s.exchange(t, req, resp, **kw))  # type: ignore[arg-type]


def _write(s: S7Script, t: int, writes: list[tuple[s7.VarItem, bytes]], **kw: object) -> Timed:
    ref = s.ref()
    req = s7.write_var_job_typed(ref, writes)
    resp = s7.write_var_ack(ref, [s7.RET_OK] * len(writes))
    return (yield from s.exchange(t, req, resp, **kw))  # type: ignore[arg-type]


V = s7.VarItem


# -- hmi-02 -> plc-s7-01 (OP): read/write var coverage, then polling -----------------------


def hmi_s7_01(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = S7Script(ctx, "hmi-02/plc-s7-01", P.HMI2, P.PLC_S71)
    rng = s.rng
    t = yield from s.open(
        t0 + 200 * MS,
        tsap(0x1000),
        tsap(s7.tsap(0, 2, OP)),
        480,
        PDU_S7_01,
        note="OP connection: COTP CR TSAP 0x1000 -> 0x0202 (rack 0 slot 2), PDU 480 -> 240",
    )

    def step(t: int) -> Timed:
        return (yield from s.pause(t, rng.randrange(250 * MS, 450 * MS)))

    t = yield from step(t)
    t = yield from _read(s, t, [V(s7.AREA_DB, DB_PROCESS, 0, 20)])
    t = yield from step(t)
    t = yield from _read(s, t, [V(s7.AREA_M, 0, 10, 1, s7.TS_WORD)])
    t = yield from step(t)
    t = yield from _read(s, t, [V(s7.AREA_I, 0, 0, 2), V(s7.AREA_Q, 0, 0, 2)])
    t = yield from step(t)
    six = [
        V(s7.AREA_DB, DB_PROCESS, 4, 2, s7.TS_REAL),
        V(s7.AREA_M, 0, 20, 1, s7.TS_INT),
        V(s7.AREA_M, 0, 5, 1, s7.TS_BIT, bit=3),
        V(s7.AREA_COUNTER, 0, 0, 3, s7.TS_COUNTER),
        V(s7.AREA_TIMER, 0, 0, 2, s7.TS_TIMER),
        V(s7.AREA_DB, DB_MISSING, 0, 4),
    ]
    t = yield from _read(
        s,
        t,
        six,
        {5: s7.RET_OBJECT_DOES_NOT_EXIST},
        resp_note="read var of 6 items (REAL, INT, BIT, counters, timers; DB99 answered 0x0A)",
    )
    t = yield from step(t)
    t = yield from _read(
        s,
        t,
        [V(s7.AREA_DB, DB_PROCESS, 60, 8), V(s7.AREA_I, 0, 4, 1)],
        {0: s7.RET_ADDRESS_OUT_OF_RANGE},
        resp_note="read var item answered 0x05 (address out of range, DB1.DBB60 of 8 bytes)",
    )
    t = yield from step(t)
    big = s.ref()
    t = yield from s.exchange(
        t,
        s7.read_var_job(big, [V(s7.AREA_DB, DB_SETPOINTS, 0, 300)]),
        s7.error_ack(big, bytes((s7.FUNC_READ_VAR, 0)), 0x8500),
        resp_note="ack-data error 0x8500 (PDU size): read var of 300 bytes on a 240-byte PDU",
    )
    t = yield from step(t)
    t = yield from _write(s, t, [(V(s7.AREA_DB, DB_SETPOINTS, 4, 1, s7.TS_WORD), b"\x02\xbc")])
    t = yield from step(t)
    three = [
        (V(s7.AREA_DB, DB_SETPOINTS, 10, 1, s7.TS_BIT, bit=2), b"\x01"),
        (V(s7.AREA_M, 0, 30, 1, s7.TS_INT), struct.pack("!h", 450)),
        (V(s7.AREA_DB, DB_SETPOINTS, 12, 1, s7.TS_REAL), struct.pack("!f", 7.25)),
    ]
    t = yield from _write(s, t, three, note="write var of 3 items (bit DB2.DBX10.2, INT, REAL)")
    t = yield from step(t)
    t = yield from _write(s, t, [(V(s7.AREA_Q, 0, 4, 1, s7.TS_BIT, bit=1), b"\x00")])
    t = yield from step(t)

    poll = [
        V(s7.AREA_DB, DB_PROCESS, 0, 20),
        V(s7.AREA_M, 0, 0, 4),
        V(s7.AREA_I, 0, 0, 2),
        V(s7.AREA_Q, 0, 0, 2),
    ]
    while t < t0 + 40 * SECOND:
        start = t
        t = yield from _read(s, t, poll)
        gap = start + 1000 * MS + rng.randrange(-30 * MS, 30 * MS) - t
        t = yield from s.pause(t, max(gap, 50 * MS))
    yield from s.close(t)


# -- hmi-02 -> plc-s7-03 (OP, AmQ 3): pipelined reads, polling -----------------------------


def hmi_s7_03(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = S7Script(ctx, "hmi-02/plc-s7-03", P.HMI2, P.PLC_S73)
    rng = s.rng
    t = yield from s.open(
        t0 + 1 * SECOND,
        tsap(0x0200),
        tsap(s7.tsap(0, 3, OP)),
        480,
        PDU_S7_03,
        (3, 3),
        note="OP connection: COTP CR TSAP 0x0200 -> 0x0203 (rack 0 slot 3), PDU 480 -> 480",
    )
    t = yield from s.pause(t, rng.randrange(200 * MS, 400 * MS))
    dosing = [V(s7.AREA_DB, 10, 0, 4, s7.TS_REAL), V(s7.AREA_DB, 10, 16, 2, s7.TS_INT)]
    aux = [V(s7.AREA_TIMER, 0, 10, 1, s7.TS_TIMER), V(s7.AREA_COUNTER, 0, 5, 1, s7.TS_COUNTER)]
    pairs = []
    for items in (dosing, aux):
        ref = s.ref()
        pairs.append(
            (s7.read_var_job(ref, items), s7.read_var_ack_typed(ref, _results(items, rng)))
        )
    t = yield from s.pipelined(t, pairs, note="two read var jobs (two TPKTs) in one segment")
    t = yield from s.pause(t, rng.randrange(200 * MS, 400 * MS))
    cycle = 0
    while t < t0 + 46 * SECOND:
        start = t
        cycle += 1
        t = yield from _read(s, t, dosing + aux)
        if cycle % 12 == 0:
            t += rng.randrange(2 * MS, 6 * MS)
            dose = struct.pack("!f", round(rng.uniform(1.5, 3.5), 2))
            t = yield from _write(s, t, [(V(s7.AREA_DB, 11, 0, 1, s7.TS_REAL), dose)])
        gap = start + 1000 * MS + rng.randrange(-30 * MS, 30 * MS) - t
        t = yield from s.pause(t, max(gap, 50 * MS))
    yield from s.close(t)


# -- ews-01 -> plc-s7-01 (PG): identity, clock, password, block functions, errors ----------


def ews_s7_01(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = S7Script(ctx, "ews-01/plc-s7-01", P.EWS, P.PLC_S71)
    rng = s.rng
    t = yield from s.open(
        t0 + 3 * SECOND,
        tsap(0x0100),
        tsap(s7.tsap(0, 2, PG)),
        960,
        PDU_S7_01,
        note="PG connection: COTP CR TSAP 0x0100 -> 0x0102 (rack 0 slot 2), PDU 960 -> 240",
    )

    def step(t: int) -> Timed:
        return (yield from s.pause(t, rng.randrange(150 * MS, 350 * MS)))

    t = yield from step(t)
    t = yield from s.szl(t, 0x0011, 0x0000, SZL_0011["plc-s7-01"])
    t = yield from step(t)
    t = yield from s.szl(t, 0x001C, 0x0000, SZL_001C["plc-s7-01"])
    t = yield from step(t)
    # SZL 0x0424: the current mode (RUN, 0x08) and the last transition, event 0x4304
    # (warm restart) last night; 12 bytes of event data, then an 8-byte BCD timestamp
    mode = struct.pack("!HBB", 0x4304, 0xFF, 0x08) + bytes(8)
    mode += s7.s7_timestamp(2026, 1, 4, 22, 17, 3, 412, 1)[2:]
    t = yield from s.szl(t, 0x0424, 0x0000, [mode])
    t = yield from step(t)

    t = yield from s.userdata(
        t, s7.GROUP_TIME, s7.SUBF_READ_CLOCK, s7.NO_DATA, s7.octets(_ts(t - t0 + 900 * MS))
    )
    t = yield from step(t)
    t = yield from s.userdata(
        t,
        s7.GROUP_TIME,
        s7.SUBF_SET_CLOCK,
        s7.octets(_ts(t - t0)),
        s7.NO_DATA,
        note="user data 7/2 set clock (the CPU ran 0.9 s fast)",
    )
    t = yield from step(t)
    t = yield from s.userdata(
        t,
        s7.GROUP_SECURITY,
        s7.SUBF_PASSWORD,
        s7.octets(s7.scramble_password("wtpN2026")),
        s7.NO_DATA,
        note="user data 5/1 password (legitimation, scrambled)",
    )
    t = yield from step(t)

    counts = [("08", 3), ("0E", 4), ("0C", 11), ("0A", 6), ("0B", 9), ("0D", 71), ("0F", 14)]
    listing = b"".join(bt.encode("ascii") + struct.pack("!H", n) for bt, n in counts)
    t = yield from s.userdata(
        t, s7.GROUP_BLOCK, s7.SUBF_LIST_BLOCKS, s7.NO_DATA, s7.octets(listing)
    )
    t = yield from step(t)
    dbs = b"".join(struct.pack("!HBB", n, 0x22, 0x05) for n in (1, 2, 3, 10, 11, 20))
    t = yield from s.userdata(
        t, s7.GROUP_BLOCK, s7.SUBF_LIST_BLOCKS_OF_TYPE, s7.octets(b"0A"), s7.octets(dbs)
    )
    t = yield from step(t)
    info = s7.block_info_data(
        0x08,
        1,
        0x01,
        load_len=1124,
        mc7_len=886,
        code_ts=s7.s7_date(15_292, 40_112_519),
        iface_ts=s7.s7_date(15_011, 31_900_004),
        author="WTPENG",
        family="MAIN",
        name="CYCLE",
        checksum=0x5D3A,
        local_len=26,
    )
    t = yield from s.userdata(
        t,
        s7.GROUP_BLOCK,
        s7.SUBF_BLOCK_INFO,
        s7.octets(s7.block_filename("08", 1, "A")[1:]),
        s7.octets(info),
    )
    t = yield from step(t)
    t = yield from s.userdata(
        t,
        s7.GROUP_BLOCK,
        s7.SUBF_BLOCK_INFO,
        s7.octets(s7.block_filename("0A", DB_MISSING, "A")[1:]),
        s7.NO_DATA,
        err=0xD209,
        resp_note="user data 3/3 block info of DB99 answered error 0xD209 (not found)",
    )
    t = yield from step(t)

    # variable status (programmer command 1/2): MB0 of 6 bytes and IB8 every cycle; the
    # CPU acknowledges, then pushes the values
    tis = struct.pack("!HHHHHHHHHHH", 0x14, 0x0E, 0, 1, 0, 18, 1, 1, 1, 1, 1) + b"\x02\x00"
    # items: area (0x01 MB, 0x11 IB), repetition factor, DB number, start address
    tis += struct.pack("!H", 2) + struct.pack("!BBHH", 0x01, 6, 0, 0)
    tis += struct.pack("!BBHH", 0x11, 1, 0, 8)
    t = yield from s.userdata(
        t,
        s7.GROUP_PROG,
        s7.SUBF_VAR_STATUS,
        s7.octets(tis),
        s7.NO_DATA,
        note="user data 1/2 variable status: request, ack, then pushes from the CPU",
    )
    for _ in range(3):
        t += rng.randrange(90 * MS, 110 * MS)
        # TIS parameter size 4, data size 18, response parameters, 2 items, fill byte
        values = struct.pack("!HHHHH", 4, 18, 0x0100, 0x0002, 2)
        values += s7.octets(bytes(rng.randrange(256) for _ in range(6)))
        values += s7.octets(bytes((rng.randrange(256),))) + b"\x00"
        t = yield from s.push(t, s7.GROUP_PROG, s7.SUBF_VAR_STATUS, s7.octets(values))
    t = yield from step(t)

    ref = s.ref()
    t = yield from s.exchange(
        t,
        s7.pi_service_raw(ref, "_MODU", b"EP"),
        s7.error_ack(ref, bytes((s7.FUNC_PI_SERVICE,)), 0x8104),
        resp_note="ack-data error 0x8104 (context not supported) to PI service _MODU",
    )
    t = yield from s.pause(t, rng.randrange(300 * MS, 600 * MS))
    yield from s.close(t, disconnect=True, note="COTP DR (normal disconnect), DC, then TCP FIN")


# -- ews-01 -> plc-s7-03 (PG, TPDU 256): upload, stop, download, PI services, start --------


def _block_bytes(kind: int, number: int, size: int, rng: random.Random) -> bytes:
    """An MC7 block image: the 36-byte block header, then code (or DB) bytes."""
    lang = 0x05 if kind == 0x0A else 0x01
    head = struct.pack("!BBBBBBHI", 0x70, 0x70, 0x01, 0x01, lang, kind, number, size)
    head += bytes(4) + s7.s7_date(15_292, 40_112_519) + s7.s7_date(15_011, 31_900_004)
    head += struct.pack("!HHHH", 20 if kind == 0x0A else 0, 0, 26, size - 36 - 36)
    return head + rng.randbytes(size - len(head))


def ews_s7_03(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = S7Script(ctx, "ews-01/plc-s7-03", P.EWS, P.PLC_S73, tpdu_size=0x08)
    rng = s.rng
    t = yield from s.open(
        t0 + 20 * SECOND,
        tsap(0x0100),
        tsap(s7.tsap(0, 3, PG)),
        960,
        PDU_S7_03,
        note="PG connection: COTP CR TSAP 0x0100 -> 0x0103 (rack 0 slot 3), TPDU 256, PDU 960",
    )

    def step(t: int) -> Timed:
        return (yield from s.pause(t, rng.randrange(150 * MS, 350 * MS)))

    t = yield from step(t)
    t = yield from s.szl(
        t,
        0x0011,
        0x0000,
        SZL_0011_S7_03,
        resp_cuts=(61,),
        resp_note="SZL 0x0011 answer cut in two TCP segments (61 bytes in)",
    )
    t = yield from step(t)
    t = yield from s.szl(t, 0x001C, 0x0000, SZL_001C_S7_03)
    t = yield from step(t)

    # upload OB1: 742 bytes, in two parts; the first answer spans three COTP DTs
    ob1 = _block_bytes(0x08, 1, 742, rng)
    name = s7.block_filename("08", 1, "A")
    upload_id = 7
    ref = s.ref()
    t = yield from s.exchange(
        t,
        s7.start_upload_job(ref, name),
        s7.start_upload_ack(ref, upload_id, len(ob1)),
        note="start upload (0x1d) of OB1, upload (0x1e) x 2, end upload (0x1f)",
    )
    t += rng.randrange(3 * MS, 8 * MS)
    ref = s.ref()
    t = yield from s.exchange(
        t,
        s7.upload_job(ref, s7.FUNC_UPLOAD, upload_id),
        s7.upload_ack(ref, ob1[:560], True),
        resp_note="upload ack-data of 578 bytes in three COTP DTs (EOT on the last), one segment",
    )
    t += rng.randrange(3 * MS, 8 * MS)
    ref = s.ref()
    t = yield from s.exchange(
        t, s7.upload_job(ref, s7.FUNC_UPLOAD, upload_id), s7.upload_ack(ref, ob1[560:], False)
    )
    t += rng.randrange(3 * MS, 8 * MS)
    ref = s.ref()
    t = yield from s.exchange(
        t,
        s7.upload_job(ref, s7.FUNC_END_UPLOAD, upload_id),
        s7.simple_ack(ref, s7.FUNC_END_UPLOAD),
    )
    t = yield from s.pause(t, rng.randrange(800 * MS, 1200 * MS))

    ref = s.ref()
    t = yield from s.exchange(
        t, s7.plc_stop_job(ref), s7.simple_ack(ref, s7.FUNC_PLC_STOP), note="PLC stop (0x29)"
    )
    t = yield from s.pause(t, rng.randrange(600 * MS, 900 * MS))

    for kind, btype, number, size in ((0x08, "08", 1, 812), (0x0A, "0A", 5, 318)):
        image = _block_bytes(kind, number, size, rng)
        name = s7.block_filename(btype, number)
        ref = s.ref()
        t = yield from s.exchange(
            t,
            s7.request_download_job(ref, name, size, size - 36 - 36),
            s7.simple_ack(ref, s7.FUNC_REQUEST_DOWNLOAD),
            note=f"request download (0x1a) of {'OB' if kind == 0x08 else 'DB'}{number}, "
            "download block (0x1b) jobs from the CPU, download ended (0x1c)",
        )
        chunks = [image[i : i + 200] for i in range(0, len(image), 200)]
        for i, chunk in enumerate(chunks):
            t += rng.randrange(2 * MS, 5 * MS)
            ref = s.ref()
            t = yield from s.exchange(
                t,
                s7.download_block_job(ref, name),
                s7.download_block_ack(ref, chunk, i == len(chunks) - 1),
                from_client=False,
                latency=rng.randrange(1 * MS, 3 * MS),
            )
        t += rng.randrange(2 * MS, 5 * MS)
        ref = s.ref()
        t = yield from s.exchange(
            t,
            s7.download_ended_job(ref, name),
            s7.simple_ack(ref, s7.FUNC_DOWNLOAD_ENDED),
            from_client=False,
            latency=rng.randrange(1 * MS, 3 * MS),
        )
        t = yield from step(t)

    services: list[tuple[str, bytes, str]] = [
        ("_INSE", s7.pi_service_job(0, "_INSE", [("08", 1), ("0A", 5)]), "activate OB1, DB5"),
        ("_DELE", s7.pi_service_job(0, "_DELE", [("0A", 20)]), "delete DB20"),
        ("_GARB", s7.pi_service_raw(0, "_GARB", b""), "compress memory"),
        ("_MODU", s7.pi_service_raw(0, "_MODU", b"EP"), "copy RAM to ROM"),
        ("P_PROGRAM", s7.pi_service_raw(0, "P_PROGRAM", b"C "), "start, warm restart"),
    ]
    for service, template, what in services:
        ref = s.ref()
        job = template[:4] + struct.pack("!H", ref) + template[6:]
        t = yield from s.exchange(
            t,
            job,
            s7.simple_ack(ref, s7.FUNC_PI_SERVICE),
            latency=rng.randrange(20 * MS, 60 * MS) if service == "_GARB" else 0,
            note=f"PI service {service} ({what})",
        )
        t = yield from s.pause(t, rng.randrange(400 * MS, 800 * MS))
    yield from s.close(t)


# -- ews-01 -> plc-s7-02: TIA portal, S7comm-plus ------------------------------------------


def _plus(version: int, body: bytes, digest: bytes = b"") -> bytes:
    """An S7comm-plus frame: 0x72, version, data length, [digest,] data, trailer."""
    if digest:
        body = bytes((len(digest),)) + digest + body
    return (
        struct.pack("!BBH", 0x72, version, len(body)) + body + struct.pack("!BBH", 0x72, version, 0)
    )


def tia_plus(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = S7Script(ctx, "ews-01/plc-s7-02/plus", P.EWS, P.PLC_S72)
    rng = s.rng
    t = yield from s.open(
        t0 + 50 * SECOND,
        tsap(0x0600),
        b"SIMATIC-ROOT-ES",
        0,
        0,
        note="S7comm-plus connection (TIA portal): TSAP 0x0600 -> 'SIMATIC-ROOT-ES'",
    )
    session = 0x0000_0120
    seq = 1
    create = struct.pack("!BHHHHI", 0x31, 0, 0x04CA, 0, seq, session) + b"\x36"
    create += b"\x00\x00\x01\x1d\x00\x04\x00\x00\x00\x00\x00\xa1\x00\x00\x00\xd3\x82\x1f"
    create += b"\x00\x00\xa3\x81\x69\x00\x15\x16" + b"ServerSession_4BC1E0E2"[:22]
    create += b"\xa3\x82\x21\x00\x15\x2c" + b"1:::6.0::TIA Portal V18 Upd2".ljust(44, b"\x00")
    created = struct.pack("!BHHHHB", 0x32, 0, 0x04CA, 0, seq, 0x00) + b"\x00\x00\x00\x70\x01"
    created += struct.pack("!I", 0x70000001 + rng.randrange(0, 0x100)) + rng.randbytes(96)
    t = yield from s.exchange(
        t,
        _plus(1, create),
        _plus(1, created),
        note="S7comm-plus V1 CreateObject (payload 0x72 0x01) and its answer",
    )
    t = yield from s.pause(t, rng.randrange(20 * MS, 60 * MS))
    first = True
    for _ in range(4):
        seq += 1
        get = struct.pack("!BHHHHI", 0x31, 0, 0x054C, 0, seq, session + 0x380) + b"\x34"
        get += rng.randbytes(rng.randrange(40, 70))
        got = struct.pack("!BHHHHB", 0x32, 0, 0x054C, 0, seq, 0x00) + rng.randbytes(
            rng.randrange(60, 120)
        )
        t = yield from s.exchange(
            t,
            _plus(2, get, rng.randbytes(32)),
            _plus(2, got, rng.randbytes(32)),
            note="S7comm-plus V2 GetMultiVariables with integrity digest (payload 0x72 0x02)"
            if first
            else "",
        )
        first = False
        t = yield from s.pause(t, rng.randrange(400 * MS, 700 * MS))
    yield from s.close(t)


def build(ctx: Ctx) -> list[Iterator[Item]]:
    t0 = ctx.t0
    return [
        hmi_s7_01(ctx, t0),
        hmi_s7_03(ctx, t0),
        ews_s7_01(ctx, t0),
        ews_s7_03(ctx, t0),
        tia_plus(ctx, t0),
    ]
