"""Differential test: otsec's Modbus decoding against tshark's on every public capture
that carries Modbus. Per PDU: transaction id, unit id, function code, exception code,
reference number, word/bit count and register values where tshark shows them.

At least 99.5% of tshark's PDUs must agree field for field, and every disagreement must
be listed, with its reason, in modbus_known_differences.tsv beside this file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ground_truth, real_pcaps_dir
from tests.oracle.modbus_tshark import (
    Comparison,
    check_known,
    compare,
    load_known,
    needs_tshark,
    otsec_pdus,
    tshark_pdus,
)
from tests.oracle.modbus_tshark import needs_captures as _needs_captures

KNOWN = Path(__file__).with_name("modbus_known_differences.tsv")
pytestmark = [pytest.mark.realpcaps, pytest.mark.tshark]


def _modbus_captures() -> dict[str, Any]:
    return ground_truth(lambda _n, t: bool(t["pdu_counts"]["modbus"]))


CAPTURES = _modbus_captures()
REPO = Path(__file__).resolve().parents[2]
#: The project's own scenario captures (pcaps/), compared the same way.
OWN = sorted(f"pcaps/{p.name}" for p in (REPO / "pcaps").glob("*.pcap"))


def _known() -> dict[tuple[str, int, int, str], str]:
    return load_known(KNOWN)


_RESULTS: dict[str, Comparison] = {}


def _result(name: str) -> Comparison:
    if name not in _RESULTS and name.startswith("pcaps/"):
        path = REPO / name
        _RESULTS[name] = compare(name, tshark_pdus(path), otsec_pdus(path))
    if name not in _RESULTS:
        path = real_pcaps_dir() / name
        truth = CAPTURES[name]
        decode_as = [o.split(" ", 1)[-1] for o in truth.get("tshark_decode_as", [])]
        _RESULTS[name] = compare(name, tshark_pdus(path, decode_as), otsec_pdus(path))
    return _RESULTS[name]


needs_captures = _needs_captures(CAPTURES)


@needs_tshark
@pytest.mark.parametrize("name", OWN)
def test_own_scenario_captures_agree_with_tshark(name: str) -> None:
    test_every_disagreement_is_known(name)


@needs_tshark
@needs_captures
@pytest.mark.parametrize("name", list(CAPTURES))
def test_every_disagreement_is_known(name: str) -> None:
    check_known(name, _result(name), _known())


@needs_tshark
@needs_captures
def test_overall_agreement_at_least_99_5_percent() -> None:
    total = sum(_result(n).tshark_pdus for n in CAPTURES)
    agreeing = sum(_result(n).agreeing for n in CAPTURES)
    assert total == sum(v["pdu_counts"]["modbus"] for v in CAPTURES.values())
    assert agreeing / total >= 0.995, f"{agreeing}/{total}"


@needs_captures
@pytest.mark.parametrize("name", list(CAPTURES))
def test_function_code_histogram_matches_ground_truth(name: str) -> None:
    """otsec's per-capture summary counts each Modbus PDU's function code as tshark does."""
    from otsec.capture.pcapfile import open_capture
    from otsec.pipeline import Pipeline
    from otsec.summary import protocol_summary

    pipeline = Pipeline()
    with open_capture(str(real_pcaps_dir() / name)) as reader:
        report = pipeline.run(reader)
    pipeline.close()
    modbus = protocol_summary(report.protocols).get("modbus", {"pdus": 0, "function_codes": {},
                                                               "exception_codes": {}})  # fmt: skip
    truth = CAPTURES[name]
    expected_fc = truth["histograms"].get("modbus.func_code", {})
    expected_exc = truth["histograms"].get("modbus.exception_code", {})
    known_pdu_diffs = [k for k in _known() if k[0] == name and k[3] == "pdu"]
    if known_pdu_diffs:
        # PDUs one side sees and the other does not (listed with reasons) shift the counts
        assert abs(modbus["pdus"] - truth["pdu_counts"]["modbus"]) <= len(known_pdu_diffs)
        return
    assert modbus["pdus"] == truth["pdu_counts"]["modbus"]
    assert modbus["function_codes"] == expected_fc
    assert modbus["exception_codes"] == expected_exc
