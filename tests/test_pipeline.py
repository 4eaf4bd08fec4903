"""End to end through the pipeline: capture file -> decode -> flows -> reassembly ->
framer, with the length-prefixed test protocol bound to port 9999."""

from __future__ import annotations

from pathlib import Path

from otsec.capture.pcapfile import open_capture
from otsec.config import FlowLimits, Settings
from otsec.flows.session import ServiceRegistry
from otsec.pipeline import Pipeline
from tests.scapy_util import TcpSession, udp, write_pcap
from tests.testproto import Collected, pdu

PORT = 9999
REQS = [pdu(b"read %d" % i) for i in range(6)]
RESPS = [pdu(b"value %d" % i * 3) for i in range(6)]


def run(path: Path, settings: Settings | None = None) -> tuple[Pipeline, Collected]:
    got = Collected()
    services = ServiceRegistry()
    services.register(PORT, got.service())
    pipeline = Pipeline(settings, services)
    with open_capture(str(path)) as reader:
        pipeline.run(reader)
    pipeline.close()
    return pipeline, got


def test_split_and_coalesced_pdus_in_both_directions(tmp_path: Path) -> None:
    s = TcpSession("10.1.1.1", "10.1.1.2", 40000, PORT).handshake()
    s.send(True, REQS[0][:2]).send(True, REQS[0][2:])  # one PDU over two segments
    s.send(False, RESPS[0])
    s.send(True, b"".join(REQS[1:4]))  # three PDUs in one segment
    s.send(False, b"".join(RESPS[1:4])[:7]).send(False, b"".join(RESPS[1:4])[7:])
    s.send(True, REQS[4] + REQS[5][:4]).send(True, REQS[5][4:])
    s.send(False, RESPS[4] + RESPS[5])
    s.fin()
    pipeline, got = run(write_pcap(tmp_path / "a.pcap", s.packets))
    assert got.bodies(True) == REQS
    assert got.bodies(False) == RESPS
    assert pipeline.flows.created_tcp == 1
    assert pipeline.flows.ended == {"end_of_input": 1}
    assert pipeline.anomalies == {}


def test_retransmission_and_reordering_on_the_wire(tmp_path: Path) -> None:
    s = TcpSession("10.1.1.1", "10.1.1.2", 40001, PORT).handshake()
    base = s.cseq
    wire = b"".join(REQS)
    # segments of 10 bytes sent in a shuffled order with one duplicate
    offsets = list(range(0, len(wire), 10))
    order = offsets[:]
    order[1], order[2] = order[2], order[1]
    order.insert(4, order[3])
    for off in order:
        s.raw(True, "PA", wire[off : off + 10], seq=base + off)
    pipeline, got = run(write_pcap(tmp_path / "b.pcap", s.packets))
    assert got.bodies(True) == REQS
    summary = pipeline.reassembly
    assert summary.retransmissions == 1 and summary.ooo_segments >= 1


def test_capture_starting_mid_stream(tmp_path: Path) -> None:
    s = TcpSession("10.1.1.1", "10.1.1.2", 40002, PORT)  # no handshake captured
    s.send(False, RESPS[0])  # first packet seen is the server's
    s.send(True, REQS[1]).send(False, RESPS[1])
    pipeline, got = run(write_pcap(tmp_path / "c.pcap", s.packets))
    flow = next(iter(pipeline.flows.active.values()), None)
    assert flow is None  # flushed at close
    assert got.bodies(True) == [REQS[1]]
    assert got.bodies(False) == RESPS[:2]
    assert pipeline.flows_by_port == {}


def test_lost_segment_is_a_gap_and_the_stream_resumes(tmp_path: Path) -> None:
    s = TcpSession("10.1.1.1", "10.1.1.2", 40003, PORT).handshake()
    s.send(True, REQS[0])
    s.send(True, REQS[1], advance=True)
    lost = s.packets.pop()  # the capture missed this segment
    assert lost
    s.send(True, REQS[2]).send(True, REQS[3])
    s.raw(False, "A")  # the server acknowledges everything, including the lost bytes
    s.send(True, REQS[4])
    pipeline, got = run(write_pcap(tmp_path / "d.pcap", s.packets))
    assert got.bodies(True) == [REQS[0], REQS[2], REQS[3], REQS[4]]
    assert pipeline.anomalies.get("tcp.gap") == 1
    assert pipeline.reassembly.gap_bytes == len(REQS[1])
    assert ("test.invalid_header", 1) not in got.anomalies


def test_udp_datagrams_are_delivered_one_at_a_time(tmp_path: Path) -> None:
    packets = [
        (1.0, udp("10.2.0.1", "10.2.0.2", 5555, PORT, REQS[0] + REQS[1])),
        (1.1, udp("10.2.0.1", "10.2.0.2", 5555, PORT, REQS[2][:5])),  # a cut PDU ...
        (1.2, udp("10.2.0.1", "10.2.0.2", 5555, PORT, REQS[3])),  # ... is not continued
        (1.3, udp("10.2.0.2", "10.2.0.1", PORT, 5555, RESPS[0])),
    ]
    pipeline, got = run(write_pcap(tmp_path / "e.pcap", packets))
    assert got.bodies(True) == [REQS[0], REQS[1], REQS[3]]
    assert got.bodies(False) == [RESPS[0]]
    assert pipeline.flows.created_udp == 1


def test_port_reuse_after_close_is_a_new_flow(tmp_path: Path) -> None:
    s = TcpSession("10.1.1.1", "10.1.1.2", 40004, PORT).handshake()
    s.send(True, REQS[0]).fin()
    again = TcpSession("10.1.1.1", "10.1.1.2", 40004, PORT, cisn=90000, ts=s.ts + 1)
    again.handshake().send(True, REQS[1])
    pipeline, got = run(write_pcap(tmp_path / "f.pcap", s.packets + again.packets))
    assert pipeline.flows.created_tcp == 2
    assert pipeline.flows.ended == {"port_reused": 1, "end_of_input": 1}
    assert [fid for fid, fwd, _ in got.pdus] == [1, 2]


def test_a_new_syn_without_a_close_is_a_new_flow(tmp_path: Path) -> None:
    """A client that restarts (no FIN, no RST) and connects again from the same port: its
    new SYN carries another initial sequence number, so a new connection begins; a
    retransmitted SYN (same number) does not end the flow it belongs to."""
    s = TcpSession("10.1.1.1", "10.1.1.2", 40006, PORT)
    s.raw(True, "S")
    s.raw(True, "S")  # the SYN again, as retransmitted: same sequence number
    s.cseq += 1
    s.raw(False, "SA")
    s.sseq += 1
    s.raw(True, "A")
    s.send(True, REQS[0]).send(False, RESPS[0])
    again = TcpSession("10.1.1.1", "10.1.1.2", 40006, PORT, cisn=777777, sisn=888888,
                       ts=s.ts + 5)  # fmt: skip
    again.handshake().send(True, REQS[1]).send(False, RESPS[1])
    pipeline, got = run(write_pcap(tmp_path / "r.pcap", s.packets + again.packets))
    assert pipeline.flows.created_tcp == 2
    assert pipeline.flows.ended == {"port_reused": 1, "end_of_input": 1}
    assert got.bodies(True) == [REQS[0], REQS[1]] and got.bodies(False) == RESPS[:2]
    assert not got.anomalies


def test_idle_flows_time_out_and_full_table_evicts(tmp_path: Path) -> None:
    packets = []
    for i in range(40):
        packets.append((100.0 + i, udp("10.3.0.1", "10.3.0.2", 10000 + i, 20000, b"x")))
    packets.append((100.0 + 40 + 500, udp("10.3.0.1", "10.3.0.2", 1, 20000, b"x")))
    settings = Settings(flows=FlowLimits(max_flows=16, udp_timeout=60.0, sweep_interval=1.0))
    pipeline, _ = run(write_pcap(tmp_path / "g.pcap", packets), settings)
    ended = pipeline.flows.ended
    assert ended["evicted"] == pipeline.anomalies["flow.evicted"] > 0
    assert ended["evicted"] + ended["idle_timeout"] + ended["end_of_input"] == 41
    assert ended["idle_timeout"] >= 1 and ended["end_of_input"] == 1


def _raw_pcap(path: Path, records: list[tuple[bytes, int]]) -> Path:
    """A pcap whose records give (frame, wire length) explicitly."""
    from tests.capture.pcapbuild import pcap_header, pcap_record

    body = b"".join(
        pcap_record(1_700_000_000 + i, 0, frame, wirelen=wl)
        for i, (frame, wl) in enumerate(records)
    )
    path.write_bytes(pcap_header(snaplen=80) + body)
    return path


def test_lying_ip_length_versus_snap_length_cut(tmp_path: Path) -> None:
    s = TcpSession("10.1.1.1", "10.1.1.2", 40005, PORT).handshake()
    full = bytes(s.packets[-1][1] / (REQS[0] * 10))
    lying = bytearray(full)
    lying[16:18] = (len(full) - 14 + 500).to_bytes(2, "big")  # IP total length too big
    records = [(bytes(p[1]), len(bytes(p[1]))) for p in s.packets]
    records.append((full[:80], len(full)))  # cut by the snap length: a gap, not a lie
    records.append((bytes(lying), len(lying)))  # complete frame, lying header
    pipeline, _ = run(_raw_pcap(tmp_path / "h.pcap", records))
    assert pipeline.anomalies.get("ip.bad_total_length") == 1
    assert pipeline.anomalies.get("tcp.snaplen_truncated") == 1
