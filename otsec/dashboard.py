"""The live view of ``otsec sniff --dashboard``: a rich display of the capture as it runs.

Two threads meet here, and only through one immutable object:

* the capture (main) thread calls :meth:`Dashboard.tick` a few times a second, between
  packets. A tick reads the counters the monitor keeps anyway (packets, the capture's
  kernel counters, flows, assets, transactions, alerts by severity) into a frozen
  :class:`Snapshot` and swaps it in with one reference assignment. :meth:`Dashboard.alert`
  (an alert sink) only appends to a bounded deque.
* rich's :class:`~rich.live.Live` refresh thread renders the latest snapshot and writes
  it to the terminal. It never reads the monitor itself: the monitor's dicts change
  while the capture thread runs.

Packets: the pipeline adds up a capture's packets when its read loop returns, which for
a live capture is the end of the run. Until then the view counts the packets the kernel
handed to the capture (``received`` less ``dropped_kernel`` of
:class:`~otsec.capture.live.CaptureStats`) and takes the rate from them; a capture with
an integer ``packets`` attribute (packets handed to the pipeline so far) is counted by
that instead.

Top talkers are per host, packets and bytes the host sent or received over the whole
run. The flow table already counts packets and bytes per flow and direction, and the
inventory adds a flow's counts to both assets when the flow ends; a host's total is the
inventory's figure (ended flows) plus what its flows still in the table carried. Walking
the flow table (100,000 flows and more) is the only expensive part, so it is bounded
three ways: at most :data:`TALKERS_BUDGET` flows per tick (a big table is walked over
several ticks), a new walk starts at most every ``talkers_every`` seconds, and never
sooner than the last walk's cost divided by :data:`TALKERS_SHARE` (so that on a huge
table the walk stays under half a percent of the capture thread's time).

Nothing here may stop the capture: every error in a tick, an alert or a render is caught
and shown as a line in the view.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.style import Style

from otsec.capture.decode import ip_text
from otsec.capture.live import default_filter
from otsec.detection.alerts import Alert
from otsec.events.addresses import is_asset_address
from otsec.sinks.console import STYLES

if TYPE_CHECKING:
    from otsec.capture.live import LiveCapture
    from otsec.flows.table import Flow
    from otsec.monitor import Monitor

#: Severities in the order they are shown, most severe first.
SEVERITY_ORDER = ("critical", "high", "medium", "low")
#: Short severity names for the alert list.
SEVERITY_SHORT = {"critical": "CRIT", "high": "HIGH", "medium": "MED", "low": "LOW"}
#: Seconds of snapshots the packet rate is averaged over.
RATE_WINDOW = 2.0
#: Drops that grew within this many seconds are shown in red.
DROPS_RECENT = 10.0
#: Most flows of the flow table looked at in one tick (the walk resumes on the next).
TALKERS_BUDGET = 10_000
#: Most of the capture thread's time the top-talker walk may take (the walk's period
#: grows with its cost).
TALKERS_SHARE = 0.005
#: Filters longer than this are shortened in the header.
FILTER_WIDTH = 48
#: Console widths from which counters and top talkers stand side by side.
WIDE = 120


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert as the view shows it (plain values: the view never reads an Alert)."""

    ts: float
    severity: str
    rule: str
    source: str
    destination: str
    message: str
    count: int


@dataclass(frozen=True, slots=True)
class Talker:
    """A host and the packets and bytes it sent or received."""

    host: str
    packets: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one frame shows, read in the capture thread at one tick."""

    seq: int
    #: Wall-clock time of the tick (sensor time) and seconds since the dashboard began.
    wall: float
    uptime: float
    #: Packets the pipeline processed (the pipeline adds a live capture's packets when
    #: its read loop ends, unless the capture counts them as it hands them out).
    processed: int
    #: Whether ``processed`` moves while the capture runs.
    processed_live: bool
    #: The kernel's counters (None: the backend cannot tell, or stats() failed).
    received: int | None
    dropped_kernel: int | None
    dropped_interface: int | None
    #: Packets per second over the last seconds (None until two ticks are apart).
    rate: float | None
    kernel_drops_rising: bool
    interface_drops_rising: bool
    stats_error: str
    flows_live: int
    flows_seen: int
    assets: int
    #: Assets the baseline does not hold (None: no baseline).
    new_assets: int | None
    transactions: tuple[tuple[str, int], ...]
    #: (severity, alerts), most severe first; other severities after the known four.
    severities: tuple[tuple[str, int], ...]
    last_alerts: tuple[AlertRow, ...]
    talkers: tuple[Talker, ...]
    #: Seconds since the top talkers were computed (None: not yet).
    talkers_age: float | None
    #: The last error a tick caught ("" when none).
    error: str = ""

    @property
    def captured(self) -> int | None:
        """Packets the kernel handed to the capture (received includes the dropped)."""
        if self.received is None:
            return None
        return self.received - (self.dropped_kernel or 0)

    @property
    def alerts(self) -> int:
        return sum(n for _, n in self.severities)


def _empty_snapshot(wall: float) -> Snapshot:
    return Snapshot(
        seq=0, wall=wall, uptime=0.0, processed=0, processed_live=False, received=None,
        dropped_kernel=None, dropped_interface=None, rate=None, kernel_drops_rising=False,
        interface_drops_rising=False, stats_error="", flows_live=0, flows_seen=0, assets=0,
        new_assets=None, transactions=(), severities=(), last_alerts=(), talkers=(),
        talkers_age=None,
    )  # fmt: skip


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def short_filter(bpf: str, ics_ports: Iterable[int], extra_ports: Iterable[int] = ()) -> str:
    """The kernel filter as the header shows it: the monitor's default filter (for these
    ICS ports and ``[capture] extra_ports``) by name, another one cut to
    :data:`FILTER_WIDTH` characters."""
    if not bpf:
        return "none"
    ports = sorted(ics_ports)
    extra = sorted(set(extra_ports) - set(ports))
    if ports and bpf == default_filter(ports, extra):
        more = f" + {len(extra)} extra" if extra else ""
        if len(ports) <= 4:
            return "default (ICS ports " + ", ".join(str(p) for p in ports) + f"{more})"
        return f"default ({len(ports)} ICS ports{more})"
    flat = " ".join(bpf.split())
    return flat if len(flat) <= FILTER_WIDTH else flat[: FILTER_WIDTH - 1] + "…"


class TopTalkers:
    """The hosts with the most packets over the run, computed in bounded steps (see the
    module docstring). :meth:`step` runs in the capture thread only.

    Hosts are counted by their raw addresses (as the flow keys hold them); only the few
    that make the top are printed, and addresses no device owns (broadcast, multicast:
    :func:`~otsec.events.addresses.is_asset_address`) are left out, as the inventory
    leaves them out."""

    def __init__(
        self, monitor: Monitor, n: int, *, every: float = 2.0, budget: int = TALKERS_BUDGET,
        share: float = TALKERS_SHARE,
    ) -> None:  # fmt: skip
        self.monitor = monitor
        self.n = n
        self.every = every
        self.budget = max(1, budget)
        self.share = share
        self.result: tuple[Talker, ...] = ()
        #: ``now`` of the tick that finished the last walk (None: none yet).
        self.computed_at: float | None = None
        #: Walks finished, CPU seconds of the last one and of all.
        self.walks = 0
        self.last_cost = 0.0
        self.total_cost = 0.0
        self.next_due = -math.inf
        self._flows: list[Flow] | None = None
        self._pos = 0
        self._cost = 0.0
        #: raw address -> [packets, bytes]: the flows that had ended when the walk
        #: began (from the inventory), plus the flows walked so far.
        self._hosts: dict[bytes, list[int]] = {}
        #: Printed address -> raw address, raw -> printed (None: not an asset address).
        self._raw: dict[str, bytes | None] = {}
        self._text: dict[bytes, str | None] = {}

    def step(self, now: float, *, finish: bool = False) -> None:
        """Start a walk when one is due, walk up to ``budget`` flows (every flow left
        with ``finish``), and publish the result when the walk is done."""
        started = time.perf_counter()
        if self._flows is None:
            if now < self.next_due and not finish:
                return
            self._begin()
        flows = self._flows
        assert flows is not None
        end = len(flows) if finish else min(len(flows), self._pos + self.budget)
        self._walk(flows, self._pos, end)
        self._pos = end
        done = end >= len(flows)
        if done:
            self.result = self._top()
            self._hosts = {}
            self._flows = None
        self._cost += time.perf_counter() - started
        if done:
            self.walks += 1
            self.last_cost = self._cost
            self.total_cost += self._cost
            self.computed_at = now
            self.next_due = now + max(self.every, self._cost / self.share)

    def refresh(self, now: float) -> None:
        """Walk the whole flow table now (a walk under way starts over)."""
        self._flows = None
        self.step(now, finish=True)

    def _begin(self) -> None:
        # The flows in the table now (a list copy: the table changes between ticks), and
        # what the flows that ended already carried: the inventory added each ended
        # flow's packets and bytes to both its assets. A listed flow that ends during the
        # walk is counted once, from the list (its counters stay on the Flow).
        self._flows = list(self.monitor.pipeline.flows.active.values())
        self._pos = 0
        self._cost = 0.0
        hosts: dict[bytes, list[int]] = {}
        to_raw = self._raw
        for ip, a in list(self.monitor.inventory.assets.items()):
            p = a.packets_sent + a.packets_received
            if not p:
                continue
            raw = to_raw.get(ip, b"")
            if raw == b"":
                raw = _packed(ip)
                if len(to_raw) >= 65536:
                    to_raw.clear()
                to_raw[ip] = raw
            if raw is not None:
                hosts[raw] = [p, a.bytes_sent + a.bytes_received]
        self._hosts = hosts

    def _walk(self, flows: list[Flow], start: int, end: int) -> None:
        hosts = self._hosts
        get = hosts.get
        for i in range(start, end):
            f = flows[i]
            key = f.key
            alen = 4 if len(key) in (12, 15) else 16
            op = f.orig_pkts
            rp = f.resp_pkts
            pk = op + rp
            by = f.orig_bytes + f.resp_bytes
            # as the inventory counts a flow: a side that sent nothing is not credited
            for sent, h in ((op, key[:alen]), (rp, key[alen : alen + alen])):
                if not sent:
                    continue
                e = get(h)
                if e is None:
                    hosts[h] = [pk, by]
                else:
                    e[0] += pk
                    e[1] += by

    def _top(self) -> tuple[Talker, ...]:
        """The ``n`` busiest asset addresses (most packets, then bytes)."""
        hosts = self._hosts
        want = self.n + 8
        while True:
            top = heapq.nlargest(want, hosts.items(), key=itemgetter(1))
            out = []
            for raw, (p, b) in top:
                ip = self._ip(raw)
                if ip is not None:
                    out.append(Talker(ip, p, b))
                    if len(out) == self.n:
                        return tuple(out)
            if len(top) < want:  # every host looked at
                return tuple(out)
            want *= 4

    def _ip(self, raw: bytes) -> str | None:
        """The printed address, None for addresses no device owns."""
        cache = self._text
        if raw in cache:
            return cache[raw]
        text = ip_text(raw)
        ip = text if is_asset_address(text) else None
        if len(cache) >= 65536:
            cache.clear()
        cache[raw] = ip
        return ip


def _packed(ip: str) -> bytes | None:
    """The raw (flow key) form of an asset's address."""
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
    except (OSError, ValueError):
        return None


#: One piece of a line of the view: text and a rich style name ("" for none).
Part = tuple[str, str]
Line = list[Part]


def _fit(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded, or cut with an ellipsis, to exactly ``width`` cells."""
    n = cell_len(text)
    if n > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else "…"[:width]
    pad = " " * (width - n)
    return pad + text if right else text + pad


def _line_len(line: Line) -> int:
    return sum(cell_len(text) for text, _ in line)


class _View:
    """The renderable Live shows: the latest snapshot, laid out by hand (rich tables
    cost tens of milliseconds a frame, and the render thread shares the interpreter
    with the capture), rendered once per snapshot and console size (a console print
    while Live runs renders the view again: it reuses the segments)."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self._cache: tuple[tuple[int, int, int | None], list[Segment]] | None = None
        self._styles: dict[str, Style] = {}
        #: Frames rendered, and the seconds they took.
        self.frames = 0
        self.render_time = 0.0

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = Style.parse(name) if name else Style.null()
        return style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snap = self.dashboard.snapshot
        height = options.size.height if console.is_terminal else None
        width = options.max_width
        key = (snap.seq, width, height)
        cached = self._cache
        if cached is not None and cached[0] == key:
            yield from cached[1]
            return
        started = time.perf_counter()
        try:
            segments = self._segments(self.dashboard.build(snap, width, height), width)
        except Exception as exc:  # a render bug must show, not kill the display thread
            text = f"dashboard: render error: {_error_text(exc)}"
            segments = self._segments([[(text, "bold red")]], width)
        self.frames += 1
        self.render_time += time.perf_counter() - started
        self._cache = (key, segments)
        yield from segments

    def _segments(self, lines: list[Line], width: int) -> list[Segment]:
        """Each line cut to ``width`` cells (an ellipsis marks the cut)."""
        out: list[Segment] = []
        newline = Segment.line()
        for line in lines:
            room = width
            for text, style in line:
                if room <= 0:
                    break
                n = cell_len(text)
                if n > room:
                    text = _fit(text, room)
                    n = room
                out.append(Segment(text, self._style(style)))
                room -= n
            out.append(newline)
        return out


def _n(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _duration(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}d {h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts))


class Dashboard:
    """``otsec sniff --dashboard``: the live view of a capture (see the module docstring).

    Wire it with ``monitor.alert_sinks.append(dashboard.alert)`` and call
    :meth:`tick` from the capture's ``on_tick`` (``now`` from :func:`time.monotonic`);
    :meth:`start` and :meth:`stop` (or ``with dashboard:``) show and end the display.
    """

    def __init__(
        self, console: Console, monitor: Monitor, capture: LiveCapture, *,
        refresh_per_second: float = 4.0, last_alerts: int = 8, top_talkers: int = 8,
        talkers_every: float = 2.0, talkers_budget: int = TALKERS_BUDGET,
    ) -> None:  # fmt: skip
        self.console = console
        self.monitor = monitor
        self.capture = capture
        self.refresh_per_second = refresh_per_second
        self.last_alerts = max(0, last_alerts)
        self.top_talkers = max(0, top_talkers)
        self.started = time.monotonic()
        self.talkers = TopTalkers(monitor, self.top_talkers, every=talkers_every,
                                  budget=talkers_budget)  # fmt: skip
        self._alerts: deque[AlertRow] = deque(maxlen=self.last_alerts or 1)
        #: Alerts this sink received, by severity (the monitor's own counts are shown;
        #: these stand in when they cannot be read).
        self.alert_counts: dict[str, int] = {}
        self._seq = 0
        self._rates: deque[tuple[float, int]] = deque()
        self._drops: dict[str, tuple[int, float]] = {}
        self._last_now: float | None = None
        self._last_perf = 0.0
        self._tick_thread: int | None = None
        self._live: Live | None = None
        self._view = _View(self)
        #: (inventory size, assets not in the baseline) when last counted.
        self._new_cache = (-1, 0)
        #: The latest snapshot (replaced whole by each tick; read by the render thread).
        self.snapshot = _empty_snapshot(time.time())
        #: Ticks taken and the seconds they took in the capture thread.
        self.ticks = 0
        self.tick_time = 0.0
        self.header = self._header_parts()

    # -- the capture thread ----------------------------------------------------------

    def alert(self, alert: Alert) -> None:
        """An alert sink: remember the alert among the last ones (O(1), never raises)."""
        with contextlib.suppress(Exception):  # the monitor must not see a dashboard error
            sev = alert.severity
            self.alert_counts[sev] = self.alert_counts.get(sev, 0) + 1
            self._alerts.append(self._row(alert))

    def tick(self, now: float) -> None:
        """Take a snapshot of the counters (in the capture thread; never raises)."""
        started = time.perf_counter()
        try:
            self._tick_thread = threading.get_ident()
            self._last_now = now
            self._last_perf = started
            self.snapshot = self._take(now)
        except Exception as exc:
            with contextlib.suppress(Exception):
                self._seq += 1
                self.snapshot = replace(self.snapshot, seq=self._seq, error=_error_text(exc))
        self.ticks += 1
        self.tick_time += time.perf_counter() - started

    def _take(self, now: float) -> Snapshot:
        m = self.monitor
        p = m.pipeline
        errors: list[str] = []

        stats_error = ""
        try:
            stats = self.capture.stats()
            received, dk, di = stats.received, stats.dropped_kernel, stats.dropped_interface
        except Exception as exc:
            received = dk = di = None
            stats_error = _error_text(exc)
        received = received if isinstance(received, int) else None
        dk = dk if isinstance(dk, int) else None
        di = di if isinstance(di, int) else None

        processed = p.packets
        live = getattr(self.capture, "packets", None)  # LiveCapture counts per batch
        processed_live = isinstance(live, int) and not isinstance(live, bool)
        if isinstance(live, int) and processed_live:
            processed = max(processed, live)
        # the rate: of the processed packets when that count moves, else of the packets
        # the kernel handed over
        if processed_live or received is None:
            basis = processed
        else:
            basis = received - (dk or 0)
        rate = self._rate(now, basis)

        try:
            severities = self._severities()
        except Exception as exc:
            errors.append(f"alert counts: {_error_text(exc)}")
            severities = self._ordered(self.alert_counts.items())
        rows = tuple(self._alerts) if self.last_alerts else ()
        try:
            transactions = self._transactions()
        except Exception as exc:
            errors.append(f"transactions: {_error_text(exc)}")
            transactions = self.snapshot.transactions
        inv = m.inventory
        assets = len(inv.assets)
        new_assets: int | None = None
        if m.baseline is not None:
            new_assets = self._new_assets(assets)
        flows = p.flows
        talkers = self.snapshot.talkers
        if self.top_talkers:
            try:
                self.talkers.step(now)
                talkers = self.talkers.result
            except Exception as exc:
                errors.append(f"top talkers: {_error_text(exc)}")
                self.talkers = TopTalkers(m, self.top_talkers, every=self.talkers.every,
                                          budget=self.talkers.budget)  # fmt: skip
                self.talkers.next_due = now + self.talkers.every
        at = self.talkers.computed_at
        self._seq += 1
        return Snapshot(
            seq=self._seq, wall=time.time(), uptime=time.monotonic() - self.started,
            processed=processed, processed_live=processed_live, received=received,
            dropped_kernel=dk, dropped_interface=di, rate=rate,
            kernel_drops_rising=self._rising("kernel", dk, now),
            interface_drops_rising=self._rising("interface", di, now),
            stats_error=stats_error, flows_live=len(flows.active),
            flows_seen=flows.created_tcp + flows.created_udp, assets=assets,
            new_assets=new_assets, transactions=transactions, severities=severities,
            last_alerts=rows, talkers=talkers,
            talkers_age=None if at is None else max(0.0, now - at), error="; ".join(errors),
        )  # fmt: skip

    def _rate(self, now: float, count: int) -> float | None:
        samples = self._rates
        if samples and (count < samples[-1][1] or now <= samples[-1][0]):
            if now <= samples[-1][0] and count >= samples[-1][1]:
                samples.pop()  # the same instant: keep the newer count
            else:
                samples.clear()  # a counter went back (restart): start over
        samples.append((now, count))
        # keep one sample at least RATE_WINDOW old (the window's start)
        while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW:
            samples.popleft()
        t0, c0 = samples[0]
        if now - t0 <= 0:
            return None
        return (count - c0) / (now - t0)

    def _rising(self, which: str, value: int | None, now: float) -> bool:
        if value is None:
            return False
        last = self._drops.get(which)
        if last is None:
            self._drops[which] = (value, -math.inf if value == 0 else now)
            return value > 0
        if value > last[0]:
            self._drops[which] = (value, now)
            return True
        if value < last[0]:
            self._drops[which] = (value, last[1])
        return now - last[1] < DROPS_RECENT

    @staticmethod
    def _ordered(counts: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
        by: dict[str, int] = {}
        for sev, n in counts:
            by[sev] = by.get(sev, 0) + n
        known = [(s, by.pop(s, 0)) for s in SEVERITY_ORDER]
        return tuple(known + sorted(by.items()))

    def _severities(self) -> tuple[tuple[str, int], ...]:
        # (rule, severity) -> alerts: as many entries as rules times severities
        return self._ordered((sev, n) for (_rule, sev), n in self.monitor.alert_counts.items())

    @staticmethod
    def _row(a: Alert) -> AlertRow:
        dst = a.destination_ip
        if dst and a.destination_port is not None:
            dst = f"[{dst}]:{a.destination_port}" if ":" in dst else f"{dst}:{a.destination_port}"
        return AlertRow(ts=a.ts, severity=a.severity, rule=a.rule.name, source=a.source_ip,
                        destination=dst, message=a.message, count=a.count)  # fmt: skip

    def _transactions(self) -> tuple[tuple[str, int], ...]:
        out = []
        for name, stats in sorted(self.monitor.pipeline.apps.stats.items()):
            n = sum(stats.transactions.values())
            if n:
                out.append((name, n))
        return tuple(out)

    def _new_assets(self, assets: int) -> int:
        """Assets not in the baseline, recounted only when the inventory grew (assets are
        never removed from it)."""
        if self._new_cache[0] != assets:
            ref = self.monitor.inventory.reference
            new = sum(1 for ip in list(self.monitor.inventory.assets) if ip not in ref)
            self._new_cache = (assets, new)
        return self._new_cache[1]

    # -- display ---------------------------------------------------------------------

    def _header_parts(self) -> tuple[str, str, str, str]:
        cap = self.capture
        m = self.monitor
        try:
            settings = m.settings
            bpf = short_filter(str(cap.filter or ""), settings.ics_ports,
                               settings.capture.extra_ports)  # fmt: skip
        except Exception as exc:
            bpf = f"? ({_error_text(exc)})"
        if m.baseline is not None:
            base = f"baseline {Path(m.baseline.path).name or 'loaded'}"
        elif m.learner is not None:
            base = "learning"
        else:
            base = "no baseline"
        interface = str(getattr(cap, "interface", "?"))
        backend = str(getattr(cap, "backend", "?"))
        return interface, backend, bpf, base

    def start(self) -> None:
        """Show the live display (refreshed by rich's own thread)."""
        if self._live is not None:
            return
        live = Live(self._view, console=self.console, auto_refresh=True,
                    refresh_per_second=self.refresh_per_second, transient=False)  # fmt: skip
        live.start()
        self._live = live

    def stop(self) -> None:
        """End the display, leaving the last frame (idempotent). Called from the capture
        thread, it takes a last snapshot first, so the frame has the final counts."""
        live = self._live
        if live is None:
            return
        self._live = None
        if self._tick_thread == threading.get_ident() and self._last_now is not None:
            now = self._last_now + (time.perf_counter() - self._last_perf)
            with contextlib.suppress(Exception):
                self.talkers.refresh(now)  # the final figures, whatever the period
            self.tick(now)
        with contextlib.suppress(Exception):
            live.stop()

    def __enter__(self) -> Dashboard:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()

    def render(self, console: Console) -> None:
        """Print the current frame once (tests, and a console that is not a terminal)."""
        console.print(self._view)

    @property
    def frames(self) -> int:
        return self._view.frames

    @property
    def render_time(self) -> float:
        return self._view.render_time

    def build(self, snap: Snapshot, width: int, height: int | None = None) -> list[Line]:
        """The lines of the frame of ``snap`` for a console ``width`` columns wide; with
        ``height`` (a terminal's rows) the two lists are shortened so that it fits."""
        interface, backend, bpf, base = self.header
        wide = width >= WIDE
        head: Line = [("otsec sniff ", "bold"), (interface, "bold cyan"),
                      (f" · {backend} · up {_duration(snap.uptime)} · ", ""),
                      (base, "bold" if base.startswith("baseline") else "yellow")]  # fmt: skip
        clock = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(snap.wall))
        tail: Line = [(f"filter: {bpf}", ""), (" · " + clock, "dim")]
        header = [[*head, (" · ", ""), *tail]] if wide else [head, tail]
        counters = self._counter_lines(snap)
        problems = [e for e in (snap.error, snap.stats_error and f"capture stats: "
                                f"{snap.stats_error}") if e]  # fmt: skip
        n_alerts = min(self.last_alerts, len(snap.last_alerts)) or 1
        n_talkers = min(self.top_talkers, len(snap.talkers)) or 1
        if height is not None and height > 0:
            # the header, the error line, the lists' titles and column headings, and a
            # spare row for the cursor
            fixed = len(header) + (1 if problems else 0) + 1
            if wide:  # the talkers stand beside the counters
                fixed += max(len(counters), 2 + n_talkers) + 2
                n_alerts = max(1, min(n_alerts, height - fixed))
            else:
                room = max(2, height - fixed - len(counters) - 4)
                half = room // 2
                n_talkers = max(1, min(n_talkers, half, room - min(n_alerts, room - half)))
                n_alerts = max(1, min(n_alerts, room - n_talkers))
        talkers = self._talker_lines(snap, n_talkers) if self.top_talkers else []
        lines = list(header)
        if wide and talkers:
            left = max(_line_len(line) for line in counters) + 4
            for i in range(max(len(counters), len(talkers))):
                row = counters[i] if i < len(counters) else []
                pad = left - _line_len(row)
                lines.append([*row, (" " * pad, ""), *(talkers[i] if i < len(talkers) else [])])
        else:
            lines += counters + talkers
        if self.last_alerts:
            lines += self._alert_lines(snap, n_alerts, width)
        if problems:
            lines.append([("dashboard: " + "; ".join(problems), "red")])
        return lines

    def _counter_lines(self, snap: Snapshot) -> list[Line]:
        rows: list[tuple[str, Line]] = []
        captured = snap.captured
        if snap.processed_live or captured is None:
            packets: Line = [(f"{snap.processed:,}", ""), (" processed", "dim")]
        else:
            packets = [(f"{captured:,}", ""), (" captured", "dim")]
        rate = "…/s" if snap.rate is None else f"{snap.rate:,.0f}/s"
        rows.append(("packets", [*packets, ("   ", ""), (rate, "bold green")]))
        if captured is not None and snap.processed and snap.processed != captured:
            behind = captured - snap.processed
            if snap.processed_live:  # the kernel's count, beside the pipeline's
                note = f"  ({behind:,} not processed yet)" if behind > 0 else ""
                rows.append(("captured", [(f"{captured:,}", ""), (note, "dim")]))
            else:
                note = f"  ({behind:,} fewer than captured)" if behind > 0 else ""
                rows.append(("pipeline", [(f"{snap.processed:,} processed", ""), (note, "dim")]))
        dk, di = snap.dropped_kernel, snap.dropped_interface
        style = "bold red" if snap.kernel_drops_rising else ("yellow" if dk else "")
        share = f" ({100.0 * dk / snap.received:.2f}%)" if dk is not None and snap.received else ""
        ifstyle = "yellow" if snap.interface_drops_rising else ""
        rows.append(("drops", [("kernel ", "dim"), (_n(dk) + share, style),
                               ("   interface ", "dim"), (_n(di), ifstyle)]))  # fmt: skip
        rows.append(("flows", [(f"{snap.flows_live:,} in the table · {snap.flows_seen:,} seen",
                                "")]))  # fmt: skip
        assets: Line = [(f"{snap.assets:,}", "")]
        if snap.new_assets is not None:
            assets.append((f" ({snap.new_assets:,} not in the baseline)",
                           "yellow" if snap.new_assets else "dim"))  # fmt: skip
        rows.append(("assets", assets))
        tx: Line = []
        for i, (name, n) in enumerate(snap.transactions):
            tx += [(("  " if i else "") + name + " ", "dim"), (f"{n:,}", "")]
        rows.append(("transactions", tx or [("none yet", "dim")]))
        al: Line = []
        for i, (sev, n) in enumerate(snap.severities):
            al += [(("  " if i else "") + sev + " ", "dim"),
                   (f"{n:,}", STYLES.get(sev, "") if n else "dim")]  # fmt: skip
        rows.append(("alerts", al))
        return [[(_fit(label, 12), "bold"), ("  ", ""), *value] for label, value in rows]

    def _talker_lines(self, snap: Snapshot, n: int) -> list[Line]:
        age = "" if snap.talkers_age is None else f" ({snap.talkers_age:.0f} s ago)"
        lines: list[Line] = [[("top talkers", "bold"), (age, "dim")]]
        rows = [(t.host, f"{t.packets:,}", _bytes(t.bytes)) for t in snap.talkers[:n]]
        hw = max([4, *(cell_len(r[0]) for r in rows)])
        pw = max([7, *(len(r[1]) for r in rows)])
        bw = max([5, *(len(r[2]) for r in rows)])
        lines.append([(f"{'host':<{hw}}  {'packets':>{pw}}  {'bytes':>{bw}}", "bold")])
        for host, packets, nbytes in rows:
            lines.append([(_fit(host, hw), ""), (f"  {packets:>{pw}}  {nbytes:>{bw}}", "")])
        if not rows:
            lines.append([("not yet", "dim")])
        return lines

    def _alert_lines(self, snap: Snapshot, n: int, width: int) -> list[Line]:
        lines: list[Line] = [[("last alerts", "bold"), (f" ({snap.alerts:,} in all)", "dim")]]
        rows = snap.last_alerts[len(snap.last_alerts) - n :][::-1] if n else ()  # newest first
        rules = [r.rule if r.count <= 1 else f"{r.rule} ({r.count}x)" for r in rows]
        addrs = [f"{r.source} -> {r.destination}" if r.destination else r.source for r in rows]
        # time and severity, then the rule, the addresses and the message (what is left)
        room = width - 14
        aw = min(max([21, *(cell_len(a) for a in addrs)]), 45)
        rw = min(max([4, *(cell_len(r) for r in rules)]), 32)
        if rw + 2 + aw > room:
            rw = max(12, room - 2 - aw)
        if rw + 2 + aw > room:
            aw = max(8, room - 2 - rw)
        mw = room - rw - aw - 4
        message = mw >= 16
        head = f"{'time':<8}  {'sev':<4}  {_fit('rule', rw)}  {_fit('source -> destination', aw)}"
        lines.append([(head + ("  message" if message else ""), "bold")])
        for r, rule, addr in zip(rows, rules, addrs, strict=True):
            line: Line = [(_clock(r.ts), "dim"), ("  ", ""),
                          (_fit(SEVERITY_SHORT.get(r.severity, r.severity[:4].upper()), 4),
                           STYLES.get(r.severity, "")),
                          (f"  {_fit(rule, rw)}  {_fit(addr, aw)}", "")]  # fmt: skip
            if message:
                line.append(("  " + r.message, ""))
            lines.append(line)
        if not rows:
            lines.append([("none yet", "dim")])
        return lines
