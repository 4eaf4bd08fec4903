"""Two network namespaces joined by a veth pair, for live-capture tests (root only).

Names are unique per test run. Neither end gets an address, IPv6 is disabled in both
namespaces (so the kernel sends nothing of its own) and nothing is routed or forwarded:
frames sent into one end arrive at the other and go no further. :meth:`VethPair.delete`
removes both namespaces, which removes the veth pair with them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence


def available() -> str | None:
    """Why namespace tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and veth pairs)"
    if shutil.which("ip") is None:
        return "needs iproute2 ('ip')"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


class VethPair:
    """Namespaces ``ns_a`` and ``ns_b`` with veth ends ``veth_a`` and ``veth_b`` in them."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.ns_a = f"otsecA{tag}"
        self.ns_b = f"otsecB{tag}"
        # interface names are at most 15 characters
        self.veth_a = f"vA{tag}"
        self.veth_b = f"vB{tag}"

    def create(self) -> VethPair:
        """Make both namespaces and the veth pair between them; undone on failure."""
        try:
            for ns in (self.ns_a, self.ns_b):
                _ip("netns", "add", ns)
                sysctl = ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]
                self.run(ns, [*sysctl, "net.ipv6.conf.default.disable_ipv6=1"])
                _ip("-n", ns, "link", "set", "lo", "up")
            _ip("link", "add", self.veth_a, "netns", self.ns_a,
                "type", "veth", "peer", "name", self.veth_b, "netns", self.ns_b)  # fmt: skip
            for ns, dev in ((self.ns_a, self.veth_a), (self.ns_b, self.veth_b)):
                self.run(ns, ["sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1"])
                _ip("-n", ns, "link", "set", dev, "up")
        except BaseException:
            self.delete()
            raise
        return self

    def command(self, ns: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside namespace ``ns``."""
        return ["ip", "netns", "exec", ns, *argv]

    def run(self, ns: str, argv: Sequence[str], timeout: float = 30) -> str:
        """Run ``argv`` inside ``ns`` to its end; its standard output."""
        done = subprocess.run(
            self.command(ns, argv), check=True, capture_output=True, text=True, timeout=timeout
        )
        return done.stdout

    def link_stats(self, ns: str, dev: str) -> dict[str, int]:
        """The kernel's receive and transmit counters of ``dev``."""
        out: dict[str, int] = {}
        base = f"/sys/class/net/{dev}/statistics"
        script = f"cd {base} && grep -H . rx_packets rx_dropped tx_packets"
        for line in self.run(ns, ["sh", "-c", script]).split():
            name, value = line.split(":")
            out[name] = int(value)
        return out

    def delete(self) -> None:
        """Remove both namespaces (and so the veth pair); never raises."""
        for ns in (self.ns_a, self.ns_b):
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True,
                               timeout=10)  # fmt: skip

    def __enter__(self) -> VethPair:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()
