"""Every public real-world capture in ../shared/pcaps-real is read completely: the packet
count equals tshark's, nothing is refused, and the whole pipeline runs over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otsec.capture.pcapfile import open_capture
from otsec.pipeline import Pipeline
from tests.conftest import ground_truth, real_pcaps_dir


def _ground_truth() -> dict[str, Any]:
    return ground_truth()


TRUTH = _ground_truth()
pytestmark = pytest.mark.realpcaps


@pytest.mark.skipif(not TRUTH, reason=f"public captures not found at {real_pcaps_dir()}")
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_packet_count_matches_tshark(name: str, real_pcaps: Path) -> None:
    truth = TRUTH[name]
    with open_capture(str(real_pcaps / name)) as reader:
        count = sum(1 for _ in reader.records())
        assert reader.warnings == []
        assert not reader.truncated
    assert count == truth["packets_total"]


@pytest.mark.skipif(not TRUTH, reason=f"public captures not found at {real_pcaps_dir()}")
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_pipeline_processes_every_packet(name: str, real_pcaps: Path) -> None:
    truth = TRUTH[name]
    pipeline = Pipeline()
    with open_capture(str(real_pcaps / name)) as reader:
        pipeline.run(reader)
    pipeline.close()
    assert pipeline.packets == truth["packets_total"]
    assert len(pipeline.flows) == 0  # everything flushed
    # ICS conversations tshark saw on the standard ports were reassembled
    ics_ports = {502, 102, 20000}
    if any(c["transport"] == "tcp" and c["dst_port"] in ics_ports for c in truth["conversations"]):
        assert pipeline.reassembly.bytes_delivered > 0


def test_every_capture_in_the_folder_is_in_the_ground_truth(real_pcaps: Path) -> None:
    files = {
        str(p.relative_to(real_pcaps))
        for p in real_pcaps.rglob("*")
        if p.suffix in (".pcap", ".pcapng") and "peer-expectations" not in p.parts
    }
    assert files == set(TRUTH)
