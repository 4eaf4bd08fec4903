"""The live view of ``otsec sniff --dashboard``: a real monitor fed the sample plant's
attack capture, a stub in place of the live capture, frames rendered to a recording
console and compared with what the monitor and the capture itself say."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from rich.console import Console

from otsec.baseline import store
from otsec.capture.live import CaptureStats, default_filter
from otsec.capture.pcapfile import open_capture
from otsec.config import Settings, load
from otsec.dashboard import DROPS_RECENT, SEVERITY_ORDER, Dashboard, Line, Snapshot
from otsec.detection.alerts import Alert
from otsec.monitor import Monitor
from tests.conftest import REPO

if TYPE_CHECKING:
    from otsec.capture.live import LiveCapture

PCAPS = REPO / "pcaps"
ATTACK = PCAPS / "plant_attack.pcap"
CONFIG = REPO / "baselines" / "plant.toml"
BASELINE = REPO / "baselines" / "plant.json"


class StubCapture:
    """What the dashboard reads of a LiveCapture: interface, backend, filter, stats()."""

    def __init__(self, settings: Settings, stats: CaptureStats | None = None) -> None:
        self.interface = "eth7"
        self.backend = "pcap"
        self.filter = default_filter(settings.ics_ports)
        self.stats_value = stats or CaptureStats(0, 0, 0)
        self.fail: Exception | None = None

    def stats(self) -> CaptureStats:
        if self.fail is not None:
            raise self.fail
        return self.stats_value


@dataclass
class Run:
    monitor: Monitor
    alerts: list[Alert]
    settings: Settings


def replay(*sinks: Dashboard) -> Run:
    settings = load(CONFIG)
    alerts: list[Alert] = []
    monitor = Monitor(settings, baseline=store.load(BASELINE), alert_sinks=[alerts.append])
    with open_capture(str(ATTACK)) as reader:
        monitor.run(reader)
    return Run(monitor, alerts, settings)


@pytest.fixture(scope="module")
def attack() -> Run:
    """The attack capture replayed, flows still open (do not close this monitor)."""
    return replay()


def dashboard(run: Run, capture: StubCapture | None = None, **kw: int) -> Dashboard:
    cap = capture or StubCapture(run.settings)
    dash = Dashboard(Console(file=io.StringIO()), run.monitor, cast("LiveCapture", cap), **kw)
    for alert in run.alerts:
        dash.alert(alert)
    return dash


def frame(dash: Dashboard, width: int, *, force_terminal: bool = False) -> str:
    """The current frame as text (with ANSI styles on a terminal)."""
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=force_terminal)
    dash.render(console)
    return console.export_text(styles=force_terminal)


def snapshot(dash: Dashboard) -> Snapshot:
    return dash.snapshot


def host_packets(path: Path) -> Counter[str]:
    """TCP and UDP packets each IPv4 host sent or received, counted from the frames."""
    counts: Counter[str] = Counter()
    with open_capture(str(path)) as reader:
        for _ts, _lt, buf, start, _end, _wirelen in reader.records():
            ethertype = buf[start + 12 : start + 14]
            assert ethertype in (b"\x08\x00", b"\x08\x06")  # no VLAN tags in this capture
            if ethertype == b"\x08\x00" and buf[start + 23] in (6, 17):
                counts[socket.inet_ntoa(buf[start + 26 : start + 30])] += 1
                counts[socket.inet_ntoa(buf[start + 30 : start + 34])] += 1
    return counts


def talker_rows(text: str) -> list[tuple[str, int]]:
    """(host, packets) of the top-talker rows of a rendered frame."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "top talkers" in line) + 2
    rows = []
    for line in lines[start:]:
        cells = line.split()
        # wide frames put the talkers after the counters, on the same lines
        cells = cells[next((i for i, c in enumerate(cells) if c.count(".") == 3), len(cells)) :]
        if len(cells) < 3 or cells[0].count(".") != 3:
            break
        rows.append((cells[0], int(cells[1].replace(",", ""))))
    return rows


@pytest.mark.parametrize("width", [120, 80])
def test_frame_shows_the_monitors_counts(attack: Run, width: int) -> None:
    packets = attack.monitor.pipeline.packets
    assert packets == 10_200
    cap = StubCapture(attack.settings, CaptureStats(packets, 0, 0))
    dash = dashboard(attack, cap)
    dash.tick(1.0)
    text = frame(dash, width)
    assert "eth7" in text and "pcap" in text and "baseline plant.json" in text
    assert f"filter: default ({len(attack.settings.ics_ports)} ICS ports)" in text
    assert f"{packets:,} captured" in text
    assert "pipeline" not in text  # the pipeline processed what the kernel captured
    flows = attack.monitor.pipeline.flows
    assert f"{len(flows.active):,} in the table" in text
    assert f"{flows.created_tcp + flows.created_udp:,} seen" in text
    inv = attack.monitor.inventory
    new = [ip for ip in inv.assets if ip not in inv.reference]
    assert new == ["10.20.1.66"]
    assert f"{len(inv.assets)} (1 not in the baseline)" in text

    by_severity: Counter[str] = Counter()
    for (_rule, severity), n in attack.monitor.alert_counts.items():
        by_severity[severity] += n
    assert set(by_severity) <= set(SEVERITY_ORDER)
    assert by_severity["critical"] and by_severity["high"] and by_severity["medium"]
    alerts_line = next(line for line in text.splitlines() if line.startswith("alerts"))
    for severity in SEVERITY_ORDER:
        assert f"{severity} {by_severity[severity]:,}" in alerts_line
    assert f"last alerts ({sum(by_severity.values())} in all)" in text

    # the last eight alerts, newest first, with their rule names (cut short at 80 columns)
    body = text.split("last alerts")[1].splitlines()[2:]
    last = attack.alerts[-8:][::-1]
    assert len(body) >= 8
    for line, alert in zip(body, last, strict=False):
        name = alert.rule.name if width >= 120 else alert.rule.name[:12]
        assert name in line, (line, alert.rule.name)
        assert f"{alert.source_ip} -> {alert.destination_ip}" in line
    if width >= 100:
        assert last[0].message[:30] in body[0]


def test_the_top_talker_is_the_busiest_host(attack: Run) -> None:
    counts = host_packets(ATTACK)
    busiest, most = counts.most_common(1)[0]
    assert most > counts.most_common(2)[1][1]  # one clear busiest host
    dash = dashboard(attack)
    dash.tick(1.0)
    for width in (120, 80):
        rows = talker_rows(frame(dash, width))
        assert len(rows) == 8
        assert rows[0] == (busiest, most)
        # every listed host with the packets the frames say it sent or received
        assert all(counts[host] == n for host, n in rows), rows
        assert [n for _, n in rows] == sorted((n for _, n in rows), reverse=True)


def test_top_talkers_walked_in_small_steps_while_flows_end_count_each_flow_once() -> None:
    run = replay()
    counts = host_packets(ATTACK)
    dash = dashboard(run, talkers_budget=5, top_talkers=5)
    assert len(run.monitor.pipeline.flows.active) > 15
    dash.tick(10.0)  # the walk starts: 5 flows of the table
    assert dash.talkers.walks == 0
    # every flow ends: the inventory adds them to its assets, the walk goes on over its
    # list of the flows as they were when it began
    run.monitor.close()
    assert not run.monitor.pipeline.flows.active
    now = 10.0
    while dash.talkers.walks == 0:
        now += 0.25
        dash.tick(now)
        assert now < 100
    want = counts.most_common(5)
    assert [(t.host, t.packets) for t in snapshot(dash).talkers] == want
    # the next walk waits for its period (and sees the table empty, the inventory full)
    assert dash.talkers.next_due >= now + 2.0
    dash.tick(now + 0.25)
    assert dash.talkers.walks == 1
    dash.tick(dash.talkers.next_due)
    assert dash.talkers.walks == 2
    assert [(t.host, t.packets) for t in snapshot(dash).talkers] == want


def test_an_idle_learning_sensor() -> None:
    settings = Settings()
    cap = StubCapture(settings, CaptureStats(0, 0, None))
    cap.filter = "tcp port 502 or   udp port 20000 or (vlan and (tcp port 502 or udp port 20000))"
    dash = Dashboard(Console(file=io.StringIO()), Monitor(settings, learn=True),
                     cast("LiveCapture", cap))  # fmt: skip
    dash.tick(5.0)
    text = frame(dash, 80)
    assert "learning" in text and "baseline" not in text
    assert "filter: tcp port 502 or udp port 20000 or (vlan and (tc… · " in text  # 48 chars
    assert "0 captured   …/s" in text
    assert "none yet" in text.split("transactions")[1].splitlines()[0]
    assert "critical 0  high 0  medium 0  low 0" in text
    assert "not yet" in text.split("top talkers")[1]
    assert "none yet" in text.split("last alerts (0 in all)")[1]


def test_packet_rate_and_live_processed_count(attack: Run) -> None:
    cap = StubCapture(attack.settings, CaptureStats(None, None, None))
    dash = dashboard(attack, cap)
    dash.tick(100.0)
    assert snapshot(dash).rate is None
    assert "…/s" in frame(dash, 80)
    # a capture that counts what it hands out: the rate is of processed packets
    cap.packets = 20_000  # type: ignore[attr-defined]
    dash.tick(100.5)
    cap.packets = 24_000  # type: ignore[attr-defined]
    dash.tick(101.0)
    text = frame(dash, 80)
    assert "24,000 processed" in text
    assert "13,800/s" in text  # (24,000 - 10,200 at the first tick) / 1 s
    for t in (101.5, 102.0, 102.5, 103.0, 103.5):
        cap.packets += 500  # type: ignore[attr-defined]
        dash.tick(t)
    rate = snapshot(dash).rate
    assert rate is not None and rate == pytest.approx(1000.0)  # the window forgot the burst
    # the kernel's count beside it: packets still in the capture buffer
    cap.stats_value = CaptureStats(26_600, 100, None)
    dash.tick(104.0)
    text = frame(dash, 80)
    assert "26,500 processed" in text and "0/s" in text
    assert not any(line.startswith("captured") for line in text.splitlines())  # the same
    cap.stats_value = CaptureStats(27_600, 100, None)
    dash.tick(104.5)
    assert "captured      27,500  (1,000 not processed yet)" in frame(dash, 80)


def test_drops_shown_and_red_while_rising(attack: Run) -> None:
    cap = StubCapture(attack.settings, CaptureStats(20_000, 150, 7))
    dash = dashboard(attack, cap)
    dash.tick(1.0)
    text = frame(dash, 80)
    drops = next(line for line in text.splitlines() if line.startswith("drops"))
    assert "kernel 150 (0.75%)" in drops and "interface 7" in drops
    assert f"{20_000 - 150:,} captured" in text
    assert "10,200 processed  (9,650 fewer than captured)" in text

    cap.stats_value = CaptureStats(21_000, 160, 7)
    dash.tick(2.0)
    assert snapshot(dash).kernel_drops_rising
    styled = frame(dash, 80, force_terminal=True)
    assert "\x1b[1;31m160 (0.76%)" in styled  # bold red
    # the interface's drops stopped at the first tick; the kernel's a second later
    dash.tick(1.0 + DROPS_RECENT + 0.5)
    assert snapshot(dash).kernel_drops_rising and not snapshot(dash).interface_drops_rising
    dash.tick(2.0 + DROPS_RECENT + 0.5)
    assert not snapshot(dash).kernel_drops_rising
    styled = frame(dash, 80, force_terminal=True)
    assert "\x1b[1;31m160" not in styled and "\x1b[33m160 (0.76%)" in styled  # yellow


def test_counters_a_backend_cannot_give_are_not_available(attack: Run) -> None:
    dash = dashboard(attack, StubCapture(attack.settings, CaptureStats(None, None, None)))
    dash.tick(1.0)
    text = frame(dash, 80)
    assert "kernel n/a   interface n/a" in text
    assert "10,200 processed" in text


def test_tick_and_alert_never_raise(attack: Run) -> None:
    cap = StubCapture(attack.settings)
    cap.fail = OSError("socket closed")
    dash = dashboard(attack, cap)
    dash.tick(1.0)
    text = frame(dash, 120)
    assert "capture stats: OSError: socket closed" in text
    assert "10,200 processed" in text and "kernel n/a" in text

    last = snapshot(dash).last_alerts
    assert len(last) == 8
    dash.alert(cast("Alert", object()))  # not an alert at all
    dash.alert(cast("Alert", None))
    cap.fail = None
    cap.stats_value = CaptureStats("x", -1, None)  # type: ignore[arg-type]
    dash.tick(2.0)
    assert snapshot(dash).last_alerts == last  # what could not be read is left out
    assert snapshot(dash).error == "" and snapshot(dash).received is None
    # alert counts that cannot be read: the dashboard's own (the alerts it was given)
    monitor = attack.monitor
    counts = monitor.alert_counts
    try:
        monitor.alert_counts = cast("dict[tuple[str, str], int]", None)
        dash.tick(3.0)
    finally:
        monitor.alert_counts = counts
    assert snapshot(dash).error.startswith("alert counts: AttributeError")
    want: Counter[str] = Counter()
    for (_rule, severity), n in counts.items():
        want[severity] += n
    assert {sev: n for sev, n in snapshot(dash).severities if n} == want
    assert "dashboard: alert counts: AttributeError" in frame(dash, 80)
    # a monitor that breaks under the dashboard's feet
    broken = dashboard(attack)
    broken.monitor = cast("Monitor", None)
    broken.tick(3.0)
    assert snapshot(broken).error.startswith("AttributeError")
    assert "dashboard: AttributeError" in frame(broken, 80)


def test_a_render_error_is_a_line_in_the_view(attack: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    dash = dashboard(attack)
    dash.tick(1.0)

    def boom(*_args: object) -> None:
        raise ValueError("bad frame")

    monkeypatch.setattr(dash, "build", boom)
    assert "dashboard: render error: ValueError: bad frame" in frame(dash, 80)


@pytest.mark.parametrize(("width", "height"), [(1, 1), (8, 3), (20, 6), (40, 10), (80, 24)])
def test_tiny_terminals(attack: Run, width: int, height: int) -> None:
    dash = dashboard(attack)
    dash.tick(1.0)
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      record=True)  # fmt: skip
    dash.render(console)
    text = console.export_text()
    assert "render error" not in text
    if height >= 24:  # the frame was shortened to fit the terminal
        assert len(text.splitlines()) <= height


def test_start_stop_on_a_file_prints_the_last_frame_once(attack: Run) -> None:
    out = io.StringIO()
    console = Console(file=out, width=100)
    assert not console.is_terminal
    dash = Dashboard(console, attack.monitor, cast("LiveCapture", StubCapture(attack.settings)),
                     refresh_per_second=20)  # fmt: skip
    started = time.monotonic()
    with dash:
        for i in range(4):
            dash.tick(float(i))
            time.sleep(0.05)
        assert out.getvalue() == ""  # nothing is drawn on a file while it runs
    dash.stop()  # again: nothing happens
    assert time.monotonic() - started < 5
    text = out.getvalue()
    assert text.count("otsec sniff eth7") == 1
    assert "10,200 processed" in text


def test_start_stop_on_a_terminal_refreshes_in_its_own_thread(
    attack: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, height=40, force_terminal=True)
    dash = Dashboard(console, attack.monitor, cast("LiveCapture", StubCapture(attack.settings)),
                     refresh_per_second=20)  # fmt: skip
    dash.start()
    dash.start()  # already running
    main = threading.get_ident()
    rendered_in: set[int] = set()
    build = dash.build

    def spy(snap: Snapshot, width: int, height: int | None = None) -> list[Line]:
        rendered_in.add(threading.get_ident())
        return build(snap, width, height)

    monkeypatch.setattr(dash, "build", spy)
    for i in range(6):
        dash.tick(i * 0.1)
        time.sleep(0.06)
    stopper = threading.Thread(target=dash.stop)  # stop from another thread
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive()
    dash.stop()
    assert dash.frames >= 2
    assert rendered_in and main not in rendered_in  # the refresh thread renders
    assert "otsec sniff" in out.getvalue()


def test_the_default_filter_with_extra_ports_is_named() -> None:
    from otsec.capture.live import default_filter
    from otsec.dashboard import short_filter

    ports = [102, 502, 20000]
    assert short_filter(default_filter(ports, [8080]), ports, [8080]) == (
        "default (ICS ports 102, 502, 20000 + 1 extra)"
    )
    assert short_filter(default_filter(ports), ports) == "default (ICS ports 102, 502, 20000)"
    assert short_filter(default_filter(ports, [8080]), ports).endswith("…")  # not the default
