"""Live capture without network namespaces: the default kernel filter (compiled and run
by libpcap over the sample captures), start-up errors, stop() and counters on ``lo``."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from otsec.capture import live
from otsec.capture.live import CaptureStats, LiveCapture, LiveCaptureError, default_filter
from otsec.capture.pcapfile import CaptureError, open_capture
from otsec.config import DEFAULT_ICS_PORTS

pcapy: Any = pytest.importorskip("pcapy", reason="pcapy-ng is not installed")

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "pcaps").glob("*.pcap")) + sorted((ROOT / "pcaps/attacks").glob("*.pcap"))
ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0, reason="opening a capture socket needs root (CAP_NET_RAW)"
)
BACKENDS = ["pcap", "scapy"]
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)  # what libpcap's "vlan" accepts


def _compile(expr: str) -> Any:
    return pcapy.compile(1, 65535, expr, 1, PCAP_NETMASK_UNKNOWN)


def _wanted(frame: bytes, ports: set[int]) -> bool:
    """What the default filter should pass, decided in Python from the frame bytes."""
    if len(frame) < 14:
        return False
    off = 12
    (ethertype,) = struct.unpack_from("!H", frame, off)
    for _ in range(2):  # two tags at most, as in the filter
        if ethertype not in VLAN_TPIDS:
            break
        off += 4
        (ethertype,) = struct.unpack_from("!H", frame, off)
    l3 = off + 2
    if ethertype == 0x0806:
        return True
    if ethertype == 0x0800:
        proto = frame[l3 + 9]
        if proto == 17:
            return True
        if proto != 6 or struct.unpack_from("!H", frame, l3 + 6)[0] & 0x1FFF:
            return False  # not TCP, or a later fragment (no TCP header)
        l4 = l3 + (frame[l3] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", frame, l4)
        return sport in ports or dport in ports or bool(frame[l4 + 13] & 0x07)
    if ethertype == 0x86DD:
        nxt = frame[l3 + 6]
        if nxt == 44 and frame[l3 + 40] == 6:
            return False  # TCP in a fragment: not plain TCP, and no ports either
        if nxt != 6:
            return True  # not TCP, or behind extension headers BPF cannot walk
        sport, dport = struct.unpack_from("!HH", frame, l3 + 40)
        return sport in ports or dport in ports or bool(frame[l3 + 53] & 0x07)
    return False


def _tcp_payload_port(frame: bytes) -> tuple[int, int, int] | None:
    """(source port, destination port, TCP flags) of an untagged IPv4 TCP frame."""
    if struct.unpack_from("!H", frame, 12)[0] != 0x0800 or frame[23] != 6:
        return None
    l4 = 14 + (frame[14] & 0x0F) * 4
    sport, dport = struct.unpack_from("!HH", frame, l4)
    return sport, dport, frame[l4 + 13]


# -- default_filter ----------------------------------------------------------------------


def test_default_filter_text() -> None:
    text = default_filter([502, 102], extra_ports=[8080, 502])
    inner = (
        "arp or udp or (ip6 and not tcp) or (tcp and (port 102 or port 502 or port 8080)) or "
        "(tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0) or "
        "(ip6[6] = 6 and ip6[53] & 0x07 != 0)"
    )
    assert text == f"({inner}) or (vlan and (({inner}) or (vlan and ({inner}))))"
    assert "port" not in default_filter([])
    with pytest.raises(ValueError, match="70000"):
        default_filter([70000])


@pytest.mark.parametrize("ports", [DEFAULT_ICS_PORTS, [], [502]])
def test_default_filter_compiles(ports: Any) -> None:
    assert _compile(default_filter(ports)).get_bpf()


def test_default_filter_compiles_with_tcpdump(tmp_path: Path) -> None:
    tcpdump = "/usr/bin/tcpdump" if Path("/usr/bin/tcpdump").exists() else None
    if tcpdump is None:
        pytest.skip("tcpdump is not installed")
    out = subprocess.run(
        [tcpdump, "-d", "-r", str(ROOT / "pcaps/plant_attack.pcap"),
         default_filter(DEFAULT_ICS_PORTS)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.count("\n") > 20
    assert "ret" in out.stdout


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_default_filter_passes_what_the_monitor_needs(path: Path) -> None:
    """libpcap's verdict on every frame of every sample capture equals the reference."""
    ports = set(DEFAULT_ICS_PORTS)
    program = _compile(default_filter(ports))
    reader = open_capture(str(path))
    wrong = []
    try:
        for i, (_ts, lt, frame, _wirelen) in enumerate(reader.packets(), 1):
            assert lt == 1
            passed = bool(program.filter(frame))
            if passed != _wanted(frame, ports):
                wrong.append((i, passed))
    finally:
        reader.close()
    assert wrong == []


def test_default_filter_on_plant_attack() -> None:
    """Offline filtering with libpcap (open_offline + setfilter): every Modbus, S7 and DNP3
    frame, every ARP and every SYN stays; mid-connection HTTP and SSH data go."""
    path = str(ROOT / "pcaps/plant_attack.pcap")
    handle = pcapy.open_offline(path)
    handle.setfilter(default_filter(DEFAULT_ICS_PORTS))
    kept: set[tuple[int, int, bytes]] = set()
    while True:
        header, data = handle.next()
        if header is None:
            break
        kept.add((*header.getts(), data))
    total = ics = arp = syn = it_data = 0
    reader = open_capture(path)
    for ts, _lt, frame, _ in reader.packets():
        total += 1
        sec = int(ts)
        key = (sec, round((ts - sec) * 1e6), frame)
        tcp = _tcp_payload_port(frame)
        if struct.unpack_from("!H", frame, 12)[0] == 0x0806:
            arp += 1
            assert key in kept
        elif tcp is not None and {tcp[0], tcp[1]} & {102, 502, 20000}:
            ics += 1
            assert key in kept
        elif tcp is not None and tcp[2] & 0x02:
            syn += 1
            assert key in kept
        elif tcp is not None and {tcp[0], tcp[1]} & {22, 80, 443} and not tcp[2] & 0x07:
            it_data += 1
            assert key not in kept
    reader.close()
    assert ics > 1000 and arp > 0 and syn > 0 and it_data > 0
    assert 0 < len(kept) < total


# -- start-up errors ---------------------------------------------------------------------


def test_unknown_backend() -> None:
    with pytest.raises(LiveCaptureError, match=r"unknown capture backend 'afpacket' \(choose"):
        LiveCapture("lo", backend="afpacket")


def test_capture_error_is_a_capture_error() -> None:
    assert issubclass(LiveCaptureError, CaptureError)


@pytest.mark.parametrize("backend", [*BACKENDS, "auto"])
def test_missing_interface(backend: str) -> None:
    with pytest.raises(LiveCaptureError) as info:
        LiveCapture("otsec-nope0", backend=backend)
    message = str(info.value)
    assert message.startswith("no such network interface: 'otsec-nope0' (here: ")
    assert "lo" in message
    assert "\n" not in message


def test_backend_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pcapy", None)  # import pcapy now raises ImportError
    with pytest.raises(LiveCaptureError, match=r"needs pcapy-ng: pip install 'pcapy-ng"):
        LiveCapture("lo", backend="pcap")
    assert not live._pcap_installed()


@ROOT_ONLY
def test_auto_picks_scapy_without_pcapy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pcapy", None)
    with LiveCapture("lo", bpf="udp port 9") as cap:
        assert cap.backend == "scapy"


@ROOT_ONLY
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("bpf", "why"),
    [
        ("tcp port 99999", "illegal port number 99999 > 65535"),
        ("tcp prt 502", "syntax error"),
    ],
)
def test_bad_filter(backend: str, bpf: str, why: str) -> None:
    with pytest.raises(LiveCaptureError) as info:
        LiveCapture("lo", backend=backend, bpf=bpf)
    message = str(info.value)
    assert message.startswith("capture filter does not compile: ")
    assert why in message
    assert message.endswith(f"(filter: {bpf})")


@ROOT_ONLY
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_permission(backend: str) -> None:
    """After dropping to 'nobody' (no CAP_NET_RAW) opening a capture says what to do."""
    code = (
        "import pcapy, scapy.arch, scapy.config, scapy.error\n"  # before losing file access
        "from otsec.capture.live import LiveCapture, LiveCaptureError, drop_privileges\n"
        "import os\n"
        "drop_privileges('nobody')\n"
        "assert os.getuid() != 0 and os.getgid() != 0 and os.getgroups() == []\n"
        "try:\n"
        f"    LiveCapture('lo', backend={backend!r})\n"
        "except LiveCaptureError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    message = out.stdout.strip()
    assert message.startswith("no permission to capture on lo: ")
    assert "CAP_NET_RAW" in message and "setcap cap_net_raw+ep" in message
    assert "\n" not in message


def test_drop_privileges_errors() -> None:
    with pytest.raises(LiveCaptureError, match="no such user 'otsec-no-such-user'"):
        live.drop_privileges("otsec-no-such-user")
    if os.geteuid() != 0:
        with pytest.raises(LiveCaptureError, match="only root can switch users"):
            live.drop_privileges("nobody")


# -- running on lo -----------------------------------------------------------------------


@ROOT_ONLY
@pytest.mark.parametrize("backend", BACKENDS)
def test_stop_ends_an_idle_capture(backend: str) -> None:
    """No traffic at all passes this filter: records() still returns soon after stop()."""
    with LiveCapture("lo", backend=backend, bpf="udp port 7 and udp port 8") as cap:
        assert cap.backend == backend
        assert cap.name == "live:lo" and cap.format == "live" and cap.linktypes == [1]
        stopped_at: list[float] = []

        def stop_later() -> None:
            time.sleep(0.3)
            stopped_at.append(time.monotonic())
            cap.stop()

        threading.Thread(target=stop_later).start()
        got = list(cap.records())
        took = time.monotonic() - stopped_at[0]
    assert got == []
    assert took < 0.2


@ROOT_ONLY
@pytest.mark.parametrize("backend", BACKENDS)
def test_captures_and_counts_on_lo(backend: str) -> None:
    port = 47000 + os.getpid() % 1000
    bpf = f"udp dst port {port}"
    with LiveCapture("lo", backend=backend, bpf=bpf, buffer_mb=4) as cap:
        assert cap.filter == bpf
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(20):
            sender.sendto(b"otsec %d" % i, ("127.0.0.1", port))
        sender.close()
        got: list[bytes] = []
        safety = threading.Timer(3, cap.stop)
        safety.start()
        for ts, lt, buf, start, end, wirelen in cap.records():
            got.append(buf[start:end])
            assert lt == 1 and wirelen == end - start
            assert abs(ts - time.time()) < 5
            if len({frame[42:] for frame in got}) == 20:
                cap.stop()
        safety.cancel()
        time.sleep(0.05)
        stats = cap.stats()
    assert {frame[42:] for frame in got} == {b"otsec %d" % i for i in range(20)}
    # scapy's plain socket also sees the outgoing copy on lo; libpcap leaves it out
    if backend == "pcap":
        assert len(got) == 20
    else:
        assert 20 <= len(got) <= 40
    assert isinstance(stats, CaptureStats)
    assert isinstance(stats.received, int) and stats.received >= 20
    assert stats.dropped_kernel == 0
    assert isinstance(stats.dropped_interface, int)
    assert cap.stats() == stats  # closed: the last counters stay
