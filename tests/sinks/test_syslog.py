"""Syslog output: the RFC 5424 framer, URL parsing, and SyslogSink against a real rsyslog
(UDP, TCP with octet counting, TLS with a throw-away CA), including a receiver that is
down at first and a TLS peer whose certificate does not verify."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from otsec.sinks.cef import cef_message, leef_message
from otsec.sinks.jsonl import SinkError
from otsec.sinks.syslog import UDP_MAX, SyslogSink, parse_url, rfc5424
from tests.sinks.test_cef import alert, parse_cef, parse_leef

WAIT = 10.0  # generous upper bound for anything to arrive; tests poll and return early

# the RFC 5424 framer and URL parsing (no daemon needed)


def test_rfc5424_message() -> None:
    data = rfc5424(
        "CEF:0|x",
        severity="critical",
        ts_iso="2026-01-06T15:00:25.407696Z",
        hostname="sensor-01",
        procid="4242",
    )
    assert data == b"<130>1 2026-01-06T15:00:25.407696Z sensor-01 otsec 4242 alert - CEF:0|x"


@pytest.mark.parametrize(
    ("severity", "pri"), [("critical", 130), ("high", 131), ("medium", 132), ("low", 133)]
)
def test_rfc5424_pri(severity: str, pri: int) -> None:
    data = rfc5424("m", severity=severity, ts_iso="", hostname="h", procid="1")
    assert data == f"<{pri}>1 - h otsec 1 alert - m".encode()
    local7 = rfc5424("m", severity=severity, ts_iso="", hostname="h", procid="1", facility=23)
    assert local7.startswith(f"<{pri - 128 + 184}>1 ".encode())


def test_rfc5424_facility_and_nil_values() -> None:
    data = rfc5424(
        "", severity="??", ts_iso="yesterday", hostname="", app="", procid="", msgid="", facility=1
    )
    assert data == b"<13>1 - - - - - -"


def test_rfc5424_header_fields_are_printable_ascii() -> None:
    data = rfc5424(
        "Ü",
        severity="low",
        ts_iso="2026-01-06T15:00:25+01:00",
        hostname="my host\n" + "x" * 300,
        procid="1",
    )
    head, _, msg = data.decode().partition(" - ")
    assert head == "<133>1 2026-01-06T15:00:25+01:00 my_host_" + "x" * 247 + " otsec 1 alert"
    assert msg == "Ü" and not data.split(b" - ", 1)[1].startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("udp://127.0.0.1:514", ("udp", "127.0.0.1", 514)),
        ("tcp://siem.example:10514", ("tcp", "siem.example", 10514)),
        ("tls://[::1]:6514", ("tls", "::1", 6514)),
    ],
)
def test_url_parsing(url: str, expected: tuple[str, str, int]) -> None:
    assert parse_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "udp://127.0.0.1",
        "http://h:514",
        "tcp://:514",
        "tcp://h:0",
        "tcp://h:99999",
        "tcp://h:51x",
        "tcp://h:514/path",
        "tcp://u@h:514",
        "tcp://h:514?x=1",
        "h:514",
        "tcp://::1:514",
        "tcp://h :514",
        "",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(SinkError) as info:
        SyslogSink(url)
    assert "\n" not in str(info.value)


def test_bad_format_and_options(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="unknown syslog format"):
        SyslogSink("udp://127.0.0.1:514", "json")
    with pytest.raises(SinkError, match="only applies to tls"):
        SyslogSink("tcp://127.0.0.1:514", ca_file="ca.pem")
    with pytest.raises(SinkError, match="cannot load CA"):
        SyslogSink("tls://127.0.0.1:6514", ca_file=str(tmp_path / "missing.pem"))


# a real rsyslog

RSYSLOGD = shutil.which("rsyslogd") or next(
    (p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.access(p, os.X_OK)), None
)
needs_rsyslog = pytest.mark.skipif(RSYSLOGD is None, reason="rsyslogd is not installed")

TEMPLATE = """template(name="otsecJson" type="list") {
  constant(value="{\\"input\\":\\"") property(name="inputname" format="json")
  constant(value="\\",\\"pri\\":\\"") property(name="pri" format="json")
  constant(value="\\",\\"time\\":\\"") property(name="timereported" dateFormat="rfc3339")
  constant(value="\\",\\"host\\":\\"") property(name="hostname" format="json")
  constant(value="\\",\\"app\\":\\"") property(name="app-name" format="json")
  constant(value="\\",\\"procid\\":\\"") property(name="procid" format="json")
  constant(value="\\",\\"msgid\\":\\"") property(name="msgid" format="json")
  constant(value="\\",\\"sd\\":\\"") property(name="structured-data" format="json")
  constant(value="\\",\\"msg\\":\\"") property(name="msg" format="json")
  constant(value="\\"}\\n")
}
"""


def _free_port(kind: int, host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _ipv6_loopback() -> bool:
    try:
        _free_port(socket.SOCK_STREAM, "::1")
    except OSError:
        return False
    return True


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> None:
    """A throw-away CA (NAME.pem, NAME.key) and a server certificate it signs for
    127.0.0.1, ::1 and localhost (NAME-server.pem, NAME-server.key)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.pem",
        "-days",
        "2",
        "-subj",
        f"/CN=otsec test {name}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    _openssl(
        "req",
        *ec,
        "-keyout",
        f"{name}-server.key",
        "-out",
        f"{name}-server.csr",
        "-subj",
        "/CN=localhost",
        cwd=directory,
    )
    (directory / f"{name}-ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}-server.csr",
        "-CA",
        f"{name}.pem",
        "-CAkey",
        f"{name}.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        f"{name}-ext.cnf",
        "-out",
        f"{name}-server.pem",
        cwd=directory,
    )


class Rsyslog:
    """One rsyslogd in a scratch folder, writing every message it receives as a JSON
    line (the parsed RFC 5424 parts) to received.log."""

    def __init__(
        self,
        directory: Path,
        *,
        udp: int | None = None,
        tcp: int | None = None,
        tls: int | None = None,
        tcp6: int | None = None,
    ) -> None:
        self.dir = directory
        self.udp, self.tcp, self.tls, self.tcp6 = udp, tcp, tls, tcp6
        self.out = directory / "received.log"
        self.proc: subprocess.Popen[bytes] | None = None
        (directory / "work").mkdir(parents=True, exist_ok=True)
        make_ca(directory, "ca")
        inputs = []
        if udp:
            inputs.append(f'input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="t")')
        if tcp:
            inputs.append(f'input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="t")')
        if tcp6:
            inputs.append(f'input(type="imtcp" address="::1" port="{tcp6}" ruleset="t")')
        if tls:
            inputs.append(
                f'input(type="imtcp" address="127.0.0.1" port="{tls}" ruleset="t" '
                'streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")'
            )
        d = directory
        self.conf = d / "rsyslog.conf"
        self.conf.write_text(
            f'global(workDirectory="{d}/work" maxMessageSize="128k"\n'
            f'  defaultNetstreamDriverCAFile="{d}/ca.pem"\n'
            f'  defaultNetstreamDriverCertFile="{d}/ca-server.pem"\n'
            f'  defaultNetstreamDriverKeyFile="{d}/ca-server.key")\n'
            + ('module(load="imudp")\n' if udp else "")
            + ('module(load="imtcp")\n' if tcp or tls or tcp6 else "")
            + TEMPLATE
            + f'ruleset(name="t") {{ action(type="omfile" file="{self.out}" '
            'template="otsecJson") }\n' + "\n".join(inputs) + "\n"
        )

    def start(self) -> None:
        assert RSYSLOGD is not None
        check = subprocess.run(
            [RSYSLOGD, "-N1", "-f", str(self.conf)], capture_output=True, check=False
        )
        assert check.returncode == 0, check.stderr.decode()
        log = (self.dir / "rsyslogd.stderr").open("wb")
        self.proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.dir / "rsyslogd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + WAIT
        for host, port in (("127.0.0.1", self.tcp), ("127.0.0.1", self.tls), ("::1", self.tcp6)):
            if port:
                _wait_until(lambda h=host, p=port: _accepts(h, p), deadline, f"port {port}")
        if self.udp:
            self._wait_udp(deadline)

    def _wait_udp(self, deadline: float) -> None:
        """imudp gives no sign that it listens: send probes until one arrives."""
        assert self.udp
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:

            def probe_arrived() -> bool:
                s.sendto(
                    rfc5424(
                        "probe",
                        severity="low",
                        ts_iso="",
                        hostname="probe",
                        procid="0",
                        msgid="probe",
                    ),
                    ("127.0.0.1", self.udp or 0),
                )
                return bool(self.lines("probe"))

            _wait_until(probe_arrived, deadline, "imudp")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        """What rsyslogd reported about itself (stderr)."""
        return (self.dir / "rsyslogd.stderr").read_text(errors="replace")

    def lines(self, host: str) -> list[dict[str, str]]:
        """The messages received so far from ``host``."""
        if not self.out.exists():
            return []
        text = self.out.read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line.endswith("}")]
        return [r for r in rows if r["host"] == host]

    def wait(self, host: str, count: int) -> list[dict[str, str]]:
        """Wait (polling) for ``count`` messages from ``host``; fail after WAIT seconds."""
        _wait_until(
            lambda: len(self.lines(host)) >= count,
            time.monotonic() + WAIT,
            f"{count} messages from {host}: got {self.lines(host)}",
        )
        return self.lines(host)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_until(check: Callable[[], bool], deadline: float, what: str) -> None:
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rsyslog]:
    if RSYSLOGD is None:
        pytest.skip("rsyslogd is not installed")
    tcp6 = _free_port(socket.SOCK_STREAM, "::1") if _ipv6_loopback() else None
    daemon = Rsyslog(
        tmp_path_factory.mktemp("rsyslog"),
        udp=_free_port(socket.SOCK_DGRAM),
        tcp=_free_port(socket.SOCK_STREAM),
        tls=_free_port(socket.SOCK_STREAM),
        tcp6=tcp6,
    )
    daemon.start()
    yield daemon
    daemon.stop()


def hostile_docs() -> list[dict[str, Any]]:
    """Alert documents whose values need escaping, one without destination."""
    return [
        alert(),
        alert(
            rule__name="pipe|back\\slash=eq",
            message="a=b\\c|d\nnew line\rcr ^caret Ünïcode ✓",
            ics__alert__severity="critical",
            event__id="e2",
        ),
        alert(destination=None, ics__function=None, ics__alert__severity="low", event__id="e3"),
    ]


PRI = {"low": "133", "medium": "132", "high": "131", "critical": "130"}


def check_received(
    rows: list[dict[str, str]], docs: list[dict[str, Any]], host: str, fmt: str = "cef"
) -> None:
    """Each row is the doc's exact CEF/LEEF line with the right syslog header parts."""
    assert len(rows) == len(docs)
    for row, doc in zip(rows, docs, strict=True):
        assert row["pri"] == PRI[doc["ics"]["alert"]["severity"]]
        assert row["host"] == host and row["app"] == "otsec" and row["msgid"] == "alert"
        assert row["procid"] == str(os.getpid()) and row["sd"] == "-"
        assert datetime.fromisoformat(row["time"]) == datetime.fromisoformat(doc["@timestamp"])
        if fmt == "cef":
            assert row["msg"] == cef_message(doc)
            assert parse_cef(row["msg"]) == parse_cef(cef_message(doc))
        else:
            assert row["msg"] == leef_message(doc)
            assert parse_leef(row["msg"]) == parse_leef(leef_message(doc))


def send(url: str, docs: list[dict[str, Any]], host: str, **options: Any) -> SyslogSink:
    sink = SyslogSink(url, hostname=host, **options)
    for doc in docs:
        sink.write(doc)
    return sink


@needs_rsyslog
def test_udp_delivers_cef(rsyslog: Rsyslog) -> None:
    docs = hostile_docs()
    sink = send(f"udp://127.0.0.1:{rsyslog.udp}", docs, "udp-cef")
    rows = rsyslog.wait("udp-cef", len(docs))
    sink.close()
    check_received(rows, docs, "udp-cef")
    assert rows[0]["input"] == "imudp"
    assert (sink.sent, sink.dropped, sink.error) == (3, 0, None)


@needs_rsyslog
def test_udp_truncates_one_datagram(rsyslog: Rsyslog) -> None:
    # formatters cap each value, but LEEF with many long values still exceeds a datagram
    big = "é" * 5000
    doc = alert(
        message=big,
        rule__name=big,
        event__action=big,
        event__id=big,
        ics__function__name=big,
        network__protocol=big,
        network__transport=big,
        source__ip=big,
        destination__ip=big,
    )
    sink = send(f"udp://127.0.0.1:{rsyslog.udp}", [doc], "udp-long", fmt="leef")
    (row,) = rsyslog.wait("udp-long", 1)
    sink.close()
    assert sink.truncated == 1 and sink.sent == 1
    header = rfc5424(
        "", severity="high", ts_iso=doc["@timestamp"], hostname="udp-long", procid=str(os.getpid())
    )
    # cut on a character boundary, within one datagram
    full = leef_message(doc)
    assert len(full.encode()) > UDP_MAX
    assert UDP_MAX - 2 <= len(header) + 1 + len(row["msg"].encode()) <= UDP_MAX
    assert full.startswith(row["msg"])


@needs_rsyslog
def test_tcp_delivers_cef(rsyslog: Rsyslog) -> None:
    docs = hostile_docs()
    sink = send(f"tcp://127.0.0.1:{rsyslog.tcp}", docs, "tcp-cef")
    sink.close()
    assert (sink.sent, sink.dropped, sink.error) == (3, 0, None)
    rows = rsyslog.wait("tcp-cef", len(docs))
    check_received(rows, docs, "tcp-cef")
    assert rows[0]["input"] == "imtcp"


@needs_rsyslog
def test_tcp_delivers_leef(rsyslog: Rsyslog) -> None:
    docs = hostile_docs()
    sink = send(f"tcp://127.0.0.1:{rsyslog.tcp}", docs, "tcp-leef", fmt="leef")
    sink.close()
    check_received(rsyslog.wait("tcp-leef", len(docs)), docs, "tcp-leef", fmt="leef")


@needs_rsyslog
def test_tcp_messages_never_merge(rsyslog: Rsyslog) -> None:
    docs = [
        alert(message="first\n<131>1 - fake otsec 1 alert - CEF:0|x"),
        alert(message="x" * 20000),
        alert(message=""),
    ]
    sink = send(f"tcp://127.0.0.1:{rsyslog.tcp}", docs, "tcp-merge")
    sink.close()
    time.sleep(0.3)  # would a merged or split message show up as an extra row?
    rows = rsyslog.wait("tcp-merge", len(docs))
    assert not rsyslog.lines("fake")
    assert [r["msg"] for r in rows] == [cef_message(d) for d in docs]


@needs_rsyslog
def test_tcp_over_ipv6(rsyslog: Rsyslog) -> None:
    if rsyslog.tcp6 is None:
        pytest.skip("no IPv6 loopback")
    docs = hostile_docs()[:1]
    sink = send(f"tcp://[::1]:{rsyslog.tcp6}", docs, "tcp6")
    sink.close()
    check_received(rsyslog.wait("tcp6", 1), docs, "tcp6")


@needs_rsyslog
def test_tls_delivers_cef(rsyslog: Rsyslog) -> None:
    docs = hostile_docs()
    ca = str(rsyslog.dir / "ca.pem")
    unclean = rsyslog.log().count("non-properly terminated")
    sink = send(f"tls://127.0.0.1:{rsyslog.tls}", docs, "tls-cef", ca_file=ca)
    sink.close()
    assert (sink.sent, sink.dropped, sink.error) == (3, 0, None)
    check_received(rsyslog.wait("tls-cef", len(docs)), docs, "tls-cef")
    # the sink ends the session with a TLS close_notify, which rsyslog would complain about
    assert rsyslog.log().count("non-properly terminated") == unclean


@needs_rsyslog
def test_tls_without_verification_when_asked(rsyslog: Rsyslog) -> None:
    sink = send(f"tls://127.0.0.1:{rsyslog.tls}", [alert()], "tls-noverify", verify=False)
    sink.close()
    check_received(rsyslog.wait("tls-noverify", 1), [alert()], "tls-noverify")


@needs_rsyslog
def test_tls_with_the_wrong_ca_never_sends(rsyslog: Rsyslog, tmp_path: Path) -> None:
    make_ca(tmp_path, "other")
    sink = send(
        f"tls://127.0.0.1:{rsyslog.tls}",
        [alert(), alert()],
        "tls-wrong-ca",
        ca_file=str(tmp_path / "other.pem"),
    )
    _wait_until(lambda: sink.error is not None, time.monotonic() + WAIT, "a TLS error")
    assert "certificate verify failed" in (sink.error or "")
    assert "\n" not in (sink.error or "")
    sink.close(timeout=0.5)
    assert sink.sent == 0 and sink.dropped == 2
    assert "2 alerts not sent" in (sink.error or "")
    # the system CA store does not know the throw-away CA either
    default = send(f"tls://127.0.0.1:{rsyslog.tls}", [alert()], "tls-wrong-ca")
    _wait_until(lambda: default.error is not None, time.monotonic() + WAIT, "a TLS error")
    default.close(timeout=0.5)
    assert default.sent == 0 and "certificate verify failed" in (default.error or "")
    # a message received after them (over plain TCP) proves the TLS ones never arrived
    marker = send(f"tcp://127.0.0.1:{rsyslog.tcp}", [alert()], "tls-wrong-ca-marker")
    marker.close()
    rsyslog.wait("tls-wrong-ca-marker", 1)
    assert rsyslog.lines("tls-wrong-ca") == []


@needs_rsyslog
def test_close_with_the_receiver_down_counts_what_was_not_sent() -> None:
    port = _free_port(socket.SOCK_STREAM)
    sink = send(f"tcp://127.0.0.1:{port}", [alert()] * 3, "down")
    started = time.monotonic()
    sink.close(timeout=1.0)
    assert time.monotonic() - started < 3.0
    assert (sink.sent, sink.dropped) == (0, 3)
    assert sink.error is not None and "3 alerts not sent" in sink.error
    assert "refused" in sink.error.lower()
    sink.write(alert())  # after close: counted, not queued
    assert sink.dropped == 4


@needs_rsyslog
def test_receiver_down_then_up(tmp_path: Path) -> None:
    """write() never blocks while the receiver is down; queued alerts arrive once it is
    up, alerts beyond the queue are dropped and counted."""
    port = _free_port(socket.SOCK_STREAM)
    docs = [alert(event__id=f"id{i}", message=f"alert {i}") for i in range(6)]
    sink = SyslogSink(f"tcp://127.0.0.1:{port}", hostname="late", queue_size=3)
    sink.write(docs[0])
    _wait_until(lambda: sink.error is not None, time.monotonic() + WAIT, "a connect error")
    started = time.monotonic()
    for doc in docs[1:]:
        sink.write(doc)  # the sender holds docs[0]; three fit in the queue
    assert time.monotonic() - started < 0.5
    assert sink.sent == 0 and sink.pending == 3 and sink.dropped == 2
    assert sink.error is not None and "queue full" in sink.error
    daemon = Rsyslog(tmp_path / "late", tcp=port)
    daemon.start()
    try:
        rows = daemon.wait("late", 4)
        sink.close()
        assert [r["msg"] for r in rows] == [cef_message(d) for d in docs[:4]]
        assert (sink.sent, sink.dropped, sink.pending) == (4, 2, 0)
        assert sink.error is not None and "2 alerts dropped" in sink.error
    finally:
        daemon.stop()


@needs_rsyslog
def test_receiver_restart_reconnects(tmp_path: Path) -> None:
    port = _free_port(socket.SOCK_STREAM)
    daemon = Rsyslog(tmp_path / "first", tcp=port)
    daemon.start()
    sink = SyslogSink(f"tcp://127.0.0.1:{port}", hostname="restart")
    try:
        sink.write(alert(message="before"))
        daemon.wait("restart", 1)
        daemon.stop()
        daemon = Rsyslog(tmp_path / "second", tcp=port)
        daemon.start()
        sink.write(alert(message="after"))
        rows = daemon.wait("restart", 1)
        assert rows[0]["msg"] == cef_message(alert(message="after"))
    finally:
        sink.close()
        daemon.stop()
    assert (sink.sent, sink.dropped, sink.error) == (2, 0, None)


@needs_rsyslog
def test_sensor_documents_reach_syslog_as_sensor_events(rsyslog: Rsyslog) -> None:
    from otsec.sinks.ecs import observer, sensor_doc

    obs = observer("sensor-01", "eth1")
    counters = {"capture": {"interface": "eth1", "received": 10, "dropped_kernel": 4}}
    docs = [
        sensor_doc("capture-drops", 1_767_000_000.5, "the kernel dropped 4 packets", counters,
                   obs, "medium"),
        sensor_doc("status", 1_767_000_001.0, "capturing on eth1: 9 packets/s", counters, obs),
    ]  # fmt: skip
    sink = send(f"tcp://127.0.0.1:{rsyslog.tcp}", docs, "tcp-sensor")
    rows = rsyslog.wait("tcp-sensor", 2)
    sink.close()
    assert [r["msgid"] for r in rows] == ["sensor", "sensor"]
    assert [int(r["pri"]) for r in rows] == [16 * 8 + 4, 16 * 8 + 5]  # warning, notice
    drops = rows[0]["msg"].split("|")
    assert drops[4:7] == ["otsec.sensor.capture-drops", "the kernel dropped 4 packets", "5"]
    assert rows[1]["msg"].split("|")[4] == "otsec.sensor.status"
