"""plant_vlan_ipv6: the plant's ICS sessions over 802.1Q, QinQ and IPv6 (+ DNP3/UDP).

Short sessions, one after another, each with its handshake and FIN teardown, so every
encapsulation appears with complete TCP streams.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import plant as P
from . import s7
from .act_dnp3 import Dnp3PollSpec, dnp3_master, dnp3_udp
from .act_modbus import PollSpec, poller
from .act_s7 import S7PollSpec, s7_poller
from .baseline import HMI_POLLS, S7_ITEMS_1
from .tcp import Item
from .timeline import MS, SECOND, Ctx
from .wire import Encap

VLAN10 = Encap(vlans=((0x8100, 10, 3),))
VLAN30 = Encap(vlans=((0x8100, 30, 5),))
QINQ = Encap(vlans=((0x88A8, 100, 0), (0x8100, 20, 3)))
V6_DST = Encap(ipv6=True, ext_headers=("dst",))
V6_HBH = Encap(ipv6=True, ext_headers=("hbh",))
V6_BOTH = Encap(ipv6=True, ext_headers=("hbh", "dst"))
V6_VLAN10 = Encap(vlans=((0x8100, 10, 3),), ipv6=True)

SLOT = 10 * SECOND


def _noted(text: str, t: int, inner: Iterator[Item]) -> Iterator[Item]:
    yield (t, text)
    yield from inner


def _modbus(
    ctx: Ctx,
    name: str,
    span: tuple[int, int],
    polls: tuple[tuple[int, int, int], ...],
    encap: Encap,
    unit: int = 1,
) -> Iterator[Item]:
    spec = PollSpec(
        name, P.HMI1, P.PLC_MB1, *span, 1000 * MS, polls, unit=unit, encap=encap, close_at_end=True
    )
    return poller(ctx, spec)


def _s7(
    ctx: Ctx, name: str, span: tuple[int, int], items: tuple[s7.VarItem, ...], encap: Encap
) -> Iterator[Item]:
    spec = S7PollSpec(
        name, P.SCADA, P.PLC_S71, *span, 1000 * MS, 0, 2, items, encap=encap, close_at_end=True
    )
    return s7_poller(ctx, spec)


def _dnp3(ctx: Ctx, name: str, span: tuple[int, int], encap: Encap) -> Iterator[Item]:
    spec = Dnp3PollSpec(
        name,
        P.DNP_MASTER,
        P.RTU1,
        *span,
        event_period_us=2 * SECOND,
        encap=encap,
        close_at_end=True,
    )
    return dnp3_master(ctx, spec)


def build(ctx: Ctx) -> list[Iterator[Item]]:
    def span(n: int) -> tuple[int, int]:
        start = ctx.t0 + n * SLOT
        return start, start + SLOT - 2 * SECOND

    sessions = [
        (
            "Modbus/TCP over 802.1Q VLAN 10",
            _modbus(ctx, "v10/modbus", span(0), HMI_POLLS[:2], VLAN10),
        ),
        (
            "S7comm over QinQ (0x88a8 vid 100, 0x8100 vid 20)",
            _s7(ctx, "qinq/s7", span(1), S7_ITEMS_1, QINQ),
        ),
        ("DNP3 over 802.1Q VLAN 30", _dnp3(ctx, "v30/dnp3", span(2), VLAN30)),
        (
            "Modbus/TCP over IPv6 with a destination options header",
            _modbus(ctx, "v6/modbus", span(3), HMI_POLLS[2:], V6_DST),
        ),
        (
            "S7comm over IPv6 with a hop-by-hop options header",
            _s7(ctx, "v6/s7", span(4), S7_ITEMS_1[:2], V6_HBH),
        ),
        (
            "DNP3 over IPv6 with hop-by-hop and destination options",
            _dnp3(ctx, "v6/dnp3", span(5), V6_BOTH),
        ),
        (
            "Modbus/TCP over IPv6 in 802.1Q VLAN 10",
            _modbus(ctx, "v6v10/modbus", span(6), HMI_POLLS[:1], V6_VLAN10, unit=255),
        ),
    ]
    acts = [_noted(text, span(n)[0], act) for n, (text, act) in enumerate(sessions)]
    start = span(len(sessions))[0]
    acts.append(dnp3_udp(ctx, "udp/dnp3", P.DNP_MASTER, P.RTU2, start, 4, 1500 * MS, VLAN30))
    return acts
