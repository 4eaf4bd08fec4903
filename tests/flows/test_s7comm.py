"""S7comm on flows, end to end from the project's scenario capture: pairing by PDU
reference, the requester decided per PDU (the PLC sends download-block jobs), operation
classes, connection facts (TSAPs, rack, slot), S7comm-plus recognition, garbage on 102."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from otsec.capture.pcapfile import open_capture
from otsec.events.types import Transaction
from otsec.pipeline import Pipeline
from tests.conftest import REPO
from tests.test_fuzz_pipeline import ListReader, _tcp_frame

S7 = REPO / "pcaps" / "s7_functions.pcap"


@pytest.fixture(scope="module")
def s7() -> tuple[Pipeline, list[Transaction]]:
    pipeline = Pipeline()
    seen: list[Transaction] = []
    pipeline.event_handlers.append(seen.append)
    with open_capture(str(S7)) as reader:
        pipeline.run(reader)
    pipeline.close()
    return pipeline, seen


def test_every_job_is_answered_and_nothing_is_anomalous(
    s7: tuple[Pipeline, list[Transaction]],
) -> None:
    pipeline, seen = s7
    assert pipeline.anomalies == {}
    statuses = Counter((t.protocol, t.status) for t in seen)
    assert statuses[("s7comm", "matched")] == 135
    assert statuses[("s7comm", "observed")] == 3  # user-data pushes
    assert statuses[("s7comm_plus", "observed")] == 10


def test_operation_classes_of_the_issue(s7: tuple[Pipeline, list[Transaction]]) -> None:
    _, seen = s7
    ops = {t.record.function_name: t.record.operation for t in seen if t.protocol == "s7comm"}
    assert ops["read_var"] == "read"
    assert ops["write_var"] == "write"
    assert ops["request_download"] == ops["download_block"] == "program_download"
    assert ops["start_upload"] == ops["upload"] == ops["end_upload"] == "program_upload"
    assert ops["plc_stop"] == "mode_change"
    assert ops["time_functions/set_clock"] == "time_sync"
    assert ops["security/plc_password"] == "auth"
    assert ops["cpu_functions/read_szl"] == "identify"
    assert ops["setup_communication"] == "session"
    pi = {t.record.specific()["pi_service"]["code"]: t.record.operation
          for t in seen if t.record.function_name == "plc_control"}  # fmt: skip
    assert pi["_DELE"] == "program_delete"
    assert pi["P_PROGRAM"] == "mode_change"
    assert pi["_INSE"] == "program_download"


def test_download_block_jobs_come_from_the_plc(s7: tuple[Pipeline, list[Transaction]]) -> None:
    _, seen = s7
    request = next(t for t in seen if t.record.function_name == "request_download")
    block = next(t for t in seen if t.record.function_name == "download_block")
    # the engineering station asks, the PLC then pulls the block: requester swaps
    assert block.envelope.client_ip == request.envelope.server_ip
    assert block.envelope.server_port != 102 and request.envelope.server_port == 102


def test_connection_facts_ride_on_every_document(s7: tuple[Pipeline, list[Transaction]]) -> None:
    _, seen = s7
    racks = {
        (t.envelope.server_ip, t.extra["rack"], t.extra["slot"])
        for t in seen
        if t.protocol == "s7comm" and t.extra and t.envelope.server_port == 102
    }
    assert ("10.20.1.113", 0, 3) in racks and ("10.20.1.111", 0, 2) in racks


def test_summary_histograms(s7: tuple[Pipeline, list[Transaction]]) -> None:
    from otsec.summary import protocol_summary

    pipeline, _ = s7
    summary = protocol_summary(pipeline.protocols)
    s7 = summary["s7comm"]
    assert s7["rosctr"] == {"1": 122, "3": 122, "7": 29}
    assert s7["functions"]["0x29"] == 2 and s7["functions"]["0x04"] == 180
    assert s7["userdata"]["4/1"] == 10 and s7["userdata"]["7/2"] == 2
    assert s7["szl_ids"] == {"0x0011": 4, "0x001c": 4, "0x0424": 2}
    assert summary["s7comm_plus"]["pdus"] == 10


def test_garbage_on_port_102_is_one_anomaly() -> None:
    frames = []
    seq = 1000
    for _ in range(5):
        payload = b"GET /index.html HTTP/1.1\r\nHost: plc\r\n\r\n"
        frames.append((1, _tcp_frame(seq, 1, 0x18, payload, 40000, 102)))
        seq += len(payload)
    pipeline = Pipeline()
    pipeline.run(ListReader(frames))  # type: ignore[arg-type]
    pipeline.close()
    assert pipeline.anomalies == {"s7comm.not_s7comm": 1}


def test_cotp_split_pdu_decoded(tmp_path: Path, s7: tuple[Pipeline, list[Transaction]]) -> None:
    # frame 221 of the capture carries one upload answer in three COTP DTs
    _, seen = s7
    upload = [t for t in seen if t.record.function_name == "upload"]
    assert any(t.response_packet == 221 and t.response.specific().get("data_length", 0) > 500
               for t in upload)  # fmt: skip
