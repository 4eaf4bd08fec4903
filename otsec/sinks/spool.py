"""An on-disk, append-only, crash-safe queue of documents (the Elasticsearch sink's spool).

Records are JSON objects written one per line to numbered segment files
(``seg-00000001.jsonl``, ...) in the spool directory. A consumer cursor (segment number and
byte offset) says where the unacknowledged records start; it is replaced atomically (temp
file, fsync, rename, directory fsync) on every acknowledgement, so after a restart, even
after ``kill -9``, every record past the cursor is read again and none before it is.

Appends reach the operating system at once (one ``write`` per record, so a killed process
loses nothing) and are fsync'd in batches (every ``sync_every`` records or
``sync_seconds``), on :meth:`Spool.sync` and on close. A torn last line left by a crash
is cut off when the spool is opened; a line that is not valid JSON is skipped and
counted. Segments that are fully acknowledged are deleted. The total size of the segment
files is bounded by ``max_bytes``: an append that would pass it is refused.

Only one process may use a spool directory at a time (an exclusive ``flock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from otsec.sinks.jsonl import dumps

#: A position in the spool: (segment number, byte offset in that segment).
Position = tuple[int, int]

_SEGMENT = re.compile(r"^seg-(\d{8})\.jsonl$")
_CURSOR = "cursor.json"
_LOCK = "spool.lock"
_MAX_SEGMENT_BYTES = 16 << 20


class SpoolError(Exception):
    """The spool directory cannot be used (one-line message)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One record read from the spool, with where it starts and where the next one starts."""

    start: Position
    end: Position
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Batch:
    """Records read from the cursor on; ``end`` is the position after the last line read
    (skipped corrupt lines included), so acknowledging ``end`` consumes the whole batch."""

    entries: list[Entry]
    end: Position


def _segment_name(number: int) -> str:
    return f"seg-{number:08d}.jsonl"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """A FIFO of JSON records on disk; thread-safe (one appender and one consumer thread
    may use it at the same time)."""

    def __init__(
        self,
        directory: str | Path,
        *,
        max_bytes: int,
        segment_bytes: int | None = None,
        sync_every: int = 256,
        sync_seconds: float = 1.0,
    ) -> None:
        if max_bytes <= 0:
            raise SpoolError(f"spool size bound must be positive, not {max_bytes}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(1, min(_MAX_SEGMENT_BYTES, max_bytes // 8))
        self.sync_every = sync_every
        self.sync_seconds = sync_seconds
        #: Torn last lines cut off at open, and undecodable lines skipped while reading.
        self.torn = 0
        self.corrupt = 0
        self._lock = threading.Lock()
        self._closed = False
        self._unsynced = 0
        self._last_sync = time.monotonic()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(
                f"{self.directory}: cannot open spool ({exc.strerror or exc})"
            ) from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            raise SpoolError(f"{self.directory}: spool is in use by another process") from None
        try:
            self._open_segments()
        except OSError as exc:
            os.close(self._lock_fd)
            raise SpoolError(
                f"{self.directory}: cannot open spool ({exc.strerror or exc})"
            ) from None

    # -- opening -------------------------------------------------------------------------

    def _open_segments(self) -> None:
        numbers = sorted(
            int(m.group(1)) for p in self.directory.iterdir() if (m := _SEGMENT.match(p.name))
        )
        if not numbers:
            numbers = [1]
        self._sizes: dict[int, int] = {}
        for number in numbers:
            path = self.directory / _segment_name(number)
            self._sizes[number] = path.stat().st_size if path.exists() else 0
        last = numbers[-1]
        self._repair_tail(last)
        self._write_number = last
        self._fd = os.open(
            self.directory / _segment_name(last), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
        )
        self._cursor = self._load_cursor(numbers[0], last)

    def _repair_tail(self, number: int) -> None:
        """Cut a torn last line (no newline at the end, left by a crash) off a segment."""
        size = self._sizes[number]
        if not size:
            return
        path = self.directory / _segment_name(number)
        with open(path, "rb+") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            keep = 0
            block = 1 << 16
            pos = size
            while pos > 0:
                start = max(0, pos - block)
                f.seek(start)
                chunk = f.read(pos - start)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                pos = start
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        self._sizes[number] = keep
        self.torn += 1

    def _load_cursor(self, first: int, last: int) -> Position:
        try:
            data = json.loads((self.directory / _CURSOR).read_text(encoding="utf-8"))
            segment, offset = int(data["segment"]), int(data["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return (first, 0)  # no cursor (or an unreadable one): send everything again
        if segment < first:
            return (first, 0)
        if segment > last:
            return (last, self._sizes[last])
        return (segment, min(offset, self._sizes.get(segment, 0)))

    # -- producing -----------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> bool:
        """Add a record; False when the spool is full or closed (the record is not kept).
        Raises TypeError or ValueError when the record is not JSON-serialisable."""
        line = dumps(record) + b"\n"
        with self._lock:
            if self._closed or sum(self._sizes.values()) + len(line) > self.max_bytes:
                return False
            if self._sizes[self._write_number] >= self.segment_bytes:
                self._roll()
            written = os.write(self._fd, line)
            while written < len(line):  # a short write (rare): finish the line
                written += os.write(self._fd, line[written:])
            self._sizes[self._write_number] += len(line)
            self._unsynced += 1
            if (
                self._unsynced >= self.sync_every
                or time.monotonic() - self._last_sync >= self.sync_seconds
            ):
                self._sync_locked()
            return True

    def _roll(self) -> None:
        self._sync_locked()
        os.close(self._fd)
        self._write_number += 1
        self._sizes[self._write_number] = 0
        self._fd = os.open(
            self.directory / _segment_name(self._write_number),
            os.O_WRONLY | os.O_APPEND | os.O_CREAT,
            0o600,
        )
        _fsync_dir(self.directory)

    def sync(self) -> None:
        """fsync the records appended so far."""
        with self._lock:
            if not self._closed:
                self._sync_locked()

    def _sync_locked(self) -> None:
        if self._unsynced:
            os.fsync(self._fd)
            self._unsynced = 0
        self._last_sync = time.monotonic()

    # -- consuming -----------------------------------------------------------------------

    def size_bytes(self) -> int:
        """Bytes the segment files take on disk (what the bound applies to)."""
        with self._lock:
            return sum(self._sizes.values())

    def pending(self) -> bool:
        """Whether there are records past the cursor."""
        with self._lock:
            return self._cursor != self._end()

    def _end(self) -> Position:
        return (self._write_number, self._sizes[self._write_number])

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def cursor(self) -> Position:
        """Where the unacknowledged records start."""
        with self._lock:
            return self._cursor

    def read(self, limit: int) -> Batch:
        """Up to ``limit`` records from the cursor on (the cursor does not move)."""
        with self._lock:
            if self._closed:
                return Batch([], self._cursor)
            position, end = self._cursor, self._end()
            sizes = dict(self._sizes)
        entries: list[Entry] = []
        segment, offset = position
        while len(entries) < limit and (segment, offset) < end:
            if offset >= sizes.get(segment, 0):
                segment, offset = segment + 1, 0
                position = (segment, offset)
                continue
            with open(self.directory / _segment_name(segment), "rb") as f:
                f.seek(offset)
                stop = sizes[segment]
                while len(entries) < limit and offset < stop:
                    line = f.readline(stop - offset)
                    start = (segment, offset)
                    offset += len(line)
                    position = (segment, offset)
                    record = self._decode(line)
                    if record is not None:
                        entries.append(Entry(start, position, record))
        return Batch(entries, position)

    def _decode(self, line: bytes) -> dict[str, Any] | None:
        if not line.endswith(b"\n"):
            self.corrupt += 1
            return None
        try:
            record = orjson.loads(line)
        except ValueError:
            self.corrupt += 1
            return None
        if not isinstance(record, dict):
            self.corrupt += 1
            return None
        return record

    def ack(self, position: Position) -> None:
        """Mark every record before ``position`` as consumed (persisted atomically) and
        delete the segments that are fully consumed."""
        with self._lock:
            if self._closed or position <= self._cursor:
                return
            end = self._end()
            position = min(position, end)
            if position == end and end[1] > 0:
                self._roll()  # all consumed: continue in a fresh segment
                position = self._end()
            self._cursor = position
            self._save_cursor()
            for number in [n for n in self._sizes if n < position[0]]:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / _segment_name(number)).unlink()
                del self._sizes[number]

    def _save_cursor(self) -> None:
        segment, offset = self._cursor
        tmp = self.directory / (_CURSOR + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({"segment": segment, "offset": offset}))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / _CURSOR)
        _fsync_dir(self.directory)

    def close(self) -> None:
        """fsync and close; later appends are refused. Closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._sync_locked()
            finally:
                os.close(self._fd)
                os.close(self._lock_fd)
