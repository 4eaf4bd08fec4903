"""Alerts, and the aggregation that keeps them from storming.

An :class:`Alert` is one detection: the rule, severity, techniques, who and where, the
triggering transaction (when there is one), both assets' inventory context and a message
a person understands. The :class:`Aggregator` folds repeats: the first alert for a key
(rule, source, destination, port, subject) goes out at once; repeats within the window
are counted, and when the window ends (packet time) one aggregate alert carries their
count, first and last time and the id of the alert it repeats. Alert ids are derived from
the content, so the same capture and baseline give the same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from otsec.detection.rules import RuleSpec
from otsec.events.types import Transaction

AggregateKey = tuple[str, str, str, int, str]


@dataclass(slots=True)
class Alert:
    rule: RuleSpec
    severity: str
    techniques: tuple[str, ...]
    ts: float
    message: str
    source_ip: str
    destination_ip: str = ""
    destination_port: int | None = None
    protocol: str | None = None
    transport: str | None = None
    community_id: str | None = None
    #: What the alert is about beyond the edge (operation, command, address space ...):
    #: part of the aggregation key.
    subject: str = ""
    source_mac: str | None = None
    transaction: Transaction | None = None
    source_context: dict[str, Any] | None = None
    destination_context: dict[str, Any] | None = None
    #: Rule-specific facts (``ics.alert.details``): zones, ranges, counts ...
    details: dict[str, Any] = field(default_factory=dict)
    capture: str = ""
    packet: int | None = None
    #: Occurrences this alert stands for (aggregates: the repeats folded).
    count: int = 1
    first_ts: float | None = None
    last_ts: float | None = None
    repeat_of: str | None = None

    @property
    def key(self) -> AggregateKey:
        return (
            self.rule.id,
            self.source_ip,
            self.destination_ip,
            self.destination_port or 0,
            self.subject,
        )

    @property
    def id(self) -> str:
        parts = (*self.key, f"{self.ts:.6f}", self.capture, self.packet, self.repeat_of or "")
        text = "|".join(str(p) for p in parts)
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:20]


class _Window:
    __slots__ = ("alert", "end", "last", "repeats")

    def __init__(self, alert: Alert, end: float) -> None:
        self.alert = alert
        self.end = end
        self.repeats = 0
        self.last = alert.ts


class Aggregator:
    """Folds repeats of one key within ``window`` seconds (packet time)."""

    def __init__(self, window: float, emit: Callable[[Alert], None]) -> None:
        self.window = window
        self.emit = emit
        self.open: dict[AggregateKey, _Window] = {}
        self.raised = 0
        self.folded = 0

    def add(self, alert: Alert) -> None:
        key = alert.key
        win = self.open.get(key)
        if win is not None:
            if alert.ts < win.end:
                win.repeats += 1
                win.last = max(win.last, alert.ts)
                self.folded += 1
                return
            self._close(key, win)
        self.open[key] = _Window(alert, alert.ts + self.window)
        self.raised += 1
        self.emit(alert)

    def tick(self, now: float) -> None:
        """Close the windows that ended before ``now``."""
        done = [k for k, w in self.open.items() if w.end <= now]
        for key in done:
            self._close(key, self.open[key])

    def flush(self) -> None:
        for key in list(self.open):
            self._close(key, self.open[key])

    def _close(self, key: AggregateKey, win: _Window) -> None:
        del self.open[key]
        if not win.repeats:
            return
        first = win.alert
        summary = Alert(
            rule=first.rule,
            severity=first.severity,
            techniques=first.techniques,
            ts=win.last,
            message=f"{first.message} (repeated {win.repeats} more times within {self.window:g} s)",
            source_ip=first.source_ip,
            destination_ip=first.destination_ip,
            destination_port=first.destination_port,
            protocol=first.protocol,
            transport=first.transport,
            community_id=first.community_id,
            subject=first.subject,
            source_mac=first.source_mac,
            source_context=first.source_context,
            destination_context=first.destination_context,
            details=dict(first.details),
            capture=first.capture,
            count=win.repeats,
            first_ts=first.ts,
            last_ts=win.last,
            repeat_of=first.id,
        )
        self.raised += 1
        self.emit(summary)
