"""A TCP connection model with exact sequence/acknowledgement accounting.

The capture point sees both directions, so "sent" and "received" coincide: every segment
acknowledges all the peer has sent so far. A pure ACK is only ever emitted when it
acknowledges new data, so no duplicate ACKs appear unless a scenario asks for them.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass

from .plant import Host, LinkCache, Stack
from .wire import PLAIN, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, Encap, Link, tcp_options

Item = tuple[int, bytes | str]  # (absolute time in microseconds, frame or timeline note)
# a generator of items that returns the time of its last item (``t = yield from ...``)
Timed = Generator[Item, None, int]

_MASK = 0xFFFFFFFF
_OPT_CACHE: dict[tuple[object, ...], bytes] = {}


def syn_options(stack: Stack, peer_syn: Stack | None = None) -> bytes:
    """SYN options of ``stack``; for a SYN-ACK, only what the peer's SYN offered too."""
    key = (stack.name, peer_syn.name if peer_syn else "")
    if key in _OPT_CACHE:
        return _OPT_CACHE[key]
    opts: list[tuple[str, object]] = [("MSS", stack.mss)]
    if peer_syn is None:
        if stack.name == "windows":
            opts += [("NOP", None), ("WScale", stack.wscale), ("NOP", None), ("NOP", None)]
            opts += [("SAckOK", b"")]
        else:
            if stack.sack:
                opts.append(("SAckOK", b""))
            if stack.timestamp_in_syn:
                # a fixed TSval: the real one is a clock, never read here
                opts.append(("Timestamp", (6_041_105, 0)))
            if stack.wscale is not None:
                opts += [("NOP", None), ("WScale", stack.wscale)]
    else:
        if stack.sack and peer_syn.sack:
            opts += [("NOP", None), ("NOP", None), ("SAckOK", b"")]
        if stack.wscale is not None and peer_syn.wscale is not None:
            opts += [("NOP", None), ("WScale", stack.wscale)]
    raw = tcp_options(opts)
    _OPT_CACHE[key] = raw
    return raw


class TcpEnd:
    """One side of a connection."""

    __slots__ = ("host", "ip_id", "last", "link", "nxt", "port", "rcv", "sent_ack", "win")

    def __init__(self, host: Host, link: Link, port: int, isn: int, ip_id: int) -> None:
        self.host = host
        self.link = link
        self.port = port
        self.nxt = isn  # next sequence number this side sends
        self.rcv = 0  # next sequence number expected from the peer
        self.sent_ack = -1  # last acknowledgement number this side put on the wire
        self.win = host.stack.syn_win
        self.ip_id = ip_id
        self.last: tuple[int, int, int, bytes] | None = None  # last data segment


@dataclass
class ConnSpec:
    client: Host
    server: Host
    cport: int
    sport: int
    encap: Encap = PLAIN


class TcpConn:
    """Builds the frames of one TCP connection; each method returns time-stamped items."""

    def __init__(self, links: LinkCache, spec: ConnSpec, rng: random.Random) -> None:
        c, s = spec.client, spec.server
        self.c = TcpEnd(
            c,
            links.get(c, s, spec.encap),
            spec.cport,
            rng.getrandbits(32),
            rng.randrange(1, 0xFFFF),
        )
        self.s = TcpEnd(
            s,
            links.get(s, c, spec.encap),
            spec.sport,
            rng.getrandbits(32),
            rng.randrange(1, 0xFFFF),
        )
        self.scaled = c.stack.wscale is not None and s.stack.wscale is not None
        self.mss = min(c.stack.mss, s.stack.mss)

    def ends(self, from_client: bool) -> tuple[TcpEnd, TcpEnd]:
        return (self.c, self.s) if from_client else (self.s, self.c)

    def _frame(
        self,
        src: TcpEnd,
        dst: TcpEnd,
        flags: int,
        payload: bytes = b"",
        opts: bytes = b"",
        seq: int | None = None,
        ack: int | None = None,
    ) -> bytes:
        if seq is None:
            seq = src.nxt
        if ack is None:
            ack = src.rcv if flags & TCP_ACK else 0
        frame = src.link.tcp(src.port, dst.port, seq, ack, flags, src.win, payload, opts, src.ip_id)
        src.ip_id = (src.ip_id + 1) & 0xFFFF
        if flags & TCP_ACK:
            src.sent_ack = ack
        return frame

    def _settle_windows(self) -> None:
        for end in (self.c, self.s):
            st = end.host.stack
            end.win = (st.win_bytes >> (st.wscale or 0)) if self.scaled else st.win_unscaled

    # -- connection setup and teardown -------------------------------------------------

    def syn(self, t: int) -> Item:
        c, s = self.c, self.s
        frame = self._frame(c, s, TCP_SYN, opts=syn_options(c.host.stack))
        c.nxt = (c.nxt + 1) & _MASK
        s.rcv = c.nxt
        return (t, frame)

    def syn_ack(self, t: int) -> Item:
        c, s = self.c, self.s
        opts = syn_options(s.host.stack, c.host.stack)
        frame = self._frame(s, c, TCP_SYN | TCP_ACK, opts=opts)
        s.nxt = (s.nxt + 1) & _MASK
        c.rcv = s.nxt
        self._settle_windows()
        return (t, frame)

    def handshake(self, t: int, synack_us: int = 300, ack_us: int = 150) -> Timed:
        """SYN, SYN-ACK, ACK; returns the time of the ACK."""
        yield self.syn(t)
        yield self.syn_ack(t + synack_us)
        t += synack_us + ack_us
        yield (t, self._frame(self.c, self.s, TCP_ACK))
        return t

    def close(self, t: int, from_client: bool = True, d1: int = 400, d2: int = 200) -> list[Item]:
        """FIN/ACK, the peer's FIN/ACK (its ACK folded in), and the last ACK."""
        a, b = self.ends(from_client)
        items: list[Item] = [(t, self._frame(a, b, TCP_FIN | TCP_ACK))]
        a.nxt = (a.nxt + 1) & _MASK
        b.rcv = a.nxt
        items.append((t + d1, self._frame(b, a, TCP_FIN | TCP_ACK)))
        b.nxt = (b.nxt + 1) & _MASK
        a.rcv = b.nxt
        items.append((t + d1 + d2, self._frame(a, b, TCP_ACK)))
        return items

    # -- data ------------------------------------------------------------------------------

    def send(self, t: int, from_client: bool, payload: bytes, push: bool = True) -> Item:
        """One data segment (the caller keeps it within the MSS)."""
        a, b = self.ends(from_client)
        flags = TCP_ACK | (TCP_PSH if push else 0)
        a.last = (a.nxt, a.rcv, flags, payload)
        frame = self._frame(a, b, flags, payload)
        a.nxt = (a.nxt + len(payload)) & _MASK
        b.rcv = a.nxt
        return (t, frame)

    def send_parts(self, t: int, from_client: bool, parts: list[bytes], gap_us: int) -> list[Item]:
        """Several back-to-back segments, e.g. one PDU cut in two, each pushed."""
        return [self.send(t + i * gap_us, from_client, p) for i, p in enumerate(parts)]

    def bulk(
        self, t: int, from_client: bool, payload: bytes, gap_us: int = 120, ack_us: int = 60
    ) -> tuple[list[Item], int]:
        """A large write cut at the MSS; the receiver ACKs every second full segment.

        Returns the items and the time of the last one.
        """
        items: list[Item] = []
        chunks = [payload[i : i + self.mss] for i in range(0, len(payload), self.mss)]
        now = t
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            items.append(self.send(now, from_client, chunk, push=last))
            if i % 2 == 1 and not last:
                ack = self.ack(now + ack_us, not from_client)
                if ack is not None:
                    items.append(ack)
            now += gap_us
        return items, now - gap_us

    def ack(self, t: int, from_client: bool) -> Item | None:
        """A pure ACK, only when it acknowledges something new."""
        a, b = self.ends(from_client)
        if a.sent_ack == a.rcv:
            return None
        return (t, self._frame(a, b, TCP_ACK))

    def delayed_acks(self, t: int, quiet_us: int) -> list[Item]:
        """Pure ACKs both sides owe, each after its delayed-ACK timer, if that timer fires
        within ``quiet_us`` (before the next data segment would carry the ACK anyway)."""
        out: list[Item] = []
        for from_client, end in ((True, self.c), (False, self.s)):
            delay = end.host.stack.delack_us
            if delay < quiet_us:
                ack = self.ack(t + delay, from_client)
                if ack is not None:
                    out.append(ack)
        out.sort(key=lambda item: item[0])
        return out

    def retransmit(self, t: int, from_client: bool) -> Item:
        """Resend the last data segment of a side unchanged (same seq, ack, flags, bytes)."""
        a, b = self.ends(from_client)
        assert a.last is not None
        seq, ack, flags, payload = a.last
        return (t, self._frame(a, b, flags, payload, seq=seq, ack=ack))
