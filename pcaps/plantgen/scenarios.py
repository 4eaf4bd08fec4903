"""Registry of the committed scenarios: name -> activity builder, start time, seed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from . import (
    attack,
    baseline,
    dnp3_functions,
    modbus_functions,
    normal,
    s7_functions,
    vlan_ipv6,
)
from .attack_captures import ATTACKS
from .tcp import Item
from .timeline import SECOND, CaptureSummary, Ctx, write_capture
from .wire import BASE_EPOCH_US

Builder = Callable[[Ctx], list[Iterator[Item]]]

# name -> (builder, start of packet time)
SCENARIOS: dict[str, tuple[Builder, int]] = {
    "plant_baseline": (baseline.build, BASE_EPOCH_US),
    # the same plant six hours later: 14:00 UTC
    "plant_attack": (attack.build, BASE_EPOCH_US + 6 * 3600 * SECOND),
    "plant_vlan_ipv6": (vlan_ipv6.build, BASE_EPOCH_US + 3 * 3600 * SECOND),
    # the Modbus coverage capture: 09:00 UTC
    "modbus_functions": (modbus_functions.build, BASE_EPOCH_US + 1 * 3600 * SECOND),
    # the S7comm coverage capture: 10:00 UTC
    "s7_functions": (s7_functions.build, BASE_EPOCH_US + 2 * 3600 * SECOND),
    # the DNP3 coverage capture: 12:00 UTC
    "dnp3_functions": (dnp3_functions.build, BASE_EPOCH_US + 4 * 3600 * SECOND),
    # another stretch of normal operation: 20:00 UTC
    "plant_normal": (normal.build, BASE_EPOCH_US + 12 * 3600 * SECOND),
    # the short attack captures of pcaps/attacks/, from 2026-01-06 08:00 UTC hourly
    **{name: (capture.build, capture.t0) for name, capture in ATTACKS.items()},
}

DEFAULT_SEEDS = {
    "plant_baseline": 1,
    "plant_attack": 2,
    "plant_vlan_ipv6": 3,
    "modbus_functions": 4,
    "s7_functions": 5,
    "dnp3_functions": 6,
    "bench": 7,
    "plant_normal": 8,
    "attack_rogue_s7_stop": 9,
    "attack_ews_download": 10,
    "attack_modbus_rogue_write": 11,
    "attack_hmi_new_range": 12,
    "attack_dnp3_restart": 13,
    "attack_enterprise_ssh": 14,
    "attack_recon_scan": 15,
    "attack_s7_stop_evasion": 16,
}


def capture_path(name: str) -> str:
    """Where ``gen_plant.py --all`` writes a scenario, relative to pcaps/."""
    return f"attacks/{name}.pcap" if name in ATTACKS else f"{name}.pcap"


def build_scenario(name: str, out: Path, seed: int) -> CaptureSummary:
    builder, t0 = SCENARIOS[name]
    ctx = Ctx(seed, t0)
    return write_capture(out, builder(ctx), t0_us=t0)
