"""plant_baseline: normal operation of the small water-treatment plant."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from . import modbus as mb
from . import plant as P
from . import s7
from .act_dnp3 import Dnp3PollSpec, dnp3_master
from .act_modbus import PollSpec, one_shot, poller
from .act_s7 import S7PollSpec, s7_identify, s7_poller
from .background import arp_chatter, dns_client, gratuitous_arp, http_browser, pinger
from .tcp import Item
from .timeline import MS, SECOND, Ctx

DURATION_US = 300 * SECOND

DNS_NAMES = (
    ("wsus.corp.example.com", "10.1.0.20"),
    ("time.corp.example.com", "10.1.0.123"),
    ("hist-01.plant.example.com", "10.20.1.20"),
    ("intranet.corp.example.com", "10.1.0.80"),
)
NXDOMAIN = ("licence-check.vendor.example.net", "")

S7_ITEMS_1 = (
    s7.VarItem(s7.AREA_DB, 1, 0, 20),
    s7.VarItem(s7.AREA_M, 0, 0, 4),
    s7.VarItem(s7.AREA_I, 0, 0, 2),
    s7.VarItem(s7.AREA_Q, 0, 0, 2),
)
S7_ITEMS_2 = (
    s7.VarItem(s7.AREA_DB, 3, 0, 8, s7.TS_WORD),
    s7.VarItem(s7.AREA_M, 0, 10, 2),
    s7.VarItem(s7.AREA_I, 0, 0, 3),
    s7.VarItem(s7.AREA_Q, 0, 0, 1),
)

HMI_POLLS = ((3, 0, 20), (1, 0, 16), (2, 0, 16), (4, 0, 10))


def _once(item: Item) -> Iterator[Item]:
    yield item


# What an operator write or a DNP3 control may pick, per activity name: "coils" and
# "registers" (Modbus pollers), "crob" (g12v1) and "analog" (g41v2) point indices (DNP3
# masters). An activity not named picks from the plant's full sets.
WriteTargets = Mapping[str, Mapping[str, tuple[int, ...]]]


def normal_activities(
    ctx: Ctx,
    t0: int,
    duration_us: int,
    edge_cases: bool,
    restart_iin: dict[str, int] | None = None,
    write_targets: WriteTargets | None = None,
) -> list[Iterator[Item]]:
    """Everything that runs in a normal hour of the plant; ``edge_cases`` adds the one-off
    protocol edge cases of the baseline capture (exact retransmission, exceptions ...).
    ``restart_iin`` maps an outstation to the time it restarts (IIN1.7 until cleared);
    ``write_targets`` narrows the addresses operator writes and DNP3 controls pick."""
    restart_iin = restart_iin or {}
    targets = write_targets or {}

    def mb_poller(spec: PollSpec) -> Iterator[Item]:
        picks = targets.get(spec.name, {})
        coils = picks.get("coils", spec.write_coils)
        registers = picks.get("registers", spec.write_registers)
        return poller(ctx, replace(spec, write_coils=coils, write_registers=registers))

    def dnp3_poller(spec: Dnp3PollSpec) -> Iterator[Item]:
        picks = targets.get(spec.name, {})
        crob = picks.get("crob", spec.crob_indices)
        analog = picks.get("analog", spec.analog_indices)
        return dnp3_master(ctx, replace(spec, crob_indices=crob, analog_indices=analog))

    end = t0 + duration_us
    ms = MS
    acts: list[Iterator[Item]] = [
        mb_poller(
            PollSpec(
                "hmi-01/plc-mb-01",
                P.HMI1,
                P.PLC_MB1,
                t0 + 120 * ms,
                end,
                1000 * ms,
                HMI_POLLS,
                writes_every_us=45 * SECOND,
                bad_read_every=40,
                busy_every=3 if edge_cases else 0,
                retransmit_cycle=37 if edge_cases else -1,
            ),
        ),
        mb_poller(
            PollSpec(
                "hmi-01/plc-mb-02",
                P.HMI1,
                P.PLC_MB2,
                t0 + 450 * ms,
                end,
                1000 * ms,
                ((3, 100, 10), (4, 0, 8)),
                writes_every_us=60 * SECOND,
                split_every=25 if edge_cases else 0,
            ),
        ),
        mb_poller(
            PollSpec(
                "hmi-02/plc-mb-02",
                P.HMI2,
                P.PLC_MB2,
                t0 + 800 * ms,
                end,
                750 * ms,
                ((3, 0, 16), (1, 0, 32)),
            ),
        ),
        mb_poller(
            PollSpec(
                "hmi-02/plc-mb-03",
                P.HMI2,
                P.PLC_MB3,
                t0 + 1100 * ms,
                end,
                500 * ms,
                HMI_POLLS,
                pipeline=True,
                writes_every_us=50 * SECOND,
                bad_read_every=90,
            ),
        ),
    ]
    for i, plc in enumerate((P.PLC_MB1, P.PLC_MB2, P.PLC_MB3)):
        acts.append(
            mb_poller(
                PollSpec(
                    f"hist-01/{plc.name}",
                    P.HIST,
                    plc,
                    t0 + (1500 + 700 * i) * ms,
                    end,
                    5 * SECOND,
                    ((4, 0, 60), (3, 100, 40)),
                    jitter_us=5 * ms,
                    reconnect_every_us=100 * SECOND,
                ),
            )
        )
    acts += [
        s7_poller(
            ctx,
            S7PollSpec(
                "scada-01/plc-s7-01",
                P.SCADA,
                P.PLC_S71,
                t0 + 300 * ms,
                end,
                1000 * ms,
                0,
                2,
                S7_ITEMS_1,
                amq=2,
                writes_every_us=40 * SECOND,
                missing_every=100 if edge_cases else 0,
                pipeline_every=15,
                split_every=45 if edge_cases else 0,
            ),
        ),
        s7_poller(
            ctx,
            S7PollSpec(
                "scada-01/plc-s7-02",
                P.SCADA,
                P.PLC_S72,
                t0 + 650 * ms,
                end,
                1000 * ms,
                0,
                1,
                S7_ITEMS_2,
                writes_every_us=75 * SECOND,
                reconnect_every_us=120 * SECOND,
            ),
        ),
    ]
    for i, rtu in enumerate((P.RTU1, P.RTU2, P.RTU3)):
        acts.append(
            dnp3_poller(
                Dnp3PollSpec(
                    f"fep-01/{rtu.name}",
                    P.DNP_MASTER,
                    rtu,
                    t0 + (200 + 1300 * i) * ms,
                    end,
                    frames_per_segment=1 if i == 1 else 0,
                    select_operate_every=12 if i == 0 else 0,
                    direct_operate_every=15 if i == 2 else 0,
                    link_status_every=20 if i == 0 else 0,
                    restart_iin_from_us=restart_iin.get(rtu.name, 0),
                ),
            )
        )
    # engineering: device identification of every controller, twice an hour
    for k, start in enumerate((40 * SECOND, 220 * SECOND)):
        if start > duration_us:
            continue
        for i, plc in enumerate((P.PLC_MB1, P.PLC_MB2, P.PLC_MB3)):
            acts.append(
                one_shot(
                    ctx,
                    f"ews-01/id/{plc.name}/{k}",
                    P.EWS,
                    plc,
                    t0 + start + i * 1500 * ms,
                    [(1, mb.read_device_id_request(), "")],
                )
            )
        for i, (plc, slot) in enumerate(((P.PLC_S71, 2), (P.PLC_S72, 1))):
            acts.append(
                s7_identify(
                    ctx,
                    f"ews-01/szl/{plc.name}/{k}",
                    P.EWS,
                    plc,
                    t0 + start + (6 + 2 * i) * SECOND,
                    0,
                    slot,
                )
            )
    acts += background(ctx, t0, end, edge_cases)
    return acts


def background(ctx: Ctx, t0: int, end: int, edge_cases: bool) -> list[Iterator[Item]]:
    acts: list[Iterator[Item]] = [
        arp_chatter(ctx, "arp", P.BASE_HOSTS, t0, end, 3 * SECOND),
        pinger(
            ctx,
            "nms-01/ping",
            P.NMS,
            (P.PLC_MB1, P.PLC_MB2, P.PLC_MB3, P.PLC_S71, P.PLC_S72, P.RTU1, P.RTU2, P.RTU3),
            t0 + 2 * SECOND,
            end,
            30 * SECOND,
        ),
        http_browser(ctx, "ews-01/http", P.EWS, P.HIST, t0 + 5 * SECOND, end, 30 * SECOND),
        http_browser(ctx, "hmi-01/http", P.HMI1, P.INTRANET, t0 + 9 * SECOND, end, 75 * SECOND),
    ]
    for host in (P.HMI1, P.HMI2, P.EWS, P.SCADA):
        names = DNS_NAMES + ((NXDOMAIN,) if host is P.EWS else ())
        acts.append(
            dns_client(ctx, f"{host.name}/dns", host, P.DNS_SRV, t0, end, 25 * SECOND, names)
        )
    if edge_cases:
        acts.append(_once(gratuitous_arp(t0 + 7 * SECOND, P.HMI2)))
    return acts


def build(ctx: Ctx) -> list[Iterator[Item]]:
    return normal_activities(ctx, ctx.t0, DURATION_US, edge_cases=True)
