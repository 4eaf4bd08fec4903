"""Live capture end to end: scenario captures are replayed with tcpreplay into one end of
a veth pair between two network namespaces made for this test, and captured on the other
end by each backend with the default filter. The captured packets must give the same
alerts as the original capture read from file, and the kernel counters must add up.

The test process stays in the root namespace; the capture runs in a child process inside
namespace B (``ip netns exec``). Nothing leaves the two namespaces: the veth ends have no
addresses, IPv6 is off and nothing is forwarded."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsec.capture.live import default_filter
from otsec.capture.pcapfile import open_capture
from otsec.config import DEFAULT_ICS_PORTS
from tests.netns import VethPair, available  # veth: the fixture in tests/conftest.py

pcapy: Any = pytest.importorskip("pcapy", reason="pcapy-ng is not installed")

ROOT = Path(__file__).resolve().parents[2]
OTSEC = str(Path(sys.executable).with_name("otsec"))
BASELINE = str(ROOT / "baselines/plant.json")
BACKENDS = ("pcap", "scapy")
#: (capture, kernel filter): the default filter, and no filter at all; plant_vlan_ipv6 has
#: 802.1Q-tagged frames, which the kernel untags before the filter and the backends retag.
SCENARIOS = [
    ("attacks/attack_rogue_s7_stop.pcap", "default"),
    ("attacks/attack_recon_scan.pcap", "default"),
    ("attacks/attack_rogue_s7_stop.pcap", "none"),
    ("plant_vlan_ipv6.pcap", "default"),
]
PPS = 2000

_why = available() or (None if shutil.which("tcpreplay") else "needs tcpreplay")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

# Runs inside namespace B: capture until SIGTERM, write a pcap (nanosecond timestamps)
# with the captured times, then print the counters as JSON.
CAPTURE = r"""
import json, signal, struct, sys
from otsec.capture.live import LiveCapture
backend, iface, bpf, out = sys.argv[1:5]
cap = LiveCapture(iface, backend=backend, bpf=bpf)
signal.signal(signal.SIGTERM, lambda *_: cap.stop())
n = 0
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, cap.linktypes[0]))
    print("READY", flush=True)
    for ts, lt, buf, start, end, wirelen in cap.records():
        ns = round(ts * 1e9)
        f.write(struct.pack("<IIII", ns // 10**9, ns % 10**9, end - start, wirelen))
        f.write(memoryview(buf)[start:end])
        n += 1
st = cap.stats()
cap.close()
print(json.dumps({"written": n, "backend": cap.backend, "received": st.received,
                  "dropped_kernel": st.dropped_kernel, "dropped_interface": st.dropped_interface}))
"""


def _alerts(pcap: Path, out: Path) -> Counter[tuple[Any, ...]]:
    """(rule, source, destination, count) of every alert `otsec replay` raises."""
    subprocess.run(
        [OTSEC, "replay", "--json", "--baseline", BASELINE, "--alerts", str(out), str(pcap)],
        check=True, capture_output=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    found: Counter[tuple[Any, ...]] = Counter()
    for line in out.read_text().splitlines():
        doc = json.loads(line)
        found[(
            doc["rule"]["id"],
            doc.get("source", {}).get("ip"),
            doc.get("destination", {}).get("ip"),
            doc.get("ics", {}).get("alert", {}).get("count"),
        )] += 1  # fmt: skip
    return found


def _frames(path: Path) -> list[bytes]:
    reader = open_capture(str(path))
    try:
        return [frame for _ts, _lt, frame, _wl in reader.packets()]
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("scenario", "filtering"), SCENARIOS, ids=[f"{Path(s).stem}-{f}" for s, f in SCENARIOS]
)
def test_live_capture_gives_the_alerts_of_the_file(
    veth: VethPair, scenario: str, filtering: str, tmp_path: Path
) -> None:
    original = ROOT / "pcaps" / scenario
    bpf = default_filter(DEFAULT_ICS_PORTS) if filtering == "default" else ""
    frames = _frames(original)
    if bpf:
        program = pcapy.compile(1, 65535, bpf, 1, 0xFFFFFFFF)
        passing = [f for f in frames if program.filter(f)]
    else:
        passing = frames
    assert 0 < len(passing) <= len(frames)

    children: dict[str, subprocess.Popen[str]] = {}
    try:
        for backend in BACKENDS:
            argv = [sys.executable, "-c", CAPTURE, backend, veth.veth_b, bpf,
                    str(tmp_path / f"{backend}.pcap")]  # fmt: skip
            child = subprocess.Popen(
                veth.command(veth.ns_b, argv), cwd=ROOT, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            children[backend] = child
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "READY", child.stderr
        before = veth.link_stats(veth.ns_b, veth.veth_b)
        sent_out = veth.run(
            veth.ns_a,
            ["tcpreplay", "-i", veth.veth_a, f"--pps={PPS}", str(original)],
            timeout=60,
        )
        time.sleep(0.5)  # libpcap hands a ring block over at the latest after 100 ms
        for child in children.values():
            os.kill(child.pid, signal.SIGTERM)  # `ip netns exec` execs: this is python
        results = {}
        for backend, child in children.items():
            out, err = child.communicate(timeout=20)
            assert child.returncode == 0, err
            results[backend] = json.loads(out.strip().splitlines()[-1])
        after = veth.link_stats(veth.ns_b, veth.veth_b)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
                child.wait()

    sent = int(re.search(r"Successful packets:\s+(\d+)", sent_out).group(1))  # type: ignore[union-attr]
    assert sent == len(frames)
    assert after["rx_packets"] - before["rx_packets"] == sent
    # The stack discards tagged frames for VLANs it has no interface for, after the
    # capture sockets saw them: rx_dropped (the "interface" drop count) counts those.
    rx_dropped = after["rx_dropped"] - before["rx_dropped"]
    if "vlan" not in scenario:
        assert rx_dropped == 0

    expected = _alerts(original, tmp_path / "file-alerts.jsonl")
    assert expected  # the scenario raises alerts at all
    report = {"scenario": scenario, "filter": filtering, "sent": sent, "passes": len(passing),
              "alerts": sum(expected.values())}  # fmt: skip
    for backend, stats in results.items():
        captured = tmp_path / f"{backend}.pcap"
        assert stats["backend"] == backend
        assert stats["received"] == len(passing) == stats["written"], stats
        assert stats["dropped_kernel"] == 0 and stats["dropped_interface"] == rx_dropped, stats
        assert _frames(captured) == passing  # same bytes, same order, nothing else
        got = _alerts(captured, tmp_path / f"{backend}-alerts.jsonl")
        assert got == expected, backend
        report[backend] = stats
    print(json.dumps(report))
