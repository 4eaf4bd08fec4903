"""plant_normal: another stretch of normal operation, for false-positive checks.

The same plant as plant_baseline twelve hours later (20:00 UTC), without the baseline's
one-off edge cases. A monitor that learnt plant_baseline.pcap must find nothing new in it:
no new host, edge, function code, operation class or written address. The polling and
engineering traffic repeats the baseline's by construction; what is random per seed is
which coil, register or DNP3 point an operator write or a control picks, so those picks
are narrowed to the ones plant_baseline.pcap (seed 1) made (``BASELINE_WRITES``).
"""

from __future__ import annotations

from collections.abc import Iterator

from .baseline import WriteTargets, normal_activities
from .tcp import Item
from .timeline import SECOND, Ctx

DURATION_US = 240 * SECOND

# What plant_baseline.pcap (seed 1) writes and operates with a successful answer, per
# activity (tests/pcaps/test_scenarios.py checks this against the capture): Modbus FC 5
# coils and FC 6 holding registers (unit 1) per HMI poller, the g12v1 CROB indices of
# SELECT/OPERATE on rtu-01 and the g41v2 indices of DIRECT OPERATE on rtu-03. The
# baseline's writes to S7 (DB2.DBB4, 2 bytes) are fixed, not drawn.
BASELINE_WRITES: WriteTargets = {
    "hmi-01/plc-mb-01": {"coils": (4, 5), "registers": (12,)},
    "hmi-01/plc-mb-02": {"coils": (0,), "registers": (8,)},
    "hmi-02/plc-mb-03": {"coils": (0, 4), "registers": (8, 9)},
    "fep-01/rtu-01": {"crob": (2, 3, 5, 6, 7)},
    "fep-01/rtu-03": {"analog": (0, 1, 2)},
}


def normal_stretch(
    ctx: Ctx, t0: int, duration_us: int, restart_iin: dict[str, int] | None = None
) -> list[Iterator[Item]]:
    """The plant's normal traffic from ``t0``, without edge cases, writing only what the
    baseline wrote."""
    return normal_activities(
        ctx,
        t0,
        duration_us,
        edge_cases=False,
        restart_iin=restart_iin,
        write_targets=BASELINE_WRITES,
    )


def build(ctx: Ctx) -> list[Iterator[Item]]:
    return normal_stretch(ctx, ctx.t0, DURATION_US)
