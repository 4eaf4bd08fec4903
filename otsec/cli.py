"""The ``otsec`` command line.

Exit codes: 0 success, 1 internal error, 2 usage or input error (one line on stderr),
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dissectors import _native
from otsec import __version__, config, summary
from otsec.baseline import diff as baseline_diff
from otsec.baseline import render as baseline_render
from otsec.baseline import store
from otsec.capture.pcapfile import CaptureError, CaptureReader, open_capture
from otsec.detection.alerts import Alert
from otsec.events.types import Transaction, isotime
from otsec.inventory import render as inventory_render
from otsec.monitor import (
    ATTACK_BUNDLE,
    PIPELINE,
    RULES_DIR,
    Monitor,
    default_vendor,
    load_sigma,
)
from otsec.outputs import Outputs, file_limits, file_paths, load_outputs, sensor_name

if TYPE_CHECKING:
    from otsec.baseline.store import Baseline
    from otsec.capture.live import LiveCapture
    from otsec.dashboard import Dashboard
    from otsec.detection.sigma import SigmaEngine
from otsec.sinks.console import ConsoleAlerts
from otsec.sinks.ecs import alert_doc, observer, sensor_doc, transaction_doc
from otsec.sinks.jsonl import JsonlSink, SinkError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: Where alerts go when --baseline is given without --alerts.
DEFAULT_ALERTS = "otsec-out/alerts.jsonl"


class UsageError(Exception):
    """Bad arguments or unusable input: reported as one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otsec",
        description="Passive OT network security monitor (Modbus/TCP, S7comm, DNP3).",
    )
    parser.add_argument(
        "--version", action="version",
        version=f"otsec {__version__} (packet path: {_native.status()})",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    replay = sub.add_parser(
        "replay",
        help="process pcap/pcapng captures",
        description="Process captures (pcap or pcapng, optionally gzip-compressed) in the "
        "order given; '-' reads standard input.",
    )
    replay.add_argument("files", nargs="+", metavar="FILE", help="capture file, or - for stdin")
    replay.add_argument(
        "--baseline", metavar="FILE",
        help="compare with this baseline (otsec baseline learn) and raise alerts for what "
        "deviates from it",
    )  # fmt: skip
    _monitor_options(replay)
    _output_options(replay)
    _progress_options(replay)

    sniff = sub.add_parser(
        "sniff", help="monitor a network interface (a mirror/SPAN port)",
        description="Capture live traffic and run the same pipeline as replay: monitor with "
        "--baseline, or learn a baseline with --learn DURATION -o FILE (saved at checkpoints "
        "and at the end; while learning only zone violations are alerts, and the events, "
        "inventory and sensor documents go out). A kernel (BPF) filter passes only what the "
        "monitor needs; SIGINT or SIGTERM stop cleanly, a second one exits at once; SIGHUP "
        "reloads the baseline and the Sigma rule files (the rest of the configuration needs "
        "a restart). Needs CAP_NET_RAW. The [capture] section of --config gives the defaults "
        "of -i, --baseline, --bpf, --backend and --user.",
    )  # fmt: skip
    sniff.add_argument(
        "-i", "--interface", metavar="IFACE",
        help="the interface to capture on (default: [capture] interface)",
    )  # fmt: skip
    mode = sniff.add_mutually_exclusive_group()
    mode.add_argument("--baseline", metavar="FILE",
                      help="compare with this baseline (reloaded on SIGHUP)")  # fmt: skip
    mode.add_argument(
        "--learn",
        metavar="DURATION",
        help="learn a baseline for DURATION (90s, 30m, 8h, 14d), written to -o",
    )
    sniff.add_argument("-o", "--output", metavar="FILE", help="the baseline to learn into")
    sniff.add_argument(
        "--checkpoint",
        metavar="DURATION",
        help="save the baseline being learned this often (default 5m)",
    )
    sniff.add_argument("--duration", metavar="DURATION", help="stop after this long")
    sniff.add_argument(
        "--bpf",
        metavar="EXPR",
        help="kernel filter instead of the default one ('' captures everything)",
    )
    sniff.add_argument(
        "--backend",
        choices=config.BACKENDS,
        help="capture backend (default auto: pcap when installed, else scapy)",
    )
    sniff.add_argument(
        "--user",
        metavar="NAME",
        help="after opening the capture, give up root and run as this user",
    )
    sniff.add_argument(
        "--dashboard", action="store_true",
        help="a live view on the terminal: packets/s, drops, flows, assets, alerts, top "
        "talkers (instead of one line per alert)",
    )  # fmt: skip
    _monitor_options(sniff)
    _output_options(sniff)

    es = sub.add_parser("es", help="prepare Elasticsearch for otsec's documents")
    esub = es.add_subparsers(dest="es_command", metavar="ACTION")
    esub.required = True
    setup = esub.add_parser(
        "setup", help="install otsec's index templates",
        description="Install the component template otsec@mappings (every field of "
        "docs/schema.md) and the index templates for the data streams logs-otsec.*-* "
        "(priority 501) and the fleet inventory index otsec-assets-*.",
    )  # fmt: skip
    setup.add_argument("--config", metavar="FILE", help="TOML settings ([elasticsearch])")
    setup.add_argument("--es-url", metavar="URL", help="Elasticsearch URL")
    setup.add_argument("--plain-indices", action="store_true",
                       help="templates for plain indices otsec-* instead of data streams "
                       "(servers without data streams)")  # fmt: skip

    base = sub.add_parser("baseline", help="learn, show and compare baselines")
    bsub = base.add_subparsers(dest="baseline_command", metavar="ACTION")
    bsub.required = True
    learn = bsub.add_parser(
        "learn", help="learn a baseline from captures",
        description="Learn the communication baseline (assets and who talks to whom, how) "
        "from captures of normal operation, and write it as versioned JSON for review.",
    )  # fmt: skip
    learn.add_argument("files", nargs="+", metavar="FILE", help="capture file, or - for stdin")
    learn.add_argument("-o", "--output", required=True, metavar="FILE", help="baseline to write")
    learn.add_argument("--config", metavar="FILE", help="TOML settings (zones, limits, ports)")
    learn.add_argument("--json", action="store_true", help="print the run summary as JSON")
    _progress_options(learn)
    show = bsub.add_parser("show", help="summarise a baseline file")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--json", action="store_true", help="print the file's JSON (checked)")
    diff = bsub.add_parser("diff", help="what changed between two baselines")
    diff.add_argument("old", metavar="A")
    diff.add_argument("new", metavar="B")
    diff.add_argument("--json", action="store_true", help="machine-readable differences")

    rules = sub.add_parser("rules", help="check the Sigma rules")
    rsub = rules.add_subparsers(dest="rules_command", metavar="ACTION")
    rsub.required = True
    check = rsub.add_parser(
        "check", help="load and validate Sigma rules offline",
        description="Load the rules with otsec's pipeline and run pySigma's validators "
        "(ATT&CK tags against the bundled ATT&CK for ICS data); problems as file:line.",
    )  # fmt: skip
    check.add_argument("paths", nargs="*", metavar="DIR", help="rule files or folders "
                       "(default: the pack in rules/)")  # fmt: skip
    export = rsub.add_parser(
        "export", help="convert the rules for Elasticsearch (offline)",
        description="Convert Sigma rules with pySigma's Elasticsearch backends and otsec's "
        "pipeline (rules/pipelines/otsec.yml); formats include Elastic detection-rule NDJSON "
        "(siem_rule_ndjson). ATT&CK data comes from rules/attack/, never from the network.",
    )  # fmt: skip
    export.add_argument("paths", nargs="*", metavar="DIR", help="rule files or folders "
                        "(default: the pack in rules/)")  # fmt: skip
    export.add_argument("--target", required=True, choices=["lucene", "esql", "eql"])
    export.add_argument("--format", default="default",
                        help="output format of the target (default: queries; "
                        "siem_rule_ndjson: detection rules)")  # fmt: skip
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")

    inv = sub.add_parser("inventory", help="show an asset inventory")
    isub = inv.add_subparsers(dest="inventory_command", metavar="ACTION")
    isub.required = True
    ishow = isub.add_parser(
        "show", help="print an inventory (replay --inventory) or a baseline's assets",
    )  # fmt: skip
    ishow.add_argument("file", metavar="FILE")
    fmt = ishow.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON on standard output")
    fmt.add_argument("--csv", action="store_true", help="CSV on standard output")
    ishow.add_argument("--wide", action="store_true", help="every identity field, with origin")
    return parser


def _progress_options(cmd: argparse.ArgumentParser) -> None:
    progress = cmd.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", dest="progress", action="store_true", default=None,
        help="always show the progress bar",
    )  # fmt: skip
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false",
        help="never show the progress bar (default: only on a terminal)",
    )  # fmt: skip


def _open_all(paths: Sequence[str]) -> list[CaptureReader]:
    """Open every input before processing any, so a typo fails fast."""
    if list(paths).count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    readers: list[CaptureReader] = []
    try:
        for path in paths:
            readers.append(open_capture(path))
    except CaptureError:
        for reader in readers:
            reader.close()
        raise
    return readers


def _monitor_options(parser: argparse.ArgumentParser) -> None:
    """What replay and sniff share besides the SIEM outputs: settings, files, console,
    Sigma."""
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object on stdout"
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings (limits, ports)")
    parser.add_argument(
        "--events", metavar="FILE",
        help="write one ECS JSON document per protocol transaction and per protocol anomaly "
        "to FILE (JSON lines; '-' for standard output)",
    )  # fmt: skip
    parser.add_argument(
        "--alerts", metavar="FILE",
        help=f"write one ECS alert document per alert to FILE (JSON lines; '-' for standard "
        f"output; default with --baseline: {DEFAULT_ALERTS})",
    )  # fmt: skip
    parser.add_argument(
        "--inventory", metavar="FILE", help="write the asset inventory of the run (JSON)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no alert lines on the console (summary only)"
    )
    parser.add_argument(
        "--rules", metavar="DIR", action="append",
        help="evaluate the Sigma rules in DIR (a rule file or folder; repeatable; "
        "'default' is the pack in rules/)",
    )  # fmt: skip


def _output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("SIEM outputs (also in the configuration file)")
    group.add_argument(
        "--es-url", metavar="URL",
        help="send alerts and assets to Elasticsearch at URL (API key or password from "
        "OTSEC_ES_API_KEY / OTSEC_ES_PASSWORD or the config)",
    )  # fmt: skip
    group.add_argument(
        "--es-namespace", metavar="NAME",
        help="data stream namespace: logs-otsec.<dataset>-NAME (default: default)",
    )  # fmt: skip
    group.add_argument(
        "--es-events", action="store_true", default=None,
        help="send every protocol event and anomaly to Elasticsearch too",
    )  # fmt: skip
    group.add_argument(
        "--syslog", metavar="URL",
        help="send alerts as syslog to udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT",
    )  # fmt: skip
    group.add_argument("--syslog-format", choices=["cef", "leef"], help="default: cef")
    group.add_argument(
        "--sensor-name", metavar="NAME",
        help="observer.name of every document (default: the host name)",
    )  # fmt: skip


def _open_outputs(
    args: argparse.Namespace, settings: config.Settings, interface: str | None = None
) -> Outputs | None:
    """The remote sinks the options and the configuration ask for (None: none)."""
    if (
        args.es_url is None
        and args.syslog is None
        and not settings.outputs.keys() & {"elasticsearch", "syslog"}
    ):
        return None  # the SIEM client libraries are not even imported
    conf = load_outputs(
        settings, es_url=args.es_url, es_namespace=args.es_namespace,
        es_events=args.es_events, syslog=args.syslog, syslog_format=args.syslog_format,
        sensor=args.sensor_name,
    )  # fmt: skip
    if conf.elastic is None and not conf.syslog:
        return None
    try:
        return Outputs(conf, interface=interface)
    except SinkError as exc:
        raise UsageError(str(exc)) from None


def _open_sink(
    path: str, what: str, opened: list[JsonlSink], *, create_dir: bool = False,
    limits: tuple[int, int] = (0, 5), append: bool = False,
) -> JsonlSink:  # fmt: skip
    """A JSON-lines sink; the directory must exist unless it is otsec's default one.
    ``limits``: rotate at this many bytes (0: never), keep this many old files;
    ``append``: add to the file (a torn last line is cut off) instead of starting it anew."""
    try:
        if create_dir:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        sink = JsonlSink(path, what=what, flush_every=1 if what == "alerts" else 256,
                         max_bytes=limits[0], backups=limits[1], append=append)  # fmt: skip
    except (SinkError, OSError) as exc:
        for other in opened:
            other.close()
        raise UsageError(str(exc) if isinstance(exc, SinkError) else f"{path}: {exc}") from None
    opened.append(sink)
    return sink


class _Session:
    """What a monitoring run (replay or sniff) writes to: the alerts and events files,
    the SIEM outputs, the console, the Sigma pack, and the monitor that feeds them.
    ``cleanup`` releases what the caller opened before (capture files, a live socket) when
    opening fails; ``interface`` is the live capture's (``observer.ingress``); a live
    capture ``append``s to its files, so that a restarted sensor keeps what it wrote.
    ``learn``: a sensor learning a baseline runs no Sigma rules and raises only zone
    violations (with zones configured; an alerts file only when one is named); its events,
    inventory and sensor documents go out as when monitoring."""

    def __init__(
        self, args: argparse.Namespace, settings: config.Settings, base: Baseline | None,
        out: Console, err: Console, cleanup: Callable[[], None], interface: str | None = None,
        append: bool = False, learn: bool = False,
    ) -> None:  # fmt: skip
        self.args = args
        self.sinks: list[JsonlSink] = []
        self.events: JsonlSink | None = None
        self.alerts: JsonlSink | None = None
        self.remote: Outputs | None = None
        stdout_users: list[str] = []
        try:
            conf_alerts, conf_events = file_paths(settings)
            alerts_path = args.alerts or conf_alerts
            events_path = args.events or conf_events
            stdout_users = [o for o, v in (("--events -", events_path), ("--alerts -", alerts_path))
                            if v == "-"] + (["--json"] if args.json else [])  # fmt: skip
            if len(stdout_users) > 1:
                raise UsageError(f"{' and '.join(stdout_users)} all want standard output; "
                                 "pick one")  # fmt: skip
            limits = file_limits(settings)
            if events_path:
                self.events = _open_sink(events_path, "events", self.sinks, limits=limits,
                                         append=append)  # fmt: skip
            if alerts_path or base is not None:
                self.alerts = _open_sink(alerts_path or DEFAULT_ALERTS, "alerts", self.sinks,
                                         create_dir=not alerts_path, limits=limits,
                                         append=append)  # fmt: skip
            self.remote = _open_outputs(args, settings, interface)
            sigma = None if learn else _sigma_pack(args, settings)
        except (UsageError, config.ConfigError):
            cleanup()
            for sink in self.sinks:
                sink.close()
            raise
        self.console = err if stdout_users else out
        remote = self.remote
        obs = remote.observer if remote is not None else observer(
            sensor_name(settings, args.sensor_name), interface)  # fmt: skip
        self.observer = obs
        alert_sinks: list[Callable[[Alert], None]] = []
        if self.alerts is not None or remote is not None:
            write_alert = self.alerts.write if self.alerts is not None else None
            send_alert = remote.alert if remote is not None else None

            def alert_out(a: Alert) -> None:
                doc = alert_doc(a)
                doc["observer"] = obs
                if write_alert is not None:
                    write_alert(doc)
                if send_alert is not None:
                    send_alert(doc)

            alert_sinks.append(alert_out)
        if not args.quiet and not args.json:
            alert_sinks.append(ConsoleAlerts(self.console))
        event_sinks: list[Callable[[Transaction], None]] = []
        anomaly_sinks: list[Callable[[dict[str, Any]], None]] = []
        writers = []
        if self.events is not None:
            writers.append(self.events.write)
        if remote is not None and remote.events:
            writers.append(remote.event)
        if writers:

            def anomaly_out(doc: dict[str, Any]) -> None:
                doc["observer"] = obs
                for write in writers:
                    write(doc)

            event_sinks.append(lambda t: anomaly_out(transaction_doc(t)))
            anomaly_sinks.append(anomaly_out)
        self.monitor = Monitor(
            settings, baseline=base, learn=learn, alert_sinks=alert_sinks,
            event_sinks=event_sinks, anomaly_sinks=anomaly_sinks, vendor=default_vendor(),
            sigma=sigma,
        )  # fmt: skip
        self.sent: dict[str, Any] = {}
        #: Loads the Sigma rules again from the same files (SIGHUP); None without rules.
        self.load_rules: Callable[[], SigmaEngine | None] | None = None
        if self.monitor.sigma is not None:
            self.load_rules = lambda: _sigma_pack(args, settings, strict=True)
        #: Where sensor documents (live capture) go: the events file and the SIEM outputs.
        self.sensor_writers = [w for w in (self.events.write if self.events else None,
                                            remote.sensor if remote else None) if w]  # fmt: skip

    def sensor_out(self, doc: dict[str, Any]) -> None:
        for write in self.sensor_writers:
            write(doc)

    def close_outputs(self) -> None:
        """The fleet inventory, then the SIEM outputs (waiting while Elasticsearch takes
        documents; an unreachable one ends the wait at once, the spool keeps the rest)."""
        if self.remote is not None:
            self.remote.assets(self.monitor.inventory_doc())
            self.sent = self.remote.close(timeout=3600.0)
            self.remote = None

    def finish(self, result: dict[str, Any]) -> None:
        """The outputs' part of the summary, and their warnings."""
        monitor, events, alerts = self.monitor, self.events, self.alerts
        result["alerts"] = _alert_summary(monitor, alerts)
        if self.sent:
            result["outputs"] = self.sent
            for name, stats in self.sent.items():
                if stats.get("error"):
                    _say(f"warning: {name}: {stats['error']}")
        if events is not None:
            if events.error:
                _say(f"warning: {events.error}")
            result["events"] = {"file": events.path, "written": events.written,
                                "dropped": events.dropped}  # fmt: skip
        if alerts is not None and alerts.error:
            _say(f"warning: {alerts.error}")
        if self.args.inventory:
            _write_json(self.args.inventory, monitor.inventory_doc(), "inventory")
            result["inventory"] = {"file": self.args.inventory,
                                   "assets": len(monitor.inventory.assets)}  # fmt: skip

    def report(self, result: dict[str, Any]) -> None:
        if self.args.json:
            sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
        else:
            summary.render(result, self.console)


def _sigma_pack(
    args: argparse.Namespace, settings: config.Settings, strict: bool = False
) -> SigmaEngine | None:
    """The Sigma rules the options or the configuration ask for (pySigma on demand). A rule
    that does not load is a warning (the others run), or with ``strict`` an error: a
    reload keeps the rules in force rather than lose one to a typo."""
    wanted = args.rules or list(settings.sigma.rules)
    if not wanted:
        return None
    from otsec.detection.sigma import SigmaLoadError  # noqa: PLC0415

    paths = [str(RULES_DIR) if r == "default" else r for r in wanted]
    try:
        sigma, problems = load_sigma(paths, {k: list(v) for k, v in settings.sigma.vars})
    except SigmaLoadError as exc:
        raise UsageError(str(exc)) from None
    if strict and problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UsageError(f"{problems[0]}{more}")
    for problem in problems:
        _say(f"warning: {problem}")
    return sigma


def _replay(args: argparse.Namespace, out: Console, err: Console) -> int:
    settings = config.load(args.config)
    base = store.load(args.baseline) if args.baseline else None
    readers = _open_all(args.files)

    def close_readers() -> None:
        for reader in readers:
            reader.close()

    session = _Session(args, settings, base, out, err, close_readers)
    try:
        _run(session.monitor, readers, args, err, session.sinks)
    finally:
        session.close_outputs()
    result = summary.build(session.monitor.pipeline)
    session.finish(result)
    session.report(result)
    return EXIT_OK


def _duration(text: str, what: str) -> float:
    """Seconds from '90', '90s', '30m', '8h', '14d'."""
    try:
        return config.parse_duration(text, what)
    except config.ConfigError as exc:
        raise UsageError(str(exc)) from None


#: Seconds between two reports of rising kernel drops (the first one is at once).
DROP_REPORT_EVERY = 60.0


class _Live:
    """What a live capture does besides feeding the monitor, from the capture's tick (the
    reading thread, between packets): watch the kernel's drop counters, save learning
    checkpoints, send status documents, reload the baseline and the Sigma rules after
    SIGHUP, refresh the dashboard, and stop at the end of --learn/--duration or on
    SIGINT/SIGTERM. ``rules`` loads the rules again (in a thread of its own: compiling a
    large pack must not hold up the capture); None when the sensor runs none."""

    def __init__(
        self, capture: LiveCapture, monitor: Monitor, *, learn_for: float | None,
        stop_after: float | None, checkpoint: float | None, output: str | None,
        status_every: float, sensor_out: Callable[[dict[str, Any]], None] | None,
        obs: dict[str, Any], dashboard: Dashboard | None, remote: Outputs | None = None,
        rules: Callable[[], SigmaEngine | None] | None = None,
    ) -> None:  # fmt: skip
        self.capture, self.monitor = capture, monitor
        self.learn_for, self.stop_after = learn_for, stop_after
        self.checkpoint, self.output = checkpoint, output
        self.status_every = status_every
        self.sensor_out, self.obs = sensor_out, obs
        self.dashboard = dashboard
        self.remote = remote
        self.rules = rules
        #: The thread loading the rules after SIGHUP, and what it got: (rules, None) or
        #: (None, why not); a SIGHUP during the load asks for one more.
        self.rules_loader: threading.Thread | None = None
        self.rules_loaded: tuple[SigmaEngine | None, str | None] = (None, None)
        self.rules_again = False
        self.started = now = time.monotonic()
        self.started_wall = time.time()
        self.signals = 0
        self.reload_wanted = False
        self.tick_failed = False
        self.dropped = 0
        self.next_drop_report = now
        self.next_checkpoint = now + checkpoint if checkpoint else float("inf")
        self.next_status = now + status_every
        self.status_packets = 0
        self.status_at = now

    def on_signal(self, _signum: int, _frame: Any) -> None:
        self.signals += 1
        if self.signals > 1:  # every file is written whole or atomically: leaving now is safe
            os._exit(EXIT_INTERRUPTED)
        self.capture.stop()

    def on_hangup(self, _signum: int, _frame: Any) -> None:
        self.reload_wanted = True  # done from the next tick, between packets

    def tick(self) -> None:
        now = time.monotonic()
        try:
            self._tick(now)
        except Exception as exc:  # a bug here must not end the capture
            if not self.tick_failed:
                self.tick_failed = True
                _say(f"warning: the sensor's periodic work failed and goes on "
                     f"({type(exc).__name__}: {exc})")  # fmt: skip
        if (self.learn_for is not None and now - self.started >= self.learn_for) or (
            self.stop_after is not None and now - self.started >= self.stop_after
        ):
            self.capture.stop()

    def _tick(self, now: float) -> None:
        dropped = self.capture.stats().dropped_kernel or 0
        if dropped > self.dropped and now >= self.next_drop_report:
            # at once, then at most once a minute while the drops go on
            self.next_drop_report = now + DROP_REPORT_EVERY
            more, self.dropped = dropped - self.dropped, dropped
            text = f"the kernel dropped {more} packets ({dropped} since the start)"
            _say(f"warning: {text}")
            self.sensor("capture-drops", text, "medium", dropped_new=more)
        if now >= self.next_checkpoint:
            self.next_checkpoint = now + (self.checkpoint or 0)
            self.save_checkpoint()
        if now >= self.next_status:
            self.next_status = now + self.status_every
            self.status(now)
        if self.reload_wanted:
            self.reload_wanted = False
            self.reload()
        if self.rules_loader is not None and not self.rules_loader.is_alive():
            self.rules_loader = None
            self.apply_rules()
        if self.dashboard is not None:
            self.dashboard.tick(now)

    def save_checkpoint(self) -> None:
        _write_json(self.output or "", self.monitor.baseline_doc(), "baseline checkpoint")

    def capture_counters(self) -> dict[str, Any]:
        """``ics.sensor.capture`` of a sensor document, and the capture part of the summary."""
        capture = self.capture
        stats = capture.stats()
        return {
            "interface": capture.interface, "backend": capture.backend,
            "filter": capture.filter, "received": stats.received,
            "dropped_kernel": stats.dropped_kernel, "dropped_interface": stats.dropped_interface,
        }  # fmt: skip

    def counters(self) -> dict[str, Any]:
        """``ics.sensor`` of a sensor document."""
        monitor = self.monitor
        base = monitor.baseline
        return {
            "mode": "learn" if monitor.learner is not None else "monitor",
            "baseline": base.path if base is not None else None,
            "uptime": round(time.monotonic() - self.started, 3),
            "capture": self.capture_counters(),
            "packets": self.capture.packets,
            "flows": len(monitor.pipeline.flows),
            "assets": len(monitor.inventory.assets),
            "alerts": sum(monitor.alert_counts.values()),
            "rules": (len(monitor.sigma.engine.rules) + len(monitor.sigma.engine.correlations)
                      if monitor.sigma is not None else None),
            "learning": self.learning(),
        }  # fmt: skip

    def learning(self) -> dict[str, Any] | None:
        """How far learning has come (None when monitoring): edges so far, when the newest
        one was first seen (a baseline that stopped growing has converged), when it ends."""
        learner = self.monitor.learner
        if learner is None:
            return None
        kept = learner.kept((ip, a.roles()) for ip, a in self.monitor.inventory.assets.items())
        out: dict[str, Any] = {"edges": len(kept)}  # as the baseline file will have them
        if kept:
            out["newest_edge"] = isotime(max(e.first_ts for e in kept))
        if self.learn_for is not None:
            out["ends"] = isotime(self.started_wall + self.learn_for)
        return out

    def sensor(
        self, action: str, message: str, severity: str = "low",
        counters: dict[str, Any] | None = None, **extra: Any,
    ) -> None:  # fmt: skip
        """A sensor document to the SIEM outputs and the events file (when there are);
        ``counters``: :meth:`counters`, when the caller has them already."""
        if self.sensor_out is None:
            return
        counters = dict(counters) if counters is not None else self.counters()
        capture = {k: v for k, v in {**counters.pop("capture"), **extra}.items() if v is not None}
        sensor = {k: v for k, v in counters.items() if v is not None}
        sensor["capture"] = capture
        self.sensor_out(sensor_doc(action, time.time(), message, sensor, self.obs, severity))

    def status(self, now: float) -> None:
        """The periodic status document (with the packet rate since the last one), and the
        fleet inventory brought up to date."""
        seconds = max(now - self.status_at, 1e-9)
        rate = (self.capture.packets - self.status_packets) / seconds
        self.status_packets, self.status_at = self.capture.packets, now
        text = f"capturing on {self.capture.interface}: {rate:,.0f} packets/s"
        counters = self.counters()
        learning = counters["learning"]
        if learning is not None:
            text += f"; learning: {learning['edges']} edges"
            if "newest_edge" in learning:
                text += f", the newest first seen {learning['newest_edge']}"
        self.sensor("status", text, counters=counters, packets_per_second=round(rate, 1))
        if self.remote is not None:
            self.remote.assets(self.monitor.inventory_doc())

    def reload(self) -> None:
        """SIGHUP: read the baseline file and the Sigma rules again; a bad file keeps what
        is in force. While learning: save a checkpoint now."""
        if self.monitor.learner is not None:
            self.save_checkpoint()
            _say(f"SIGHUP: baseline checkpoint written to {self.output}")
            return
        current = self.monitor.baseline
        if current is None and self.rules is None:
            _say("SIGHUP ignored: nothing to reload (monitor with --baseline FILE or --rules)")
            return
        if current is not None:
            self.reload_baseline(current.path)
        if self.rules is not None:
            if self.rules_loader is not None:
                self.rules_again = True  # the files may have changed since that load began
            else:
                self.start_rules_load()

    def start_rules_load(self) -> None:
        self.rules_loader = threading.Thread(target=self.load_rules, name="otsec-rules",
                                             daemon=True)  # fmt: skip
        self.rules_loader.start()

    def reload_baseline(self, path: str) -> None:
        try:
            fresh = store.load(path)
            self.monitor.reload_baseline(fresh)
        except store.BaselineError as exc:
            text = f"baseline not reloaded, the previous one stays in force: {exc}"
            _say(f"warning: {text}")
            self.sensor("baseline-reload-failed", text, "medium")
            return
        text = (f"baseline reloaded from {fresh.path}: {len(fresh.assets)} assets, "
                f"{len(fresh.edges)} edges")  # fmt: skip
        _say(text)
        self.sensor("baseline-reloaded", text)

    def load_rules(self) -> None:
        """The rules loader thread's work."""
        assert self.rules is not None
        try:
            self.rules_loaded = (self.rules(), None)
        except UsageError as exc:
            self.rules_loaded = (None, str(exc))
        except Exception as exc:  # pySigma's own failures: the rules in force stay
            self.rules_loaded = (None, f"{type(exc).__name__}: {exc}")

    def apply_rules(self) -> None:
        """From the tick, once the loader is done: the new rules, or a warning."""
        engine, why = self.rules_loaded
        self.rules_loaded = (None, None)
        if engine is None:
            text = f"Sigma rules not reloaded, the previous ones stay in force: {why}"
            _say(f"warning: {text}")
            self.sensor("rules-reload-failed", text, "medium")
        else:
            self.monitor.reload_sigma(engine)
            n, c = len(engine.rules), len(engine.correlations)
            text = (f"Sigma rules reloaded: {n} rule{'s' * (n != 1)}, "
                    f"{c} correlation{'s' * (c != 1)}")  # fmt: skip
            _say(text)
            self.sensor("rules-reloaded", text)
        if self.rules_again:
            self.rules_again = False
            self.start_rules_load()


def _sniff(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Live capture through the monitor, until a signal, --duration or --learn's end."""
    from otsec.capture.live import LiveCapture, default_filter, drop_privileges  # noqa: PLC0415

    settings = config.load(args.config)
    cap = settings.capture
    interface = args.interface or cap.interface
    if not interface:
        raise UsageError("no interface: give -i IFACE (or [capture] interface in --config)")
    learning = args.learn is not None
    if learning and not args.output:
        raise UsageError("--learn needs -o FILE: the baseline to write")
    if args.output and not learning:
        raise UsageError("-o is the baseline --learn writes")
    if learning and args.rules:
        raise UsageError("--rules: Sigma rules run when monitoring with --baseline, not "
                         "while learning")  # fmt: skip
    if args.dashboard and args.json:
        raise UsageError("--dashboard and --json both want the terminal; pick one")
    learn_for = _duration(args.learn, "--learn") if learning else None
    checkpoint = _duration(args.checkpoint, "--checkpoint") if args.checkpoint else cap.checkpoint
    stop_after = _duration(args.duration, "--duration") if args.duration else None
    baseline_path = None if learning else (args.baseline or cap.baseline or None)
    base = store.load(baseline_path) if baseline_path else None
    if args.bpf is not None:
        bpf = args.bpf
    elif cap.bpf is not None:
        bpf = cap.bpf
    else:
        bpf = default_filter(settings.ics_ports, cap.extra_ports)
    capture = LiveCapture(interface, backend=args.backend or cap.backend, bpf=bpf,
                          snaplen=cap.snaplen, promisc=cap.promisc,
                          buffer_mb=cap.buffer_mb)  # fmt: skip
    if args.dashboard:
        args.quiet = True  # the dashboard shows the last alerts
    try:
        user = args.user or cap.user
        if user:
            drop_privileges(user)
        session = _Session(args, settings, base, out, err, lambda: None, interface=interface,
                           append=True, learn=learning)  # fmt: skip
        monitor = session.monitor
    except BaseException:
        capture.close()
        raise
    dashboard = None
    if args.dashboard:
        from otsec.dashboard import Dashboard  # noqa: PLC0415

        dashboard = Dashboard(out, monitor, capture)
        monitor.alert_sinks.append(dashboard.alert)
        capture.tick_every = 0.25
    live = _Live(
        capture, monitor, learn_for=learn_for, stop_after=stop_after,
        checkpoint=checkpoint if learning else None, output=args.output,
        status_every=cap.status_every,
        sensor_out=session.sensor_out if session.sensor_writers else None,
        obs=session.observer, dashboard=dashboard, remote=session.remote,
        rules=session.load_rules,
    )  # fmt: skip
    _say(f"otsec sniff: {capture.name}, {capture.backend} backend, kernel filter: "
         f"{capture.filter or 'none (every packet)'}")  # fmt: skip
    live.sensor("capture-started", f"capture started on {interface} ({capture.backend} "
                f"backend, filter: {capture.filter or 'none'})")  # fmt: skip
    capture.on_tick = live.tick
    previous = {sig: signal.signal(sig, live.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, live.on_hangup)
    try:
        if dashboard is not None:
            dashboard.start()
        try:
            monitor.run(capture)
            monitor.close()
        finally:
            if dashboard is not None:
                dashboard.tick(time.monotonic())
                dashboard.stop()
    finally:
        capture.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        counters = live.capture_counters()
        live.sensor("capture-stopped", f"capture stopped on {interface}: "
                    f"{counters['received']} packets received, "
                    f"{counters['dropped_kernel']} dropped by the kernel")  # fmt: skip
        session.close_outputs()
        for sink in session.sinks:
            sink.close()
    result = summary.build(monitor.pipeline)
    result["capture"] = {**live.capture_counters(),
                         "seconds": round(time.monotonic() - live.started, 3)}  # fmt: skip
    doc = None
    if learning:
        doc = monitor.baseline_doc()
        store.save(doc, args.output)
        result["baseline"] = {"file": args.output, "assets": len(doc["assets"]),
                              "edges": len(doc["edges"])}  # fmt: skip
    session.finish(result)
    session.report(result)
    if doc is not None and not args.json:
        out.print(f"learned {len(doc['edges'])} edges between {len(doc['assets'])} assets "
                  f"-> {args.output}", highlight=False)  # fmt: skip
    return EXIT_OK


def _run(
    monitor: Monitor, readers: list[CaptureReader], args: argparse.Namespace, err: Console,
    sinks: Sequence[JsonlSink] = (),
) -> None:  # fmt: skip
    show_progress = err.is_terminal if args.progress is None else args.progress
    try:
        if show_progress:
            _run_with_progress(monitor, readers, err)
        else:
            for reader in readers:
                monitor.run(reader)
        monitor.close()
    finally:
        for reader in readers:
            reader.close()
        for sink in sinks:
            sink.close()
    for report in monitor.pipeline.files:
        for warning in report.warnings:
            _say(f"warning: {warning}")


def _alert_summary(monitor: Monitor, sink: JsonlSink | None) -> dict[str, Any]:
    by_rule: dict[str, dict[str, int]] = {}
    for (rule, severity), n in sorted(monitor.alert_counts.items()):
        by_rule.setdefault(rule, {})[severity] = n
    out: dict[str, Any] = {
        "total": sum(monitor.alert_counts.values()),
        "by_rule": by_rule,
        "baseline": monitor.baseline.path if monitor.baseline is not None else None,
    }
    if monitor.sigma is not None:
        engine = monitor.sigma.engine
        out["sigma"] = {"rules": len(engine.rules) + len(engine.correlations),
                        "correlations": len(engine.correlations), "documents": engine.documents,
                        "evaluations": engine.evaluated,
                        "skipped_by_guards": engine.skipped}  # fmt: skip
    if sink is not None:
        out["file"] = sink.path
        out["written"] = sink.written
        out["dropped"] = sink.dropped
    return out


def _write_json(path: str, doc: dict[str, Any], what: str) -> None:
    try:
        store.save(doc, path)
    except store.BaselineError as exc:
        _say(f"warning: {what} not written: {exc}")


def _learn(args: argparse.Namespace, out: Console, err: Console) -> int:
    settings = config.load(args.config)
    readers = _open_all(args.files)
    console = err if args.json else out
    monitor = Monitor(
        settings, learn=True, alert_sinks=[ConsoleAlerts(console)], vendor=default_vendor()
    )
    _run(monitor, readers, args, err)
    doc = monitor.baseline_doc()
    store.save(doc, args.output)
    result = {
        "baseline": args.output,
        "packets": monitor.pipeline.packets,
        "assets": len(doc["assets"]),
        "edges": len(doc["edges"]),
        "zone_violations": len(doc["violations"]),
        "sources": doc["sources"],
    }
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        console.print(
            f"learned {result['edges']} edges between {result['assets']} assets from "
            f"{result['packets']:,} packets -> {args.output}"
        )
        if doc["violations"]:
            console.print(
                f"[yellow]{len(doc['violations'])} edges were not learned: they cross zones "
                f"without a conduit (see 'violations' in the file)[/]"
            )
        console.print(f"review it with: otsec baseline show {args.output}")
    return EXIT_OK


def _baseline_show(args: argparse.Namespace, out: Console) -> int:
    base = store.load(args.file)
    if args.json:
        sys.stdout.write(store.dumps(base.doc))
    else:
        baseline_render.render_summary(base.doc, out)
    return EXIT_OK


def _baseline_diff(args: argparse.Namespace, out: Console) -> int:
    a = store.load(args.old)
    b = store.load(args.new)
    d = baseline_diff.diff(a.doc, b.doc)
    if args.json:
        sys.stdout.write(json.dumps(baseline_diff.diff_json(d), sort_keys=True) + "\n")
    else:
        baseline_diff.render_diff(d, out, args.old, args.new)
    return EXIT_OK


def _rules_check(args: argparse.Namespace, out: Console) -> int:
    """Exit 0 when every rule loads and validates, 1 when there are problems."""
    from otsec.detection.sigma import (  # noqa: PLC0415 (pySigma on demand)
        SigmaLoadError,
        use_offline_attack,
        validate,
    )

    paths = args.paths or [str(RULES_DIR)]
    try:
        engine, problems = load_sigma(paths)
        with tempfile.TemporaryDirectory(prefix="otsec-attack-") as cache:
            use_offline_attack(ATTACK_BUNDLE, cache)
            problems += validate(paths)
    except SigmaLoadError as exc:
        raise UsageError(str(exc)) from None
    for problem in problems:
        out.print(problem, highlight=False, soft_wrap=True)
    by_source: dict[str, int] = {}
    for rule in engine.rules:
        product, category, service = rule.logsource
        key = service or category or product or "any"
        by_source[key] = by_source.get(key, 0) + 1
    counts = ", ".join(f"{k} {v}" for k, v in sorted(by_source.items()))
    corr = len(engine.correlations)
    bases = sum(1 for r in engine.rules if not r.alerts)
    also = f", {corr} correlations over {bases} base rules" if corr else ""
    out.print(
        f"{len(engine.rules) + corr} rules loaded ({counts}{also}); {len(problems)} problems",
        soft_wrap=True,
    )
    return EXIT_OK if not problems else 1


def _rules_export(args: argparse.Namespace) -> int:
    """One converted rule per line (queries, or NDJSON detection rules)."""
    from otsec.detection import sigma_export  # noqa: PLC0415 (pySigma on demand)
    from otsec.detection.sigma import SigmaLoadError  # noqa: PLC0415

    paths = args.paths or [str(RULES_DIR)]
    try:
        converted, problems, skipped = sigma_export.export(
            paths, PIPELINE, ATTACK_BUNDLE, args.target, args.format
        )
    except SigmaLoadError as exc:
        raise UsageError(str(exc)) from None
    for problem in problems:
        _say(f"otsec: rules export: {problem}")
    for note in skipped:
        _say(f"otsec: rules export: skipped {note}")
    text = "".join(line.rstrip("\n") + "\n" for line in converted)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    else:
        sys.stdout.write(text)
    also = f"; {len(skipped)} skipped" if skipped else ""
    _say(f"{len(converted)} rules converted to {args.target} ({args.format}); "
         f"{len(problems)} problems{also}")  # fmt: skip
    return EXIT_OK if not problems else 1


def _es_setup(args: argparse.Namespace, out: Console) -> int:
    """Install the templates; a dead or refusing server is a one-line error, exit 1."""
    from otsec.outputs import load_outputs  # noqa: PLC0415
    from otsec.sinks import es_setup  # noqa: PLC0415
    from otsec.sinks.elastic import client_for  # noqa: PLC0415

    settings = config.load(args.config)
    conf = load_outputs(settings, es_url=args.es_url)
    if conf.elastic is None:
        raise UsageError("no Elasticsearch: give --es-url or [elasticsearch] url")
    data_streams = conf.elastic.data_streams and not args.plain_indices
    try:
        done = es_setup.install(client_for(conf.elastic), data_streams=data_streams)
    except Exception as exc:
        why = conf.elastic.redact(f"{conf.elastic.url}: {type(exc).__name__}: {exc}", 400)
        _say(f"otsec: es setup: {why}")
        return 1
    for line in done:
        out.print(line, highlight=False)
    return EXIT_OK


def _inventory_show(args: argparse.Namespace, out: Console) -> int:
    doc = _load_inventory(args.file)
    if args.json:
        inventory_render.to_json(doc, sys.stdout)
    elif args.csv:
        inventory_render.to_csv(doc, sys.stdout)
    else:
        inventory_render.render_table(doc, out, wide=args.wide)
    return EXIT_OK


def _load_inventory(path: str) -> dict[str, Any]:
    """An inventory file, or the inventory inside a baseline file."""
    doc = store.read_json(path, "inventory")
    if isinstance(doc, dict) and "otsec_baseline" in doc:
        base = store.load(path)
        doc = {
            "otsec_inventory": 1,
            "generated": base.doc["learned"].get("last_seen"),
            "sources": [s["path"] for s in base.doc.get("sources", [])],
            "assets": base.doc["assets"],
        }
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: not an otsec inventory or baseline file")
    problems = inventory_render.validate(doc)
    if problems:
        raise UsageError(f"{path}: not a valid inventory: {problems[0]}")
    out: dict[str, Any] = doc
    return out


def _run_with_progress(monitor: Monitor, readers: list[CaptureReader], err: Console) -> None:
    pipeline = monitor.pipeline
    sizes = [r.size() for r in readers]
    known = all(s is not None for s in sizes)
    columns = [TextColumn("{task.description}"), BarColumn()]
    if known:
        columns += [DownloadColumn(), TimeRemainingColumn()]
    else:
        columns += [TextColumn("{task.fields[packets]:,} packets"), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        total = sum(s or 0 for s in sizes) if known else None
        task: TaskID = bar.add_task("replay", total=total, packets=0)
        done = 0
        for reader, size in zip(readers, sizes, strict=True):
            bar.update(task, description=reader.name)
            base = done
            seen = pipeline.packets

            def tick(n: int, r: CaptureReader = reader, base: int = base, seen: int = seen) -> None:
                pos = r.position()
                bar.update(task, completed=base + (pos or 0), packets=seen + n)

            monitor.run(reader, tick)
            done += size or 0
            bar.update(task, completed=done, packets=pipeline.packets)


def _say(line: str) -> None:
    """One unwrapped line on stderr (messages scripts may grep)."""
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    # the sinks' warnings reach the operator through the summary, not twice via logging
    logging.getLogger("otsec").addHandler(logging.NullHandler())
    out = Console()
    err = Console(stderr=True)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    try:
        if args.command == "replay":
            return _replay(args, out, err)
        if args.command == "baseline":
            if args.baseline_command == "learn":
                return _learn(args, out, err)
            if args.baseline_command == "show":
                return _baseline_show(args, out)
            return _baseline_diff(args, out)
        if args.command == "inventory":
            return _inventory_show(args, out)
        if args.command == "es":
            return _es_setup(args, out)
        if args.command == "sniff":
            return _sniff(args, out, err)
        if args.command == "rules":
            if args.rules_command == "export":
                return _rules_export(args)
            return _rules_check(args, out)
        raise UsageError(f"unknown command {args.command}")
    except (UsageError, CaptureError, config.ConfigError, store.BaselineError) as exc:
        _say(f"otsec: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("otsec: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
