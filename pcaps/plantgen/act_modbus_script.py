"""Scripted Modbus/TCP sessions: explicit requests and answers, with segment cuts.

The polling clients of ``act_modbus`` compute their traffic from a cycle; the coverage
capture (``modbus_functions``) needs every exchange spelled out instead: which function,
which answer (or none), where the ADU bytes are cut into TCP segments, several ADUs in
one segment, an answer nobody asked for. ``MbSession`` does that on one ``TcpConn``.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from itertools import pairwise

from . import modbus as mb
from .act_modbus import serve
from .plant import Host
from .process import ProcessImage
from .tcp import Item, TcpConn, Timed
from .timeline import MS, Ctx

# gap between the segments of one cut write (the sender's stack flushes them back to back)
CUT_GAP_US = 90


def cut(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """``data`` cut at the given offsets (ascending, inside the data)."""
    bounds = [0, *cuts, len(data)]
    assert all(a < b for a, b in pairwise(bounds)), (cuts, len(data))
    return [data[a:b] for a, b in pairwise(bounds)]


def mask_write(image: ProcessImage, pdu: bytes, t_us: int) -> bytes:
    """FC 22 on a process image: (current AND and_mask) OR (or_mask AND NOT and_mask)."""
    addr, and_mask, or_mask = struct.unpack_from("!HHH", pdu, 1)
    current = image.registers(addr, 1, t_us, True)[0]
    image.holding[addr] = (current & and_mask) | (or_mask & ~and_mask & 0xFFFF)
    return pdu


class MbSession:
    """One Modbus/TCP connection from a client to a server (or gateway), scripted."""

    def __init__(self, ctx: Ctx, name: str, client: Host, server: Host) -> None:
        self.rng: random.Random = ctx.rng(name)
        self.conn: TcpConn = ctx.connect(client, server, 502, self.rng)
        self.image = ctx.image(server)
        self.tid = self.rng.randrange(1, 4000)
        self.server = server
        # process images of the units behind a gateway (the server's own image otherwise)
        self.unit_images: dict[int, ProcessImage] = {}
        # answer latency of the server in microseconds (low, high)
        self.latency = (1500, 6000)
        # a gateway: microseconds per character on its serial line (0: a plain server)
        self.char_us = 0

    def take_tid(self, n: int = 1) -> int:
        tid = self.tid
        self.tid = (self.tid + n) & 0xFFFF
        return tid

    def open(self, t: int) -> Timed:
        rng = self.rng
        t = yield from self.conn.handshake(t, rng.randrange(200, 900), rng.randrange(80, 300))
        return t + rng.randrange(1 * MS, 4 * MS)

    def answer(self, unit: int, pdu: bytes, t: int) -> bytes:
        """The server model's answer for the data function codes (1-6, 15, 16, 22, 23)."""
        image = self.unit_images.get(unit, self.image)
        if pdu[0] == mb.MASK_WRITE_REGISTER:
            return mask_write(image, pdu, t)
        return serve(self.server, image, pdu, t)

    def answer_time(self, request: bytes, response: bytes) -> int:
        """Time from request to answer: the server's own latency, or for a gateway the
        serial round trip (RTU frames of PDU + address + CRC, each way) plus the serial
        server's turnaround."""
        if not self.char_us:
            return self.rng.randrange(*self.latency)
        chars = len(request) + 3 + len(response) + 3
        return chars * self.char_us + 4 * MS + self.rng.randrange(1 * MS, 12 * MS)

    def segments(self, t: int, from_client: bool, data: bytes, cuts: Sequence[int]) -> Timed:
        """``data`` as one segment, or cut in several; returns the time of the last one."""
        parts = cut(data, cuts)
        yield from self.conn.send_parts(t, from_client, parts, CUT_GAP_US)
        return t + CUT_GAP_US * (len(parts) - 1)

    def exchange(
        self,
        t: int,
        unit: int,
        request: bytes,
        response: bytes | None = b"",
        *,
        latency: int = 0,
        req_cuts: Sequence[int] = (),
        resp_cuts: Sequence[int] = (),
        note: str = "",
        resp_note: str = "",
    ) -> Timed:
        """One request and its answer, returns the time of the last frame.

        ``response`` empty: the server model answers; ``None``: no answer at all (the
        server only acknowledges the request after its delayed-ACK timer). ``latency``
        overrides the server's answer time. A note is attached to the request's first
        segment, ``resp_note`` to the answer's.
        """
        tid = self.take_tid()
        if note:
            yield (t, note)
        t = yield from self.segments(t, True, mb.adu(tid, unit, request), req_cuts)
        if response is None:
            ack = self.conn.ack(t + self.server.stack.delack_us, False)
            if ack is not None:
                yield ack
                t = ack[0]
            return t
        if not response:
            response = self.answer(unit, request, t)
        t += latency or self.answer_time(request, response)
        if resp_note:
            yield (t, resp_note)
        return (yield from self.segments(t, False, mb.adu(tid, unit, response), resp_cuts))

    def pipelined(
        self,
        t: int,
        unit: int,
        requests: Sequence[bytes],
        req_cuts: Sequence[int] = (),
        resp_cuts: Sequence[int] = (),
        note: str = "",
    ) -> Timed:
        """Several requests written at once (one segment unless cut) with consecutive
        transaction ids; the server model answers them all in one write, cut as told."""
        tid = self.take_tid(len(requests))
        data = b"".join(mb.adu(tid + i, unit, pdu) for i, pdu in enumerate(requests))
        if note:
            yield (t, note)
        t = yield from self.segments(t, True, data, req_cuts)
        answers = b"".join(
            mb.adu(tid + i, unit, self.answer(unit, pdu, t)) for i, pdu in enumerate(requests)
        )
        t += self.rng.randrange(*self.latency) + 400 * len(requests)
        return (yield from self.segments(t, False, answers, resp_cuts))

    def unsolicited(self, t: int, tid: int, unit: int, response: bytes, note: str = "") -> Timed:
        """An answer from the server that no request on this connection asked for."""
        if note:
            yield (t, note)
        yield self.conn.send(t, False, mb.adu(tid, unit, response))
        return t

    def pause(self, t: int, gap_us: int) -> Timed:
        """Idle for ``gap_us``: the delayed ACKs that fire meanwhile, then the next time."""
        yield from self.conn.delayed_acks(t, gap_us)
        return t + gap_us

    def close(self, t: int, from_client: bool = True) -> Timed:
        rng = self.rng
        items: list[Item] = self.conn.close(
            t, from_client, rng.randrange(300, 2000), rng.randrange(100, 400)
        )
        yield from items
        return items[-1][0]
