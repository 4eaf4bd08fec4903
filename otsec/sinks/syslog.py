"""Alerts as RFC 5424 syslog messages carrying CEF or LEEF, over UDP, TCP or TLS.

TCP and TLS use octet-counting framing (RFC 6587, RFC 5425), so a message can never merge
with the next one. ``SyslogSink.write`` never blocks: it puts the framed message on a
bounded queue that a background thread sends, reconnecting with a capped backoff while
the receiver is down. When the queue is full, new alerts are dropped and counted.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from otsec.detection.rules import SEVERITIES
from otsec.sinks.cef import cef_message, field, leef_message
from otsec.sinks.jsonl import SinkError

#: event.severity -> the severity name of a sensor document.
_LEVELS = {number: name for name, number in SEVERITIES.items()}

#: ics.alert.severity -> syslog severity (crit, err, warning, notice)
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5}
FACILITY_LOCAL0 = 16
NIL = "-"
UDP_MAX = 65000  # bytes per datagram, below the IPv4 and IPv6 payload limits
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
_IO_TIMEOUT = 5.0
_FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {"cef": cef_message, "leef": leef_message}
_SCHEMES = ("udp", "tcp", "tls")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")
_NOT_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")


def _header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII without spaces, at most ``limit``
    characters, NILVALUE when empty."""
    value = _NOT_PRINTUSASCII.sub("_", value)[:limit]
    return value or NIL


def rfc5424(
    msg: str,
    *,
    severity: str,
    ts_iso: str,
    hostname: str,
    app: str = "otsec",
    procid: str,
    msgid: str = "alert",
    facility: int = FACILITY_LOCAL0,
) -> bytes:
    """One RFC 5424 message (no framing) with no structured data and no BOM, so MSG starts
    with ``CEF:`` or ``LEEF:``. Unknown severities are sent as notice."""
    pri = facility * 8 + SYSLOG_SEVERITY.get(severity, 5)
    timestamp = ts_iso if _TIMESTAMP.fullmatch(ts_iso) else NIL
    head = " ".join(
        (
            f"<{pri}>1",
            timestamp,
            _header_field(hostname, 255),
            _header_field(app, 48),
            _header_field(procid, 128),
            _header_field(msgid, 32),
            NIL,
        )
    )
    return f"{head} {msg}".encode() if msg else head.encode()


def parse_url(url: str) -> tuple[str, str, int]:
    """``udp://HOST:PORT``, ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (IPv6 in brackets)
    as (scheme, host, port); SinkError otherwise."""
    bad = SinkError(f"{url}: not a syslog URL (expected udp://, tcp:// or tls://HOST:PORT)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad from None
    host = parts.hostname
    if (
        parts.scheme not in _SCHEMES
        or not host
        or port is None
        or port == 0
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or any(c.isspace() for c in url)
    ):
        raise bad
    return parts.scheme, host, port


def _reason(exc: BaseException) -> str:
    """A short one-line reason for a socket or TLS error."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verify failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class SyslogSink:
    """Alert documents to a syslog receiver, CEF or LEEF inside RFC 5424.

    Counters: ``sent`` (messages handed to the network), ``dropped`` (queue full, or
    still queued when ``close`` gave up), ``truncated`` (UDP messages cut to one
    datagram); ``error`` is the latest one-line warning, or None.
    """

    def __init__(
        self,
        url: str,
        fmt: str = "cef",
        *,
        ca_file: str | None = None,
        verify: bool = True,
        hostname: str | None = None,
        queue_size: int = 10000,
    ) -> None:
        self.url = url
        self.scheme, self.host, self.port = parse_url(url)
        if fmt not in _FORMATS:
            raise SinkError(f"{fmt}: unknown syslog format (expected cef or leef)")
        if queue_size < 1:
            raise SinkError(f"syslog queue size must be at least 1, not {queue_size}")
        self.fmt = fmt
        self._format = _FORMATS[fmt]
        self._tls: ssl.SSLContext | None = None
        if self.scheme == "tls":
            self._tls = _tls_context(ca_file, verify)
        elif ca_file is not None:
            raise SinkError(f"{url}: a CA file only applies to tls:// URLs")
        self.hostname = hostname or socket.gethostname()
        self.procid = str(os.getpid())
        self.sent = 0
        self.dropped = 0
        self.truncated = 0
        self.error: str | None = None
        self._last_failure = ""
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._warned_full = False
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name=f"otsec-syslog {url}", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Messages waiting in the queue."""
        return self._queue.qsize()

    def write(self, doc: dict[str, Any]) -> None:
        """Queue one alert (or sensor) document; never blocks (drops and counts when the
        queue is full)."""
        if self._closing.is_set():
            self._drop(1)
            return
        alert = field(doc, "event.kind") == "alert"
        severity = field(doc, "ics.alert.severity") if alert else _LEVELS.get(
            field(doc, "event.severity"), "low")  # fmt: skip
        data = rfc5424(
            self._format(doc),
            severity=str(severity),
            ts_iso=str(field(doc, "@timestamp")),
            hostname=self.hostname,
            procid=self.procid,
            msgid="alert" if alert else "sensor",
        )
        if self.scheme == "udp":
            if len(data) > UDP_MAX:
                data = data[:UDP_MAX].decode("utf-8", "ignore").encode()
                self.truncated += 1
        else:
            data = b"%d %s" % (len(data), data)
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            self._drop(1)
            if not self._warned_full:
                self._warned_full = True
                size = self._queue.maxsize
                self.error = f"syslog {self.url}: queue full ({size} alerts), dropping alerts"
                if self._last_failure:
                    self.error += f" ({self._last_failure})"

    def close(self, timeout: float = 5.0) -> None:
        """Send what can be sent within ``timeout`` seconds, then close the connection;
        messages left over are counted as dropped."""
        before = self.dropped
        self._deadline = time.monotonic() + timeout
        self._closing.set()
        self._thread.join(timeout + 1.0)
        left = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            left += 1
        self._drop(left)
        if self.dropped > before:
            self.error = f"syslog {self.url}: {self.dropped} alerts not sent"
            if self._last_failure:
                self.error += f" ({self._last_failure})"

    def _drop(self, count: int) -> None:
        with self._lock:
            self.dropped += count

    # the sender thread

    def _run(self) -> None:
        delay = BACKOFF_FIRST
        data: bytes | None = None
        try:
            while True:
                if data is None:
                    if self._closing.is_set() and (
                        self._queue.empty() or time.monotonic() >= self._deadline
                    ):
                        return
                    try:
                        data = self._queue.get(timeout=0.1)
                    except queue.Empty:
                        continue
                if self._closing.is_set() and time.monotonic() >= self._deadline:
                    self._drop(1)
                    return
                try:
                    if self._sock is None or self._peer_closed(self._sock):
                        self._disconnect()
                        self._sock = self._connect()
                    self._sock.sendall(data)
                except (OSError, ValueError) as exc:
                    self._disconnect()
                    self._failed(exc, delay)
                    self._pause(delay)
                    delay = min(delay * 2, BACKOFF_MAX)
                    continue
                self.sent += 1
                data = None
                if delay != BACKOFF_FIRST:
                    self._recovered()
                    delay = BACKOFF_FIRST
        finally:
            self._disconnect(clean=True)

    def _pause(self, seconds: float) -> None:
        """Back off; ``close`` cuts the pause short once (an immediate last try), after
        which pauses end at the close deadline."""
        if self._closing.is_set():
            time.sleep(min(seconds, max(0.0, self._deadline - time.monotonic())))
        else:
            self._closing.wait(seconds)

    def _failed(self, exc: BaseException, delay: float) -> None:
        self._last_failure = _reason(exc)
        self.error = (
            f"syslog {self.url}: cannot send ({self._last_failure}); "
            f"retrying in {delay:g} s, alerts are queued"
        )
        if self.dropped:
            self.error += f", {self.dropped} dropped (queue full)"

    def _recovered(self) -> None:
        """Sending works again: the warning goes, unless alerts were lost meanwhile."""
        if self.dropped:
            self.error = (
                f"syslog {self.url}: {self.dropped} alerts dropped while the receiver "
                f"was unreachable ({self._last_failure})"
            )
        else:
            self.error = None

    def _connect(self) -> socket.socket:
        kind = socket.SOCK_DGRAM if self.scheme == "udp" else socket.SOCK_STREAM
        last: OSError = OSError(f"no address for {self.host}")
        for family, stype, proto, _name, addr in socket.getaddrinfo(
            self.host, self.port, type=kind
        ):
            sock = socket.socket(family, stype, proto)
            try:
                sock.settimeout(self._io_timeout())
                sock.connect(addr)
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except OSError as exc:
                sock.close()
                last = exc
                if isinstance(exc, ssl.SSLError):
                    break  # a handshake failure will not get better on another address
                continue
            return sock
        raise last

    def _io_timeout(self) -> float:
        """Socket timeout: short once ``close`` has set a deadline."""
        return max(0.1, min(_IO_TIMEOUT, self._deadline - time.monotonic()))

    def _peer_closed(self, sock: socket.socket) -> bool:
        """A stream receiver never sends: readable means it closed (or reset) the
        connection, so reconnect rather than write into a dead socket."""
        if self.scheme == "udp":
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        try:
            sock.setblocking(False)
            try:
                return not sock.recv(1)
            finally:
                sock.settimeout(self._io_timeout())
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        except OSError:
            return True

    def _disconnect(self, clean: bool = False) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if clean and isinstance(sock, ssl.SSLSocket):
            with contextlib.suppress(OSError, ValueError):
                sock.settimeout(1.0)
                sock = sock.unwrap()  # TLS close_notify, so the receiver sees a clean end
        with contextlib.suppress(OSError):
            sock.close()


def _tls_context(ca_file: str | None, verify: bool) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise SinkError(f"{ca_file}: cannot load CA certificates ({_reason(exc)})") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
