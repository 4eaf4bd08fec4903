"""The length-prefixed test protocol used to prove reassembly and framing end to end.

A PDU is a magic byte 0xA5, a 2-byte big-endian body length, and the body. After a gap
the framer resynchronises on the next magic byte.
"""

from __future__ import annotations

from dissectors.framing import LengthFramer
from otsec.flows.session import FramedApp, Service
from otsec.flows.table import Flow

MAGIC = 0xA5


def _length_of(buf: bytes | bytearray, off: int) -> int:
    if buf[off] != MAGIC:
        return -1
    return 3 + ((buf[off + 1] << 8) | buf[off + 2])


def _resync(buf: bytes | bytearray, off: int) -> int:
    return buf.find(MAGIC, off + 1)


def framer() -> LengthFramer:
    return LengthFramer("test", 3, _length_of, max_pdu=4096, resync=_resync)


def pdu(body: bytes) -> bytes:
    return bytes([MAGIC]) + len(body).to_bytes(2, "big") + body


class Collected:
    """Collects the PDUs and anomalies of every flow bound to the test service."""

    def __init__(self) -> None:
        self.pdus: list[tuple[int, bool, bytes]] = []
        self.anomalies: list[tuple[str, int | None]] = []
        self.ended: list[Flow] = []  # flows as they ended, for tests that hook flow ends

    def service(self) -> Service:
        def factory(flow: Flow) -> FramedApp:
            return FramedApp(
                flow, framer(), framer(),
                lambda f, fwd, data, ts: self.pdus.append((f.fid, fwd, data)),
                lambda name, ts, f, d: self.anomalies.append((name, f.fid if f else None)),
            )  # fmt: skip

        return Service("test", factory, tcp=True, udp=True)

    def bodies(self, from_orig: bool) -> list[bytes]:
        return [p for _, fwd, p in self.pdus if fwd == from_orig]
