"""Registry of the committed scenarios: name -> activity builder, start time, seed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from . import attack, baseline, dnp3_functions, modbus_functions, s7_functions, vlan_ipv6
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
}

DEFAULT_SEEDS = {
    "plant_baseline": 1,
    "plant_attack": 2,
    "plant_vlan_ipv6": 3,
    "modbus_functions": 4,
    "s7_functions": 5,
    "dnp3_functions": 6,
    "bench": 7,
}


def build_scenario(name: str, out: Path, seed: int) -> CaptureSummary:
    builder, t0 = SCENARIOS[name]
    ctx = Ctx(seed, t0)
    return write_capture(out, builder(ctx), t0_us=t0)
