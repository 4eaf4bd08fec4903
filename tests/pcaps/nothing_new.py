"""What a capture holds that a baseline capture does not, as a baseline-learning monitor
would see it (pcaps/README.md, "plant_normal.pcap").

    python tests/pcaps/nothing_new.py pcaps/plant_baseline.pcap pcaps/plant_normal.pcap

prints every difference and exits 1 if there is one. Transactions come from otsec's ECS
events (``otsec replay --events``), hosts and flows from the frames themselves:

- per client -> server edge (server = the side on the ICS port): function code and
  operation class, and the addresses written (Modbus per unit and table, S7 per area and
  DB, bytes; DNP3 per object group, point indices). The baseline's writes count only when
  answered without an exception or error;
- IPv4 and MAC addresses (Ethernet, IP and ARP sender fields);
- flows: TCP (client, server, server port) from the SYNs, UDP (client, server, the lower
  port), ICMP (source, destination, type).
"""

from __future__ import annotations

import contextlib
import io
import json
import struct
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ICS_PORTS = {502: "modbus", 102: "s7comm", 20000: "dnp3"}
WRITE_ACCESS = {"write", "read_write"}


@dataclass
class Profile:
    operations: set[tuple[object, ...]] = field(default_factory=set)
    writes: set[tuple[object, ...]] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    flows: set[tuple[object, ...]] = field(default_factory=set)

    def new_in(self, other: Profile) -> dict[str, list[tuple[object, ...]]]:
        """What ``other`` has that this profile lacks, per kind."""
        out = {
            "operations": sorted(other.operations - self.operations, key=repr),
            "writes": sorted(other.writes - self.writes, key=repr),
            "hosts": sorted({(h,) for h in other.hosts - self.hosts}, key=repr),
            "flows": sorted(other.flows - self.flows, key=repr),
        }
        return {kind: rows for kind, rows in out.items() if rows}


@dataclass
class Replay:
    events: list[dict[str, Any]]  # otsec's ECS documents, one per transaction
    summary: dict[str, Any]  # otsec's summary (``--json``)


def replay(paths: Iterable[Path]) -> dict[str, Replay]:
    """``otsec replay --events --json`` of each capture, by the capture's path, in this
    process. One replay per capture: a run over several files is one stream to otsec, and
    two captures of the same plant and time (an attack capture and its normal part) would
    look like retransmissions."""
    from otsec.cli import main as otsec

    out: dict[str, Replay] = {}
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.jsonl"
        for path in paths:
            text = io.StringIO()
            args = ["replay", str(path), "--events", str(events), "--json", "--no-progress"]
            with contextlib.redirect_stdout(text):
                assert otsec(args) == 0, path
            with events.open(encoding="utf-8") as lines:
                docs = [json.loads(line) for line in lines]
            out[str(path)] = Replay(docs, json.loads(text.getvalue()))
    return out


def replay_events(paths: Iterable[Path]) -> dict[str, list[dict[str, Any]]]:
    """otsec's ECS events of each capture, by the capture's path."""
    return {path: run.events for path, run in replay(paths).items()}


def _edge(doc: dict) -> tuple[str, str, str, int]:
    src, dst = doc["source"], doc["destination"]
    if dst.get("port") in ICS_PORTS or src.get("port") not in ICS_PORTS:
        return src["ip"], dst["ip"], doc["network"]["transport"], dst.get("port", 0)
    return dst["ip"], src["ip"], doc["network"]["transport"], src["port"]


def _written(doc: dict) -> Iterator[tuple[object, ...]]:
    """(table, address) of every unit the transaction writes."""
    proto = doc["network"]["protocol"]
    ics = doc["ics"]
    if proto == "modbus":
        unit = ics["modbus"]["unit_id"]
        addr = ics.get("address", {})
        start = addr.get("start", -1)
        for i in range(start, start + addr.get("count", 1)):
            yield ("modbus", unit, ics.get("target")), i
    elif proto == "s7comm":
        items = ics["s7comm"].get("request", {}).get("items") or []
        for item in items:
            table = ("s7comm", item.get("area", {}).get("code"), item.get("db_number"))
            start = item.get("byte_address", 0)
            size = 2 if item.get("transport_size", {}).get("name") == "word" else 1
            for i in range(start, start + item.get("length", 1) * size):
                yield table, i
        if not items:
            yield ("s7comm", ics.get("target")), ics.get("address", {}).get("start")
    elif proto == "dnp3":
        objects = ics["dnp3"].get("request", {}).get("objects") or []
        for obj in objects:
            points = obj.get("points") or [{"index": None}]
            for point in points:
                yield ("dnp3", obj["group"]), point.get("index")
        if not objects:
            yield ("dnp3", ics.get("target")), None
    else:
        yield (proto, ics.get("target")), ics.get("address", {}).get("start")


def _failed(doc: dict) -> bool:
    return doc.get("event", {}).get("outcome") != "success"


def event_profile(docs: Iterable[dict], baseline: bool) -> Profile:
    """Operations and writes; ``baseline``: only successful writes count as known."""
    prof = Profile()
    for doc in docs:
        ics = doc.get("ics")
        if not ics:
            continue
        edge = _edge(doc)
        proto = doc["network"]["protocol"]
        fc = ics.get("function", {}).get("code")
        prof.operations.add((*edge, proto, fc, ics.get("operation")))
        if ics.get("access") in WRITE_ACCESS and not (baseline and _failed(doc)):
            for table, addr in _written(doc):
                prof.writes.add((*edge, *table, addr))
    return prof


def pcap_frames(path: Path) -> Iterator[bytes]:
    data = path.read_bytes()
    assert struct.unpack_from("<I", data, 0)[0] == 0xA1B2C3D4, "classic little-endian pcap"
    offset = 24
    while offset < len(data):
        incl_len = struct.unpack_from("<I", data, offset + 8)[0]
        yield data[offset + 16 : offset + 16 + incl_len]
        offset += 16 + incl_len


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _ip(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


BROADCAST = "ff:ff:ff:ff:ff:ff"


def frame_profile(path: Path) -> Profile:
    """Hosts (IPv4 and MAC addresses) and flows of an Ethernet capture (no VLAN tags)."""
    prof = Profile()
    for frame in pcap_frames(path):
        prof.hosts.update(m for m in (_mac(frame[0:6]), _mac(frame[6:12])) if m != BROADCAST)
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        if ethertype == 0x0806:
            prof.hosts.update((_mac(frame[22:28]), _ip(frame[28:32])))
            continue
        if ethertype != 0x0800:
            prof.flows.add(("ethertype", ethertype))
            continue
        ihl = (frame[14] & 0x0F) * 4
        proto = frame[23]
        src, dst = _ip(frame[26:30]), _ip(frame[30:34])
        prof.hosts.update((src, dst))
        l4 = frame[14 + ihl :]
        if proto == 6:
            sport, dport = struct.unpack_from("!HH", l4, 0)
            if l4[13] & 0x12 == 0x02:  # SYN without ACK
                prof.flows.add(("tcp", src, dst, dport))
        elif proto == 17:
            sport, dport = struct.unpack_from("!HH", l4, 0)
            if sport < dport:
                prof.flows.add(("udp", dst, src, sport))
            else:
                prof.flows.add(("udp", src, dst, dport))
        elif proto == 1:
            prof.flows.add(("icmp", src, dst, l4[0]))
        else:
            prof.flows.add(("ip", src, dst, proto))
    return prof


def profile(path: Path, docs: list[dict], baseline: bool) -> Profile:
    prof = event_profile(docs, baseline)
    frames = frame_profile(path)
    prof.hosts, prof.flows = frames.hosts, frames.flows
    return prof


def differences(baseline: Path, others: list[Path]) -> dict[str, dict[str, list]]:
    """Per capture, what it has that ``baseline`` lacks (empty: nothing new)."""
    docs = replay_events([baseline, *others])
    known = profile(baseline, docs[str(baseline)], baseline=True)
    return {str(p): known.new_in(profile(p, docs[str(p)], baseline=False)) for p in others}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    found = differences(Path(argv[0]), [Path(a) for a in argv[1:]])
    for path, new in found.items():
        print(f"{path}: {'nothing new' if not new else 'NEW:'}")
        for kind, rows in new.items():
            for row in rows:
                print(f"  {kind}: {row}")
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
