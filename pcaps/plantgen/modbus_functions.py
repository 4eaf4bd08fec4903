"""modbus_functions: a small coverage capture for the Modbus/TCP dissector.

HMIs, the historian and the engineering workstation talk to the three Modbus PLCs and to
a Modbus/TCP-to-RTU gateway (gw-mb-01, serial units 1, 2 and 247 behind it, 255 for the
gateway itself). Between them the sessions use every public function code, UMAS (FC 90),
two user-defined codes, the exception codes 1, 2, 3, 4, 6, 10 and 11, a broadcast, and the
framing edge cases a reassembler must handle: ADUs cut inside the MBAP header, in the
middle of a register list and after the function code, five requests in one segment,
a request never answered, an answer nobody asked for, and one TCP flow to port 502 that
is not Modbus at all (a browser's TLS ClientHello). Every edge case and every exception
yields a timeline note, so ``gen_plant.py --timeline`` prints its frame number.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Iterator

from . import modbus as mb
from . import plant as P
from .act_modbus_script import MbSession
from .process import ProcessImage, triangle
from .tcp import Item, Timed
from .timeline import MS, SECOND, Ctx

GATEWAY = P.MB_GATEWAY
SERIAL_CHAR_US = 573  # 19200 baud, 8E1: 11 bits per character
GATEWAY_TIMEOUT_US = 1000 * MS  # the gateway's serial response timeout

# serial units behind the gateway: 1 flow computer, 2 pump drive, 247 energy meter
FLOW, DRIVE, METER = 1, 2, 247
DEAD_UNIT = 5  # configured in the gateway's routing table, but powered off
UNROUTED_UNIT = 200  # no route in the gateway: "gateway path unavailable"

M580_ID = (
    (0, "Schneider Electric"),
    (1, "BME P58 2040"),
    (2, "v4.10"),
    (3, "www.se.com"),
    (4, "Modicon M580"),
    (5, "BME P58 2040"),
    (6, "WTP_MAIN"),
)
M580_CONFORMITY = 0x82  # regular identification, stream and individual access
GATEWAY_ID = ((0, "Moxa"), (1, "MGate MB3180"), (2, "V2.2"))
GATEWAY_CONFORMITY = 0x81  # basic identification, stream and individual access

# UMAS function codes (Schneider's FC 90 sub-protocol) used here
UMAS_INIT_COMM = 0x01
UMAS_READ_ID = 0x02
UMAS_READ_PROJECT_INFO = 0x03
UMAS_READ_PLC_INFO = 0x04
UMAS_TAKE_RESERVATION = 0x10
UMAS_RELEASE_RESERVATION = 0x11
UMAS_KEEP_ALIVE = 0x12
UMAS_INITIALIZE_DOWNLOAD = 0x33
UMAS_DOWNLOAD_BLOCK = 0x34
UMAS_END_DOWNLOAD = 0x35
UMAS_START_PLC = 0x40
UMAS_STOP_PLC = 0x41
UMAS_FRAME_MAX = 240  # the PLC's answer to INIT_COMM: UMAS frames stay within a Modbus PDU
UMAS_BLOCK = 200  # application bytes per DOWNLOAD_BLOCK

# times (from the capture start) the engineering session stops and starts plc-mb-02;
# hmi-02's write in between is answered "server device busy"
STOP_AT = 42 * SECOND
BUSY_WRITE_AT = 45 * SECOND + 500 * MS
START_AT = 49 * SECOND


# -- hmi-01 -> plc-mb-01: the data function codes, exceptions, cuts, pipelining ----------


def hmi_coverage(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = MbSession(ctx, "hmi-01/plc-mb-01/coverage", P.HMI1, P.PLC_MB1)
    rng = s.rng
    t = yield from s.open(t0 + 200 * MS)
    unit = 1

    def step(t: int) -> Timed:
        return (yield from s.pause(t, rng.randrange(250 * MS, 450 * MS)))

    reads = (
        (mb.READ_HOLDING_REGISTERS, 0, 1),
        (mb.READ_HOLDING_REGISTERS, 0, 125),  # the spec maximum
        (mb.READ_HOLDING_REGISTERS, 400, 10),
        (mb.READ_INPUT_REGISTERS, 0, 1),
        (mb.READ_INPUT_REGISTERS, 0, 125),
        (mb.READ_INPUT_REGISTERS, 30, 6),
        (mb.READ_COILS, 0, 1),
        (mb.READ_COILS, 0, 2000),  # the spec maximum
        (mb.READ_COILS, 100, 37),
        (mb.READ_DISCRETE_INPUTS, 0, 1),
        (mb.READ_DISCRETE_INPUTS, 0, 2000),
        (mb.READ_DISCRETE_INPUTS, 512, 24),
    )
    for fc, addr, qty in reads:
        t = yield from s.exchange(t, unit, mb.read_request(fc, addr, qty))
        t = yield from step(t)

    coils13 = [bool(b) for b in (1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1)]
    writes = (
        mb.write_single_coil(4, True),  # 0xFF00
        mb.write_single_coil(4, False),  # 0x0000
        mb.write_single_register(12, 650),
        mb.write_multiple_coils(16, coils13),  # 13 coils: two data bytes, 3 bits unused
    )
    for pdu in writes:
        t = yield from s.exchange(t, unit, pdu)
        t = yield from step(t)

    # FC 16, six set points; the request is cut inside its register list (2.5 registers in)
    setpoints = [720, 735, 1180, 64, 3, 45000]
    t = yield from s.exchange(
        t,
        unit,
        mb.write_multiple_registers(100, setpoints),
        req_cuts=(18,),
        note="FC 16 request cut in two segments inside its register list (18 bytes in)",
    )
    t = yield from step(t)
    t = yield from s.exchange(t, unit, mb.mask_write_register(8, 0x00F2, 0x0025))
    t = yield from step(t)
    # FC 23: the answer is cut in the middle of a register value (9 + 5 bytes in)
    t = yield from s.exchange(
        t,
        unit,
        mb.read_write_registers(100, 6, 200, [1, 1500, 0]),
        resp_cuts=(14,),
        resp_note="FC 23 response cut in two segments inside its register list (14 bytes in)",
    )
    t = yield from step(t)

    # exceptions
    t = yield from s.exchange(
        t,
        unit,
        mb.read_request(mb.READ_HOLDING_REGISTERS, 9000, 2),
        mb.exception(mb.READ_HOLDING_REGISTERS, mb.ILLEGAL_DATA_ADDRESS),
        resp_note="exception 2 (illegal data address) to FC 3",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        unit,
        mb.read_request(mb.READ_HOLDING_REGISTERS, 0, 126),
        mb.exception(mb.READ_HOLDING_REGISTERS, mb.ILLEGAL_DATA_VALUE),
        resp_note="exception 3 (illegal data value) to FC 3 of 126 registers",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        unit,
        mb.write_multiple_registers(990, list(range(1000, 1020))),
        mb.exception(mb.WRITE_MULTIPLE_REGISTERS, mb.ILLEGAL_DATA_ADDRESS),
        resp_note="exception 2 (illegal data address) to FC 16",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        unit,
        mb.read_file_record_request([(1, 0, 4)]),
        mb.exception(mb.READ_FILE_RECORD, mb.ILLEGAL_FUNCTION),
        resp_note="exception 1 (illegal function) to FC 20",
    )
    t = yield from step(t)

    # FC 43 / MEI 13: CANopen general reference, an SDO upload of the status word 0x6041
    # of CANopen node 2 on the PLC's CANopen bus (raw MEI data, as the spec leaves it)
    sdo = bytes((0x00, 0x02, 0x60, 0x41, 0x00, 0x00, 0x00, 0x02))
    t = yield from s.exchange(
        t, unit, mb.mei(mb.MEI_CANOPEN, sdo), mb.mei(mb.MEI_CANOPEN, sdo + b"\x37\x06")
    )
    t = yield from step(t)

    # framing: a response cut right after its function code
    t = yield from s.exchange(
        t,
        unit,
        mb.read_request(mb.READ_INPUT_REGISTERS, 10, 10),
        resp_cuts=(8,),
        resp_note="FC 4 response cut in two segments after the function code (8 bytes in)",
    )
    t = yield from step(t)
    # two requests in one segment, the second cut 3 bytes into its MBAP header
    t = yield from s.pipelined(
        t,
        unit,
        [
            mb.read_request(mb.READ_HOLDING_REGISTERS, 20, 4),
            mb.read_request(mb.READ_INPUT_REGISTERS, 20, 4),
        ],
        req_cuts=(12 + 3,),
        note=(
            "two requests, the second cut 3 bytes into its MBAP header "
            "(split inside the header, after a complete ADU)"
        ),
    )
    t = yield from step(t)
    # one request whose first segment is 3 bytes of MBAP header and nothing else
    t = yield from s.exchange(
        t,
        unit,
        mb.read_request(mb.READ_HOLDING_REGISTERS, 40, 8),
        req_cuts=(3,),
        note="request cut 3 bytes into its MBAP header (a 3-byte segment alone)",
    )
    t = yield from step(t)
    # five requests in one segment; the answers in three segments, the fourth cut across
    five = [
        mb.read_request(mb.READ_HOLDING_REGISTERS, 0, 20),
        mb.read_request(mb.READ_INPUT_REGISTERS, 0, 10),
        mb.read_request(mb.READ_COILS, 0, 16),
        mb.read_request(mb.READ_DISCRETE_INPUTS, 0, 16),
        mb.read_request(mb.READ_HOLDING_REGISTERS, 100, 6),
    ]
    # answer sizes: 9 + 40, 9 + 20, 9 + 2, 9 + 2, 9 + 12
    first_two = 49 + 29
    t = yield from s.pipelined(
        t,
        unit,
        five,
        resp_cuts=(first_two, first_two + 11 + 6),
        note="five requests in one segment (answers in three segments, the fourth ADU cut)",
    )
    t = yield from step(t)

    # then ordinary polling for a while
    while t < t0 + 30 * SECOND:
        start = t
        for fc, addr, qty in ((3, 0, 20), (1, 0, 16)):
            t = yield from s.exchange(t, unit, mb.read_request(fc, addr, qty))
            t += rng.randrange(800, 3000)
        gap = start + 1000 * MS + rng.randrange(-30 * MS, 30 * MS) - t
        t = yield from s.pause(t, max(gap, 50 * MS))
    yield from s.close(t)


# -- hist-01 -> gw-mb-01: polling the serial units through the gateway ------------------


def _meter_values(t_us: int) -> list[int]:
    """Energy meter (unit 247) registers 3000-3011: I1-I3 (A), then V L1-L2..L3-L1 (V),
    as float32 register pairs (high word first)."""
    t_s = t_us // SECOND
    centi = [4120 + triangle(t_s, 90, 60), 4085 + triangle(t_s + 20, 90, 55)]
    centi += [4150 + triangle(t_s + 40, 90, 65)]
    centi += [40020 + triangle(t_s, 240, 180) + i * 35 for i in range(3)]
    words: list[int] = []
    for value in centi:
        words += struct.unpack("!HH", struct.pack("!f", value / 100))
    return words


def _unit_image(ctx: Ctx, unit: int) -> ProcessImage:
    """The process image of a serial unit behind the gateway, shared by its clients."""
    return ctx.image(P.Host(f"{GATEWAY.name}/unit-{unit}", "", "", "", "", GATEWAY.stack))


def _gateway_session(ctx: Ctx, name: str, client: P.Host) -> MbSession:
    s = MbSession(ctx, name, client, GATEWAY)
    s.char_us = SERIAL_CHAR_US
    for unit in (FLOW, DRIVE, METER):
        s.unit_images[unit] = _unit_image(ctx, unit)
    return s


def gateway_poll(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = _gateway_session(ctx, "hist-01/gw-mb-01", P.HIST)
    rng = s.rng
    t = yield from s.open(t0 + 1 * SECOND)
    cycle = 0
    while t < t0 + 80 * SECOND:
        start = t
        t = yield from s.exchange(t, FLOW, mb.read_request(mb.READ_HOLDING_REGISTERS, 0, 10))
        t += rng.randrange(1 * MS, 3 * MS)
        t = yield from s.exchange(t, DRIVE, mb.read_request(mb.READ_INPUT_REGISTERS, 0, 6))
        t += rng.randrange(1 * MS, 3 * MS)
        words = _meter_values(t)
        t = yield from s.exchange(
            t,
            METER,
            mb.read_request(mb.READ_HOLDING_REGISTERS, 3000, len(words)),
            mb.read_registers_response(mb.READ_HOLDING_REGISTERS, words),
        )
        if cycle == 5:
            t += rng.randrange(1 * MS, 3 * MS)
            t = yield from s.exchange(
                t,
                DEAD_UNIT,
                mb.read_request(mb.READ_HOLDING_REGISTERS, 0, 10),
                mb.exception(mb.READ_HOLDING_REGISTERS, mb.GATEWAY_TARGET_FAILED),
                latency=GATEWAY_TIMEOUT_US + rng.randrange(200, 900),
                resp_note="exception 11 (gateway target failed to respond) from unit 5",
            )
        if cycle == 9:
            t += rng.randrange(1 * MS, 3 * MS)
            t = yield from s.exchange(
                t,
                UNROUTED_UNIT,
                mb.read_request(mb.READ_INPUT_REGISTERS, 0, 2),
                mb.exception(mb.READ_INPUT_REGISTERS, mb.GATEWAY_PATH_UNAVAILABLE),
                latency=rng.randrange(300, 900),
                resp_note="exception 10 (gateway path unavailable) for unit 200",
            )
        if cycle == 14:
            # the gateway itself (unit 255): serial port statistics and identification
            stats = [19200, 2, 1, 0, 4310 + cycle, 3, 0, 1]
            t += rng.randrange(1 * MS, 3 * MS)
            t = yield from s.exchange(
                t,
                255,
                mb.read_request(mb.READ_HOLDING_REGISTERS, 0, len(stats)),
                mb.read_registers_response(mb.READ_HOLDING_REGISTERS, stats),
                latency=rng.randrange(400, 1200),
            )
            t += rng.randrange(1 * MS, 3 * MS)
            t = yield from s.exchange(
                t,
                255,
                mb.read_device_id_request(1, 0),
                mb.device_id_response(1, GATEWAY_CONFORMITY, list(GATEWAY_ID)),
                latency=rng.randrange(400, 1200),
            )
        cycle += 1
        gap = start + 2 * SECOND + rng.randrange(-20 * MS, 20 * MS) - t
        t = yield from s.pause(t, max(gap, 50 * MS))
    yield from s.close(t)


# -- hist-01 -> plc-mb-03: polling with one request that is never answered ---------------


def wago_poll(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = MbSession(ctx, "hist-01/plc-mb-03", P.HIST, P.PLC_MB3)
    rng = s.rng
    t = yield from s.open(t0 + 3 * SECOND)
    cycle = 0
    while t < t0 + 60 * SECOND:
        start = t
        request = mb.read_request(mb.READ_INPUT_REGISTERS, 0, 8)
        if cycle == 8:
            t = yield from s.exchange(
                t,
                1,
                request,
                None,
                note="request never answered (the client retries 1 s later, new transaction id)",
            )
            t = start + 1000 * MS + rng.randrange(0, 2 * MS)
        t = yield from s.exchange(t, 1, request)
        t += rng.randrange(1 * MS, 3 * MS)
        t = yield from s.exchange(t, 1, mb.read_request(mb.READ_DISCRETE_INPUTS, 0, 16))
        cycle += 1
        gap = start + 2 * SECOND + rng.randrange(-20 * MS, 20 * MS) - t
        t = yield from s.pause(t, max(gap, 50 * MS))
    yield from s.close(t)


# -- ews-01 -> gw-mb-01: serial diagnostics, files, FIFO, private codes, broadcast -------


def _event_log() -> bytes:
    """FC 12 events, newest first: sends (0x40), receives (0x80), a broadcast received
    (0xC0), a read exception sent (0x41), and the communication restart (0x00)."""
    return bytes((0x40, 0x80, 0x40, 0x80, 0xC0, 0x41, 0x80, 0x40, 0x80, 0x00))


def ews_gateway(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = _gateway_session(ctx, "ews-01/gw-mb-01", P.EWS)
    rng = s.rng
    t = yield from s.open(t0 + 10 * SECOND)

    def step(t: int) -> Timed:
        return (yield from s.pause(t, rng.randrange(300 * MS, 700 * MS)))

    plain: list[tuple[int, bytes, bytes]] = [
        (FLOW, mb.function_only(mb.READ_EXCEPTION_STATUS), mb.read_exception_status_response(0x24)),
        (
            FLOW,
            mb.function_only(mb.GET_COMM_EVENT_COUNTER),
            mb.comm_event_counter_response(False, 0x0108),
        ),
        (
            FLOW,
            mb.function_only(mb.GET_COMM_EVENT_LOG),
            mb.comm_event_log_response(False, 0x0108, 0x0121, _event_log()),
        ),
        (
            METER,
            mb.function_only(mb.REPORT_SERVER_ID),
            mb.report_server_id_response(b"\x1c", True, b"PM5560 V2.7.4"),
        ),
        # FC 20 with two sub-requests: hourly totals (file 4) and the batch log (file 3)
        (
            FLOW,
            mb.read_file_record_request([(4, 1, 2), (3, 9, 3)]),
            mb.read_file_record_response([[0x0DFE, 0x0020], [0x33CD, 0x0040, 0x0001]]),
        ),
    ]
    for unit, req, resp in plain:
        t = yield from s.exchange(t, unit, req, resp)
        t = yield from step(t)
    write_rec = mb.write_file_record([(4, 7, [0x06AF, 0x04BE, 0x100D])])
    t = yield from s.exchange(t, FLOW, write_rec, write_rec)
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        DRIVE,
        mb.read_fifo_request(0x04DE),
        mb.read_fifo_response([0x01B8, 0x1284, 0x0037]),
    )
    t = yield from step(t)

    # FC 8 on the drive: echo, clear, the eight counters, restart communications
    echo = mb.diagnostics(0, 0xA537)
    t = yield from s.exchange(t, DRIVE, echo, echo)
    t = yield from step(t)
    clear = mb.diagnostics(10, 0)
    t = yield from s.exchange(t, DRIVE, clear, clear)
    t = yield from step(t)
    counters = {11: 412, 12: 3, 13: 1, 14: 409, 15: 0, 16: 0, 17: 2, 18: 1}
    for sub, value in counters.items():
        t = yield from s.exchange(t, DRIVE, mb.diagnostics(sub, 0), mb.diagnostics(sub, value))
        t += rng.randrange(60 * MS, 140 * MS)
    restart = mb.diagnostics(1, 0x0000)
    t = yield from s.exchange(t, DRIVE, restart, restart, latency=180 * MS)
    t = yield from step(t)

    # user-defined function codes
    t = yield from s.exchange(
        t,
        FLOW,
        mb.private(65, b"\x00\x01\x00\x04"),
        mb.private(65, b"\x08\x00\x01\x12\x7f\x00\x00\x2c\x4e"),
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t, METER, mb.private(100, b"\x01\x00\x10"), mb.private(100, b"\x01\x04\x00\x00\x15\xb3")
    )
    t = yield from step(t)

    # broadcast: the clock of every serial unit (year, month/day, hour/minute, seconds)
    tm = time.gmtime(t // SECOND)
    clock = [tm.tm_year, tm.tm_mon << 8 | tm.tm_mday, tm.tm_hour << 8 | tm.tm_min, tm.tm_sec]
    t = yield from s.exchange(
        t,
        0,
        mb.write_multiple_registers(0x0010, clock),
        None,
        note="broadcast FC 16 to unit 0 through the gateway (no answer, only a TCP ACK)",
    )
    t = yield from step(t)
    # an answer on this connection with a transaction id that no request on it carried
    words = _meter_values(t)
    t = yield from s.unsolicited(
        t,
        0x7FFF & (s.tid + 0x3A00),
        METER,
        mb.read_registers_response(mb.READ_HOLDING_REGISTERS, words),
        note="response whose transaction id no request carried (unsolicited)",
    )
    t = yield from step(t)
    t = yield from s.exchange(t, DRIVE, mb.read_request(mb.READ_INPUT_REGISTERS, 0, 6))
    t = yield from s.pause(t, 2 * SECOND)
    yield from s.close(t)


# -- ews-01 -> plc-mb-02: identification, server id, UMAS stop / download / start --------


def _umas_block(index: int) -> bytes:
    return bytes((index * 53 + i * 11 + (i >> 3)) & 0xFF for i in range(UMAS_BLOCK))


def ews_m580(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = MbSession(ctx, "ews-01/plc-mb-02", P.EWS, P.PLC_MB2)
    rng = s.rng
    s.latency = (3 * MS, 12 * MS)
    unit = 255
    t = yield from s.open(t0 + 30 * SECOND)

    def step(t: int) -> Timed:
        return (yield from s.pause(t, rng.randrange(150 * MS, 400 * MS)))

    ident = list(M580_ID)
    id_steps = [
        (mb.read_device_id_request(1, 0), mb.device_id_response(1, M580_CONFORMITY, ident[:3])),
        (mb.read_device_id_request(2, 3), mb.device_id_response(2, M580_CONFORMITY, ident[3:])),
        (mb.read_device_id_request(4, 5), mb.device_id_response(4, M580_CONFORMITY, ident[5:6])),
    ]
    for req, resp in id_steps:
        t = yield from s.exchange(t, unit, req, resp)
        t = yield from step(t)
    t = yield from s.exchange(
        t,
        unit,
        mb.read_device_id_request(4, 0x80),
        mb.exception(mb.ENCAPSULATED_INTERFACE, mb.ILLEGAL_DATA_ADDRESS),
        resp_note="exception 2 (illegal data address) to FC 43/14 individual object 0x80",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        unit,
        mb.report_server_id_request(),
        mb.report_server_id_response(b"\x8b", True, b"BME P58 2040 v4.10"),
    )
    t = yield from step(t)

    # UMAS: the programming software connects, reads, reserves, stops, downloads, starts
    def umas(t: int, session: int, func: int, data: bytes, answer: bytes, note: str = "") -> Timed:
        return (
            yield from s.exchange(
                t,
                unit,
                mb.umas(session, func, data),
                mb.umas_response(session, True, answer),
                note=note,
            )
        )

    t = yield from umas(
        t, 0, UMAS_INIT_COMM, b"\x00", struct.pack("<H", UMAS_FRAME_MAX) + b"\x0a\x04\x00\x00"
    )
    t = yield from step(t)
    t = yield from umas(
        t,
        0,
        UMAS_READ_ID,
        b"",
        b"\x06\x01\x40\x23\x08\x01\x00\x00" + bytes((12,)) + b"BME P58 2040",
    )
    t = yield from step(t)
    t = yield from umas(
        t,
        0,
        UMAS_READ_PROJECT_INFO,
        b"\x00",
        b"\x01\x00\x0c\x04\x01\x00" + struct.pack("<HBBBB", 2025, 11, 28, 14, 32) + b"\x08WTP_MAIN",
    )
    t = yield from step(t)
    t = yield from umas(t, 0, UMAS_READ_PLC_INFO, b"", b"\x02\x00\x00\x00\x7f\x3b\x11\x09\x00")
    t = yield from step(t)
    # STOP without a reservation: UMAS error answer (0xFD)
    t = yield from s.exchange(
        t,
        unit,
        mb.umas(0, UMAS_STOP_PLC, b"\xff\x00"),
        mb.umas_response(0, False, b"\x81\x00"),
        note="UMAS 0x41 stop PLC without a reservation: error answer 0xFD",
    )
    t = yield from step(t)
    session = 0x6B
    host = b"EWS-01"
    t = yield from umas(
        t,
        0,
        UMAS_TAKE_RESERVATION,
        b"\x00\x00" + bytes((len(host),)) + host,
        bytes((session,)),
    )
    t = yield from step(t)
    t = yield from umas(t, session, UMAS_KEEP_ALIVE, b"", b"")
    t = yield from s.pause(t, max(t0 + STOP_AT - t, 200 * MS))

    t = yield from umas(
        t, session, UMAS_STOP_PLC, b"\xff\x00", b"", note="UMAS 0x41 stop PLC (reserved session)"
    )
    t = yield from s.pause(t, rng.randrange(600 * MS, 900 * MS))
    blocks = 12
    t = yield from umas(
        t,
        session,
        UMAS_INITIALIZE_DOWNLOAD,
        b"\x01\x00" + struct.pack("<I", blocks * UMAS_BLOCK),
        struct.pack("<H", UMAS_BLOCK),
        note="UMAS 0x33 initialize download, 0x34 download blocks, 0x35 end download",
    )
    for index in range(1, blocks + 1):
        t = yield from s.pause(t, rng.randrange(200 * MS, 320 * MS))
        data = _umas_block(index)
        head = b"\x01\x00" + struct.pack("<HH", index, len(data))
        t = yield from umas(t, session, UMAS_DOWNLOAD_BLOCK, head + data, struct.pack("<H", index))
        if index == 6:
            t = yield from s.pause(t, 150 * MS)
            t = yield from umas(t, session, UMAS_KEEP_ALIVE, b"", b"")
    t = yield from s.pause(t, rng.randrange(200 * MS, 300 * MS))
    t = yield from umas(t, session, UMAS_END_DOWNLOAD, b"\x01\x00" + struct.pack("<H", blocks), b"")
    t = yield from s.pause(t, max(t0 + START_AT - t, 200 * MS))
    t = yield from umas(t, session, UMAS_START_PLC, b"\xff\x00", b"", note="UMAS 0x40 start PLC")
    t = yield from s.pause(t, rng.randrange(800 * MS, 1200 * MS))
    t = yield from umas(t, session, UMAS_KEEP_ALIVE, b"", b"")
    t = yield from step(t)
    t = yield from umas(t, session, UMAS_RELEASE_RESERVATION, b"", b"")
    t = yield from s.pause(t, 500 * MS)
    yield from s.close(t)


# -- hmi-02 -> plc-mb-02: polling, one write while the PLC is being programmed -----------


def hmi2_m580(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = MbSession(ctx, "hmi-02/plc-mb-02", P.HMI2, P.PLC_MB2)
    rng = s.rng
    t = yield from s.open(t0 + 28 * SECOND)
    wrote = False
    while t < t0 + 58 * SECOND:
        start = t
        t = yield from s.exchange(t, 1, mb.read_request(mb.READ_HOLDING_REGISTERS, 0, 16))
        if not wrote and t >= t0 + BUSY_WRITE_AT:
            wrote = True
            t += rng.randrange(1 * MS, 3 * MS)
            t = yield from s.exchange(
                t,
                1,
                mb.write_single_register(9, 540),
                mb.exception(mb.WRITE_SINGLE_REGISTER, mb.SERVER_DEVICE_BUSY),
                resp_note="exception 6 (server device busy) to FC 6 during the download",
            )
        gap = start + 1000 * MS + rng.randrange(-25 * MS, 25 * MS) - t
        t = yield from s.pause(t, max(gap, 50 * MS))
    yield from s.close(t)


# -- ews-01 -> plc-mb-03: exceptions 1 and 4, FC 8 restart and listen-only ---------------


def ews_wago(ctx: Ctx, t0: int) -> Iterator[Item]:
    s = MbSession(ctx, "ews-01/plc-mb-03", P.EWS, P.PLC_MB3)
    rng = s.rng
    t = yield from s.open(t0 + 70 * SECOND)

    def step(t: int) -> Timed:
        return (yield from s.pause(t, rng.randrange(300 * MS, 600 * MS)))

    t = yield from s.exchange(
        t,
        1,
        mb.private(65, b"\x00\x01"),
        mb.exception(65, mb.ILLEGAL_FUNCTION),
        resp_note="exception 1 (illegal function) to user-defined FC 65",
    )
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        1,
        mb.write_multiple_registers(0x3000, [0x1234, 0x5678, 0x9ABC]),
        mb.exception(mb.WRITE_MULTIPLE_REGISTERS, mb.SERVER_DEVICE_FAILURE),
        resp_note="exception 4 (server device failure) to FC 16",
    )
    t = yield from step(t)
    echo = mb.diagnostics(0, 0x1234)
    t = yield from s.exchange(t, 1, echo, echo)
    t = yield from step(t)
    restart = mb.diagnostics(1, 0xFF00)  # restart and clear the communications event log
    t = yield from s.exchange(t, 1, restart, restart, latency=rng.randrange(40 * MS, 80 * MS))
    t = yield from step(t)
    t = yield from s.exchange(
        t,
        1,
        mb.diagnostics(4, 0),
        None,
        note="FC 8 sub-function 4 force listen only mode (no answer, per the spec)",
    )
    t = yield from s.pause(t, 1500 * MS)
    yield from s.close(t)


# -- ews-01 -> plc-mb-01:502: a browser's TLS ClientHello (not Modbus) -------------------


def _grease(rng: random.Random) -> int:
    nibble = rng.randrange(0, 16)
    return (nibble << 12) | 0x0A00 | (nibble << 4) | 0x0A


def tls_client_hello(rng: random.Random) -> bytes:
    """A Chromium-style TLS 1.3 ClientHello to an IP address (no SNI), with GREASE and a
    hybrid X25519Kyber768 key share: about 1.8 kB, so two TCP segments."""

    def ext(kind: int, data: bytes) -> bytes:
        return struct.pack("!HH", kind, len(data)) + data

    def vec16(data: bytes) -> bytes:
        return struct.pack("!H", len(data)) + data

    g = _grease(rng)
    suites = [g, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8]
    suites += [0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    groups = [g, 0x6399, 0x001D, 0x0017, 0x0018]
    sigalgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    kyber = rng.randbytes(32 + 1184)
    shares = struct.pack("!HH", g, 1) + b"\x00"
    shares += struct.pack("!HH", 0x6399, len(kyber)) + kyber
    shares += struct.pack("!HH", 0x001D, 32) + rng.randbytes(32)
    alpn = b"\x02h2\x08http/1.1"
    extensions = b"".join(
        (
            ext(_grease(rng), b""),
            ext(0x0017, b""),  # extended master secret
            ext(0xFF01, b"\x00"),  # renegotiation info
            ext(0x000A, vec16(struct.pack(f"!{len(groups)}H", *groups))),
            ext(0x000B, b"\x01\x00"),  # EC point formats: uncompressed
            ext(0x0023, b""),  # session ticket
            ext(0x0010, vec16(alpn)),
            ext(0x0005, b"\x01\x00\x00\x00\x00"),  # status request (OCSP)
            ext(0x000D, vec16(struct.pack(f"!{len(sigalgs)}H", *sigalgs))),
            ext(0x0012, b""),  # signed certificate timestamps
            ext(0x0033, vec16(shares)),
            ext(0x002D, b"\x01\x01"),  # PSK key exchange modes: psk_dhe_ke
            ext(0x002B, b"\x06" + struct.pack("!HHH", _grease(rng), 0x0304, 0x0303)),
            ext(0x001B, b"\x02\x00\x02"),  # compress certificate: brotli
            ext(0x4469, vec16(b"\x02h2")),  # application settings
            ext(_grease(rng), b"\x00"),
        )
    )
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
    body += vec16(struct.pack(f"!{len(suites)}H", *suites)) + b"\x01\x00" + vec16(extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + vec16(handshake)


def tls_probe(ctx: Ctx, t0: int) -> Iterator[Item]:
    """ews-01's browser pointed at https://10.20.1.101:502/: the PLC reads a protocol id
    that is not 0 and closes the connection."""
    rng = ctx.rng("ews-01/plc-mb-01/tls")
    conn = ctx.connect(P.EWS, P.PLC_MB1, 502, rng)
    t = yield from conn.handshake(t0 + 62 * SECOND, rng.randrange(200, 900), rng.randrange(80, 300))
    t += rng.randrange(1 * MS, 3 * MS)
    hello = tls_client_hello(rng)
    # the second segment must not look like an MBAP header (protocol id 0) either
    assert hello[conn.mss + 2 : conn.mss + 4] != b"\x00\x00"
    yield (t, "non-Modbus TCP flow to port 502: a browser's TLS ClientHello (two segments)")
    items, t = conn.bulk(t, True, hello)
    yield from items
    t += rng.randrange(2 * MS, 6 * MS)
    yield from conn.close(t, False, rng.randrange(300, 2000), rng.randrange(100, 400))


def build(ctx: Ctx) -> list[Iterator[Item]]:
    t0 = ctx.t0
    return [
        hmi_coverage(ctx, t0),
        gateway_poll(ctx, t0),
        wago_poll(ctx, t0),
        ews_gateway(ctx, t0),
        ews_m580(ctx, t0),
        hmi2_m580(ctx, t0),
        tls_probe(ctx, t0),
        ews_wago(ctx, t0),
    ]
