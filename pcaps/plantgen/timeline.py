"""Scenario context (seeded randomness, ports, links) and the time-ordered capture writer.

Each activity of a scenario is a generator of ``(time_us, frame)`` items in time order;
``write_capture`` merges them with ``heapq.merge`` (ties go to the earlier activity, so the
order is deterministic) and streams the result to a pcap file. An item whose second
element is a ``str`` is a timeline note: it is not written, but recorded with the number
of the frame that follows it, which is how pcaps/README.md gets its attack table.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from .plant import Host, LinkCache
from .process import ProcessImage, mix
from .tcp import ConnSpec, Item, TcpConn
from .wire import BASE_EPOCH_US, PLAIN, Encap, PcapWriter

SECOND = 1_000_000
MS = 1_000


class Ctx:
    """Shared state of one scenario build: the seed, start time, links and port counters."""

    def __init__(self, seed: int, t0_us: int = BASE_EPOCH_US) -> None:
        self.seed = seed
        self.t0 = t0_us
        self.links = LinkCache()
        self._ports: dict[str, int] = {}
        self._images: dict[str, ProcessImage] = {}

    def image(self, host: Host) -> ProcessImage:
        """The process image of a controller, shared by everyone who talks to it."""
        img = self._images.get(host.name)
        if img is None:
            ident = mix(*host.name.encode("ascii"))
            img = self._images[host.name] = ProcessImage(ident)
        return img

    def rng(self, name: str) -> random.Random:
        """An independent, reproducible random stream per activity name (string seeds are
        hashed with SHA-512 by ``random``, never with the per-process ``hash``)."""
        return random.Random(f"{self.seed}/{name}")

    def ephemeral_port(self, host: Host) -> int:
        """Windows counts up from 49152-ish, Linux from 32768-ish, per host."""
        port = self._ports.get(host.name)
        if port is None:
            offset = random.Random(f"{self.seed}/port/{host.name}").randrange(0, 4000)
            port = (49152 if host.stack.name == "windows" else 33000) + offset
        port += 1
        if port > 65000:
            port = 49153
        self._ports[host.name] = port
        return port

    def connect(
        self, client: Host, server: Host, sport: int, rng: random.Random, encap: Encap = PLAIN
    ) -> TcpConn:
        spec = ConnSpec(client, server, self.ephemeral_port(client), sport, encap)
        return TcpConn(self.links, spec, rng)


@dataclass
class Note:
    frame: int
    t_us: int
    text: str


@dataclass
class CaptureSummary:
    packets: int = 0
    notes: list[Note] = field(default_factory=list)


def _in_order(index: int, source: Iterator[Item]) -> Iterator[Item]:
    last = 0
    for item in source:
        if item[0] < last:
            code = getattr(source, "gi_code", None)
            where = f"{code.co_name} (activity #{index})" if code else f"activity #{index}"
            raise RuntimeError(f"{where} went back in time: {item[0]} < {last}")
        last = item[0]
        yield item


def merge(sources: Iterable[Iterator[Item]]) -> Iterator[Item]:
    checked = [_in_order(i, s) for i, s in enumerate(sources)]
    return heapq.merge(*checked, key=itemgetter(0))


def write_capture(
    path: Path,
    sources: Iterable[Iterator[Item]],
    limit: int | None = None,
    t0_us: int = BASE_EPOCH_US,
) -> CaptureSummary:
    """Merge the activities and write at most ``limit`` frames; notes are collected."""
    summary = CaptureSummary()
    first = t0_us
    with path.open("wb", buffering=1 << 20) as out:
        writer = PcapWriter(out)
        for t_us, what in merge(sources):
            if isinstance(what, str):
                summary.notes.append(Note(writer.count + 1, t_us - t0_us, what))
                continue
            if limit is not None and writer.count >= limit:
                break
            if writer.count == 0:
                first = t_us
            writer.write(t_us, what)
        summary.packets = writer.count
    # like Wireshark's relative time: seconds from the first frame
    for note in summary.notes:
        note.t_us = note.t_us + t0_us - first
    return summary
