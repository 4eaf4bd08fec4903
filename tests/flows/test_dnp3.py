"""DNP3 on flows, end to end from the project's scenario capture: pairing per association
and sequence, multi-fragment answers, unsolicited responses, confirms tied to what they
confirm, operation classes, the summary counts; probing on an unexpected port; garbage on
port 20000."""

from __future__ import annotations

from collections import Counter

import pytest

from otsec.capture.pcapfile import open_capture
from otsec.config import Dnp3Settings, Settings
from otsec.events.types import Transaction
from otsec.pipeline import Pipeline
from otsec.summary import protocol_summary
from tests.conftest import REPO, real_pcaps_dir
from tests.test_fuzz_pipeline import ListReader, _tcp_frame

DNP3 = REPO / "pcaps" / "dnp3_functions.pcap"


def _replay(path: str, settings: Settings | None = None) -> tuple[Pipeline, list[Transaction]]:
    pipeline = Pipeline(settings)
    seen: list[Transaction] = []
    pipeline.event_handlers.append(seen.append)
    with open_capture(path) as reader:
        pipeline.run(reader)
    pipeline.close()
    return pipeline, seen


@pytest.fixture(scope="module")
def dnp3() -> tuple[Pipeline, list[Transaction]]:
    return _replay(str(DNP3))


def test_outcomes_and_the_two_intended_anomalies(dnp3: tuple[Pipeline, list[Transaction]]) -> None:
    pipeline, seen = dnp3
    # the scenario corrupts one data-block CRC and leaves one READ unanswered on purpose
    assert pipeline.anomalies == {"dnp3.bad_data_crc": 1, "dnp3.unanswered_request": 1}
    statuses = Counter(t.status for t in seen if t.protocol == "dnp3")
    assert statuses == {"matched": 99, "unsolicited": 3, "no_response": 1, "unanswered": 1}
    (nr,) = [t for t in seen if t.status == "no_response"]
    assert nr.record.function_name == "direct_operate_nr"
    (lost,) = [t for t in seen if t.status == "unanswered"]
    assert lost.record.function_name == "read" and lost.extra == {"master": 1, "outstation": 11}


def test_operation_classes_of_the_issue(dnp3: tuple[Pipeline, list[Transaction]]) -> None:
    _, seen = dnp3
    ops: dict[str, set[str]] = {}
    for t in seen:
        ops.setdefault(t.record.function_name, set()).add(t.record.operation)
    assert ops["read"] == {"read", "identify"}  # g0 device attributes: identify
    assert ops["write"] == {"write", "time_sync"}  # g50 time: time_sync
    for control in ("select", "operate", "direct_operate", "direct_operate_nr", "immed_freeze",
                    "freeze_clear"):  # fmt: skip
        assert ops[control] == {"control"}, control
    assert ops["cold_restart"] == ops["warm_restart"] == {"restart"}
    assert ops["enable_unsolicited"] == ops["assign_class"] == {"configuration"}
    assert ops["delay_measure"] == ops["record_current_time"] == {"time_sync"}


def test_confirms_point_at_the_response_they_confirm(
    dnp3: tuple[Pipeline, list[Transaction]],
) -> None:
    _, seen = dnp3
    by_packet = {t.response_packet: t for t in seen if t.response_packet is not None}
    confirms = [t for t in seen if t.record.function_name == "confirm"]
    assert len(confirms) == 25
    for confirm in confirms:
        if confirm.status != "matched":
            continue
        confirmed = by_packet[confirm.extra["confirms_packet"]]  # type: ignore[index]
        assert confirmed.response.con
        assert confirmed.response.seq == confirm.record.seq
        assert confirmed.response.uns == confirm.record.uns
    unsolicited_confirms = [c for c in confirms if c.record.uns and c.status == "matched"]
    assert len(unsolicited_confirms) >= 2


def test_multi_fragment_and_unsolicited(dnp3: tuple[Pipeline, list[Transaction]]) -> None:
    _, seen = dnp3
    unsolicited = [t for t in seen if t.status == "unsolicited"]
    assert {t.response.function_name for t in unsolicited} == {"unsolicited_response"}
    assert all(t.request is None and t.envelope.server_port == 20000 for t in unsolicited)
    # the 518-byte integrity response came in three transport segments
    big = [t for t in seen if t.response is not None and t.response_packet == 9]
    assert big and {o.name for o in big[0].response.objects} >= {"g1v2", "g30v5", "g40v1"}


def test_summary_counts(dnp3: tuple[Pipeline, list[Transaction]]) -> None:
    pipeline, _ = dnp3
    summary = protocol_summary(pipeline.protocols)["dnp3"]
    assert summary["app_fragments"] == summary["pdus"] == 178
    assert summary["link_frames"] == 191  # tshark: 192, one of them with a bad data CRC
    assert summary["function_codes"]["129"] == 74 and summary["function_codes"]["130"] == 3
    assert summary["objects"]["g12v1"] == 7 and summary["objects"]["g41v3"] == 2
    assert summary["link_functions"]["unconfirmed_user_data"] == 183  # tshark 184, less the bad CRC


def test_dnp3_on_an_unexpected_port_is_found_by_probing() -> None:
    capture = real_pcaps_dir() / "dnp3" / "zeek__dnp3_read_p20001.pcap"
    if not capture.exists():
        pytest.skip(f"no {capture}")
    pipeline, seen = _replay(str(capture))
    assert [t.status for t in seen] == ["matched"]
    assert pipeline.probed_ports == {20001: "dnp3"}
    off = Settings(dnp3=Dnp3Settings(probe=False))
    pipeline, seen = _replay(str(capture), off)
    assert seen == [] and pipeline.probed_ports == {}


def test_garbage_on_port_20000_is_one_anomaly() -> None:
    frames = []
    seq = 1000
    for _ in range(5):
        payload = b"GET /index.html HTTP/1.1\r\nHost: rtu\r\n\r\n"
        frames.append((1, _tcp_frame(seq, 1, 0x18, payload, 40000, 20000)))
        seq += len(payload)
    pipeline = Pipeline()
    pipeline.run(ListReader(frames))  # type: ignore[arg-type]
    pipeline.close()
    assert pipeline.anomalies == {"dnp3.not_dnp3": 1}
