"""Background IT traffic: ARP, DNS over UDP, HTTP with multi-segment answers, ping."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator, Sequence
from functools import cache

from .plant import Host
from .tcp import Item
from .timeline import MS, SECOND, Ctx
from .wire import arp_frame

BROADCAST = "ff:ff:ff:ff:ff:ff"


def arp_exchange(t: int, asker: Host, target: Host) -> list[Item]:
    """Broadcast who-has and the unicast is-at reply."""
    req = arp_frame(1, asker.mac, asker.ip, BROADCAST, "00:00:00:00:00:00", target.ip)
    rep = arp_frame(2, target.mac, target.ip, asker.mac, asker.mac, asker.ip)
    return [(t, req), (t + 180, rep)]


def gratuitous_arp(t: int, host: Host) -> Item:
    return (t, arp_frame(1, host.mac, host.ip, BROADCAST, "00:00:00:00:00:00", host.ip))


def arp_chatter(
    ctx: Ctx, name: str, hosts: Sequence[Host], start_us: int, end_us: int, mean_gap_us: int
) -> Iterator[Item]:
    """Cache refreshes between random pairs of local hosts."""
    rng = ctx.rng(name)
    local = [h for h in hosts if h.local]
    t = start_us
    while t < end_us:
        asker, target = rng.sample(local, 2)
        yield from arp_exchange(t, asker, target)
        t += rng.randrange(mean_gap_us // 2, mean_gap_us * 3 // 2)


# DNS ---------------------------------------------------------------------------------


def _qname(name: str) -> bytes:
    labels = [label.encode("ascii") for label in name.rstrip(".").split(".")]
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"


@cache
def _dns_pair(name: str, answer: str) -> tuple[bytes, bytes]:
    """Query and answer (RFC 1035) with transaction id 0, patched per use. An empty
    ``answer`` gives NXDOMAIN. Encoded here rather than by scapy so that the bytes do not
    depend on the scapy version's name compression."""
    question = _qname(name) + struct.pack("!HH", 1, 1)  # type A, class IN
    query = struct.pack("!HHHHHH", 0, 0x0100, 1, 0, 0, 0) + question  # RD
    if answer:
        record = struct.pack("!HHHIH", 0xC00C, 1, 1, 3600, 4) + socket.inet_aton(answer)
        reply = struct.pack("!HHHHHH", 0, 0x8180, 1, 1, 0, 0) + question + record
    else:
        reply = struct.pack("!HHHHHH", 0, 0x8183, 1, 0, 0, 0) + question  # RCODE 3
    return query, reply


def dns_client(
    ctx: Ctx,
    name: str,
    client: Host,
    server: Host,
    start_us: int,
    end_us: int,
    mean_gap_us: int,
    names: Sequence[tuple[str, str]],
) -> Iterator[Item]:
    """A queries with answers; an empty answer address means NXDOMAIN."""
    rng = ctx.rng(name)
    c2s = ctx.links.get(client, server)
    s2c = ctx.links.get(server, client)
    ip_c, ip_s = rng.randrange(1, 0xFFFF), rng.randrange(1, 0xFFFF)
    t = start_us + rng.randrange(0, mean_gap_us)
    while t < end_us:
        qname, answer = rng.choice(names)
        query, reply = _dns_pair(qname, answer)
        txid = struct.pack("!H", rng.randrange(1, 0xFFFF))
        port = ctx.ephemeral_port(client)
        yield (t, c2s.udp(port, 53, txid + query[2:], ip_c))
        t_reply = t + rng.randrange(800, 6000)
        yield (t_reply, s2c.udp(53, port, txid + reply[2:], ip_s))
        ip_c, ip_s = (ip_c + 1) & 0xFFFF, (ip_s + 1) & 0xFFFF
        t += rng.randrange(mean_gap_us // 2, mean_gap_us * 3 // 2)


# HTTP --------------------------------------------------------------------------------


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _http_date(t_us: int) -> str:
    """IMF-fixdate, built without strftime so no locale can change it."""
    tm = time.gmtime(t_us // SECOND)
    return (
        f"{_DAYS[tm.tm_wday]}, {tm.tm_mday:02d} {_MONTHS[tm.tm_mon - 1]} {tm.tm_year} "
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} GMT"
    )


def trend_page(tag: str, rows: int, seed: int) -> bytes:
    lines = [
        f"<tr><td>{i:04d}</td><td>{tag}</td><td>{(seed * 7 + i * 13) % 1000}.{i % 10}</td></tr>"
        for i in range(rows)
    ]
    body = (
        "<!DOCTYPE html>\n<html><head><title>Trend " + tag + "</title></head><body>\n"
        "<h1>Historian trend</h1>\n<table>\n" + "\n".join(lines) + "\n</table></body></html>\n"
    )
    return body.encode("ascii")


def http_session(
    ctx: Ctx,
    name: str,
    client: Host,
    server: Host,
    start_us: int,
    path: str,
    body: bytes,
    server_header: str = "nginx/1.22.1",
) -> Iterator[Item]:
    """GET, a response cut at the MSS over several segments, server-side close."""
    rng = ctx.rng(name)
    conn = ctx.connect(client, server, 80, rng)
    t = start_us
    t = yield from conn.handshake(t, rng.randrange(300, 1500), rng.randrange(100, 400))
    t += rng.randrange(1 * MS, 3 * MS)
    req = (
        f"GET {path} HTTP/1.1\r\nHost: {server.name}\r\n"
        "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
        "Accept: text/html\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    yield conn.send(t, True, req)
    t += rng.randrange(3 * MS, 15 * MS)
    head = (
        f"HTTP/1.1 200 OK\r\nServer: {server_header}\r\nDate: {_http_date(t)}\r\n"
        f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    items, t = conn.bulk(t, False, head + body)
    yield from items
    t += rng.randrange(1 * MS, 3 * MS)
    yield from conn.close(t, False, rng.randrange(500, 3000), rng.randrange(100, 500))


def http_browser(
    ctx: Ctx, name: str, client: Host, server: Host, start_us: int, end_us: int, mean_gap_us: int
) -> Iterator[Item]:
    rng = ctx.rng(name)
    t = start_us + rng.randrange(0, mean_gap_us)
    n = 0
    while t < end_us:
        tag = rng.choice(("FT101", "LT204", "PT301", "TT110", "AIT402"))
        body = trend_page(tag, rng.randrange(40, 110), n)
        yield from http_session(ctx, f"{name}/{n}", client, server, t, f"/trend?tag={tag}", body)
        n += 1
        t += rng.randrange(mean_gap_us // 2, mean_gap_us * 3 // 2)


# ICMP --------------------------------------------------------------------------------


def pinger(
    ctx: Ctx,
    name: str,
    source: Host,
    targets: Sequence[Host],
    start_us: int,
    end_us: int,
    period_us: int,
) -> Iterator[Item]:
    """Linux ping (16-byte timeval + pattern) to each target in turn, with replies."""
    rng = ctx.rng(name)
    ident = rng.randrange(1, 0xFFFF)
    seq = 0
    ip_ids = {h.name: rng.randrange(1, 0xFFFF) for h in (source, *targets)}
    t = start_us + rng.randrange(0, period_us)
    pattern = bytes(range(0x10, 0x38))
    while t < end_us:
        for target in targets:
            seq += 1
            tv = struct.pack("<QQ", t // SECOND, t % SECOND)
            out = ctx.links.get(source, target)
            back = ctx.links.get(target, source)
            yield (t, out.icmp(8, 0, ident, seq, tv + pattern, ip_ids[source.name]))
            t_reply = t + rng.randrange(150, 900)
            yield (t_reply, back.icmp(0, 0, ident, seq, tv + pattern, ip_ids[target.name]))
            ip_ids[source.name] = (ip_ids[source.name] + 1) & 0xFFFF
            ip_ids[target.name] = (ip_ids[target.name] + 1) & 0xFFFF
            t += rng.randrange(20 * MS, 60 * MS)
        t += period_us
