"""Smoke test on the public captures: every TCP payload on port 502 of the Modbus and
mixed captures goes through reassembly, ModbusFramer and parse_adu without an exception,
and the per-function-code counts are close to tshark's (GROUND_TRUTH.json).

Close, not equal: tshark does not decode bytes it takes for retransmissions even when they
carry new data (iti__mb2: six ADUs), and zeek__fuzz-72 is reassembled differently. The
exact per-PDU comparison with tshark is tests/oracle/test_modbus_tshark.py.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dissectors.modbus import ANOMALIES, ModbusFramer, parse_adu
from otsec.capture.pcapfile import open_capture
from otsec.config import Settings
from otsec.flows.session import FramedApp, Service, ServiceRegistry
from otsec.flows.table import Flow
from otsec.pipeline import Pipeline
from tests.conftest import ground_truth, real_pcaps_dir

pytestmark = pytest.mark.realpcaps


def _modbus_captures() -> dict[str, Any]:
    return ground_truth(
        lambda n, t: n.split("/")[0] in ("modbus", "mixed") and bool(t["pdu_counts"]["modbus"])
    )


CAPTURES = _modbus_captures()


class Decoded:
    def __init__(self) -> None:
        self.functions: Counter[int] = Counter()
        self.exceptions: Counter[int] = Counter()
        self.anomalies: Counter[str] = Counter()
        self.errors: list[str] = []

    def pdu(self, flow: Flow, from_orig: bool, adu: bytes, ts: float) -> None:
        try:
            rec = parse_adu(adu, from_orig)
            json.dumps(rec.specific())
            assert all((rec.access, rec.target, rec.operation, rec.function_name))
        except Exception as exc:  # recorded: the pipeline's guard would hide it
            self.errors.append(f"{adu.hex()}: {exc!r}")
            raise
        self.functions[rec.function] += 1
        if rec.exception_code is not None:
            self.exceptions[rec.exception_code] += 1
        self.anomalies.update(name for name, _ in rec.anomalies)

    def anomaly(self, name: str, ts: float, flow: Flow | None, detail: str) -> None:
        self.anomalies[name] += 1


def _decode(path: Path) -> tuple[Decoded, Pipeline]:
    seen = Decoded()

    def app(flow: Flow) -> FramedApp:
        return FramedApp(flow, ModbusFramer(), ModbusFramer(), seen.pdu, seen.anomaly)

    registry = ServiceRegistry()
    registry.register(502, Service("modbus", app))
    pipeline = Pipeline(Settings(), services=registry)
    with open_capture(str(path)) as reader:
        pipeline.run(reader)
    pipeline.close()
    return seen, pipeline


def _close(ours: int, theirs: int, slack: int) -> bool:
    return abs(ours - theirs) <= max(slack, theirs // 100)


@pytest.mark.skipif(not CAPTURES, reason=f"public captures not found at {real_pcaps_dir()}")
@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_capture_decodes_close_to_tshark(name: str, real_pcaps: Path) -> None:
    truth = CAPTURES[name]
    seen, pipeline = _decode(real_pcaps / name)
    assert seen.errors == []
    assert not {"otsec.dissector_error", "otsec.packet_error"} & set(pipeline.anomalies)
    assert set(seen.anomalies) <= set(ANOMALIES)
    want = {int(k): v for k, v in truth["histograms"]["modbus.func_code"].items()}
    assert _close(sum(seen.functions.values()), truth["pdu_counts"]["modbus"], 3)
    for code in set(want) | set(seen.functions):
        assert _close(seen.functions[code], want.get(code, 0), 2), (code, dict(seen.functions))
    want_exc = {int(k): v for k, v in truth["histograms"].get("modbus.exception_code", {}).items()}
    for code in set(want_exc) | set(seen.exceptions):
        assert _close(seen.exceptions[code], want_exc.get(code, 0), 1), dict(seen.exceptions)


@pytest.mark.skipif(not CAPTURES, reason=f"public captures not found at {real_pcaps_dir()}")
def test_non_modbus_flows_on_port_502_yield_no_pdus(real_pcaps: Path) -> None:
    # zeek's trace: one real Modbus session and several TLS/other sessions on port 502
    seen, _ = _decode(real_pcaps / "modbus/zeek__modbus-and-non-modbus-p502.pcap")
    assert sum(seen.functions.values()) == 12
    assert seen.anomalies["modbus.invalid_protocol_id"] > 0
