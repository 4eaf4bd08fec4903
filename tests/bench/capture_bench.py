"""Live-capture drop benchmark: how fast can traffic arrive before a receiver loses packets.

    sudo .venv/bin/python tests/bench/capture_bench.py            # full run, about 6-10 minutes
    sudo .venv/bin/python tests/bench/capture_bench.py --quick    # smoke run, a minute or two

Two network namespaces joined by a veth pair (tests/netns.py). In ``ns_a``, ``tcpreplay
-i veth_a --limit=N --pps=R`` (or ``--topspeed``), pinned to CPU 0, replays the first N
packets of the bench capture (the one tests/bench/bench.py uses: ``pcaps/gen_plant.py
--scenario bench``, cached in ``.cache/bench/`` or $OTSEC_BENCH_DIR). In ``ns_b``, pinned
to CPU 1, one receiver listens on ``veth_b``:

* ``otsec sniff --backend pcap`` (the default backend) and ``otsec sniff --backend scapy``,
  both the full pipeline as in bench.py's first row: ``otsec sniff -i veth_b --baseline B
  --alerts F --quiet --json`` with the baseline bench.py learns from the capture's first
  100,000 packets (every dissector, inventory, baseline comparison, detection, JSONL
  alerts);
* ``tcpdump -i veth_b -nn -w /dev/null`` (default buffer), as the reference.

Each runs once through otsec's default kernel filter (no ``--bpf``; tcpdump gets the same
text, ``default_filter(settings.ics_ports)``) and once with no filter (``--bpf ''``).
A run: start the receiver, wait until its capture is open (``otsec sniff:`` or tcpdump's
``listening on`` on stderr), replay, let the receiver drain until it has used less than
10% of a CPU for ``--idle`` seconds (at most ``--max-drain``), then SIGINT it and read its
counters: otsec's ``--json`` summary (``capture.received``, ``capture.dropped_kernel``,
``capture.dropped_interface``, ``packets``) or tcpdump's "packets captured / received by
filter / dropped by kernel". veth_b's ``rx_packets``/``rx_dropped`` are read before and
after. A receiver that falls behind still stops within one read batch of the signal and
reports; one that does not exit within ``--stop-timeout`` is killed (row without
counters).

**Zero drops** means: the kernel drop counter is 0 AND the receiver handed on every packet
the filter passes, i.e. "pipeline packets" (otsec's ``packets``, what the pipeline
processed; tcpdump's "packets captured") reaches "expected" (more would be stray frames,
noted beside the row). Expected is counted offline once per slice: the first N packets
of the capture run through the same BPF filter with libpcap (pcapy), or all N without a
filter. Packets still queued unread when the receiver stops count as lost, so the drain
matters. "received" is the kernel's count of packets
that passed the filter, drops included; "drop %" is (expected - pipeline packets) /
expected. Interface drops (the receiver's count of veth_b ``rx_dropped``, also shown per
run) are not capture loss: Linux counts there frames the stack discards after every
capture saw them.

Once a receiver has dropped at ``--skip-after`` (2) consecutive rates, its higher rates
are skipped. On a 2-core machine tcpreplay tops out around 0.2-0.4 Mpps (veth's receive
softirq and the kernel filter run on the sender's CPU), which bounds tcpdump; otsec is
bounded by its pipeline on the receiver's CPU. Other load on the machine lowers every
figure, so the load average is printed before and after. Needs root. This prints figures;
it is not a test (``--check`` makes a missed target exit 1).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: tests.*
from otsec import config
from otsec.capture.live import default_filter
from tests.bench import bench  # the capture, slices and baseline it uses
from tests.netns import VethPair, available

OTSEC = str(Path(bench.PYTHON).with_name("otsec"))
SENDER_CPU, RECEIVER_CPU = "0", "1"
RECEIVERS = {
    "pcap": "otsec sniff --backend pcap",
    "scapy": "otsec sniff --backend scapy",
    "tcpdump": "tcpdump",
}
FILTERS = ("default", "none")
#: The target of issue 9: the default backend, full pipeline, default filter, holds zero
#: kernel drops at this rate of the bench capture.
TARGET_RATE = 100_000
IDLE_CPU = 0.10  # a receiver using less than this share of a CPU has nothing left to read
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    receiver: str
    filter: str
    rate: int  # packets/s asked; 0 = --topspeed
    limit: int
    skipped: str = ""
    sent: int = 0
    failed: int = 0
    actual_pps: float = 0.0
    expected: int = 0
    received: int | None = None
    dropped_kernel: int | None = None
    dropped_interface: int | None = None
    pipeline: int | None = None
    veth_rx: int = 0
    veth_rx_dropped: int = 0
    drain_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def zero_drops(self) -> bool:
        return (
            not self.skipped
            and self.failed == 0
            and self.dropped_kernel == 0
            and self.pipeline is not None
            and self.pipeline >= self.expected
        )

    @property
    def drop_pct(self) -> float | None:
        if self.pipeline is None or not self.expected:
            return None
        return max(0.0, 100.0 * (self.expected - self.pipeline) / self.expected)


def rate_label(rate: int) -> str:
    return "top speed" if rate == 0 else f"{rate:,}"


def parse_rates(text: str) -> list[int]:
    return [
        0 if r.strip() in ("top", "topspeed", "0") else int(r.strip().replace("k", "000"))
        for r in text.split(",")
    ]


def expected_counts(path: Path, limits: set[int], bpf: str) -> dict[tuple[int, str], int]:
    """How many of the first N packets of ``path`` pass ``bpf`` (and all N: filter "none"),
    for every N in ``limits``, counted with libpcap in one pass."""
    import pcapy  # a dependency of otsec (the pcap backend)

    reader = pcapy.open_offline(str(path))
    program = pcapy.compile(reader.datalink(), 65535, bpf, 1, 0)
    counts: dict[tuple[int, str], int] = {}
    seen = passed = 0
    while seen < max(limits):
        header, data = reader.next()
        if header is None:
            break
        seen += 1
        passed += program.filter(data) != 0
        if seen in limits:
            counts[seen, "default"], counts[seen, "none"] = passed, seen
    return counts


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of ``pid`` in clock ticks (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


class Receiver:
    """One receiver process in ``ns_b`` with its output read by threads."""

    def __init__(self, argv: list[str], ready: str, ready_timeout: float) -> None:
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._ready = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out, ""), daemon=True),
            threading.Thread(
                target=self._read, args=(self.proc.stderr, self.err, ready), daemon=True
            ),
        ]
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + ready_timeout
        try:
            while not self._ready.wait(0.1):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"receiver did not start: {''.join(self.err).strip()!r}")
        except BaseException:
            self.kill()
            raise

    def _read(self, stream: IO[str] | None, into: list[str], ready: str) -> None:
        for line in stream or ():
            into.append(line)
            if ready and ready in line:
                self._ready.set()

    def drain(self, idle_s: float, max_s: float) -> float:
        """Wait until the receiver has been (nearly) idle for ``idle_s``; seconds waited."""
        start = last = time.monotonic()
        ticks = cpu_ticks(self.proc.pid)
        quiet_since = start
        while time.monotonic() - start < max_s and self.proc.poll() is None:
            time.sleep(0.25)
            now, t = time.monotonic(), cpu_ticks(self.proc.pid)
            if (t - ticks) / CLK_TCK > IDLE_CPU * (now - last):
                quiet_since = now
            elif now - quiet_since >= idle_s:
                break
            last, ticks = now, t
        return time.monotonic() - start

    def stop(self, timeout: float) -> tuple[str, str, bool]:
        """SIGINT, wait; SIGKILL after ``timeout``. (stdout, stderr, exited by itself)"""
        clean = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                clean = False
                self.kill()
        for t in self._threads:
            t.join(5)
        return "".join(self.out), "".join(self.err), clean

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()


def _int(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


def replay(veth: VethPair, pcap: Path, rate: int, limit: int, r: Result) -> None:
    speed = ["--topspeed"] if rate == 0 else [f"--pps={rate}"]
    argv = ["taskset", "-c", SENDER_CPU, "tcpreplay", "-i", veth.veth_a, f"--limit={limit}"]
    timeout = 120 + 3 * limit / (rate or 100_000)
    try:
        cmd = veth.command(veth.ns_a, [*argv, *speed, str(pcap)])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        r.notes.append(f"tcpreplay killed after {timeout:.0f} s")
        return
    out = done.stdout + done.stderr
    if done.returncode != 0:
        r.notes.append(f"tcpreplay exit {done.returncode}: {out.strip()[-200:]!r}")
    r.sent = _int(r"Successful packets:\s+(\d+)", out) or 0
    r.failed = _int(r"Failed packets:\s+(\d+)", out) or 0
    m = re.search(r"Rated: .*?([\d.]+) pps", out)
    r.actual_pps = float(m.group(1)) if m else 0.0
    if r.failed:
        r.notes.append(f"tcpreplay failed {r.failed:,} packets")


def receiver_argv(
    name: str, iface: str, filt: str, bpf: str, baseline: Path, alerts: Path, conf: str | None
) -> tuple[list[str], str]:
    """The command line of a receiver and the stderr text it prints once it captures."""
    if name == "tcpdump":
        argv = ["tcpdump", "-i", iface, "-nn", "-w", "/dev/null"]
        return argv + ([bpf] if filt == "default" else []), "listening on"
    argv = [OTSEC, "sniff", "-i", iface, "--backend", name, "--quiet", "--json"]
    argv += ["--baseline", str(baseline), "--alerts", str(alerts)]
    if conf:
        argv += ["--config", conf]
    if filt == "none":
        argv += ["--bpf", ""]
    return argv, "otsec sniff:"


def run_one(
    veth: VethPair,
    args: argparse.Namespace,
    r: Result,
    pcap: Path,
    bpf: str,
    baseline: Path,
    tmp: Path,
) -> None:
    alerts = tmp / "alerts.jsonl"
    alerts.unlink(missing_ok=True)
    argv, ready = receiver_argv(
        r.receiver, veth.veth_b, r.filter, bpf, baseline, alerts, args.config
    )
    before = veth.link_stats(veth.ns_b, veth.veth_b)
    try:
        rx = Receiver(
            veth.command(veth.ns_b, ["taskset", "-c", RECEIVER_CPU, *argv]),
            ready,
            args.ready_timeout,
        )
    except RuntimeError as exc:
        r.notes.append(str(exc))
        return
    try:
        replay(veth, pcap, r.rate, r.limit, r)
        r.drain_s = round(rx.drain(args.idle, args.max_drain), 1)
        if r.drain_s >= args.max_drain:
            r.notes.append(f"still busy after {args.max_drain:g} s of drain")
    finally:
        out, err, clean = rx.stop(args.stop_timeout)
    after = veth.link_stats(veth.ns_b, veth.veth_b)
    r.veth_rx = after["rx_packets"] - before["rx_packets"]
    r.veth_rx_dropped = after["rx_dropped"] - before["rx_dropped"]
    if not clean:
        r.notes.append(f"killed: no exit {args.stop_timeout:g} s after SIGINT")
    if r.receiver == "tcpdump":
        r.pipeline = _int(r"(\d+) packets? captured", err)
        r.received = _int(r"(\d+) packets? received by filter", err)
        r.dropped_kernel = _int(r"(\d+) packets? dropped by kernel", err)
        r.dropped_interface = _int(r"(\d+) packets? dropped by interface", err) or 0
    else:
        try:
            summary = json.loads(out)
        except ValueError:
            r.notes.append(f"no summary; stderr: {err.strip()[-200:]!r}")
            return
        cap = summary["capture"]
        r.pipeline, r.received = summary["packets"], cap["received"]
        r.dropped_kernel, r.dropped_interface = cap["dropped_kernel"], cap["dropped_interface"]
    if r.veth_rx != r.sent:
        r.notes.append(f"veth_b saw {r.veth_rx - r.sent:+,} packets beside those sent")
    if r.pipeline is not None and r.pipeline > r.expected:
        r.notes.append(f"{r.pipeline - r.expected:,} more than expected")


def run_all(
    args: argparse.Namespace,
    receivers: list[str],
    filters: list[str],
    rates: list[int],
    limit_at: dict[int, int],
    expected: dict[tuple[int, str], int],
    pcap: Path,
    bpf: str,
    baseline: Path,
) -> list[Result]:
    """Every receiver x filter x rate, in one veth pair removed at the end whatever happens;
    a receiver's higher rates are skipped after ``--skip-after`` consecutive losses."""
    results: list[Result] = []
    veth = VethPair().create()
    try:
        with tempfile.TemporaryDirectory(prefix="otsec-capture-bench-") as tmp:
            for receiver, filt in itertools.product(receivers, filters):
                losses = 0
                for rate in rates:
                    limit = limit_at[rate]
                    r = Result(receiver, filt, rate, limit, expected=expected[limit, filt])
                    results.append(r)
                    if args.skip_after and losses >= args.skip_after:
                        r.skipped = f"skipped: dropped at {losses} consecutive lower rates"
                        continue
                    run_one(veth, args, r, pcap, bpf, baseline, Path(tmp))
                    losses = 0 if r.zero_drops else losses + 1
                    print(
                        f"  {RECEIVERS[receiver]}, filter {filt}, {rate_label(rate)}: "
                        f"{_n(r.pipeline)} of {r.expected:,} expected, "
                        f"{_n(r.dropped_kernel)} kernel drops ({r.actual_pps:,.0f} pkt/s sent, "
                        f"drained {r.drain_s:g} s) " + "; ".join(r.notes),
                        flush=True,
                    )
    finally:
        veth.delete()
    return results


def _n(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def print_tables(results: list[Result]) -> None:
    print(
        "| receiver | filter | rate asked | tcpreplay pps | sent | veth_b rx | "
        "veth_b rx_dropped | expected | received | kernel drops | interface drops | "
        "pipeline packets | drop % | zero drops | notes |"
    )
    print("|---" * 15 + "|")
    for r in results:
        head = f"| {RECEIVERS[r.receiver]} | {r.filter} | {rate_label(r.rate)} |"
        if r.skipped:
            print(f"{head} {r.skipped} |" + " |" * 11)
            continue
        pct = "n/a" if r.drop_pct is None else f"{r.drop_pct:.2f}"
        print(
            f"{head} {r.actual_pps:,.0f} | {r.sent:,} | {r.veth_rx:,} | {r.veth_rx_dropped:,} "
            f"| {r.expected:,} | {_n(r.received)} | {_n(r.dropped_kernel)} "
            f"| {_n(r.dropped_interface)} | {_n(r.pipeline)} | {pct} "
            f"| {'yes' if r.zero_drops else 'NO'} | {'; '.join(r.notes)} |"
        )
    print()
    print("zero drops: kernel drops 0 and pipeline packets (tcpdump: packets captured) = expected,")
    print("the packets of the replayed slice the filter passes, counted offline with libpcap.")


def highest_zero(results: list[Result], receiver: str, filt: str) -> str:
    """The highest rate at which (receiver, filter) had zero drops."""
    rows = [r for r in results if (r.receiver, r.filter) == (receiver, filt) and not r.skipped]
    ok = [r for r in rows if r.zero_drops]
    # top speed ranks above every fixed rate; its actual rate is shown
    best = max(ok, key=lambda r: r.rate or 10**12, default=None)
    if best is None:
        return "none"
    if best.rate == 0:
        return f"top speed ({best.actual_pps:,.0f} pkt/s actual)"
    return f"{best.rate:,} pkt/s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: rates 10k,100k,top; limits 10000,50000; --idle 1.5",
    )
    ap.add_argument(
        "--rates",
        help="packets/s, comma-separated; 'top' = --topspeed (default 10k,50k,100k,300k,top)",
    )
    ap.add_argument(
        "--limits",
        help="packets sent at each rate, comma-separated; the last "
        "one is used for every later rate (default 200000,500000,1000000)",
    )
    ap.add_argument(
        "--receivers",
        default="pcap,scapy,tcpdump",
        help="any of pcap, scapy, tcpdump (default: all)",
    )
    ap.add_argument("--filters", default="default,none", help="default, none or both")
    ap.add_argument(
        "--skip-after",
        type=int,
        default=2,
        help="skip a receiver's higher rates once it dropped at this many "
        "consecutive rates (0: never)",
    )
    ap.add_argument(
        "--idle",
        type=float,
        help="drain until the receiver is idle this long (default 2.5 s, 1.5 with --quick)",
    )
    ap.add_argument("--max-drain", type=float, default=120.0, help="longest drain (s)")
    ap.add_argument(
        "--stop-timeout",
        type=float,
        default=60.0,
        help="kill a receiver that has not exited this long after SIGINT",
    )
    ap.add_argument("--ready-timeout", type=float, default=60.0)
    ap.add_argument(
        "--config",
        help="otsec settings file passed to otsec sniff (default: none, "
        "as in bench.py's first row)",
    )
    ap.add_argument("--packets", type=int, default=1_000_000, help="size of the bench capture")
    ap.add_argument("--file", type=Path, help="replay this capture instead")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write the raw results here")
    ap.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args()

    why = available() or (None if shutil.which("tcpreplay") else "needs tcpreplay")
    if why is None and shutil.which("taskset") is None:
        why = "needs taskset (util-linux)"
    if why is not None:
        print(f"capture_bench: cannot run: {why}", file=sys.stderr)
        return 2
    receivers = [x for x in args.receivers.split(",") if x]
    filters = [x for x in args.filters.split(",") if x]
    if not set(receivers) <= set(RECEIVERS) or not set(filters) <= set(FILTERS):
        ap.error("unknown receiver or filter")
    if "tcpdump" in receivers and shutil.which("tcpdump") is None:
        print("capture_bench: tcpdump not found: its rows are left out")
        receivers.remove("tcpdump")
    rates = parse_rates(args.rates or ("10k,100k,top" if args.quick else "10k,50k,100k,300k,top"))
    limits_text = args.limits or ("10000,50000" if args.quick else "200000,500000,1000000")
    limits = [int(x) for x in limits_text.split(",")]
    if args.idle is None:
        args.idle = 1.5 if args.quick else 2.5

    cache = Path(os.environ.get("OTSEC_BENCH_DIR", bench.REPO / ".cache" / "bench"))
    path = args.file or bench.ensure_capture(args.packets, cache)
    total = bench.capinfos_count(path)
    small = bench.ensure_slice(path, min(100_000, total))
    baseline = bench.ensure_baseline(path, small)
    bench.warm(path)
    try:
        settings = config.load(args.config)
    except config.ConfigError as exc:
        print(f"capture_bench: {exc}", file=sys.stderr)
        return 2
    bpf = default_filter(settings.ics_ports)
    limit_at = {rate: min(total, limits[min(i, len(limits) - 1)]) for i, rate in enumerate(rates)}
    expected = expected_counts(path, set(limit_at.values()), bpf)
    load_before = os.getloadavg()
    print(f"capture: {path} ({total:,} packets); baseline: {baseline}")
    print(f"otsec packet path: {bench.native_status()}")
    print(
        f"sender: tcpreplay on CPU {SENDER_CPU}; receiver on CPU {RECEIVER_CPU}; "
        f"{os.cpu_count()} CPUs; load average before: " + " ".join(f"{x:.2f}" for x in load_before)
    )
    print("default filter: " + bpf)
    for limit in sorted(set(limit_at.values())):
        print(f"first {limit:,} packets: {expected[limit, 'default']:,} pass the default filter")
    print(flush=True)

    start = time.monotonic()
    try:
        results = run_all(args, receivers, filters, rates, limit_at, expected, path, bpf, baseline)
    except KeyboardInterrupt:
        print("capture_bench: interrupted (namespaces removed)", file=sys.stderr)
        return 130
    elapsed = time.monotonic() - start
    load_after = os.getloadavg()

    print()
    print_tables(results)
    print()
    print("| receiver | filter | highest rate with zero drops | rates with drops |")
    print("|---|---|---|---|")
    for receiver in receivers:
        for filt in filters:
            lost = [
                rate_label(r.rate)
                for r in results
                if (r.receiver, r.filter) == (receiver, filt) and not r.skipped and not r.zero_drops
            ]
            print(
                f"| {RECEIVERS[receiver]} | {filt} | {highest_zero(results, receiver, filt)} "
                f"| {', '.join(lost) or '-'} |"
            )
    print()
    target = next(
        (
            r
            for r in results
            if (r.receiver, r.filter, r.rate) == ("pcap", "default", TARGET_RATE) and not r.skipped
        ),
        None,
    )
    met = target is not None and target.zero_drops
    verdict = "not measured" if target is None else ("yes" if met else "no")
    if target is not None and target.actual_pps < 0.95 * TARGET_RATE:
        verdict += f" (but tcpreplay reached only {target.actual_pps:,.0f} pkt/s)"
    scapy = highest_zero(results, "scapy", "default") if "scapy" in receivers else "not run"
    print(
        f"default backend (pcap), full pipeline, default filter: zero drops at "
        f"{TARGET_RATE:,} pkt/s: {verdict}; scapy backend, same: zero drops up to {scapy}"
    )
    print(
        f"elapsed {elapsed:.0f} s; load average before: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after: "
        + " ".join(f"{x:.2f}" for x in load_after)
    )
    if args.json:
        doc = {
            "capture": str(path),
            "packets": total,
            "filter": bpf,
            "rates": rates,
            "elapsed_s": round(elapsed, 1),
            "load_before": load_before,
            "load_after": load_after,
            "target_met": met,
            "results": [
                asdict(r) | {"zero_drops": r.zero_drops, "drop_pct": r.drop_pct} for r in results
            ],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
