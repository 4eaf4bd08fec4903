"""Helper process of the kill -9 test (run as ``python -m tests.sinks.spool_writer``).

``spool URL DIR N``: write N documents through an ElasticSink while the server is down,
print ``SPOOLED <stats as JSON>`` once all of them are in the spool, then wait to be killed.
``deliver URL DIR``: open an ElasticSink on the spool (it starts sending at once), print
``STARTED`` and wait to be killed.
"""

from __future__ import annotations

import json
import sys
import time

from otsec.sinks.elastic import ElasticSettings, ElasticSink


def doc(i: int) -> dict[str, object]:
    """The i-th test document (deterministic, with an event.id)."""
    return {
        "@timestamp": f"2026-11-21T10:00:{i % 60:02d}.000Z",
        "event": {"id": f"kill9-{i:06d}", "kind": "event", "dataset": "otsec.modbus"},
        "ics": {"function": "read_holding_registers", "values": list(range(i % 7))},
        "n": i,
    }


def main(argv: list[str]) -> int:
    mode, url, spool = argv[:3]
    settings = ElasticSettings(url=url, spool_dir=spool, flush_seconds=0.05, request_timeout=5)
    sink = ElasticSink(settings, sensor="kill9", _backoff=0.05, _max_backoff=0.2)
    if mode == "spool":
        n = int(argv[3])
        for i in range(n):
            sink.write(doc(i), "modbus")
        while sink.stats()["spooled"] < n:
            time.sleep(0.01)
        print("SPOOLED " + json.dumps(sink.stats()), flush=True)
    else:
        print("STARTED", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
