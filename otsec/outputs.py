"""Where alerts, events and assets go besides the console: settings and fan-out.

The configuration file's ``[sensor]``, ``[output]``, ``[elasticsearch]`` and ``[syslog]``
sections, completed by the command line and the environment, become an
:class:`OutputSettings`; :class:`Outputs` opens the sinks and hands every document to the
ones that want it. Secrets (the Elasticsearch API key and password) come from the file or
from ``OTSEC_ES_API_KEY`` / ``OTSEC_ES_PASSWORD`` (the environment wins) and never
appear in a message, a log line or a ``repr``.

What goes where:
- alerts: the alerts file, Elasticsearch (``logs-otsec.alert-<ns>``) and syslog (CEF/LEEF);
- protocol events and anomalies: Elasticsearch only when ``events = true`` (off by
  default: a busy plant makes millions a day);
- assets: the fleet inventory index ``otsec-assets-<ns>`` at the end of a run (and at
  checkpoints of a live capture), one document per asset, replaced by id;
- sensor documents of a live capture (started, stopped, kernel drops, periodic status):
  Elasticsearch (``logs-otsec.sensor-<ns>``) and syslog.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otsec.config import ConfigError, Settings
from otsec.sinks.ecs import asset_doc, asset_id, observer
from otsec.sinks.jsonl import SinkError

if TYPE_CHECKING:  # the client libraries load only when a SIEM output is configured
    from otsec.sinks.elastic import ElasticSettings, ElasticSink
    from otsec.sinks.syslog import SyslogSink


@dataclass(frozen=True, slots=True)
class OutputSettings:
    #: ``observer.name`` of every document (default: the host name).
    sensor: str = field(default_factory=socket.gethostname)
    #: JSON-lines files rotate at this size (0: never) and keep this many old files.
    max_bytes: int = 0
    backups: int = 5
    elastic: ElasticSettings | None = None
    #: Send protocol events and anomalies to Elasticsearch too (alerts and assets always).
    es_events: bool = False
    syslog: str | None = None
    syslog_format: str = "cef"
    syslog_ca: str | None = None
    syslog_verify: bool = True


_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "sensor": {"name": str},
    "output": {"max_bytes": int, "backups": int, "alerts": str, "events": str},
    "elasticsearch": {
        "url": str, "namespace": str, "api_key": str, "username": str, "password": str,
        "ca_file": str, "verify": bool, "spool_dir": str, "spool_max_bytes": int,
        "queue_size": int, "events": bool, "data_streams": bool,
        "request_timeout": (int, float), "server_mode": str,
    },
    "syslog": {"url": str, "format": str, "ca_file": str, "verify": bool},
}  # fmt: skip


def _checked(outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section, values in outputs.items():
        keys = _KEYS[section]
        for key, value in values.items():
            want = keys.get(key)
            if want is None:
                raise ConfigError(f"unknown setting [{section}] {key}")
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise ConfigError(f"[{section}] {key} has the wrong type ({type(value).__name__})")
        out[section] = dict(values)
    return out


def load_outputs(
    settings: Settings, *, es_url: str | None = None, es_namespace: str | None = None,
    es_events: bool | None = None, syslog: str | None = None,
    syslog_format: str | None = None, sensor: str | None = None,
    env: Mapping[str, str] | None = None,
) -> OutputSettings:  # fmt: skip
    """The output settings: the command line over the environment over the file."""
    env = os.environ if env is None else env
    conf = _checked(settings.outputs)
    es = conf.get("elasticsearch", {})
    out = conf.get("output", {})
    elastic = None
    url = es_url or es.get("url")
    if url:
        from otsec.sinks.elastic import ElasticSettings  # noqa: PLC0415

        namespace = es_namespace or es.get("namespace", "default")
        api_key = env.get("OTSEC_ES_API_KEY") or es.get("api_key")
        password = env.get("OTSEC_ES_PASSWORD") or es.get("password")
        username = es.get("username")
        try:
            elastic = ElasticSettings(
                url=url, namespace=namespace, api_key=api_key, username=username,
                password=password, ca_file=es.get("ca_file"), verify=es.get("verify", True),
                spool_dir=es.get("spool_dir", "otsec-out/spool"),
                spool_max_bytes=es.get("spool_max_bytes", 1 << 30),
                queue_size=es.get("queue_size", 10_000),
                data_streams=es.get("data_streams", True),
                request_timeout=float(es.get("request_timeout", 30.0)),
                server_mode=es.get("server_mode", "stack"),
            )  # fmt: skip
        except ValueError as exc:  # its messages never carry secrets
            raise ConfigError(f"[elasticsearch] {exc}") from None
    sl = conf.get("syslog", {})
    fmt = syslog_format or sl.get("format", "cef")
    if fmt not in ("cef", "leef"):
        raise ConfigError(f"syslog format {fmt!r}: choose cef or leef")
    return OutputSettings(
        sensor=sensor_name(settings, sensor),
        max_bytes=out.get("max_bytes", 0), backups=out.get("backups", 5), elastic=elastic,
        es_events=es.get("events", False) if es_events is None else es_events,
        syslog=syslog or sl.get("url"), syslog_format=fmt, syslog_ca=sl.get("ca_file"),
        syslog_verify=sl.get("verify", True),
    )  # fmt: skip


def file_limits(settings: Settings) -> tuple[int, int]:
    """``[output] max_bytes`` and ``backups``: JSON-lines files rotate at that size (0:
    never) and keep that many old files."""
    out = _checked(settings.outputs).get("output", {})
    max_bytes, backups = out.get("max_bytes", 0), out.get("backups", 5)
    if max_bytes < 0 or backups < 1:
        raise ConfigError("[output] max_bytes must be 0 or more and backups 1 or more")
    return max_bytes, backups


def file_paths(settings: Settings) -> tuple[str | None, str | None]:
    """``[output] alerts`` and ``events``: the JSON-lines files written when the command
    line names none (``--alerts``, ``--events``)."""
    out = _checked(settings.outputs).get("output", {})
    return out.get("alerts") or None, out.get("events") or None


def sensor_name(settings: Settings, override: str | None = None) -> str:
    """``observer.name``: the command line, else ``[sensor] name``, else the host name."""
    name = override or settings.outputs.get("sensor", {}).get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError("[sensor] name must be a string")
    return name or socket.gethostname()


def _dataset(doc: dict[str, Any]) -> str:
    """The Elasticsearch dataset of a document: its ``event.dataset`` without ``otsec.``."""
    return str(doc["event"]["dataset"]).removeprefix("otsec.")


class Outputs:
    """The remote sinks of a run (Elasticsearch, syslog), fed document by document."""

    def __init__(self, conf: OutputSettings, *, interface: str | None = None) -> None:
        self.conf = conf
        self.observer = observer(conf.sensor, interface)
        self.elastic: ElasticSink | None = None
        self.syslog: SyslogSink | None = None
        if conf.elastic is not None:
            from otsec.sinks.elastic import ElasticSink  # noqa: PLC0415
            from otsec.sinks.spool import SpoolError  # noqa: PLC0415

            try:
                self.elastic = ElasticSink(conf.elastic, sensor=conf.sensor)
            except (SpoolError, OSError) as exc:  # a spool in use or not writable
                where = conf.elastic.spool_dir
                raise SinkError(f"elasticsearch spool {where}: {exc}") from None
        if conf.syslog:
            from otsec.sinks.syslog import SyslogSink  # noqa: PLC0415

            try:
                self.syslog = SyslogSink(conf.syslog, conf.syslog_format,
                                         ca_file=conf.syslog_ca, verify=conf.syslog_verify,
                                         hostname=conf.sensor)  # fmt: skip
            except SinkError:
                if self.elastic is not None:
                    self.elastic.close(timeout=0)
                raise

    @property
    def events(self) -> bool:
        """Protocol events and anomalies are wanted."""
        return self.elastic is not None and self.conf.es_events

    def alert(self, doc: dict[str, Any]) -> None:
        """An alert, or a sensor document (capture started/stopped, drops, status): to
        Elasticsearch (``logs-otsec.alert-<ns>``, ``logs-otsec.sensor-<ns>``) and syslog,
        whether or not events are sent."""
        if self.elastic is not None:
            self.elastic.write(doc, _dataset(doc))
        if self.syslog is not None:
            self.syslog.write(doc)

    sensor = alert

    def event(self, doc: dict[str, Any]) -> None:
        """A protocol transaction or anomaly document."""
        if self.elastic is not None:
            self.elastic.write(doc, _dataset(doc))

    def assets(self, inventory: dict[str, Any]) -> int:
        """Upsert every asset of an inventory document into the fleet index."""
        if self.elastic is None:
            return 0
        ns = self.elastic.settings.namespace
        for asset in inventory["assets"]:
            doc = asset_doc(asset, namespace=ns, obs=self.observer)
            self.elastic.upsert_asset(doc, asset_id(asset["ip"], ns))
        return len(inventory["assets"])

    def close(self, timeout: float = 30.0) -> dict[str, Any]:
        """Flush and close; what each sink did (for the summary)."""
        out: dict[str, Any] = {}
        if self.elastic is not None:
            self.elastic.close(timeout=timeout)
            out["elasticsearch"] = {**self.elastic.stats(), "error": self.elastic.error}
        if self.syslog is not None:
            self.syslog.close()
            out["syslog"] = {"sent": self.syslog.sent, "dropped": self.syslog.dropped,
                             "error": self.syslog.error}  # fmt: skip
        return out
