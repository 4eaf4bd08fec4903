"""Helpers for tests that build traffic with scapy (tests only; never the packet path)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter


def write_pcap(path: Path, packets: Iterable[tuple[float, Any]], linktype: int = 1) -> Path:
    """Write (timestamp, scapy packet) pairs as a classic pcap."""
    writer = PcapWriter(str(path), linktype=linktype, sync=True)
    try:
        for ts, pkt in packets:
            pkt.time = ts
            writer.write(pkt)
    finally:
        writer.close()
    return path


class TcpSession:
    """Builds one TCP conversation with correct sequence numbers."""

    def __init__(
        self, client: str, server: str, cport: int, sport: int, *, cisn: int = 1000,
        sisn: int = 5000, ts: float = 1_700_000_000.0,
    ) -> None:  # fmt: skip
        self.c = (client, cport)
        self.s = (server, sport)
        self.cseq = cisn
        self.sseq = sisn
        self.ts = ts
        self.packets: list[tuple[float, Any]] = []

    def _pkt(self, from_client: bool, flags: str, data: bytes = b"", seq: int | None = None) -> Any:
        src, dst = (self.c, self.s) if from_client else (self.s, self.c)
        mine = self.cseq if from_client else self.sseq
        theirs = self.sseq if from_client else self.cseq
        p = (
            Ether(src="00:00:00:00:00:01" if from_client else "00:00:00:00:00:02",
                  dst="00:00:00:00:00:02" if from_client else "00:00:00:00:00:01")
            / IP(src=src[0], dst=dst[0])
            / TCP(sport=src[1], dport=dst[1], flags=flags,
                  seq=(mine if seq is None else seq) & 0xFFFFFFFF, ack=theirs & 0xFFFFFFFF)
        )  # fmt: skip
        if data:
            p = p / data
        return p

    def add(self, pkt: Any, dt: float = 0.01) -> None:
        self.ts += dt
        self.packets.append((self.ts, pkt))

    def handshake(self) -> TcpSession:
        self.add(self._pkt(True, "S"))
        self.cseq += 1
        self.add(self._pkt(False, "SA"))
        self.sseq += 1
        self.add(self._pkt(True, "A"))
        return self

    def send(self, from_client: bool, data: bytes, *, advance: bool = True) -> TcpSession:
        self.add(self._pkt(from_client, "PA", data))
        if advance:
            if from_client:
                self.cseq += len(data)
            else:
                self.sseq += len(data)
        return self

    def raw(
        self, from_client: bool, flags: str, data: bytes = b"", seq: int | None = None
    ) -> TcpSession:
        self.add(self._pkt(from_client, flags, data, seq))
        return self

    def fin(self) -> TcpSession:
        self.add(self._pkt(True, "FA"))
        self.cseq += 1
        self.add(self._pkt(False, "FA"))
        self.sseq += 1
        self.add(self._pkt(True, "A"))
        return self


def udp(src: str, dst: str, sport: int, dport: int, data: bytes) -> Any:
    return Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / data
