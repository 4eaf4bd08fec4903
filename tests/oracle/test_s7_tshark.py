"""Differential test: otsec's S7comm decoding against tshark's on every public capture
that carries S7comm (and on the project's own scenario captures). Per S7 PDU: ROSCTR,
PDU reference, function, item count, per item area / DB / byte address / transport size,
user-data group and sub-function, SZL id and index.

At least 99.5% of tshark's PDUs must agree, every disagreement is listed with its reason
in s7_known_differences.tsv, and the S7comm-plus PDU counts match GROUND_TRUTH.json's
heuristic count (or the difference is listed there too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ground_truth, real_pcaps_dir
from tests.oracle.modbus_tshark import (
    Comparison,
    check_known,
    load_known,
    needs_tshark,
)
from tests.oracle.modbus_tshark import needs_captures as _needs_captures
from tests.oracle.s7_tshark import compare, otsec_pdus, tshark_pdus

KNOWN = Path(__file__).with_name("s7_known_differences.tsv")
REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.realpcaps, pytest.mark.tshark]


def _captures() -> dict[str, Any]:
    return ground_truth(
        lambda _n, t: bool(t["pdu_counts"]["s7comm"] or t["pdu_counts"]["s7comm_plus"])
    )


CAPTURES = _captures()
OWN = sorted(f"pcaps/{p.name}" for p in (REPO / "pcaps").glob("*.pcap"))
_RESULTS: dict[str, Comparison] = {}


def _path(name: str) -> Path:
    return REPO / name if name.startswith("pcaps/") else real_pcaps_dir() / name


def _result(name: str) -> Comparison:
    if name not in _RESULTS:
        _RESULTS[name] = compare(name, tshark_pdus(_path(name)), otsec_pdus(_path(name)))
    return _RESULTS[name]


def _known() -> dict[tuple[str, int, int, str], str]:
    return load_known(KNOWN)


needs_captures = _needs_captures(CAPTURES)


def _check_known(name: str) -> None:
    check_known(name, _result(name), _known())


@needs_tshark
@needs_captures
@pytest.mark.parametrize("name", list(CAPTURES))
def test_every_disagreement_is_known(name: str) -> None:
    _check_known(name)


@needs_tshark
@pytest.mark.parametrize("name", OWN)
def test_own_captures_agree_with_tshark(name: str) -> None:
    _check_known(name)


@needs_tshark
@needs_captures
def test_overall_agreement_at_least_99_5_percent() -> None:
    total = sum(_result(n).tshark_pdus for n in CAPTURES)
    agreeing = sum(_result(n).agreeing for n in CAPTURES)
    assert total == sum(v["pdu_counts"]["s7comm"] for v in CAPTURES.values())
    assert agreeing / total >= 0.995, f"{agreeing}/{total}"


@needs_captures
@pytest.mark.parametrize("name", list(CAPTURES))
def test_summary_counts_match_ground_truth(name: str) -> None:
    from otsec.capture.pcapfile import open_capture
    from otsec.pipeline import Pipeline
    from otsec.summary import protocol_summary

    pipeline = Pipeline()
    with open_capture(str(_path(name))) as reader:
        report = pipeline.run(reader)
    pipeline.close()
    summary = protocol_summary(report.protocols)
    truth = CAPTURES[name]
    known = {k for k in _known() if k[0] == name}
    plus = summary.get("s7comm_plus", {}).get("pdus", 0)
    assert plus == truth["pdu_counts"]["s7comm_plus"], (plus, truth["pdu_counts"])
    if any(k[3] == "pdu" for k in known):
        return  # PDUs one side sees and the other does not shift the histograms (listed)
    s7 = summary.get("s7comm", {"pdus": 0, "rosctr": {}, "functions": {}, "userdata": {},
                               "szl_ids": {}})  # fmt: skip
    hist = truth["histograms"]
    assert s7["pdus"] == truth["pdu_counts"]["s7comm"]
    assert s7["rosctr"] == hist.get("s7comm.header.rosctr", {})
    assert s7["functions"] == hist.get("s7comm.param.func", {})
    assert s7["userdata"] == hist.get("s7comm.userdata.funcgroup/subfunc", {})
    if not any(k[3] == "szl_id" for k in known):  # fragmented SZL answers (listed) aside
        assert s7["szl_ids"] == hist.get("s7comm.data.userdata.szl_id", {})
