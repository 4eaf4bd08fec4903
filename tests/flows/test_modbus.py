"""Modbus on flows, end to end from captures: pairing outcomes, not-Modbus flows,
direction, per-capture counts, and the ECS documents written for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otsec.capture.pcapfile import open_capture
from otsec.cli import main
from otsec.events.types import Transaction
from otsec.pipeline import Pipeline
from tests.conftest import REPO

FUNCTIONS = REPO / "pcaps" / "modbus_functions.pcap"


def replay(path: Path) -> tuple[Pipeline, list[Transaction]]:
    pipeline = Pipeline()
    seen: list[Transaction] = []
    pipeline.event_handlers.append(seen.append)
    with open_capture(str(path)) as reader:
        pipeline.run(reader)
    pipeline.close()
    return pipeline, seen


@pytest.fixture(scope="module")
def functions() -> tuple[Pipeline, list[Transaction]]:
    return replay(FUNCTIONS)


def test_outcomes_of_the_scenario_capture(functions: tuple[Pipeline, list[Transaction]]) -> None:
    pipeline, seen = functions
    by_status: dict[str, int] = {}
    for t in seen:
        by_status[t.status] = by_status.get(t.status, 0) + 1
    # pcaps/README.md: one unanswered request, one unsolicited response, a broadcast write
    # and a force-listen-only request that expect no answer
    assert by_status == {"matched": 345, "unanswered": 1, "unsolicited": 1, "no_response": 2}
    assert pipeline.protocols["modbus"].transactions == by_status
    assert pipeline.anomalies["modbus.unanswered_request"] == 1
    assert pipeline.anomalies["modbus.unsolicited_response"] == 1


def test_the_tls_flow_on_502_is_given_up_once(
    functions: tuple[Pipeline, list[Transaction]],
) -> None:
    pipeline, _ = functions
    assert pipeline.anomalies["modbus.not_modbus"] == 1
    assert "modbus.invalid_protocol_id" not in pipeline.anomalies
    assert "modbus.invalid_length" not in pipeline.anomalies


def test_every_function_code_of_the_issue_is_decoded(
    functions: tuple[Pipeline, list[Transaction]],
) -> None:
    pipeline, seen = functions
    codes = pipeline.protocols["modbus"].function_codes
    for fc in (1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, 90):
        assert codes.get(fc, 0) >= 2, fc
    names = {t.record.function_name for t in seen}
    assert {"unknown-65", "unknown-100", "umas", "read_write_multiple_registers"} <= names
    exceptions = pipeline.protocols["modbus"].exception_codes
    assert exceptions == {1: 2, 2: 3, 3: 1, 4: 1, 6: 1, 10: 1, 11: 1}


def test_matched_transaction_carries_both_sides_and_latency(
    functions: tuple[Pipeline, list[Transaction]],
) -> None:
    _, seen = functions
    writes = [t for t in seen if t.record.function == 16 and t.status == "matched"]
    assert writes
    t = writes[0]
    assert t.request.request and not t.response.request
    assert t.request.tid == t.response.tid and t.latency is not None and t.latency > 0
    assert t.request_packet < t.response_packet
    assert t.envelope.server_port == 502 and t.envelope.client_port != 502
    assert t.record.values and t.record.access == "write" and t.record.target == "holding_register"


def test_a_flow_whose_syn_came_from_port_502_is_still_oriented_by_port(
    real_pcaps: Path,
) -> None:
    # In Suricata's test capture the side on port 502 opens one connection and sends
    # exception responses; requests are what goes to 502, as Wireshark decides too.
    _, seen = replay(real_pcaps / "modbus" / "suricata-verify__modbus.pcap")
    for t in seen:
        assert t.envelope.server_port == 502, t
        if t.response is not None:
            assert not t.response.request
    assert any(t.status == "unsolicited" and t.envelope.client_ip == "10.0.0.57" for t in seen)


def test_non_modbus_flows_on_502_in_zeeks_capture(real_pcaps: Path) -> None:
    pipeline, _ = replay(real_pcaps / "modbus" / "zeek__modbus-and-non-modbus-p502.pcap")
    modbus_flows = 1  # the other six TCP flows on 502 carry other protocols
    assert pipeline.flows_by_port[502] == 7
    assert pipeline.anomalies == {"modbus.not_modbus": 7 - modbus_flows}
    assert pipeline.protocols["modbus"].pdus == 12


def _docs(tmp_path: Path, *args: str, anomalies: bool = False) -> list[dict[str, Any]]:
    """The transaction documents of the sample capture (and its anomaly documents)."""
    out = tmp_path / "events.jsonl"
    assert main(["replay", "--no-progress", "--events", str(out), *args, str(FUNCTIONS)]) == 0
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    return [d for d in docs if anomalies or d["event"]["dataset"] != "otsec.anomaly"]


def test_ecs_document_of_a_register_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everything = _docs(tmp_path, anomalies=True)
    docs = [d for d in everything if d["event"]["dataset"] == "otsec.modbus"]
    anomalies = [d["ics"]["anomaly"]["name"] for d in everything if d not in docs]
    assert len(docs) == 349 and len(anomalies) == 4  # the capture's protocol anomalies
    write = next(d for d in docs if d["event"]["action"] == "modbus.write_multiple_registers"
                 and d["event"]["outcome"] == "success")  # fmt: skip
    assert write["event"]["kind"] == "event" and write["event"]["category"] == ["network"]
    assert write["network"] == {
        "protocol": "modbus", "transport": "tcp",
        "community_id": write["network"]["community_id"],
    }  # fmt: skip
    assert write["destination"]["port"] == 502
    ics = write["ics"]
    assert ics["function"] == {"code": 16, "name": "write_multiple_registers"}
    assert (ics["operation"], ics["access"], ics["target"]) == (
        "write",
        "write",
        "holding_register",
    )
    assert ics["address"]["count"] == len(ics["values"])
    assert ics["transaction"]["status"] == "matched"
    assert write["event"]["duration"] > 0
    assert set(ics["modbus"]) >= {"transaction_id", "unit_id"}


def test_ecs_documents_of_exceptions_and_unpaired(tmp_path: Path) -> None:
    docs = _docs(tmp_path)
    failures = [d for d in docs if d["event"]["outcome"] == "failure"]
    assert len(failures) == 10
    assert all(d["event"]["type"] == ["protocol", "error"] for d in failures)
    assert all("exception" in d["ics"]["modbus"] for d in failures)
    unanswered = [d for d in docs if d["ics"]["transaction"]["status"] == "unanswered"]
    assert len(unanswered) == 1 and "duration" not in unanswered[0]["event"]
    assert "response_packet" not in unanswered[0]["ics"]["transaction"]
    unsolicited = [d for d in docs if d["ics"]["transaction"]["status"] == "unsolicited"]
    assert len(unsolicited) == 1 and "request_packet" not in unsolicited[0]["ics"]["transaction"]


def test_device_identity_reaches_the_document(tmp_path: Path) -> None:
    docs = _docs(tmp_path)
    ident = [d for d in docs if d["ics"]["function"]["code"] == 43
             and "objects" in d["ics"]["modbus"].get("response", {})]  # fmt: skip
    assert ident
    objects = ident[0]["ics"]["modbus"]["response"]["objects"]
    assert "vendor_name" in objects and ident[0]["ics"]["operation"] == "identify"
