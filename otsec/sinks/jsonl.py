"""The local JSON-lines event file (the embedded default sink).

One ECS document per line, UTF-8, keys in a fixed order, so the same capture gives
byte-identical files. Write errors (a full disk, a vanished directory) do not stop the
monitor: the sink reports the error once, counts what it could not write and keeps the
lines already written (they are flushed to the file as they go).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

_FLUSH_EVERY = 256


class SinkError(Exception):
    """The sink cannot be opened (one-line message)."""


class JsonlSink:
    def __init__(self, path: str | Path, *, append: bool = False, what: str = "events") -> None:
        self.path = str(path)
        self.what = what
        try:
            self._owned = self.path != "-"
            if not self._owned:
                self._file: IO[str] = sys.stdout
            else:
                self._file = open(self.path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise SinkError(f"{self.path}: cannot write {what} ({exc.strerror or exc})") from None
        self.written = 0
        self.dropped = 0
        self.error: str | None = None
        self._unflushed = 0
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def write(self, doc: dict[str, Any]) -> None:
        if self.error is not None:
            self.dropped += 1
            return
        try:
            self._file.write(self._encode(doc) + "\n")
            self.written += 1
            self._unflushed += 1
            if self._unflushed >= _FLUSH_EVERY:
                self._file.flush()
                self._unflushed = 0
        except OSError as exc:
            self.error = f"{self.path}: write failed ({exc.strerror or exc}); {self.what} after "
            self.error += f"the first {self.written} are counted, not written"
            self.dropped += 1

    def close(self) -> None:
        try:
            self._file.flush()
            if self._owned:
                self._file.close()
        except OSError as exc:
            if self.error is None:
                self.error = f"{self.path}: final write failed ({exc.strerror or exc})"
