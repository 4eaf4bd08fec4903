"""The scenario generator is deterministic and its captures decode cleanly in Wireshark.

The generator is run as a subprocess, exactly as the Makefile and the benchmark run it.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PCAPS = ROOT / "pcaps"
GENERATOR = PCAPS / "gen_plant.py"
TSHARK = shutil.which("tshark")

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


# What each committed capture must contain (pcaps/README.md): protocols with a non-zero
# frame count, and the only expert warnings allowed (the attack's scan RSTs and the
# outstation's "function not supported" IIN answer to STOP APPLICATION).
@dataclass(frozen=True)
class Expected:
    protocols: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    retransmissions: int = 0


EXPECTED = {
    "plant_baseline.pcap": Expected(
        ("modbus", "s7comm", "dnp3", "dns", "http", "arp", "icmp"), retransmissions=1
    ),
    "plant_attack.pcap": Expected(
        ("modbus", "s7comm", "dnp3", "ssh", "http", "arp"),
        warnings=("Connection reset (RST)", "IIN Abnormality"),
    ),
    "plant_vlan_ipv6.pcap": Expected(
        ("vlan", "ieee8021ad", "ipv6", "modbus", "s7comm", "dnp3", "udp")
    ),
}

CHECKSUMS = (
    "-o", "ip.check_checksum:TRUE",
    "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
)  # fmt: skip


def generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def pcap_record_count(path: Path) -> int:
    """Count the records of a classic little-endian pcap file."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data, 0)[0] == 0xA1B2C3D4
    offset, count = 24, 0
    while offset < len(data):
        incl_len = struct.unpack_from("<I", data, offset + 8)[0]
        offset += 16 + incl_len
        count += 1
    assert offset == len(data)
    return count


def tshark_summary(path: Path) -> tuple[dict[str, list[tuple[int, str]]], dict[str, int]]:
    """Expert info by severity ((count, summary) rows) and protocol-hierarchy frame counts."""
    assert TSHARK is not None
    out = subprocess.run(
        [TSHARK, "-r", str(path), *CHECKSUMS, "-q", "-z", "expert", "-z", "io,phs"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    expert: dict[str, list[tuple[int, str]]] = {}
    section = ""
    for line in out.splitlines():
        head = re.match(r"^(Errors|Warns|Notes|Chats) \(\d+\)", line)
        if head:
            section = head.group(1)
            continue
        row = re.match(r"^\s+(\d+)\s+\S+\s+\S.*?\s{2,}(\S.*)$", line)
        if section and row:
            expert.setdefault(section, []).append((int(row.group(1)), row.group(2).strip()))
    frames: dict[str, int] = {}
    for proto, count in re.findall(r"^\s*(\S+)\s+frames:(\d+)", out, re.MULTILINE):
        frames[proto] = frames.get(proto, 0) + int(count)
    return expert, frames


def test_smallest_capture_regenerates_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "plant_vlan_ipv6.pcap"
    generate("--scenario", "plant_vlan_ipv6", "--out", str(out))
    assert out.read_bytes() == (PCAPS / "plant_vlan_ipv6.pcap").read_bytes()


def test_committed_captures_stay_small() -> None:
    total = sum((PCAPS / name).stat().st_size for name in EXPECTED)
    assert total < 4 * 1024 * 1024


def test_attack_timeline_matches_readme(tmp_path: Path) -> None:
    """Every attack step the generator annotates is listed in pcaps/README.md with its
    frame number and packet time (so the README cannot drift from the capture)."""
    out = tmp_path / "attack.pcap"
    timeline = generate("--scenario", "plant_attack", "--out", str(out), "--timeline").stdout
    readme = (PCAPS / "README.md").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in timeline.splitlines() if line.strip()]
    assert len(rows) >= 20
    for _, frame, seconds, text in rows:
        assert f"| {frame} | {float(seconds):.3f} | {text} |" in readme
    assert out.read_bytes() == (PCAPS / "plant_attack.pcap").read_bytes()


@needs_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_capture_decodes_cleanly(name: str) -> None:
    spec = EXPECTED[name]
    expert, frames = tshark_summary(PCAPS / name)
    assert "Errors" not in expert, expert.get("Errors")
    rows = [summary for _, summary in expert.get("Warns", [])]
    assert all(any(ok in row for ok in spec.warnings) for row in rows), rows
    everything = [s for section in expert.values() for _, s in section]
    assert not [s for s in everything if "Malformed" in s or "checksum" in s.lower()]
    retransmissions = sum(
        n for n, s in expert.get("Notes", []) + expert.get("Warns", []) if "retransmission" in s
    )
    assert retransmissions == spec.retransmissions
    for proto in spec.protocols:
        assert frames.get(proto, 0) > 0, (proto, frames)


def test_bench_is_deterministic_and_exact(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pcap", tmp_path / "b.pcap"
    for out in (first, second):
        generate("--scenario", "bench", "--packets", "20000", "--out", str(out))
    assert first.read_bytes() == second.read_bytes()
    assert pcap_record_count(first) == 20000
    if TSHARK is None:
        pytest.skip("tshark is not installed: bench decode not checked")
    expert, frames = tshark_summary(first)
    assert "Errors" not in expert and "Warns" not in expert, expert
    for proto in ("modbus", "s7comm", "dnp3", "dns", "arp"):
        assert frames.get(proto, 0) > 0, (proto, frames)


def test_seed_changes_the_capture(tmp_path: Path) -> None:
    out = tmp_path / "other.pcap"
    generate("--scenario", "plant_vlan_ipv6", "--out", str(out), "--seed", "99")
    assert out.read_bytes() != (PCAPS / "plant_vlan_ipv6.pcap").read_bytes()
    assert pcap_record_count(out) > 100
