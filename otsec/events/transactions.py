"""Request/response pairing for one flow (Modbus transaction id, S7 PDU reference,
DNP3 sequence ...).

A :class:`Pairing` holds the requests of one flow that wait for their response, keyed
by whatever identifies an exchange in that protocol. It is bounded: a request older than
the timeout, or pushed out because too many are outstanding, or replaced by a new request
with the same key, comes back to the caller as unanswered. Ending a flow flushes only that
flow's pairing.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Pending:
    key: Hashable
    record: Any
    ts: float
    packet: int
    #: Why it stopped waiting: "" while pending, then timeout / overflow / replaced / flow_end.
    reason: str = ""


class Pairing:
    """Outstanding requests of one flow, oldest first."""

    __slots__ = ("max_pending", "pending", "timeout")

    def __init__(self, max_pending: int, timeout: float) -> None:
        self.max_pending = max_pending
        self.timeout = timeout
        self.pending: dict[Hashable, Pending] = {}

    def request(self, key: Hashable, record: Any, ts: float, packet: int) -> list[Pending]:
        """Remember a request; return the requests that stopped waiting because of it."""
        gone: list[Pending] = []
        pending = self.pending
        old = pending.pop(key, None)
        if old is not None:
            gone.append(_with_reason(old, "replaced"))
        if pending:
            gone += self.expire(ts)
        while len(pending) >= self.max_pending:
            oldest = next(iter(pending))
            gone.append(_with_reason(pending.pop(oldest), "overflow"))
        pending[key] = Pending(key, record, ts, packet)
        return gone

    def response(self, key: Hashable) -> Pending | None:
        """The request this response answers, or None (unsolicited or too late)."""
        return self.pending.pop(key, None)

    def expire(self, now: float) -> list[Pending]:
        """Requests older than the timeout, removed."""
        pending = self.pending
        gone: list[Pending] = []
        limit = now - self.timeout
        while pending:
            key = next(iter(pending))
            entry = pending[key]
            if entry.ts >= limit:
                break
            del pending[key]
            gone.append(_with_reason(entry, "timeout"))
        return gone

    def flush(self) -> list[Pending]:
        """Everything still waiting (the flow ended)."""
        gone = [_with_reason(p, "flow_end") for p in self.pending.values()]
        self.pending.clear()
        return gone


def _with_reason(p: Pending, reason: str) -> Pending:
    return Pending(p.key, p.record, p.ts, p.packet, reason)
