"""The benchmark capture: a ~50-host plant running until N packets are written.

The activities are the same generators as in the committed scenarios: every link's
Ethernet/IP header is a template built once with scapy, every packet is patched in with
``struct`` (ports, seq/ack, IP id, checksums, Modbus transaction ids and values, DNP3
sequence numbers and CRCs, S7 PDU references) and streamed to a buffered file, so memory
stays constant whatever N is. The composition is tuned to about 45 % Modbus/TCP, 19 %
S7comm, 7 % DNP3 and 29 % background traffic by packet count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from . import modbus as mb
from . import plant as P
from .act_dnp3 import Dnp3PollSpec, dnp3_master
from .act_modbus import PollSpec, one_shot, poller
from .act_s7 import SZL_001C, SZL_0011, S7PollSpec, s7_identify, s7_poller
from .background import arp_chatter, dns_client, http_browser, pinger
from .baseline import DNS_NAMES, HMI_POLLS, NXDOMAIN, S7_ITEMS_1, S7_ITEMS_2
from .tcp import Item
from .timeline import MS, SECOND, Ctx, write_capture
from .wire import BASE_EPOCH_US

FOREVER = 1 << 62  # activities run until the packet budget is spent


def _plant() -> dict[str, list[P.Host]]:
    extra = P.bench_hosts()
    return {
        "mb": [P.PLC_MB1, P.PLC_MB2, P.PLC_MB3, *extra["mb"]],
        "s7": [P.PLC_S71, P.PLC_S72, *extra["s7"]],
        "rtu": [P.RTU1, P.RTU2, P.RTU3, *extra["rtu"]],
        "hmi": [P.HMI1, P.HMI2, *extra["hmi"]],
        "office": extra["office"],
    }


def _register_identity(plant: dict[str, list[P.Host]]) -> None:
    """S7 CPUs added for the benchmark answer SZL reads like the first S7-300."""
    for host in plant["s7"]:
        SZL_0011.setdefault(host.name, SZL_0011[P.PLC_S71.name])
        SZL_001C.setdefault(host.name, SZL_001C[P.PLC_S71.name])


def _engineering(ctx: Ctx, plant: dict[str, list[P.Host]], t0: int) -> Iterator[Item]:
    """The engineering workstation identifies one controller after another."""
    rng = ctx.rng("bench/ews")
    t = t0 + 20 * SECOND
    n = 0
    while True:
        n += 1
        if n % 2:
            plc = rng.choice(plant["mb"])
            yield from one_shot(
                ctx, f"bench/ews/{n}", P.EWS, plc, t, [(1, mb.read_device_id_request(), "")]
            )
        else:
            plc = rng.choice(plant["s7"])
            slot = 1 if plc is P.PLC_S72 else 2
            yield from s7_identify(ctx, f"bench/ews/{n}", P.EWS, plc, t, 0, slot)
        t += rng.randrange(40 * SECOND, 80 * SECOND)


def bench_activities(ctx: Ctx) -> list[Iterator[Item]]:
    plant = _plant()
    _register_identity(plant)
    t0 = ctx.t0
    acts: list[Iterator[Item]] = []
    hmis = plant["hmi"]
    for i, plc in enumerate(plant["mb"]):
        for k in range(2):
            hmi = hmis[(i + 2 * k) % len(hmis)]
            acts.append(
                poller(
                    ctx,
                    PollSpec(
                        f"bench/{hmi.name}/{plc.name}",
                        hmi,
                        plc,
                        t0 + (i * 137 + k * 61) * MS,
                        FOREVER,
                        (1000 if k == 0 else 2000) * MS,
                        HMI_POLLS if k == 0 else HMI_POLLS[:2],
                        pipeline=(i + k) % 4 == 3,
                        writes_every_us=(40 + 7 * i) * SECOND,
                        bad_read_every=300,
                        split_every=97 if i % 3 == 0 else 0,
                        reconnect_every_us=(90 + 11 * i) * SECOND,
                    ),
                )
            )
        acts.append(
            poller(
                ctx,
                PollSpec(
                    f"bench/hist-01/{plc.name}",
                    P.HIST,
                    plc,
                    t0 + (500 + i * 211) * MS,
                    FOREVER,
                    5 * SECOND,
                    ((4, 0, 60), (3, 100, 40)),
                    jitter_us=5 * MS,
                    reconnect_every_us=60 * SECOND,
                ),
            )
        )
    for i, plc in enumerate(plant["s7"]):
        slot = 1 if plc is P.PLC_S72 else 2
        items = S7_ITEMS_2 if i % 2 else S7_ITEMS_1
        acts.append(
            s7_poller(
                ctx,
                S7PollSpec(
                    f"bench/scada-01/{plc.name}",
                    P.SCADA,
                    plc,
                    t0 + (300 + i * 173) * MS,
                    FOREVER,
                    500 * MS,
                    0,
                    slot,
                    items,
                    amq=2,
                    writes_every_us=(45 + 5 * i) * SECOND,
                    missing_every=400,
                    pipeline_every=25,
                    split_every=70,
                    reconnect_every_us=(120 + 13 * i) * SECOND,
                ),
            )
        )
        hmi = hmis[i % len(hmis)]
        acts.append(
            s7_poller(
                ctx,
                S7PollSpec(
                    f"bench/{hmi.name}/{plc.name}",
                    hmi,
                    plc,
                    t0 + (700 + i * 97) * MS,
                    FOREVER,
                    800 * MS,
                    0,
                    slot,
                    items[:2],
                    reconnect_every_us=(150 + 17 * i) * SECOND,
                ),
            )
        )
    for i, rtu in enumerate(plant["rtu"]):
        acts.append(
            dnp3_master(
                ctx,
                Dnp3PollSpec(
                    f"bench/fep-01/{rtu.name}",
                    P.DNP_MASTER,
                    rtu,
                    t0 + (200 + i * 331) * MS,
                    FOREVER,
                    event_period_us=900 * MS,
                    integrity_period_us=60 * SECOND,
                    frames_per_segment=i % 2,
                    select_operate_every=40 if i % 2 == 0 else 0,
                    direct_operate_every=55 if i % 2 else 0,
                    link_status_every=30,
                ),
            )
        )
    acts.append(_engineering(ctx, plant, t0))
    acts += _background(ctx, plant, t0)
    return acts


def _background(ctx: Ctx, plant: dict[str, list[P.Host]], t0: int) -> list[Iterator[Item]]:
    hosts = [
        *P.BASE_HOSTS,
        *plant["mb"][3:],
        *plant["s7"][2:],
        *plant["rtu"][3:],
        *plant["hmi"][2:],
        *plant["office"],
    ]
    controllers = [*plant["mb"], *plant["s7"], *plant["rtu"]]
    acts: list[Iterator[Item]] = [
        arp_chatter(ctx, "bench/arp", hosts, t0, FOREVER, 100 * MS),
        pinger(ctx, "bench/ping", P.NMS, controllers, t0 + SECOND, FOREVER, 120 * SECOND),
        http_browser(ctx, "bench/ews/http", P.EWS, P.HIST, t0 + 3 * SECOND, FOREVER, 25 * SECOND),
    ]
    clients = [P.HMI1, P.HMI2, P.EWS, P.SCADA, *plant["hmi"][2:], *plant["office"]]
    for i, host in enumerate(clients):
        names = DNS_NAMES + ((NXDOMAIN,) if i % 5 == 0 else ())
        acts.append(
            dns_client(
                ctx,
                f"bench/{host.name}/dns",
                host,
                P.DNS_SRV,
                t0,
                FOREVER,
                (350 + 20 * i) * MS,
                names,
            )
        )
    for i, host in enumerate(plant["office"]):
        server = P.INTRANET if i % 2 else P.HIST
        acts.append(
            http_browser(
                ctx,
                f"bench/{host.name}/http",
                host,
                server,
                t0 + (4 + i) * SECOND,
                FOREVER,
                25 * SECOND,
            )
        )
    return acts


def build_bench(out: Path, packets: int, seed: int) -> int:
    ctx = Ctx(seed, BASE_EPOCH_US)
    summary = write_capture(out, bench_activities(ctx), limit=packets)
    return summary.packets
