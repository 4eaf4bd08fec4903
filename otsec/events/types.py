"""Event records the stages after the dissectors consume.

An :class:`Envelope` says where a protocol exchange happened (the flow, oriented client ->
server); a :class:`Transaction` is one request paired with its response (or a request
never answered, or a response nobody asked for). Records are the dissectors' own typed
records; this module only needs them to carry the protocol-neutral attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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
