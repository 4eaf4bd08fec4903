"""A scripted fake Elasticsearch for the sink's tests (stdlib only, loopback).

It serves ``GET /`` and ``PUT|POST /_bulk`` and ``/<index>/_bulk``, parses the NDJSON body
and stores documents per index by ``_id`` (``create`` on an existing ``_id`` gives an item
409, ``index`` with ``external_gte`` versions gives a 409 for an older version). Names
starting with one of ``data_stream_prefixes`` behave as data streams: only ``create`` is
accepted, as in Elasticsearch. A document with a top-level ``otsec_bad`` field gets a
mapping error (400). Every answer carries ``X-Elastic-Product: Elasticsearch`` unless
``product_header`` is False.

Each bulk request takes the next step of ``script`` (default ``ok``):

- ``ok``: process the request;
- ``item429``: every other item (the 2nd, 4th, ...) is rejected with an item 429;
- ``req429`` / ``req503``: the whole request is refused with that status;
- ``auth401``: the whole request is refused with 401;
- ``noproduct``: process the request but answer without the product header;
- ``drop``: process the request (the documents are stored) and close the connection
  without an answer, like a response lost in a network failure.

``stop()`` closes the listening socket (connections are refused) and ``start()`` listens on
the same port again. Connections are HTTP/1.0, closed after every answer.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_DS_INDEX_OP = "only write ops with an op_type of create are allowed in data streams"
_REJECTED = {
    "type": "es_rejected_execution_exception",
    "reason": "rejected execution of coordinating operation on "
    "EsThreadPoolExecutor[name = node/write, queue capacity = 10000]",
}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client killed or gone mid-request is part of the tests."""


class FakeES:
    """A scripted, in-memory Elasticsearch bulk endpoint on 127.0.0.1."""

    def __init__(self, *, listening: bool = True) -> None:
        self.lock = threading.Lock()
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.script: deque[str] = deque()
        self.product_header = True
        self.data_stream_prefixes: tuple[str, ...] = ("logs-",)
        #: One entry per bulk request: method, path, step, headers, ops [(op, index, id)].
        self.requests: list[dict[str, Any]] = []
        #: Documents newly stored (a create or index of an _id the index did not have).
        self.created = 0
        #: Seconds to wait after storing a bulk request's documents, before answering.
        self.delay = 0.0
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if listening:
            self.start()
        else:  # reserve a port now so that url is known before the server listens
            self.start()
            self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again, on the same port)."""
        if self._server is not None:
            return
        self._server = _Server(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: new connections are refused."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = None
        self._thread = None

    close = stop

    def stored(self, prefix: str = "") -> list[tuple[str, str]]:
        """(index, _id) of every stored document whose index starts with ``prefix``."""
        with self.lock:
            return [(i, d) for i, docs in self.docs.items() if i.startswith(prefix) for d in docs]

    def source(self, index: str, doc_id: str) -> dict[str, Any]:
        with self.lock:
            return self.docs[index][doc_id]

    def bulk_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    # -- bulk ----------------------------------------------------------------------------

    def _is_data_stream(self, index: str) -> bool:
        return index.startswith(self.data_stream_prefixes)

    def bulk(
        self, default_index: str | None, body: bytes, *, reject_odd: bool = False
    ) -> list[dict[str, Any]]:
        """Apply the operations and return the items of the answer; with ``reject_odd``
        every other operation is rejected with an item 429 instead."""
        lines = [line for line in body.split(b"\n") if line.strip()]
        ops: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        i = 0
        while i < len(lines):
            action = json.loads(lines[i])
            ((op, meta),) = action.items()
            source = None
            if op != "delete":
                i += 1
                source = json.loads(lines[i])
            ops.append((op, meta, source))
            i += 1
        items = []
        for n, (op, meta, source) in enumerate(ops):
            if reject_odd and n % 2 == 1:
                items.append(
                    {
                        op: {
                            "_index": meta.get("_index") or default_index,
                            "_id": meta.get("_id"),
                            "status": 429,
                            "error": _REJECTED,
                        }
                    }
                )
            else:
                items.append(self._apply(op, meta, source, default_index))
        return items

    def _apply(
        self, op: str, meta: dict[str, Any], source: dict[str, Any] | None, default: str | None
    ) -> dict[str, Any]:
        index = meta.get("_index") or default or ""
        doc_id = str(meta.get("_id") or uuid.uuid4().hex)
        shown = f".ds-{index}-2026.11.21-000001" if self._is_data_stream(index) else index
        item: dict[str, Any] = {"_index": shown, "_id": doc_id}
        if self._is_data_stream(index) and op != "create":
            return {
                op: {
                    **item,
                    "status": 400,
                    "error": {
                        "type": "illegal_argument_exception",
                        "reason": _DS_INDEX_OP,
                    },
                }
            }
        if source is not None and "otsec_bad" in source:
            return {
                op: {
                    **item,
                    "status": 400,
                    "error": {
                        "type": "document_parsing_exception",
                        "reason": "[1:42] failed to parse field [otsec_bad] of type [long] "
                        f"in document with id '{doc_id}'. Preview of field's value: 'x'",
                    },
                }
            }
        with self.lock:
            docs = self.docs.setdefault(index, {})
            exists = doc_id in docs
            if op == "create" and exists:
                return {
                    op: {
                        **item,
                        "status": 409,
                        "error": {
                            "type": "version_conflict_engine_exception",
                            "reason": f"[{doc_id}]: version conflict, document already exists "
                            "(current version [1])",
                        },
                    }
                }
            version = int(meta.get("version", meta.get("_version", 1)))
            if op == "index" and meta.get("version_type", meta.get("_version_type")):
                current = self.versions.get((index, doc_id))
                if current is not None and version < current:
                    return {
                        op: {
                            **item,
                            "status": 409,
                            "error": {
                                "type": "version_conflict_engine_exception",
                                "reason": f"[{doc_id}]: version conflict, current version "
                                f"[{current}] is higher than the one provided [{version}]",
                            },
                        }
                    }
            assert source is not None
            docs[doc_id] = source
            self.created += not exists
            self.versions[(index, doc_id)] = version
        status = 200 if exists else 201
        return {
            op: {
                **item,
                "status": status,
                "result": "updated" if exists else "created",
                "_version": version,
                "_seq_no": 0,
                "_primary_term": 1,
                "_shards": {"total": 1, "successful": 1, "failed": 0},
            }
        }


def _handler(fake: FakeES) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any], product: bool = True) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if product and fake.product_header:
                self.send_header("X-Elastic-Product", "Elasticsearch")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/":
                self._answer(404, {"error": "not found", "status": 404})
                return
            self._answer(
                200,
                {
                    "name": "fake",
                    "cluster_name": "fake",
                    "version": {"number": "9.2.0", "build_flavor": "default"},
                    "tagline": "You Know, for Search",
                },
            )

        def do_PUT(self) -> None:
            self._bulk()

        def do_POST(self) -> None:
            self._bulk()

        def _bulk(self) -> None:
            path = self.path.split("?")[0]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not path.endswith("/_bulk"):
                self._answer(404, {"error": "not found", "status": 404})
                return
            default = path[1 : -len("/_bulk")] or None
            with fake.lock:
                step = fake.script.popleft() if fake.script else "ok"
            entry: dict[str, Any] = {
                "method": self.command,
                "path": path,
                "step": step,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "ops": [],
            }
            for line in body.split(b"\n"):
                if line.strip():
                    obj = json.loads(line)
                    if len(obj) == 1:
                        ((op, meta),) = obj.items()
                        if op in ("create", "index", "update", "delete") and isinstance(meta, dict):
                            entry["ops"].append((op, meta.get("_index"), meta.get("_id")))
            with fake.lock:
                fake.requests.append(entry)
            if step in ("req429", "req503", "auth401"):
                status = {"req429": 429, "req503": 503, "auth401": 401}[step]
                kind = {
                    429: "es_rejected_execution_exception",
                    503: "unavailable_shards_exception",
                    401: "security_exception",
                }[status]
                error = {"type": kind, "reason": f"scripted {status}"}
                self._answer(status, {"error": {**error, "root_cause": [error]}, "status": status})
                return
            items = fake.bulk(default, body, reject_odd=step == "item429")
            if fake.delay:
                time.sleep(fake.delay)
            if step == "drop":
                self.close_connection = True
                return  # stored, but no answer
            errors = any(not 200 <= next(iter(i.values()))["status"] < 300 for i in items)
            self._answer(
                200, {"took": 1, "errors": errors, "items": items}, product=step != "noproduct"
            )

    return Handler
