"""The local JSON-lines file (the embedded default sink for events and alerts).

One ECS document per line, UTF-8, keys in a fixed order, so the same capture gives
byte-identical files. Lines are collected in memory and handed to the kernel in one
``write`` of whole lines at a time. A crash (even ``kill -9``) can still cut that write
short (Linux stops a write to a file between pages when the process is killed), so the
file may end with one torn line; opening it in append mode (a restarted live sensor)
cuts that line off before writing more. With ``max_bytes`` the file rotates by size:
``alerts.jsonl`` becomes ``alerts.jsonl.1`` (``.1`` becomes ``.2`` ... up to
``backups``) and a new file starts.

Write errors (a full disk, a vanished directory) do not stop the monitor: the sink reports
the error once, counts what it could not write and keeps the lines already written.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import orjson

_FLUSH_EVERY = 256
_OPTIONS = orjson.OPT_NON_STR_KEYS
_STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(doc: Any) -> bytes:
    """One document as compact UTF-8 JSON, keys in their order: orjson (about 10x the
    standard library's encoder), or the standard library for what orjson refuses
    (integers beyond 64 bits). TypeError when the document is not JSON-serialisable."""
    try:
        return orjson.dumps(doc, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return _STDLIB(doc).encode("utf-8")


class SinkError(Exception):
    """The sink cannot be opened (one-line message)."""


class JsonlSink:
    def __init__(
        self, path: str | Path, *, append: bool = False, what: str = "events",
        max_bytes: int = 0, backups: int = 5, flush_every: int = _FLUSH_EVERY,
    ) -> None:  # fmt: skip
        self.path = str(path)
        self.what = what
        #: Rotate when the file reaches this size (0: never).
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        #: Lines collected before they are written (1: each line at once, for alerts).
        self.flush_every = max(1, flush_every)
        self.written = 0
        self.dropped = 0
        self.rotations = 0
        self.error: str | None = None
        self._lines: list[bytes] = []
        self._size = 0
        self._owned = self.path != "-"
        self._fd = -1
        try:
            if self._owned:
                self._fd = self._open(append)
        except OSError as exc:
            raise SinkError(f"{self.path}: cannot write {what} ({exc.strerror or exc})") from None

    def _open(self, append: bool) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | (0 if append else os.O_TRUNC)
        fd = os.open(self.path, flags, 0o640)
        size = os.fstat(fd).st_size
        if append and size:
            size = _mend(fd, size)
        self._size = size
        return fd

    def write(self, doc: dict[str, Any]) -> None:
        if self.error is not None:
            self.dropped += 1
            return
        self._lines.append(dumps(doc) + b"\n")
        if len(self._lines) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Hand the collected lines to the kernel in one write of whole lines."""
        lines = self._lines
        if not lines or self.error is not None:
            return
        self._lines = []
        data = b"".join(lines)
        if not self._owned:
            try:
                sys.stdout.write(data.decode("utf-8"))
                sys.stdout.flush()
            except OSError as exc:
                self._failed(exc, lines, data, 0)
                return
            self.written += len(lines)
            return
        done = 0
        try:
            done = os.write(self._fd, data)
            while done < len(data):  # a short write (a signal, a filling disk): go on
                more = os.write(self._fd, data[done:])
                if more == 0:
                    raise OSError(28, "no space left on device")
                done += more
        except OSError as exc:
            self._failed(exc, lines, data, done)
            return
        self.written += len(lines)
        self._size += len(data)
        if self.max_bytes and self._owned and self._size >= self.max_bytes:
            self._rotate()

    def _failed(self, exc: OSError, lines: list[bytes], data: bytes, done: int) -> None:
        """A write failed part way: cut the file back to its last whole line, count the
        lines that did not make it."""
        whole = data.rfind(b"\n", 0, done) + 1 if done else 0
        if self._owned:  # not every file can be truncated (/dev/full): nothing torn was kept
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size + whole)
        kept = data[:whole].count(b"\n")
        self.written += kept
        self._size += whole
        self.dropped += len(lines) - kept
        self.error = (f"{self.path}: write failed ({exc.strerror or exc}); {self.what} after "
                      f"the first {self.written} are counted, not written")  # fmt: skip

    def _rotate(self) -> None:
        try:
            os.close(self._fd)
            for i in range(self.backups - 1, 0, -1):
                older = f"{self.path}.{i}"
                if os.path.exists(older):
                    os.replace(older, f"{self.path}.{i + 1}")
            os.replace(self.path, f"{self.path}.1")
            self._fd = self._open(False)
            self.rotations += 1
        except OSError as exc:
            self.error = f"{self.path}: cannot rotate ({exc.strerror or exc}); {self.what} "
            self.error += f"after the first {self.written} are counted, not written"

    def close(self) -> None:
        self.flush()
        if self._owned:
            try:
                os.close(self._fd)
            except OSError as exc:
                if self.error is None:
                    self.error = f"{self.path}: final write failed ({exc.strerror or exc})"
        else:
            sys.stdout.flush()


def _mend(fd: int, size: int) -> int:
    """Cut a torn last line (no newline at the end) off a file opened for appending."""
    tail = os.pread(fd, min(size, 1 << 20), max(0, size - (1 << 20)))
    if tail.endswith(b"\n"):
        return size
    cut = tail.rfind(b"\n") + 1
    keep = size - len(tail) + cut if cut else (size - len(tail) if size > len(tail) else 0)
    os.ftruncate(fd, keep)
    return keep
