"""Event records the stages after the dissectors consume.

An :class:`Envelope` says where a protocol exchange happened (the flow, oriented client ->
server); a :class:`Transaction` is one request paired with its response (or a request
never answered, or a response nobody asked for). Records are the dissectors' own typed
records; this module only needs them to carry the protocol-neutral attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

#: The last whole second isotime formatted, and its text (packets come in time order).
_last_second: list[tuple[int, str]] = [(0, "1970-01-01T00:00:00")]


def isotime(ts: float) -> str:
    """ISO 8601 in UTC with microseconds: ``2026-01-05T08:00:00.250000Z``.

    The same text as ``datetime.fromtimestamp(ts, UTC)`` (microseconds rounded half to
    even); the date and time of day are formatted once per second."""
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    second = int(whole)
    if us >= 1_000_000:
        second += 1
        us -= 1_000_000
    elif us < 0:
        second -= 1
        us += 1_000_000
    last, text = _last_second[0]
    if second != last:
        text = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second[0] = (second, text)
    return f"{text}.{us:06d}Z"


class Record(Protocol):
    """What every dissector record offers the engine (protocol-neutral semantics)."""

    @property
    def function(self) -> int: ...

    @property
    def function_name(self) -> str: ...

    @property
    def operation(self) -> str: ...

    @property
    def access(self) -> str: ...

    @property
    def target(self) -> str: ...

    @property
    def address(self) -> int | None: ...

    def specific(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Envelope:
    """Where an exchange happened: client (requester) -> server, as printable text."""

    flow_id: int
    transport: str
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    vlan: int
    community_id: str
    #: Capture file and packet numbers are per file, 1-based, as Wireshark numbers frames.
    capture: str
    #: The requester is the flow's responder (e.g. an S7 PLC's download-block job): the
    #: connection itself runs server_ip:server_port -> client_ip:client_port.
    swapped: bool = False

    def connection_key(self) -> tuple[str, str, str, int]:
        """(client, server, transport, server port) of the connection, whichever side
        requested: the key of the baseline edge the exchange belongs to."""
        if self.swapped:
            return (self.server_ip, self.client_ip, self.transport, self.client_port)
        return (self.client_ip, self.server_ip, self.transport, self.server_port)


MATCHED = "matched"
UNANSWERED = "unanswered"
UNSOLICITED = "unsolicited"
#: A request whose protocol expects no response (e.g. a Modbus broadcast).
NO_RESPONSE = "no_response"
#: A message recorded on its own because the protocol is not paired (S7comm-plus).
OBSERVED = "observed"


@dataclass(slots=True)
class Transaction:
    """One protocol exchange: request and response, either of which may be missing."""

    protocol: str
    envelope: Envelope
    status: str  # MATCHED, UNANSWERED, UNSOLICITED or NO_RESPONSE
    request: Any | None
    response: Any | None
    request_ts: float | None
    response_ts: float | None
    request_packet: int | None
    response_packet: int | None
    #: Protocol facts about the connection rather than one message (S7: TSAPs, rack, slot).
    extra: dict[str, Any] | None = None
    _operation: str | None = None

    @property
    def operation(self) -> str:
        """The record's operation class, computed once (every stage after the pipeline
        asks for it)."""
        op = self._operation
        if op is None:
            op = self._operation = self.record.operation
        return op

    @property
    def ts(self) -> float:
        """When the exchange started (the request, else the response)."""
        if self.request_ts is not None:
            return self.request_ts
        assert self.response_ts is not None
        return self.response_ts

    @property
    def latency(self) -> float | None:
        if self.request_ts is None or self.response_ts is None:
            return None
        return self.response_ts - self.request_ts

    @property
    def record(self) -> Any:
        """The record that defines the exchange: the request when there is one."""
        return self.request if self.request is not None else self.response


ESTABLISHED = "established"
ENDED = "ended"


@dataclass(slots=True)
class Connection:
    """A flow as the stages after the dissectors see it, oriented client -> server.

    Reported once with phase ``established`` when it has proved a real conversation (see
    :attr:`otsec.flows.table.Flow.conversation`; checked on the periodic sweep), and once
    with phase ``ended`` when it ends, with its final counters, whether or not it was
    ever a conversation (probes and scans end as ``conversation=False``).
    """

    phase: str
    flow_id: int
    transport: str
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    vlan: int
    #: Protocol bound to the flow (modbus, s7comm, dnp3 ...); None for other flows.
    service: str | None
    #: Ethernet addresses from the flow's first frame (b"" when the link has none).
    client_mac: bytes
    server_mac: bytes
    first_ts: float
    last_ts: float
    client_packets: int
    client_bytes: int
    server_packets: int
    server_bytes: int
    #: Payload bytes each side sent.
    client_data: int
    server_data: int
    conversation: bool
    #: The server answered the connection attempt (SYN-ACK or any packet back).
    answered: bool
    capture: str
    #: The flow itself, for what is computed only on demand (the Community ID).
    flow: Any = None
    #: The flow was reported before (``established``): only its counters are new.
    again: bool = False

    @property
    def community_id(self) -> str:
        return str(self.flow.community_id) if self.flow is not None else ""
