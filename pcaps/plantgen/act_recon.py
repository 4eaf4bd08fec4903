"""Reconnaissance traffic of an intruder: ARP sweep, TCP SYN scan, SSH banner exchange."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from .background import arp_exchange, gratuitous_arp
from .plant import Host
from .tcp import Item
from .timeline import MS, Ctx
from .wire import TCP_ACK, TCP_RST, TCP_SYN, tcp_options


def arp_sweep(
    ctx: Ctx, name: str, intruder: Host, targets: Sequence[Host], start_us: int
) -> Iterator[Item]:
    """The intruder announces itself, then asks for every target's MAC."""
    rng = ctx.rng(name)
    t = start_us
    yield (t, f"{intruder.name} ({intruder.ip}, {intruder.mac}) appears: gratuitous ARP")
    yield gratuitous_arp(t, intruder)
    t += rng.randrange(200 * MS, 600 * MS)
    yield (t, f"{intruder.name}: ARP sweep of {len(targets)} controllers")
    for target in targets:
        items = arp_exchange(t, intruder, target)
        yield from items
        t = items[-1][0] + rng.randrange(2 * MS, 9 * MS)


def syn_scan(
    ctx: Ctx,
    name: str,
    intruder: Host,
    targets: Sequence[tuple[Host, Sequence[int]]],
    ports: Sequence[int],
    start_us: int,
) -> Iterator[Item]:
    """Half-open scan: SYN; open ports answer SYN-ACK and get a RST, closed ones RST-ACK.

    ``targets`` pairs each host with its open ports.
    """
    rng = ctx.rng(name)
    probes = [(host, open_ports, port) for host, open_ports in targets for port in ports]
    rng.shuffle(probes)
    syn_opts = tcp_options([("MSS", 1460)])
    sport = rng.randrange(40000, 60000)
    t = start_us
    yield (t, f"{intruder.name}: TCP SYN scan of ports {', '.join(map(str, ports))}")
    for host, open_ports, port in probes:
        out = ctx.links.get(intruder, host)
        back = ctx.links.get(host, intruder)
        isn = rng.getrandbits(32)
        yield (
            t,
            out.tcp(
                sport, port, isn, 0, TCP_SYN, 1024, opts=syn_opts, ip_id=rng.randrange(1, 0xFFFF)
            ),
        )
        t_reply = t + rng.randrange(150, 700)
        if port in open_ports:
            peer_isn = rng.getrandbits(32)
            synack_opts = tcp_options([("MSS", host.stack.mss)])
            yield (
                t_reply,
                back.tcp(
                    port,
                    sport,
                    peer_isn,
                    (isn + 1) & 0xFFFFFFFF,
                    TCP_SYN | TCP_ACK,
                    host.stack.syn_win,
                    opts=synack_opts,
                    ip_id=rng.randrange(1, 0xFFFF),
                ),
            )
            t_rst = t_reply + rng.randrange(30, 120)
            yield (t_rst, out.tcp(sport, port, (isn + 1) & 0xFFFFFFFF, 0, TCP_RST, 0, ip_id=0))
        else:
            yield (
                t_reply,
                back.tcp(
                    port,
                    sport,
                    0,
                    (isn + 1) & 0xFFFFFFFF,
                    TCP_RST | TCP_ACK,
                    0,
                    ip_id=rng.randrange(1, 0xFFFF),
                ),
            )
        t += rng.randrange(1 * MS, 4 * MS)


def _ssh_string_list(names: str) -> bytes:
    raw = names.encode("ascii")
    return struct.pack("!I", len(raw)) + raw


def ssh_kexinit(cookie: bytes, kex: str, hostkey: str, cipher: str, mac: str) -> bytes:
    """An SSH binary packet carrying SSH_MSG_KEXINIT (RFC 4253 section 7.1)."""
    body = bytes((20,)) + cookie
    for names in (kex, hostkey, cipher, cipher, mac, mac, "none", "none", "", ""):
        body += _ssh_string_list(names)
    body += b"\x00" + bytes(4)
    pad = 8 - (len(body) + 5) % 8
    if pad < 4:
        pad += 8
    return struct.pack("!IB", len(body) + pad + 1, pad) + body + bytes(pad)


def ssh_probe(ctx: Ctx, name: str, client: Host, server: Host, start_us: int) -> Iterator[Item]:
    """Connect to TCP 22, exchange identification strings and KEXINIT, then give up."""
    rng = ctx.rng(name)
    conn = ctx.connect(client, server, 22, rng)
    yield (start_us, f"{client.name}: SSH connection to {server.name} ({server.ip}:22)")
    t = yield from conn.handshake(start_us, rng.randrange(300, 900), rng.randrange(80, 200))
    t += rng.randrange(5 * MS, 20 * MS)
    yield conn.send(t, False, b"SSH-2.0-dropbear_2022.83\r\n")
    t += rng.randrange(1 * MS, 3 * MS)
    yield conn.send(t, True, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    t += rng.randrange(1 * MS, 3 * MS)
    cookie = bytes(rng.getrandbits(8) for _ in range(16))
    yield conn.send(
        t,
        True,
        ssh_kexinit(
            cookie,
            "curve25519-sha256,diffie-hellman-group14-sha256",
            "ssh-ed25519,rsa-sha2-512",
            "aes128-ctr,aes256-ctr",
            "hmac-sha2-256",
        ),
    )
    t += rng.randrange(3 * MS, 10 * MS)
    cookie = bytes(rng.getrandbits(8) for _ in range(16))
    yield conn.send(
        t,
        False,
        ssh_kexinit(cookie, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256"),
    )
    t += rng.randrange(40 * MS, 120 * MS)
    yield from conn.close(t, True, rng.randrange(500, 2000), rng.randrange(100, 300))
