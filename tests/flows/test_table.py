"""Flow table: orientation, state, timeouts, eviction, port reuse, community id."""

from __future__ import annotations

import socket

from otsec.capture.decode import ACK, FIN, RST, SYN, TCP, UDP, make_key
from otsec.config import FlowLimits, ReassemblyLimits
from otsec.flows.table import CLOSED, CLOSING, ESTABLISHED, SYN_SENT, Flow, FlowTable, tcp_control
from otsec.flows.tcp_stream import ReassemblyContext

A = socket.inet_aton("10.0.0.1")
B = socket.inet_aton("10.0.0.2")


def table(**limits: float) -> tuple[FlowTable, list[tuple[Flow, str]], list[str]]:
    ended: list[tuple[Flow, str]] = []
    anomalies: list[str] = []
    ctx = ReassemblyContext(ReassemblyLimits(), lambda *a: None)
    t = FlowTable(
        FlowLimits(**limits),  # type: ignore[arg-type]
        {502, 102, 20000, 80},
        ctx,
        on_end=lambda f, r, ts: ended.append((f, r)),
        on_anomaly=lambda n, ts, f, d: anomalies.append(n),
    )
    return t, ended, anomalies


def test_syn_sender_is_originator() -> None:
    t, _, _ = table()
    flow, fwd = t.create(TCP, make_key(A, B, 40000, 502, 0), SYN, 1.0)
    assert fwd and flow.orig_ip == A and flow.resp_port == 502 and flow.state == SYN_SENT
    assert not flow.midstream
    assert t.tcp[make_key(B, A, 502, 40000, 0)] == (flow, False)


def test_syn_ack_first_makes_the_sender_the_responder() -> None:
    t, _, _ = table()
    flow, fwd = t.create(TCP, make_key(B, A, 502, 40000, 0), SYN | ACK, 1.0)
    assert not fwd and flow.orig_ip == A and flow.orig_port == 40000


def test_midstream_orientation_by_well_known_port() -> None:
    t, _, _ = table()
    flow, fwd = t.create(TCP, make_key(B, A, 502, 40000, 0), ACK, 1.0)
    assert not fwd and flow.resp_port == 502 and flow.midstream
    assert flow.state == ESTABLISHED


def test_orientation_falls_back_to_low_port_then_first_sender() -> None:
    t, _, _ = table()
    flow, fwd = t.create(UDP, make_key(A, B, 999, 40000, 0), 0, 1.0)
    assert not fwd and flow.resp_port == 999
    flow, fwd = t.create(UDP, make_key(A, B, 50000, 40000, 0), 0, 1.0)
    assert fwd and flow.orig_port == 50000


def test_vlan_separates_flows() -> None:
    t, _, _ = table()
    f1, _ = t.create(TCP, make_key(A, B, 1, 502, 0), SYN, 1.0)
    f2, _ = t.create(TCP, make_key(A, B, 1, 502, 7), SYN, 1.0)
    assert f1 is not f2 and f2.vlan == 7 and len(t) == 2


def test_state_machine() -> None:
    t, _, _ = table()
    flow, _ = t.create(TCP, make_key(A, B, 1, 502, 0), SYN, 1.0)
    tcp_control(flow, False, SYN | ACK)
    assert flow.state == ESTABLISHED
    flow.orig_flags |= FIN
    tcp_control(flow, True, FIN | ACK)
    assert flow.state == CLOSING
    flow.resp_flags |= FIN
    tcp_control(flow, False, FIN | ACK)
    assert flow.state == CLOSED
    other, _ = t.create(TCP, make_key(A, B, 2, 502, 0), ACK, 1.0)
    tcp_control(other, True, RST)
    assert other.state == CLOSED


def test_idle_timeouts_depend_on_state() -> None:
    t, ended, _ = table(tcp_handshake_timeout=5, tcp_established_timeout=100, udp_timeout=20)
    syn, _ = t.create(TCP, make_key(A, B, 1, 502, 0), SYN, 0.0)
    est, _ = t.create(TCP, make_key(A, B, 2, 502, 0), ACK, 0.0)
    dgram, _ = t.create(UDP, make_key(A, B, 3, 20000, 0), 0, 0.0)
    assert t.sweep(6.0) == 1 and ended[-1] == (syn, "idle_timeout")
    assert t.sweep(21.0) == 1 and ended[-1] == (dgram, "idle_timeout")
    assert t.sweep(50.0) == 0
    assert t.sweep(101.0) == 1 and ended[-1] == (est, "idle_timeout")
    assert len(t) == 0 and not t.tcp and not t.udp


def test_closed_flows_end_after_the_closed_timeout_as_closed() -> None:
    t, ended, _ = table(tcp_closed_timeout=5, tcp_established_timeout=100)
    flow, _ = t.create(TCP, make_key(A, B, 1, 502, 0), ACK, 0.0)
    tcp_control(flow, True, RST)
    assert t.sweep(3.0) == 0
    assert t.sweep(6.0) == 1 and ended[-1] == (flow, "closed")


def test_full_table_evicts_least_recently_seen_and_reports_them() -> None:
    t, ended, anomalies = table(max_flows=32)
    flows = []
    for i in range(32):
        f, _ = t.create(TCP, make_key(A, B, 1000 + i, 502, 0), ACK, float(i))
        f.last_ts = float(i)
        flows.append(f)
    newest, _ = t.create(TCP, make_key(A, B, 9999, 502, 0), ACK, 100.0)
    assert len(t) <= 32
    evicted = [f for f, r in ended if r == "evicted"]
    assert evicted and evicted == flows[: len(evicted)]  # oldest first
    assert anomalies.count("flow.evicted") == len(evicted) == t.evicted
    assert newest.fid in t.active


def test_end_of_input_flushes_everything() -> None:
    t, ended, _ = table()
    for i in range(5):
        t.create(UDP, make_key(A, B, 1000 + i, 20000, 0), 0, 1.0)
    t.flush(2.0)
    assert len(t) == 0 and [r for _, r in ended] == ["end_of_input"] * 5
    assert t.ended == {"end_of_input": 5}


def test_community_id_is_direction_independent() -> None:
    t, _, _ = table()
    f1, _ = t.create(TCP, make_key(A, B, 40000, 502, 0), SYN, 1.0)
    f2, _ = t.create(TCP, make_key(B, A, 502, 40001, 0), SYN | ACK, 1.0)
    assert f1.community_id.startswith("1:") and len(f1.community_id) == 30
    assert f2.orig_ip == A and f1.community_id != f2.community_id
    # same 5-tuple seen from the other side gives the same id
    from otsec.flows.keys import community_id

    assert community_id(6, B, A, 502, 40000) == f1.community_id
