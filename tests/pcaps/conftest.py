"""The scenario generator run once per session: every capture and its timeline notes."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PCAPS = ROOT / "pcaps"

# the captures added for the detection engine: one more normal stretch and the short
# attack captures of pcaps/attacks/ (pcaps/README.md)
ATTACKS = (
    "attack_rogue_s7_stop",
    "attack_ews_download",
    "attack_modbus_rogue_write",
    "attack_hmi_new_range",
    "attack_dnp3_restart",
    "attack_enterprise_ssh",
    "attack_recon_scan",
    "attack_s7_stop_evasion",
)
SCENARIO_CAPTURES = ("plant_normal.pcap", *(f"attacks/{name}.pcap" for name in ATTACKS))


@dataclass(frozen=True)
class Regenerated:
    root: Path  # the same layout as pcaps/ (attack captures in attacks/)
    timeline: dict[str, list[tuple[int, float, str]]]  # scenario -> (frame, seconds, note)


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Regenerated:
    """``gen_plant.py --all --timeline`` into a temporary directory."""
    out = tmp_path_factory.mktemp("pcaps")
    args = ["--all", "--out-dir", str(out), "--timeline"]
    text = subprocess.run(
        [sys.executable, str(PCAPS / "gen_plant.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    timeline: dict[str, list[tuple[int, float, str]]] = {}
    for line in text.splitlines():
        name, frame, seconds, note = line.split("\t")
        timeline.setdefault(name, []).append((int(frame), float(seconds), note))
    return Regenerated(out, timeline)
