"""otsec's performance table: otsec replay against tshark, pyshark and scapy, same file.

    make bench                        # 1,000,000-packet plant capture (generated once, cached)
    python tests/bench/bench.py --packets 200000 --skip-tshark

The capture comes from the project's own scenario generator (``pcaps/gen_plant.py
--scenario bench``) and is cached outside git (``.cache/bench/`` or $OTSEC_BENCH_DIR).
The first row is the full pipeline: ``otsec replay --baseline B --alerts F`` with a
baseline learned from the capture's first 100,000 packets (cached beside it), so every
dissector, the inventory, the baseline comparison, detection and the JSONL alert sink
run; "no baseline" is the same without the baseline comparison. tshark runs twice:
``-T fields`` (the fields otsec extracts) and ``-q -z io,phs`` (full dissection, no
per-packet output).
Every tool runs as its own process on a warm page cache; wall time is measured around
the whole process (start-up included) and peak RSS comes from ``wait4``. otsec runs
``--repeat`` times (3) and tshark one time fewer on the whole file, and the best run of
each counts: on this shared machine the same command varies by a third from run to run.
tshark runs on the whole file; pyshark and scapy, which are 100x slower, run on a slice
cut from the start of the same file with editcap, and their rate is per packet of that
slice. The machine is shared and noisy: read the ratios, which are taken within one run,
rather than the absolute rates. otsec runs as installed: with the packet path compiled
by mypyc when ``make setup`` built it (the line "otsec packet path" says which), and
once more with ``OTSEC_PURE=1`` to show what the same code does as plain Python. This
prints figures; it is not a pass/fail test (``--check`` makes the targets set the exit
status).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

#: The full pipeline (every dissector, inventory, baseline comparison, detection, the JSONL
#: alert sink) must stay at least 4x tshark -T fields and faster than tshark's full
#: dissection without output (-q -z io,phs), with a peak RSS under 300 MB (issue 6). The
#: dissectors alone were held to 6x (issues 3-5), the packet path alone to 8x (issue 2).
TARGET_RATIO_TSHARK = 4.0
TARGET_RSS_MB = 300.0

PYSHARK_SCRIPT = textwrap.dedent(
    """
    import sys
    import pyshark
    cap = pyshark.FileCapture(sys.argv[1], use_ek=True, keep_packets=False)
    n = hits = 0
    for pkt in cap:
        n += 1
        for layer, field in (("modbus", "func_code"), ("s7comm", "param_func"),
                             ("dnp3", "al_func")):
            lay = getattr(pkt, layer, None)
            if lay is not None and getattr(lay, field, None) is not None:
                hits += 1
    cap.close()
    print(n, hits)
    """
)

SCAPY_SCRIPT = textwrap.dedent(
    """
    import sys
    from scapy.all import PcapReader, TCP, load_contrib
    load_contrib("modbus")
    from scapy.contrib.modbus import ModbusADURequest, ModbusADUResponse
    n = hits = 0
    with PcapReader(sys.argv[1]) as reader:
        for pkt in reader:
            n += 1
            if TCP in pkt and 502 in (pkt[TCP].sport, pkt[TCP].dport):
                adu = pkt.getlayer(ModbusADURequest) or pkt.getlayer(ModbusADUResponse)
                if adu is not None and adu.payload is not None:
                    hits += 1
    print(n, hits)
    """
)


@dataclass
class Run:
    tool: str
    input: str
    packets: int
    wall_s: float
    rss_mb: float
    note: str = ""

    @property
    def pps(self) -> float:
        return self.packets / self.wall_s if self.wall_s else 0.0


def timed(argv: list[str], *, stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, str]:
    """Run argv; return (wall seconds, peak RSS MB of the process tree's largest, stdout)."""
    with tempfile.TemporaryFile() as out_file:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out_file if stdout is None else stdout)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"bench: {argv[0]} failed with exit code {proc.returncode}")
        out_file.seek(0)
        text = out_file.read().decode(errors="replace")
    return wall, usage.ru_maxrss / 1024.0, text


def capinfos_count(path: Path) -> int:
    out = (
        subprocess.run(
            ["capinfos", "-M", "-c", "-T", str(path)], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return int(out.split("\t")[-1])


def ensure_capture(packets: int, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"plant_{packets}.pcap"
    if path.exists():
        return path
    print(f"bench: generating {packets:,}-packet capture into {path} (cached for next time)")
    tmp = path.with_suffix(".tmp")
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, str(REPO / "pcaps" / "gen_plant.py"), "--scenario", "bench",
         "--packets", str(packets), "--out", str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)
    print(f"bench: generated in {time.perf_counter() - start:.1f} s")
    return path


def ensure_slice(src: Path, packets: int) -> Path:
    dst = src.with_name(f"{src.stem}_first{packets}.pcap")
    if not dst.exists():
        subprocess.run(
            ["editcap", "-F", "pcap", "-r", str(src), str(dst), f"1-{packets}"], check=True
        )
    return dst


def _slice_label(path: Path) -> str:
    count = int(path.stem.rsplit("_first", 1)[1])
    return f"{count // 1000}k slice"


def native_status() -> str:
    """Whether ``otsec`` runs the mypyc-compiled packet path (see dissectors/_native.py)."""
    code = "from dissectors import _native; print(_native.status())"
    return subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO).stdout.strip()  # fmt: skip


def warm(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(1 << 22):
            pass


def ensure_baseline(path: Path, learn_from: Path) -> Path:
    """A baseline learned from the first packets of the bench capture (cached beside it),
    so that the full pipeline compares every transaction with a baseline that knows the
    plant, as a monitor in production does."""
    out = path.with_name(path.stem + ".baseline.json")
    if not out.exists() or out.stat().st_mtime < path.stat().st_mtime:
        otsec = Path(PYTHON).with_name("otsec")
        subprocess.run([str(otsec), "baseline", "learn", "--no-progress", "-o", str(out),
                        str(learn_from)], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def run_otsec(
    path: Path, label: str, repeat: int = 1, *, pure: bool = False, baseline: Path | None = None,
    rules: bool = False,
) -> Run:  # fmt: skip
    """otsec replay as users run it: with a baseline, the full pipeline (alerts to a JSONL
    file); ``pure`` forces the plain-Python packet path."""
    otsec = Path(PYTHON).with_name("otsec")
    argv = [str(otsec), "replay", "--json", "--no-progress", str(path)]
    alerts = Path(tempfile.gettempdir()) / "otsec-bench-alerts.jsonl"
    if baseline is not None:
        argv += ["--baseline", str(baseline), "--alerts", str(alerts)]
    if rules:
        argv += ["--rules", "default"]
    if pure:
        argv = ["env", "OTSEC_PURE=1", *argv]
    runs = [timed(argv, stdout=None) for _ in range(repeat)]
    wall, rss, out = min(runs)  # best of the runs: the machine is shared and noisy
    summary = json.loads(out)
    note = f"in-loop {summary['packets_per_s']:,.0f} pkt/s"
    for proto, name in (("modbus", "Modbus"), ("s7comm", "S7"), ("dnp3", "DNP3")):
        pdus = summary.get("protocols", {}).get(proto, {}).get("pdus", 0)
        if pdus:
            note += f"; {pdus:,} {name} PDUs, {pdus / wall:,.0f}/s"
    if baseline is not None:
        note += f"; {summary['alerts']['total']:,} alerts"
    sigma = summary.get("alerts", {}).get("sigma")
    if sigma:
        note += (f"; Sigma pack of {sigma['rules']} rules over {sigma['documents']:,} documents "
                 f"({sigma['documents'] / wall:,.0f}/s through the whole pipeline), "
                 f"{sigma['evaluations']:,} rule evaluations left after guards")  # fmt: skip
    tool = "otsec replay" if baseline is not None else "otsec (no baseline)"
    if rules:
        tool += " + Sigma"
    if pure:
        tool += ", pure"
    return Run(tool, label, summary["packets"], wall, rss, note)


def run_otsec_es(path: Path, label: str, baseline: Path) -> list[Run]:
    """The replay with every alert, protocol event, anomaly and asset sent to an
    Elasticsearch-API server (osmem-server, in memory, on loopback; templates installed
    first), beside the same replay without the output: packets/s in the loop (the effect
    of the output on the packet path), documents/s delivered, and the server's own rate
    for the same documents sent straight with helpers.bulk (osmem indexes our ECS
    documents at a few hundred per second, so it, not otsec, is the bottleneck here)."""
    try:
        import osmem_server  # a dev dependency
        from elasticsearch import Elasticsearch, helpers
    except ImportError:
        return []
    otsec = Path(PYTHON).with_name("otsec")
    plain = run_otsec(path, label, baseline=baseline)
    server = osmem_server.OsmemServer.start(japanese=False)
    try:
        with tempfile.TemporaryDirectory(prefix="otsec-bench-es-") as tmp:
            conf = Path(tmp) / "es.toml"
            conf.write_text(
                f"[elasticsearch]\nurl = '{server.url}'\nnamespace = 'bench'\n"
                f"data_streams = false\nserver_mode = 'serverless'\nevents = true\n"
                f"spool_dir = '{Path(tmp) / 'spool'}'\n"
            )
            subprocess.run([str(otsec), "es", "setup", "--config", str(conf), "--plain-indices"],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            events = Path(tmp) / "events.jsonl"
            argv = [str(otsec), "replay", "--json", "--no-progress", "--quiet", "--config",
                    str(conf), "--baseline", str(baseline), "--events", str(events),
                    "--alerts", str(Path(tmp) / "alerts.jsonl"), str(path)]  # fmt: skip
            wall, rss, out = timed(argv, stdout=None)
            docs = [json.loads(line) for line in events.read_text().splitlines()[:3000]]
            es = Elasticsearch(server.url, server_mode="serverless", request_timeout=300)
            start = time.perf_counter()
            helpers.bulk(es, ({"_op_type": "create", "_index": "otsec-direct-bench",
                               "_id": d["event"]["id"], "_source": d} for d in docs),
                         chunk_size=500, raise_on_error=False)  # fmt: skip
            direct = len(docs) / (time.perf_counter() - start)
    finally:
        server.close()
    summary = json.loads(out)
    es_out = summary["outputs"]["elasticsearch"]
    note = (f"in-loop {summary['packets_per_s']:,.0f} pkt/s (without the output "
            f"{plain.note.split()[1]}); {es_out['delivered']:,} of {es_out['produced']:,} "
            f"documents delivered, {es_out['delivered'] / wall:,.0f} docs/s end to end; the "
            f"server alone takes {direct:,.0f} docs/s; spooled {es_out['spooled']:,}, "
            f"dead-lettered {es_out['dead_lettered']:,}")  # fmt: skip
    return [plain, Run("otsec replay + ES events", label, summary["packets"], wall, rss, note)]


def run_tshark(path: Path, packets: int, label: str, repeat: int = 1) -> Run:
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number",
            "-e", "modbus.func_code", "-e", "s7comm.param.func", "-e", "dnp3.al.func"]  # fmt: skip
    wall, rss, _ = min(timed(argv) for _ in range(repeat))
    return Run("tshark -T fields", label, packets, wall, rss)


def run_tshark_phs(path: Path, packets: int, label: str, repeat: int = 1) -> Run:
    """tshark's full dissection of every frame feeding one tap, without per-packet output."""
    argv = ["tshark", "-n", "-r", str(path), "-q", "-z", "io,phs"]
    wall, rss, _ = min(timed(argv) for _ in range(repeat))
    return Run("tshark -z io,phs", label, packets, wall, rss)


def run_script(tool: str, script: str, path: Path, label: str) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
    try:
        wall, rss, out = timed([PYTHON, f.name, str(path)], stdout=None)
    finally:
        os.unlink(f.name)
    n, hits = (int(x) for x in out.split()[:2])
    return Run(tool, label, n, wall, rss, f"{hits:,} ICS layers touched")


def print_table(runs: list[Run], base: Run) -> None:
    header = (
        f"{'tool':<26} {'input':<14} {'packets':>10} {'wall s':>8} {'pkt/s':>11} "
        f"{'otsec/tool':>10} {'peak RSS MB':>11}  note"
    )
    print(header)
    print("-" * len(header))
    for r in runs:
        ratio = base.pps / r.pps if r.pps else float("inf")
        print(
            f"{r.tool:<26} {r.input:<14} {r.packets:>10,} {r.wall_s:>8.2f} {r.pps:>11,.0f} "
            f"{ratio:>9.1f}x {r.rss_mb:>11.0f}  {r.note}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--pyshark-slice", type=int, default=20_000)
    ap.add_argument("--scapy-slice", type=int, default=50_000)
    ap.add_argument("--skip-tshark", action="store_true")
    ap.add_argument("--skip-pyshark", action="store_true")
    ap.add_argument("--skip-scapy", action="store_true")
    ap.add_argument("--skip-pure", action="store_true",
                    help="skip the run with the compiled modules turned off")  # fmt: skip
    ap.add_argument("--skip-es", action="store_true",
                    help="skip the run with Elasticsearch output (osmem-server)")  # fmt: skip
    ap.add_argument("--file", type=Path, help="benchmark this capture instead of generating one")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of otsec and tshark on the whole file; the best counts")  # fmt: skip
    args = ap.parse_args()

    cache = Path(os.environ.get("OTSEC_BENCH_DIR", REPO / ".cache" / "bench"))
    path = args.file or ensure_capture(args.packets, cache)
    total = capinfos_count(path)
    size_mb = path.stat().st_size / 1e6
    print(f"capture: {path} ({total:,} packets, {size_mb:.0f} MB)")
    print(f"otsec packet path: {native_status()}")
    warm(path)

    label = f"{total // 1000}k" if total < 1_000_000 else f"{total / 1e6:g}M"
    runs: list[Run] = []
    small = ensure_slice(path, min(100_000, total))
    warm(small)
    baseline = ensure_baseline(path, small)
    print(f"baseline: {baseline} (learned from the first {min(100_000, total):,} packets)")
    base = run_otsec(path, label, args.repeat, baseline=baseline)
    runs.append(base)
    slice_run = run_otsec(small, f"{min(100_000, total) // 1000}k slice", baseline=baseline)
    runs.append(slice_run)
    if not args.skip_es:
        es_slice = ensure_slice(path, min(20_000, total))
        runs += run_otsec_es(es_slice, _slice_label(es_slice), baseline)
    runs.append(run_otsec(path, label, max(1, args.repeat - 1), baseline=baseline,
                          rules=True))  # fmt: skip
    runs.append(run_otsec(path, label, max(1, args.repeat - 1)))
    if not args.skip_pure and native_status().startswith("compiled"):
        runs.append(run_otsec(path, label, pure=True, baseline=baseline))
    if not args.skip_tshark and shutil.which("tshark"):
        runs.append(run_tshark(path, total, label, max(1, args.repeat - 1)))
        runs.append(run_tshark_phs(path, total, label, max(1, args.repeat - 1)))
    if not args.skip_pyshark and shutil.which("tshark"):
        sl = ensure_slice(path, min(args.pyshark_slice, total))
        runs.append(run_script("pyshark (use_ek)", PYSHARK_SCRIPT, sl, _slice_label(sl)))
    if not args.skip_scapy:
        sl = ensure_slice(path, min(args.scapy_slice, total))
        runs.append(run_script("scapy PcapReader", SCAPY_SCRIPT, sl, _slice_label(sl)))
    print()
    print_table(runs, base)
    print()

    ok = True
    tshark = next((r for r in runs if r.tool == "tshark -T fields"), None)
    if tshark is not None:
        ratio = base.pps / tshark.pps
        met = ratio >= TARGET_RATIO_TSHARK
        ok &= met
        print(f"target full pipeline >= {TARGET_RATIO_TSHARK:g}x tshark -T fields: {ratio:.1f}x "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
    phs = next((r for r in runs if r.tool == "tshark -z io,phs"), None)
    if phs is not None:
        ratio = base.pps / phs.pps
        met = ratio > 1.0
        ok &= met
        print(f"target full pipeline faster than tshark -q -z io,phs: {ratio:.2f}x "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
    peak = max(r.rss_mb for r in runs if r.tool.startswith("otsec"))
    met = peak < TARGET_RSS_MB
    ok &= met
    print(f"target otsec peak RSS < {TARGET_RSS_MB:g} MB at any size: {peak:.0f} MB "
          f"{'met' if met else 'MISSED'}")  # fmt: skip
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
