"""The Elasticsearch sink: loses nothing, doubles nothing.

``write`` never blocks the monitor: documents go on a bounded in-memory queue, or to the
on-disk spool (``spool.py``) when the queue is full, when the spool already holds older
documents, or while Elasticsearch is unreachable. One daemon thread sends them with
``elasticsearch.helpers.streaming_bulk``, spooled documents first (FIFO).

Every document is sent with op ``create`` and a deterministic ``_id`` (``event.id``, else a
SHA-1 of its canonical JSON), so sending it again after an outage, a lost response or a
crash is harmless: Elasticsearch answers 409 for the copy and the sink counts it as
delivered (and as a duplicate). Assets are the exception: they go with op ``index`` and
``_id = asset id`` to a plain index, with an external version (the time of the update in
microseconds, ``external_gte``), so a stale view that arrives late gets a 409 and never
replaces a newer one.

What happens on failure:

- item 429 / whole-request 429, 502, 503, 504: ``streaming_bulk`` retries with backoff;
  what still fails goes (back) to the spool and the sink pauses with a capped exponential
  backoff (1 s doubling to 60 s by default) before sending from the spool again;
- connection errors and timeouts: the same, and the documents in flight and in the queue
  are moved to the spool first;
- the server is not Elasticsearch (no ``X-Elastic-Product`` header), HTTP 401/403, a TLS
  verification failure, or a whole request refused with another 4xx: a configuration error
  in ``error``; documents stay in the spool and the sink tries again only every 5 minutes
  (not at all once closing), so a misconfigured sensor does not hammer the cluster;
- an item refused with another 4xx (a mapping error, an ``index`` op on a data stream):
  the document and the reason go to ``dead-letter.jsonl`` in the spool directory and are
  never retried.

``close`` sends what it can within its timeout; the rest stays in the spool, fsync'd, and
the next start sends it. Secrets (API key, password) never appear in ``error``, in log
records or in ``repr(settings)``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import math
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch, SSLError, TransportError, UnsupportedProductError
from elasticsearch.helpers import BULK_FLUSH, streaming_bulk
from elasticsearch.serializer import OrjsonSerializer

from otsec.sinks.spool import Batch, Position, Spool

log = logging.getLogger(__name__)

DEAD_LETTER = "dead-letter.jsonl"
#: Data stream dataset and namespace names: lower case, no '-', at most 100 characters.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.]{0,99}$")
_RETRY_STATUS = (429, 502, 503, 504)
_POLL = 0.2
_USERINFO = re.compile(r"//[^/@\s]*@")
_NOT_ES = (
    "the server is not Elasticsearch (no 'X-Elastic-Product: Elasticsearch' header on its "
    "answers); check the url"
)

Outcome = Literal["delivered", "duplicate", "dead", "retry", "config"]
Record = dict[str, Any]


@dataclass(frozen=True, slots=True, repr=False)
class ElasticSettings:
    """Where and how to send documents; validated when built (ValueError)."""

    url: str
    namespace: str = "default"
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    verify: bool = True
    spool_dir: str = "otsec-out/spool"
    spool_max_bytes: int = 1 << 30
    queue_size: int = 10_000
    data_streams: bool = True
    request_timeout: float = 30.0
    flush_seconds: float = 1.0
    #: "stack" (Elasticsearch) or "serverless" (Elastic Cloud Serverless, and servers that
    #: speak the REST API without the versioned media types, such as osmem).
    server_mode: str = "stack"

    def __post_init__(self) -> None:
        hosts = self.hosts()
        if not hosts:
            raise ValueError("elasticsearch url is empty")
        for host in hosts:
            if not host.lower().startswith(("http://", "https://")):
                raise ValueError(
                    f"elasticsearch url {_USERINFO.sub('//***@', host)!r} must start with "
                    "http:// or https://"
                )
        if not _NAME.match(self.namespace):
            raise ValueError(
                f"namespace {self.namespace!r} is not valid: use lower-case letters, digits, "
                "'_' and '.', no '-', at most 100 characters"
            )
        if self.api_key is not None and self.username is not None:
            raise ValueError("give either an API key or a user name and password, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("basic authentication needs both a user name and a password")
        if self.server_mode not in ("stack", "serverless"):
            raise ValueError(f"server_mode {self.server_mode!r}: choose stack or serverless")
        for name in ("spool_max_bytes", "queue_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("request_timeout", "flush_seconds"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds")

    def redact(self, text: str, limit: int = 1000) -> str:
        """``text`` on one line without the API key, the password (also as the basic
        authentication header encodes it) or credentials written into a URL."""
        secrets = [s for s in (self.api_key, self.password) if s]
        if self.username is not None and self.password:
            pair = f"{self.username}:{self.password}".encode()
            secrets.append(base64.b64encode(pair).decode())
        for secret in secrets:
            text = text.replace(secret, "***")
        return " ".join(_USERINFO.sub("//***@", text).split())[:limit]

    def hosts(self) -> list[str]:
        """The node URLs (``url`` may list several, comma-separated)."""
        return [h.strip() for h in self.url.split(",") if h.strip()]

    def index(self, dataset: str) -> str:
        """Where documents of a dataset go: a data stream or a plain index."""
        if self.data_streams:
            return f"logs-otsec.{dataset}-{self.namespace}"
        return f"otsec-{dataset}-{self.namespace}"

    @property
    def asset_index(self) -> str:
        """The plain index of the fleet asset inventory."""
        return f"otsec-assets-{self.namespace}"

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("api_key", "password") and value is not None:
                value = "***"
            elif f.name == "url":
                value = _USERINFO.sub("//***@", value)
            parts.append(f"{f.name}={value!r}")
        return f"ElasticSettings({', '.join(parts)})"


def document_id(doc: dict[str, Any]) -> str:
    """The deterministic ``_id`` of an event document: ``event.id``, else the SHA-1 of
    its canonical JSON (sorted keys, compact)."""
    event = doc.get("event")
    if isinstance(event, dict):
        value = event.get("id")
        if isinstance(value, str) and value:
            return value
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _action(rec: Record) -> dict[str, Any]:
    action = {
        "_op_type": rec["op"],
        "_index": rec["index"],
        "_id": rec["id"],
        "_source": rec["doc"],
    }
    if "version" in rec:
        action["_version"] = rec["version"]
        action["_version_type"] = "external_gte"
    return action


def _reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    else:
        text = str(error) if error is not None else "unknown error"
    return " ".join(text.split())[:500]


def _classify(ok: bool, info: dict[str, Any]) -> tuple[Outcome, int, str]:
    """What a ``streaming_bulk`` result means for the document."""
    try:
        status = int(info.get("status", 500))
    except (TypeError, ValueError):
        status = 500
    if ok:
        return "delivered", status, ""
    exc = info.get("exception")
    if isinstance(exc, UnsupportedProductError):
        return "config", status, _NOT_ES
    if status == 401:
        return "config", status, "Elasticsearch refused the credentials (HTTP 401)"
    if status == 403:
        return "config", status, "the credentials lack the privileges to write (HTTP 403)"
    if status in _RETRY_STATUS or status >= 500:
        return "retry", status, f"Elasticsearch is overloaded or failing (HTTP {status})"
    if exc is not None:  # the whole request was refused
        return "config", status, f"the bulk request was refused ({status}: {_reason(info)})"
    if status == 409:  # already stored (create), or a newer asset view is stored (index)
        return "duplicate", status, ""
    return "dead", status, _reason(info)


def client_for(settings: ElasticSettings, *, server_mode: str | None = None) -> Elasticsearch:
    """The client the sink uses: one transport retry (timeouts included), the request
    timeout, API key or basic authentication, and TLS verification (on by default, with
    ``ca_file``) for https nodes. ``server_mode="serverless"`` is for OpenSearch-compatible
    test servers such as osmem. Raises ValueError (without secrets) on bad options."""
    hosts = settings.hosts()
    options: dict[str, Any] = {
        "request_timeout": settings.request_timeout,
        "max_retries": 1,
        "retry_on_timeout": True,
        "server_mode": server_mode or settings.server_mode,
    }
    if settings.api_key:
        options["api_key"] = settings.api_key
    elif settings.username is not None:
        options["basic_auth"] = (settings.username, settings.password or "")
    if any(h.lower().startswith("https://") for h in hosts):
        options["verify_certs"] = settings.verify
        if settings.ca_file:
            options["ca_certs"] = settings.ca_file
    try:
        return Elasticsearch(hosts, serializer=OrjsonSerializer(), **options)
    except (ValueError, TypeError) as exc:
        text = str(exc)
        for secret in (settings.api_key, settings.password):
            if secret:
                text = text.replace(secret, "***")
        raise ValueError(f"elasticsearch client: {_USERINFO.sub('//***@', text)}") from None


class ElasticSink:
    """Sends ECS documents to Elasticsearch through a queue, a spool and one daemon thread.

    The keyword arguments starting with ``_`` are for tests: the backoff of the bulk
    helper and of the sink (seconds), the pause after a configuration error, the client's
    ``server_mode`` ("serverless" talks to OpenSearch-compatible servers such as osmem) and
    the bulk chunk size.
    """

    def __init__(
        self,
        settings: ElasticSettings,
        *,
        sensor: str,
        _backoff: float = 1.0,
        _max_backoff: float = 60.0,
        _config_retry: float = 300.0,
        _server_mode: str | None = None,
        _chunk_size: int = 500,
    ) -> None:
        self.settings = settings
        self.sensor = sensor
        #: The latest operational problem, one line, without secrets (None: none so far).
        self.error: str | None = None
        self._initial_backoff = _backoff
        self._max_backoff = _max_backoff
        self._config_retry = _config_retry
        self._chunk_size = _chunk_size
        self._lock = threading.RLock()  # counters, in-flight records, hand-over to the spool
        self._dead_lock = threading.Lock()
        self._counts = dict.fromkeys(
            ("produced", "delivered", "duplicates", "spooled", "dead_lettered", "dropped",
             "retries"),
            0,
        )  # fmt: skip
        self._queue: queue.Queue[Record] = queue.Queue(maxsize=settings.queue_size)
        self._inflight: dict[str, deque[Record]] = {}
        self._settled: set[Position] = set()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._closed = False
        self._abandoned = False
        self._halt = False
        self._deadline = math.inf
        self._resume_at = 0.0
        self._config_pause = False
        self._backoff = _backoff
        self._warned_full = False
        self._dead_path = Path(settings.spool_dir) / DEAD_LETTER
        self._client = client_for(settings, server_mode=_server_mode)
        self._spool = Spool(
            settings.spool_dir,
            max_bytes=settings.spool_max_bytes,
            sync_seconds=settings.flush_seconds,
        )
        if self._spool.torn:
            self._problem(f"spool {settings.spool_dir}: cut off a torn last line left by a crash")
        if self._spool.pending():
            log.info("elasticsearch: resuming the spool in %s", settings.spool_dir)
        self._thread = threading.Thread(
            target=self._run, name=f"otsec-elastic-{sensor}", daemon=True
        )
        self._thread.start()

    # -- producer side (the monitor's thread) ----------------------------------------------

    def write(self, doc: dict[str, Any], dataset: str) -> None:
        """Queue an event document for ``logs-otsec.<dataset>-<namespace>``; never blocks."""
        if not _NAME.match(dataset):
            self._count("produced")
            rec = {"index": "", "op": "create", "id": "", "doc": doc}
            self._dead_letter(rec, 0, f"invalid dataset name {dataset[:100]!r}")
            return
        self._submit({"index": self.settings.index(dataset), "op": "create", "doc": doc}, None)

    def upsert_asset(self, doc: dict[str, Any], asset_id: str) -> None:
        """Queue the current view of an asset; it replaces the stored one (by ``_id``)."""
        rec = {
            "index": self.settings.asset_index,
            "op": "index",
            "id": asset_id,
            "version": time.time_ns() // 1000,
            "doc": doc,
        }
        self._submit(rec, asset_id)

    def _submit(self, rec: Record, doc_id: str | None) -> None:
        self._count("produced")
        try:
            rec["id"] = doc_id if doc_id else document_id(rec["doc"])
        except (TypeError, ValueError) as exc:
            rec["id"] = ""
            self._dead_letter(rec, 0, f"not JSON-serialisable: {exc}")
            return
        if self._closed or time.monotonic() < self._resume_at or self._spool.pending():
            self._to_spool(rec)  # keep FIFO: older documents are waiting in the spool
            return
        try:
            self._queue.put_nowait(rec)
        except queue.Full:
            self._to_spool(rec)

    def _to_spool(self, rec: Record) -> None:
        try:
            stored = self._spool.append(rec)
        except (TypeError, ValueError) as exc:
            self._dead_letter(rec, 0, f"not JSON-serialisable: {exc}")
            return
        except OSError as exc:
            stored = False
            self._problem(f"spool {self.settings.spool_dir}: write failed ({exc.strerror or exc})")
        if stored:
            self._count("spooled")
            self._warned_full = False
            return
        self._count("dropped")
        if not self._warned_full:
            self._warned_full = True
            if self._spool.closed:
                self._problem("elasticsearch sink is closed: documents written now are dropped")
            else:
                self._problem(
                    f"spool {self.settings.spool_dir} is full "
                    f"({self.settings.spool_max_bytes} bytes): new documents are dropped "
                    "until Elasticsearch takes the spooled ones"
                )

    # -- results ---------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counters: produced, delivered (409 included), duplicates (409), spooled,
        dead_lettered, dropped (spool full), retries (times the sink paused and tried
        again), and the current queue length and spool size."""
        with self._lock:
            counts = dict(self._counts)
        counts["queued"] = self._queue.qsize()
        counts["spool_bytes"] = self._spool.size_bytes()
        return counts

    def close(self, timeout: float = 30.0) -> None:
        """Send what can be sent within ``timeout`` seconds; leave the rest in the spool
        (fsync'd) for the next start. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._deadline = time.monotonic() + max(0.0, timeout)
        self._stopping.set()
        self._wake.set()
        interrupted = False
        try:
            self._thread.join(max(0.0, timeout) + 0.5)
        except KeyboardInterrupt:  # Ctrl-C while draining: spool what is left, then stop
            interrupted = True
        alive = self._thread.is_alive()
        with self._lock:
            if alive:
                self._abandoned = True
                why = "was interrupted" if interrupted else f"did not finish within {timeout:g} s"
                self._problem(
                    f"elasticsearch {why}; the unsent documents stay in the spool "
                    f"{self.settings.spool_dir}"
                )
            self._spill()
            self._spool.close()
        if not alive:
            self._client.close()
        if interrupted:
            raise KeyboardInterrupt

    # -- the sender thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            now = time.monotonic()
            if self._abandoned or (stopping and (self._config_pause or now >= self._deadline)):
                return
            if stopping and self._queue.empty() and not self._spool.pending():
                return
            if now < self._resume_at:
                self._spill()
                if stopping:  # unreachable at the last try: the spool keeps it for next time
                    return
                until = self._resume_at
                self._wake.wait(max(0.0, until - now))
                self._wake.clear()
                continue
            try:
                if self._spool.pending():
                    self._send_spool()
                else:
                    self._send_live()
            except (TransportError, ApiError) as exc:
                self._outage(exc)
            except Exception as exc:  # a bug here must not lose documents or kill the thread
                log.exception("elasticsearch sender failed")
                self._outage(exc)

    def _bulk(self, actions: Iterable[Any]) -> Iterable[tuple[bool, dict[str, Any]]]:
        return streaming_bulk(
            self._client,
            actions,
            chunk_size=self._chunk_size,
            max_retries=5,
            initial_backoff=self._initial_backoff,
            max_backoff=self._max_backoff,
            retry_on_status=_RETRY_STATUS,
            raise_on_error=False,
            raise_on_exception=False,
            yield_ok=True,
        )

    def _send_live(self) -> None:
        self._halt = False
        for ok, item in self._bulk(self._live_actions()):
            (info,) = item.values()
            outcome, status, reason = _classify(ok, info)
            with self._lock:
                waiting = self._inflight.get(str(info.get("_id")))
                if not waiting:
                    continue  # already handed to the spool by close()
                rec = waiting.popleft()
                if not waiting:
                    del self._inflight[rec["id"]]
                if outcome in ("retry", "config"):
                    self._to_spool(rec)
                    self._pause(outcome, reason)
                else:
                    self._settle(outcome, rec, status, reason)

    def _live_actions(self) -> Iterator[Any]:
        """Queued documents as bulk actions, with a flush marker once the oldest unsent
        one has waited ``flush_seconds``; ends when the spool needs the thread, on a pause
        or when closing."""
        flush_at: float | None = None
        while not (self._halt or self._abandoned):
            now = time.monotonic()
            stopping = self._stopping.is_set()
            if stopping and now >= self._deadline:
                return
            if self._queue.empty() and (stopping or self._spool.pending()):
                return
            if flush_at is not None and now >= flush_at:
                flush_at = None
                yield BULK_FLUSH
                continue
            try:
                rec = self._queue.get(timeout=_POLL if flush_at is None else flush_at - now)
            except queue.Empty:
                if flush_at is None:
                    self._spool.sync()
                continue
            with self._lock:
                self._inflight.setdefault(rec["id"], deque()).append(rec)
            if flush_at is None:
                flush_at = now + self.settings.flush_seconds
            yield _action(rec)

    def _send_spool(self) -> None:
        batch = self._spool.read(self._chunk_size)
        todo: dict[str, deque[Position]] = {}
        records = {}
        for entry in batch.entries:
            if entry.start not in self._settled:
                todo.setdefault(str(entry.record.get("id")), deque()).append(entry.start)
                records[entry.start] = entry.record
        problem: tuple[Outcome, str] | None = None
        try:
            actions = (_action(rec) for rec in records.values())
            for ok, item in self._bulk(actions) if records else ():
                (info,) = item.values()
                outcome, status, reason = _classify(ok, info)
                waiting = todo.get(str(info.get("_id")))
                if not waiting:
                    continue
                start = waiting.popleft()
                if outcome in ("retry", "config"):
                    problem = (outcome, reason)
                else:
                    with self._lock:
                        self._settle(outcome, records[start], status, reason)
                    self._settled.add(start)
        finally:
            self._ack(batch)
        if problem is not None:
            with self._lock:
                self._pause(*problem)

    def _ack(self, batch: Batch) -> None:
        """Move the cursor past the settled records at the head of the batch."""
        upto = batch.end
        for entry in batch.entries:
            if entry.start not in self._settled:
                upto = entry.start
                break
        self._spool.ack(upto)
        self._settled = {p for p in self._settled if p >= upto}

    def _settle(self, outcome: Outcome, rec: Record, status: int, reason: str) -> None:
        if outcome == "dead":
            self._dead_letter(rec, status, reason)
            return
        self._counts["delivered"] += 1
        if outcome == "duplicate":
            self._counts["duplicates"] += 1
        self._backoff = self._initial_backoff
        self._config_pause = False

    def _pause(self, kind: Outcome, reason: str) -> None:
        """Stop sending for a while (called with the lock held)."""
        if time.monotonic() < self._resume_at:
            return  # already paused by an earlier item of the same request
        self._halt = True
        self._counts["retries"] += 1
        if kind == "config":
            delay = self._config_retry
            self._config_pause = True
            self._problem(
                f"configuration error: {reason}; documents are kept in the spool "
                f"{self.settings.spool_dir}; next try in {delay:g} s or at restart"
            )
        else:
            delay = self._backoff
            self._backoff = min(self._max_backoff, delay * 2)
            self._problem(f"{reason}; documents are kept in the spool; next try in {delay:g} s")
        self._resume_at = time.monotonic() + delay

    def _outage(self, exc: BaseException) -> None:
        with self._lock:
            self._spill()
            name = type(exc).__name__
            if isinstance(exc, SSLError):
                self._pause("config", f"TLS to Elasticsearch failed ({exc}); check ca_file/verify")
            elif isinstance(exc, ApiError):
                _, _, reason = _classify(False, {"status": exc.status_code, "exception": exc,
                                                 "error": str(exc)})  # fmt: skip
                self._pause("config", reason)
            elif isinstance(exc, TransportError):
                self._pause("retry", f"Elasticsearch unreachable ({name}: {exc})")
            else:
                self._pause("retry", f"elasticsearch sender error ({name}: {exc})")

    def _spill(self) -> None:
        """Hand the documents in flight and in the queue to the spool."""
        with self._lock:
            records = [rec for waiting in self._inflight.values() for rec in waiting]
            self._inflight.clear()
            for rec in records:
                self._to_spool(rec)
            while True:
                try:
                    rec = self._queue.get_nowait()
                except queue.Empty:
                    break
                self._to_spool(rec)

    # -- bookkeeping -----------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _dead_letter(self, rec: Record, status: int, reason: str) -> None:
        reason = self.settings.redact(reason)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "index": rec.get("index"),
            "op": rec.get("op"),
            "_id": rec.get("id"),
            "status": status,
            "reason": reason,
        }
        try:
            line["doc"] = rec["doc"]
            text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            line["doc"] = repr(rec.get("doc"))[:10_000]
            text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
        with self._dead_lock:
            first = self._counts["dead_lettered"] == 0
            try:
                with open(self._dead_path, "a", encoding="utf-8") as f:
                    f.write(text + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as exc:
                self._problem(f"{self._dead_path}: cannot write ({exc.strerror or exc})")
        self._count("dead_lettered")
        message = f"document {rec.get('id')!r} refused ({status}: {reason}); see {self._dead_path}"
        if first:
            self._problem(message)
        else:
            self.error = message

    def _problem(self, message: str) -> None:
        self.error = self.settings.redact(message)
        log.warning("elasticsearch: %s", self.error)
