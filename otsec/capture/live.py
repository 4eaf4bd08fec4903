"""Live capture from a network interface, with the BPF filter compiled into the kernel.

:class:`LiveCapture` is a :class:`~otsec.capture.pcapfile.PacketSource`: the pipeline reads
it exactly like a capture file, until :meth:`LiveCapture.stop` is called. Two backends:

``pcap``
    libpcap through pcapy-ng: a memory-mapped TPACKET_V3 ring of ``buffer_mb`` MiB, read
    in batches without a Python object per packet. The fast one (lossless at 300,000
    packets/s on the measurement machine) and the default when pcapy-ng is installed.
``scapy``
    scapy's layer-2 listen socket (a plain ``AF_PACKET`` socket). Frames are read as bytes
    and never dissected, but every packet still costs a system call and scapy's ancillary
    data handling, so it tops out far below libpcap. A fallback, not for busy links.

Both poll the socket in non-blocking mode with ``select``: a blocking read never returns
on an idle TPACKET_V3 socket, and polling lets :meth:`LiveCapture.stop` end the capture
within a fraction of a second from a signal handler or another thread.

Every problem at start (no such interface, no permission, a filter libpcap cannot
compile, a backend that is not installed) raises :class:`LiveCaptureError` with a
one-line message for the user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from otsec.capture import linktypes
from otsec.capture.pcapfile import CaptureError, RawRecord

#: Backend names accepted by :class:`LiveCapture` (``auto`` picks the first installed of
#: ``pcap`` and ``scapy``).
BACKENDS = ("auto", "pcap", "scapy")

#: How long one ``select`` waits before the stop flag is looked at again (seconds).
POLL_INTERVAL = 0.1
#: libpcap's read timeout: a TPACKET_V3 block is handed over at the latest after this.
PCAP_TIMEOUT_MS = 100
#: Most packets read per batch before the stop flag is looked at again.
BATCH = 512

# Linux constants the socket module does not export.
_SOL_PACKET = 263
_PACKET_STATISTICS = 6
_SO_RCVBUFFORCE = 33
# ARPHRD_* (the interface's hardware type) -> link type of the frames a packet socket reads.
_ARPHRD_LINKTYPES = {1: linktypes.ETHERNET, 772: linktypes.ETHERNET, 65534: linktypes.RAW}

# libpcap's pcap_activate() error and warning codes (pcap/pcap.h).
_PCAP_ERRORS = {
    -1: "libpcap could not open it",
    -4: "the handle is already active",
    -5: "no such device",
    -6: "monitor mode is not supported",
    -8: "permission denied",
    -9: "the interface is not up",
    -11: "permission denied for promiscuous mode",
}
_PCAP_WARNINGS = {
    1: "libpcap warned while opening the interface",
    2: "the interface does not support promiscuous mode; capturing only its own traffic",
}
_PERM_DENIED = (-8, -11)
_NO_DEVICE = -5

_META = struct.Struct("=IIII")  # pcapy-ng next_batch record: sec, usec, offset, caplen

_TCP_CONTROL = "tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0"
# IPv6 TCP without extension headers: next header 6, flags byte 13 of the TCP header.
_TCP6_CONTROL = "ip6[6] = 6 and ip6[53] & 0x07 != 0"


class LiveCaptureError(CaptureError):
    """A live capture could not be started; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """Kernel counters of a live capture since it was opened.

    ``received`` counts the packets that passed the filter (including those then
    dropped, as libpcap reports it on Linux), ``dropped_kernel`` those the capture
    buffer had no room for: the capture's own loss. ``dropped_interface`` is the
    interface's ``rx_dropped`` counter, which on Linux also counts frames the stack
    discards after the capture saw them (tagged frames of a VLAN with no local interface,
    unknown protocols), so it is not capture loss by itself. None means the backend
    cannot tell.
    """

    received: int | None
    dropped_kernel: int | None
    dropped_interface: int | None


class _Backend:
    """What both backends share: counters read live while open, kept after close."""

    name: str
    linktype: int
    warnings: list[str]
    _last: CaptureStats
    _closed: bool

    def fileno(self) -> int:
        raise NotImplementedError

    def batch(self) -> Iterator[RawRecord]:
        raise NotImplementedError

    def _read_stats(self) -> CaptureStats:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def stats(self) -> CaptureStats:
        if not self._closed:
            self._last = self._read_stats()
        return self._last

    def close(self) -> None:
        if not self._closed:
            self.stats()
            self._closed = True
            self._release()


def default_filter(ics_ports: Iterable[int], extra_ports: Iterable[int] = ()) -> str:
    """The kernel filter the monitor needs: ARP, all UDP, TCP to or from the ICS and
    extra ports, every TCP packet with SYN, FIN or RST set (so every connection's start
    and end is seen) and IPv6 other than plain TCP; the same inside one 802.1Q/802.1ad
    VLAN tag, and inside two (QinQ).

    BPF cannot walk IPv6 extension headers, so IPv6 packets that have them are all
    passed; TCP control packets are recognised on IPv4 and plain IPv6. Later fragments
    of a fragmented IPv4 TCP packet (which carry no ports) are not passed.
    """
    ports = sorted(set(ics_ports) | set(extra_ports))
    for port in ports:
        if not 0 <= port <= 65535:
            raise ValueError(f"not a TCP/UDP port: {port}")
    parts = ["arp", "udp", "(ip6 and not tcp)"]
    if ports:
        parts.append("(tcp and (" + " or ".join(f"port {p}" for p in ports) + "))")
    parts += [f"({_TCP_CONTROL})", f"({_TCP6_CONTROL})"]
    wanted = " or ".join(parts)
    # Each "vlan" moves the offsets of everything after it by 4 bytes: the untagged
    # test comes first, then one tag, then a second tag inside the first.
    return f"({wanted}) or (vlan and (({wanted}) or (vlan and ({wanted}))))"


def drop_privileges(user: str) -> None:
    """Become ``user`` for good (no supplementary groups, no capabilities left); call it
    after the capture is open. Raises :class:`LiveCaptureError` when the user does not
    exist or this process is not root."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise LiveCaptureError(f"cannot drop privileges: no such user {user!r}") from None
    if os.geteuid() != 0:
        raise LiveCaptureError(
            f"cannot drop privileges to {user!r}: only root can switch users "
            f"(running as uid {os.geteuid()})"
        )
    try:
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    except OSError as exc:
        raise LiveCaptureError(f"cannot drop privileges to {user!r}: {exc.strerror}") from None


def _permission_error(interface: str) -> LiveCaptureError:
    return LiveCaptureError(
        f"no permission to capture on {interface}: capture needs root or the CAP_NET_RAW "
        "capability (grant it with 'setcap cap_net_raw+ep' on the real python binary, or "
        "AmbientCapabilities=CAP_NET_RAW in a systemd unit)"
    )


def _no_interface(interface: str) -> LiveCaptureError:
    names = ", ".join(name for _, name in socket.if_nameindex())
    return LiveCaptureError(f"no such network interface: {interface!r} (here: {names})")


def _bad_filter(bpf: str, why: object) -> LiveCaptureError:
    return LiveCaptureError(f"capture filter does not compile: {why} (filter: {bpf})")


def _rx_dropped(interface: str) -> int | None:
    try:
        with open(f"/sys/class/net/{interface}/statistics/rx_dropped", encoding="ascii") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


class _PcapHandle(Protocol):
    """The part of a pcapy-ng capture handle used here (pcapy-ng has no type stubs)."""

    def set_snaplen(self, snaplen: int) -> None: ...
    def set_promisc(self, promisc: int) -> None: ...
    def set_timeout(self, ms: int) -> None: ...
    def set_buffer_size(self, size: int) -> None: ...
    def activate(self) -> int: ...
    def setnonblock(self, on: int) -> None: ...
    def setfilter(self, bpf: str) -> None: ...
    def datalink(self) -> int: ...
    def getfd(self) -> int: ...
    def next_batch(self, n: int) -> tuple[bytes, bytes]: ...
    def dispatch(self, n: int, callback: Any) -> int: ...
    def stats(self) -> tuple[int, int, int]: ...
    def close(self) -> None: ...


class _PcapBackend(_Backend):
    """libpcap through pcapy-ng, non-blocking, read in batches."""

    name = "pcap"

    def __init__(
        self, interface: str, bpf: str | None, snaplen: int, promisc: bool, buffer_mb: int
    ) -> None:
        try:
            import pcapy  # noqa: PLC0415 (optional dependency, loaded when chosen)
        except ImportError:
            raise LiveCaptureError(
                "the pcap capture backend needs pcapy-ng: pip install 'pcapy-ng>=2.1,<3' "
                "(or choose --backend scapy)"
            ) from None
        self.warnings: list[str] = []
        handle: _PcapHandle = pcapy.create(interface)
        try:
            handle.set_snaplen(snaplen)
            handle.set_promisc(int(promisc))
            handle.set_timeout(PCAP_TIMEOUT_MS)
            handle.set_buffer_size(buffer_mb << 20)
            code = handle.activate()
            if code == _NO_DEVICE:
                raise _no_interface(interface)
            if code in _PERM_DENIED:
                raise _permission_error(interface)
            if code < 0:
                why = _PCAP_ERRORS.get(code, f"error {code}")
                raise LiveCaptureError(f"cannot capture on {interface}: {why}")
            if code > 0:
                self.warnings.append(f"{interface}: {_PCAP_WARNINGS.get(code, 'warning')}")
            handle.setnonblock(1)
            if bpf:
                try:
                    handle.setfilter(bpf)
                except pcapy.PcapError as exc:
                    raise _bad_filter(bpf, exc) from None
            self.linktype = handle.datalink()
            self._fd = handle.getfd()
        except pcapy.PcapError as exc:
            handle.close()
            raise LiveCaptureError(f"cannot capture on {interface}: {exc}") from None
        except BaseException:
            handle.close()
            raise
        self._error: type[Exception] = pcapy.PcapError
        self._interface = interface
        self._handle = handle
        # The batch read reports captured lengths only; with a snap length below the
        # largest frame the per-packet callback is used instead, for the wire length.
        self._batched = snaplen >= 65535 and hasattr(handle, "next_batch")
        self._last = CaptureStats(0, 0, 0)
        self._closed = False

    def fileno(self) -> int:
        return self._fd

    def batch(self) -> Iterator[RawRecord]:
        lt = self.linktype
        if self._batched:
            try:
                buf, meta = self._handle.next_batch(BATCH)
            except self._error as exc:
                raise LiveCaptureError(f"capture on {self._interface} failed: {exc}") from None
            for sec, usec, off, caplen in _META.iter_unpack(meta):
                yield sec + usec * 1e-6, lt, buf, off, off + caplen, caplen
            return
        got: list[RawRecord] = []

        def take(header: Any, data: bytes) -> None:
            sec, usec = header.getts()
            got.append((sec + usec * 1e-6, lt, data, 0, len(data), header.getlen()))

        try:
            self._handle.dispatch(BATCH, take)
        except self._error as exc:
            raise LiveCaptureError(f"capture on {self._interface} failed: {exc}") from None
        yield from got

    def _read_stats(self) -> CaptureStats:
        received, dropped, ifdropped = self._handle.stats()
        return CaptureStats(received, dropped, ifdropped)

    def _release(self) -> None:
        self._handle.close()


class _ScapyBackend(_Backend):
    """scapy's layer-2 listen socket, read as raw bytes (no dissection)."""

    name = "scapy"

    def __init__(
        self, interface: str, bpf: str | None, snaplen: int, promisc: bool, buffer_mb: int
    ) -> None:
        try:
            # scapy is otherwise kept off the packet path; this backend is its one use.
            import scapy.arch  # noqa: PLC0415, TID251, F401 (sets conf.L2listen)
            from scapy.config import conf  # noqa: PLC0415, TID251
            from scapy.error import Scapy_Exception  # noqa: PLC0415, TID251
        except ImportError:
            raise LiveCaptureError(
                "the scapy capture backend needs scapy: pip install 'scapy>=2.6,<3'"
            ) from None
        self.warnings: list[str] = []
        self._snaplen = snaplen
        # scapy logs a warning for the loopback interface's hardware type; it is harmless.
        scapy_log = logging.getLogger("scapy.runtime")
        level = scapy_log.level
        scapy_log.setLevel(logging.ERROR)
        try:
            sock = conf.L2listen(iface=interface, filter=bpf or None, promisc=promisc)
        except PermissionError:
            raise _permission_error(interface) from None
        except Scapy_Exception as exc:
            # "Cannot set filter: Failed to compile filter expression 'EXPR' (MESSAGE)"
            text = str(exc)
            quoted = f"{bpf!r} ("
            if quoted in text and text.endswith(")"):
                text = text[text.index(quoted) + len(quoted) : -1]
            raise _bad_filter(bpf or "", text) from None
        except OSError as exc:
            raise LiveCaptureError(f"cannot capture on {interface}: {exc.strerror}") from None
        finally:
            scapy_log.setLevel(level)
        self._sock = sock
        raw: socket.socket = sock.ins
        try:
            raw.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, buffer_mb << 20)
        except OSError:  # needs CAP_NET_ADMIN; the plain option is capped by rmem_max
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_mb << 20)
            got = raw.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >> 20
            if got < buffer_mb:
                self.warnings.append(
                    f"{interface}: socket buffer is {got} MiB, not {buffer_mb} "
                    "(raise net.core.rmem_max or grant CAP_NET_ADMIN)"
                )
        raw.setblocking(False)
        hatype = raw.getsockname()[3]
        if hatype not in _ARPHRD_LINKTYPES:
            sock.close()
            raise LiveCaptureError(
                f"cannot capture on {interface}: unsupported hardware type {hatype} "
                "for the scapy backend (try --backend pcap)"
            )
        self.linktype = _ARPHRD_LINKTYPES[hatype]
        self._raw = raw
        self._interface = interface
        self._received = 0
        self._dropped = 0
        self._read_kernel_stats()  # reading resets them: start from zero
        self._received = self._dropped = 0
        self._rx_dropped = _rx_dropped(interface)
        self._last = CaptureStats(0, 0, 0 if self._rx_dropped is not None else None)
        self._closed = False

    def fileno(self) -> int:
        return self._raw.fileno()

    def batch(self) -> Iterator[RawRecord]:
        lt = self.linktype
        recv = self._sock.recv_raw
        snaplen = self._snaplen
        for _ in range(BATCH):
            try:
                _, frame, ts = recv(snaplen)
            except BlockingIOError:
                return
            except OSError as exc:
                raise LiveCaptureError(
                    f"capture on {self._interface} failed: {exc.strerror}"
                ) from None
            if frame:
                n = len(frame)
                yield (ts if ts is not None else 0.0), lt, frame, 0, n, n

    def _read_kernel_stats(self) -> None:
        data = self._raw.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8)
        packets, drops = struct.unpack("II", data)
        self._received += packets
        self._dropped += drops

    def _read_stats(self) -> CaptureStats:
        self._read_kernel_stats()
        now = _rx_dropped(self._interface)
        start = self._rx_dropped
        ifdrop = now - start if now is not None and start is not None else None
        return CaptureStats(self._received, self._dropped, ifdrop)

    def _release(self) -> None:
        self._sock.close()


def _pcap_installed() -> bool:
    try:
        import pcapy  # noqa: PLC0415, F401 (only asks whether it is there)
    except ImportError:
        return False
    return True


class LiveCapture:
    """Packets from a network interface, as a packet source for the pipeline.

    ``LiveCapture(interface, backend=..., bpf=..., snaplen=..., promisc=..., buffer_mb=...)``
    (or :meth:`open`, the same) opens the capture at once and raises
    :class:`LiveCaptureError` when it cannot. ``bpf`` is compiled into the kernel; None
    or an empty string captures everything (pass :func:`default_filter` for what the
    monitor needs). :meth:`records` yields packets until :meth:`stop` is called.
    """

    format = "live"

    def __init__(
        self,
        interface: str,
        *,
        backend: str = "auto",
        bpf: str | None = None,
        snaplen: int = 65535,
        promisc: bool = True,
        buffer_mb: int = 32,
    ) -> None:
        if backend not in BACKENDS:
            raise LiveCaptureError(
                f"unknown capture backend {backend!r} (choose one of {', '.join(BACKENDS)})"
            )
        if backend == "auto":
            backend = "pcap" if _pcap_installed() else "scapy"
        if not 1 <= snaplen <= 262144:
            raise LiveCaptureError(f"snap length must be 1 to 262144 bytes, not {snaplen}")
        if buffer_mb < 1:
            raise LiveCaptureError(f"capture buffer must be at least 1 MiB, not {buffer_mb}")
        if not (backend == "pcap" and interface == "any"):
            try:
                socket.if_nametoindex(interface)
            except OSError:
                raise _no_interface(interface) from None
        impl: _Backend
        if backend == "pcap":
            impl = _PcapBackend(interface, bpf, snaplen, promisc, buffer_mb)
        else:
            impl = _ScapyBackend(interface, bpf, snaplen, promisc, buffer_mb)
        self._impl = impl
        #: Name of the backend in use: "pcap" or "scapy".
        self.backend = impl.name
        #: The BPF filter compiled into the kernel ("" when everything is captured).
        self.filter = bpf or ""
        self.interface = interface
        self.name = f"live:{interface}"
        self.linktypes = [impl.linktype]
        self.warnings: list[str] = list(impl.warnings)
        self.truncated = False
        #: Packets handed to the reader so far (the pipeline counts only at the end).
        self.packets = 0
        self._stopping = False
        self._closed = False
        #: Called about every ``tick_every`` seconds of wall time from :meth:`records`
        #: (between packets, also when none arrive): checkpoints, reloads, drop checks.
        self.on_tick: Callable[[], None] | None = None
        self.tick_every = 1.0
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    @classmethod
    def open(
        cls,
        interface: str,
        *,
        backend: str = "auto",
        bpf: str | None = None,
        snaplen: int = 65535,
        promisc: bool = True,
        buffer_mb: int = 32,
    ) -> LiveCapture:
        """Open a capture on ``interface``; the same as calling the class."""
        return cls(
            interface,
            backend=backend,
            bpf=bpf,
            snaplen=snaplen,
            promisc=promisc,
            buffer_mb=buffer_mb,
        )

    def records(self) -> Iterator[RawRecord]:
        """Packets as they arrive, until :meth:`stop` (or :meth:`close`) is called."""
        impl = self._impl
        watch = [impl.fileno(), self._wake_r]
        next_tick = time.monotonic() + self.tick_every
        while not self._stopping:
            select.select(watch, [], [], POLL_INTERVAL)
            # Read whether or not select saw data: libpcap may hold packets in a ring
            # block the kernel has not handed over yet, and the read never blocks.
            while not self._stopping:
                n = 0
                for record in impl.batch():
                    n += 1
                    yield record
                self.packets += n
                tick = self.on_tick
                if tick is not None and time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self.tick_every
                    tick()  # between packets, in the reading thread, idle or busy
                if n < BATCH:
                    break

    def stop(self) -> None:
        """Make :meth:`records` return soon; safe from a signal handler or another thread."""
        self._stopping = True
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"\0")

    def stats(self) -> CaptureStats:
        """Kernel counters since the capture was opened (the last ones after close)."""
        return self._impl.stats()

    def close(self) -> None:
        """Stop and release the socket; the counters stay readable through :meth:`stats`."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        self._impl.close()
        wake_r, wake_w = self._wake_r, self._wake_w
        self._wake_r = self._wake_w = -1
        os.close(wake_r)
        os.close(wake_w)

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
