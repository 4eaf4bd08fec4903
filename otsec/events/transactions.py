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


@dataclass(slots=True)
class Pending:
    key: Hashable
    record: Any
    ts: float
    packet: int
    #: Why it stopped waiting: "" while pending, then timeout / overflow / replaced / flow_end.
    reason: str = ""


class Pairing:
    """Outstanding requests of one flow, oldest first."""

    __slots__ = ("_check_at", "max_pending", "pending", "timeout")

    def __init__(self, max_pending: int, timeout: float) -> None:
        self.max_pending = max_pending
        self.timeout = timeout
        #: key -> (record, ts, packet); Pending objects are built only for what leaves.
        self.pending: dict[Hashable, tuple[Any, float, int]] = {}
        self._check_at = float("inf")  # no request can have timed out before this

    def request(self, key: Hashable, record: Any, ts: float, packet: int) -> list[Pending]:
        """Remember a request; return the requests that stopped waiting because of it."""
        pending = self.pending
        if not pending:
            pending[key] = (record, ts, packet)
            self._check_at = ts + self.timeout
            return _NONE
        gone: list[Pending] = []
        old = pending.pop(key, None)
        if old is not None:
            gone.append(Pending(key, *old, "replaced"))
        if ts >= self._check_at:
            gone += self.expire(ts)
        while len(pending) >= self.max_pending:
            oldest = next(iter(pending))
            gone.append(Pending(oldest, *pending.pop(oldest), "overflow"))
        pending[key] = (record, ts, packet)
        return gone

    def response(self, key: Hashable) -> tuple[Any, float, int] | None:
        """(record, ts, packet) of the request this response answers, or None
        (unsolicited, or too late)."""
        return self.pending.pop(key, None)

    def expire(self, now: float) -> list[Pending]:
        """Requests older than the timeout, removed."""
        pending = self.pending
        gone: list[Pending] = []
        limit = now - self.timeout
        while pending:
            key = next(iter(pending))
            entry = pending[key]
            if entry[1] >= limit:
                self._check_at = entry[1] + self.timeout
                break
            del pending[key]
            gone.append(Pending(key, *entry, "timeout"))
        else:
            self._check_at = float("inf")
        return gone

    def flush(self) -> list[Pending]:
        """Everything still waiting (the flow ended)."""
        gone = [Pending(k, *v, "flow_end") for k, v in self.pending.items()]
        self.pending.clear()
        return gone


_NONE: list[Pending] = []  # shared empty result; callers only iterate it
