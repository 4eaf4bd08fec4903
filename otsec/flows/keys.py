"""Flow identifiers: the Community ID (ECS ``network.community_id``) and address text."""

from __future__ import annotations

import base64
import hashlib
import struct

_PORTS = struct.Struct("!HH")


def _addr_bytes(addr: int | bytes) -> bytes:
    return addr.to_bytes(4, "big") if isinstance(addr, int) else addr


def community_id(
    proto: int, src: int | bytes, dst: int | bytes, sport: int, dport: int, seed: int = 0
) -> str:
    """Community ID v1 of a TCP/UDP flow (https://github.com/corelight/community-id-spec).

    The hash covers seed, the two endpoints in a canonical order (the smaller address, or
    port when the addresses are equal, goes first), the IP protocol and the ports, so both
    directions of a flow and every sensor that sees it get the same identifier.
    """
    a = _addr_bytes(src)
    b = _addr_bytes(dst)
    if (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", seed) + a + b + bytes((proto, 0)) + _PORTS.pack(sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
