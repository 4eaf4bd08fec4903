#!/usr/bin/env python3
"""Deterministic scenario generator for otsec's own sample captures.

    python pcaps/gen_plant.py --all [--out-dir DIR]
    python pcaps/gen_plant.py --scenario NAME --out FILE [--seed N]
    python pcaps/gen_plant.py --scenario bench --packets N --out FILE [--seed N]

The same arguments give the same bytes on every run and machine: randomness comes from
seeded ``random.Random`` streams, packet time from a fixed base epoch (2026-01-05 08:00:00
UTC), and scapy only builds header templates (never timestamps). See pcaps/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plantgen.scenarios import DEFAULT_SEEDS, SCENARIOS, build_scenario, capture_path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--all", action="store_true", help="regenerate every committed capture")
    group.add_argument("--scenario", choices=sorted((*SCENARIOS, "bench")))
    parser.add_argument("--out", type=Path, help="output pcap (with --scenario)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        help="with --all: write the captures here instead of pcaps/ (same layout: attacks/)",
    )
    parser.add_argument(
        "--seed", type=int, help="random seed (default: the scenario's own; --all uses those)"
    )
    parser.add_argument("--packets", type=int, default=1_000_000, help="bench: packet count")
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="print the annotated events (frame number, time) of each capture",
    )
    args = parser.parse_args(argv)

    if args.all:
        root = args.out_dir or HERE
        jobs = [(name, root / capture_path(name), DEFAULT_SEEDS[name]) for name in SCENARIOS]
        (root / "attacks").mkdir(parents=True, exist_ok=True)
    else:
        if args.out_dir is not None:
            parser.error("--out-dir goes with --all")
        if args.out is None:
            parser.error("--scenario needs --out")
        if args.packets < 1:
            parser.error("--packets must be positive")
        seed = args.seed if args.seed is not None else DEFAULT_SEEDS.get(args.scenario, 1)
        jobs = [(args.scenario, args.out, seed)]

    for name, out, seed in jobs:
        started = time.perf_counter()
        if name == "bench":
            from plantgen.fast import build_bench

            count = build_bench(out, args.packets, seed)
            notes = []
        else:
            summary = build_scenario(name, out, seed)
            count, notes = summary.packets, summary.notes
        took = time.perf_counter() - started
        print(f"{out}: {count} packets, {out.stat().st_size} bytes, {took:.1f} s", file=sys.stderr)
        if args.timeline:
            for note in notes:
                print(f"{name}\t{note.frame}\t{note.t_us / 1e6:.6f}\t{note.text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
