"""Smoke test on the public captures: every TCP payload on port 102 of the S7 and mixed
captures goes through reassembly, TpktFramer, parse_tpdu, CotpAssembler and parse_s7
without an exception, and the ROSCTR / function / user-data / SZL histograms are close to
tshark's (GROUND_TRUTH.json).

Close, not equal: tshark does not decode bytes it takes for retransmissions, and counts
an SZL id only where its own reassembly saw the SZL header.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dissectors.s7comm import (
    ANOMALIES,
    USERDATA,
    CotpAssembler,
    S7PlusPdu,
    TpktFramer,
    UserData,
    parse_s7,
    parse_tpdu,
)
from otsec.capture.pcapfile import open_capture
from otsec.config import Settings
from otsec.flows.session import FramedApp, Service, ServiceRegistry
from otsec.flows.table import Flow
from otsec.pipeline import Pipeline
from tests.conftest import ground_truth, real_pcaps_dir

pytestmark = pytest.mark.realpcaps


def _s7_captures() -> dict[str, Any]:
    return ground_truth(
        lambda n, t: n.split("/")[0] in ("s7comm", "mixed") and bool(t["pdu_counts"]["tpkt"])
    )


CAPTURES = _s7_captures()


class Decoded:
    def __init__(self) -> None:
        self.rosctr: Counter[str] = Counter()
        self.functions: Counter[str] = Counter()
        self.userdata: Counter[str] = Counter()
        self.szl_ids: Counter[str] = Counter()
        self.plus = 0
        self.anomalies: Counter[str] = Counter()
        self.errors: list[str] = []
        self.identity: dict[str, str] = {}
        self._asm: dict[tuple[int, bool], CotpAssembler] = {}

    def pdu(self, flow: Flow, from_orig: bool, tpkt: bytes, ts: float) -> None:
        try:
            self._pdu(flow, from_orig, tpkt)
        except Exception as exc:  # recorded: the pipeline's guard would hide it
            self.errors.append(f"{tpkt.hex()}: {exc!r}")
            raise

    def _pdu(self, flow: Flow, from_orig: bool, tpkt: bytes) -> None:
        cotp = parse_tpdu(tpkt)
        json.dumps(cotp.specific())
        self.anomalies.update(name for name, _ in cotp.anomalies)
        asm = self._asm.setdefault((id(flow), from_orig), CotpAssembler())
        pdu = asm.add(cotp)
        self.anomalies.update(name for name, _ in asm.anomalies)
        asm.anomalies.clear()
        if pdu is None:
            return
        rec = parse_s7(pdu, from_orig)
        json.dumps(rec.specific())
        assert all((rec.access, rec.target, rec.operation, rec.function_name))
        self.anomalies.update(name for name, _ in rec.anomalies)
        if isinstance(rec, S7PlusPdu):
            self.plus += 1
            return
        self.rosctr[str(rec.rosctr)] += 1
        if rec.rosctr == USERDATA and isinstance(rec, UserData):
            if rec.group:  # tshark has no subfunction for mode transitions
                self.userdata[f"{rec.group}/{rec.subfunction}"] += 1
            if rec.szl_id is not None:
                self.szl_ids[f"0x{rec.szl_id:04x}"] += 1
            self.identity.update(rec.identity())
        elif rec.function >= 0:
            self.functions[f"0x{rec.function:02x}"] += 1

    def anomaly(self, name: str, ts: float, flow: Flow | None, detail: str) -> None:
        self.anomalies[name] += 1


def _decode(path: Path) -> tuple[Decoded, Pipeline]:
    seen = Decoded()

    def app(flow: Flow) -> FramedApp:
        return FramedApp(flow, TpktFramer(), TpktFramer(), seen.pdu, seen.anomaly)

    registry = ServiceRegistry()
    registry.register(102, Service("s7comm", app))
    pipeline = Pipeline(Settings(), services=registry)
    with open_capture(str(path)) as reader:
        pipeline.run(reader)
    pipeline.close()
    return seen, pipeline


def _close(ours: int, theirs: int, slack: int) -> bool:
    return abs(ours - theirs) <= max(slack, theirs // 50)


def _check(hist: dict[str, int], seen: Counter[str], slack: int) -> None:
    for key in set(hist) | set(seen):
        assert _close(seen[key], hist.get(key, 0), slack), (key, dict(seen), hist)


@pytest.mark.skipif(not CAPTURES, reason=f"public captures not found at {real_pcaps_dir()}")
@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_capture_decodes_close_to_tshark(name: str, real_pcaps: Path) -> None:
    truth = CAPTURES[name]
    seen, pipeline = _decode(real_pcaps / name)
    assert seen.errors == []
    assert not {"otsec.dissector_error", "otsec.packet_error"} & set(pipeline.anomalies)
    assert set(seen.anomalies) <= set(ANOMALIES), seen.anomalies
    hists = truth["histograms"]
    assert _close(sum(seen.rosctr.values()), truth["pdu_counts"]["s7comm"], 2)
    assert _close(seen.plus, truth["pdu_counts"]["s7comm_plus"], 2), seen.plus
    _check(hists.get("s7comm.header.rosctr", {}), seen.rosctr, 2)
    _check(hists.get("s7comm.param.func", {}), seen.functions, 2)
    _check(hists.get("s7comm.userdata.funcgroup/subfunc", {}), seen.userdata, 2)
    _check(hists.get("s7comm.data.userdata.szl_id", {}), seen.szl_ids, 2)


@pytest.mark.skipif(not CAPTURES, reason=f"public captures not found at {real_pcaps_dir()}")
def test_identity_from_szl_reads(real_pcaps: Path) -> None:
    seen, _ = _decode(real_pcaps / "s7comm/cisagov__s7ident.pcap")
    assert seen.identity.get("order_number", "").startswith("6ES7"), seen.identity
    assert "firmware_version" in seen.identity
    assert "module_type_name" in seen.identity or "plc_name" in seen.identity
