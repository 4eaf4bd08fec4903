"""The ``otsec`` command line.

Exit codes: 0 success, 1 internal error, 2 usage or input error (one line on stderr),
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

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
from otsec.capture.pcapfile import CaptureError, CaptureReader, open_capture
from otsec.pipeline import Pipeline
from otsec.sinks.ecs import transaction_doc
from otsec.sinks.jsonl import JsonlSink, SinkError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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
        "--json", action="store_true", help="print the summary as one JSON object on stdout"
    )
    replay.add_argument("--config", metavar="FILE", help="TOML settings (limits, ports)")
    replay.add_argument(
        "--events", metavar="FILE",
        help="write one ECS JSON document per protocol transaction to FILE (JSON lines; "
        "'-' for standard output)",
    )  # fmt: skip
    progress = replay.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", dest="progress", action="store_true", default=None,
        help="always show the progress bar",
    )  # fmt: skip
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false",
        help="never show the progress bar (default: only on a terminal)",
    )  # fmt: skip
    return parser


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


def _replay(args: argparse.Namespace, out: Console, err: Console) -> int:
    settings = config.load(args.config)
    if args.events == "-" and args.json:
        raise UsageError("--events - and --json both want standard output; pick one")
    readers = _open_all(args.files)
    pipeline = Pipeline(settings)
    sink = None
    if args.events:
        try:
            sink = JsonlSink(args.events)
        except SinkError as exc:
            for reader in readers:
                reader.close()
            raise UsageError(str(exc)) from None
        write = sink.write
        pipeline.event_handlers.append(lambda t: write(transaction_doc(t)))
    show_progress = err.is_terminal if args.progress is None else args.progress
    try:
        if show_progress:
            _run_with_progress(pipeline, readers, err)
        else:
            for reader in readers:
                pipeline.run(reader)
        pipeline.close()
    finally:
        for reader in readers:
            reader.close()
        if sink is not None:
            sink.close()
    for report in pipeline.files:
        for warning in report.warnings:
            _say(f"warning: {warning}")
    result = summary.build(pipeline)
    if sink is not None:
        if sink.error:
            _say(f"warning: {sink.error}")
        result["events"] = {"file": sink.path, "written": sink.written, "dropped": sink.dropped}
    if args.json:
        sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    else:
        summary.render(result, err if args.events == "-" else out)
    return EXIT_OK


def _run_with_progress(pipeline: Pipeline, readers: list[CaptureReader], err: Console) -> None:
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

            pipeline.run(reader, tick)
            done += size or 0
            bar.update(task, completed=done, packets=pipeline.packets)


def _say(line: str) -> None:
    """One unwrapped line on stderr (messages scripts may grep)."""
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    out = Console()
    err = Console(stderr=True)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    try:
        if args.command == "replay":
            return _replay(args, out, err)
        raise UsageError(f"unknown command {args.command}")
    except (UsageError, CaptureError, config.ConfigError) as exc:
        _say(f"otsec: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("otsec: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
