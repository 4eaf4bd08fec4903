"""plant_normal.pcap and the attack captures hold what pcaps/README.md says: the normal
traffic nothing a monitor that learnt plant_baseline.pcap has not seen, each attack what
its draft expectation file (pcaps/attacks/<name>.expected.json) lists.

Transactions come from otsec's ECS events (``otsec replay --events``, one run for every
capture), hosts and flows from the frames (``nothing_new``).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pcaps.conftest import ATTACKS, PCAPS
from tests.pcaps.nothing_new import Profile, Replay, event_profile, frame_profile, replay

sys.path.insert(0, str(PCAPS))

from plantgen import plant as P
from plantgen.attack_captures import ATTACKS as BUILDERS
from plantgen.normal import BASELINE_WRITES
from plantgen.scenarios import DEFAULT_SEEDS
from plantgen.timeline import Ctx, write_capture

BASELINE = PCAPS / "plant_baseline.pcap"
NORMAL = PCAPS / "plant_normal.pcap"
RULES = {
    "otsec.baseline.new_asset",
    "otsec.baseline.new_edge",
    "otsec.baseline.new_operation",
    "otsec.baseline.new_write_range",
    "otsec.policy.unauthorized_operation",
    "otsec.policy.dangerous_command",
    "otsec.recon.identity_read",
    "otsec.recon.ics_scan",
    "otsec.recon.network_scan",
    "otsec.policy.zone_violation",
}
#: An operation or write new on a known edge is named by one of these (the engine raises
#: the most specific one per request: a dangerous command, else an unauthorized operation,
#: else a new operation; a new write range on an authorized write).
OPERATION_RULES = {"otsec.baseline.new_operation", "otsec.policy.unauthorized_operation",
                   "otsec.policy.dangerous_command"}  # fmt: skip
WRITE_RULES = {"otsec.baseline.new_write_range", "otsec.policy.unauthorized_operation",
               "otsec.policy.dangerous_command"}  # fmt: skip
PLANT_IPS = {h.ip for h in (*P.BASE_HOSTS, P.ROGUE)}
TSHARK = shutil.which("tshark")

Replays = dict[str, tuple[Path, Replay]]  # name -> (capture, otsec's events and summary)


def expected(name: str) -> dict:
    return json.loads((PCAPS / "attacks" / f"{name}.expected.json").read_text(encoding="utf-8"))


# -- the draft expectation files -----------------------------------------------------------


@pytest.mark.parametrize("name", ATTACKS)
def test_expected_file_names_known_rules_and_plant_hosts(name: str) -> None:
    doc = expected(name)
    assert set(doc) == {"capture", "baseline", "alerts", "sigma"}
    assert doc["capture"] == f"{name}.pcap"
    assert (PCAPS / "attacks" / doc["capture"]).is_file()
    assert doc["baseline"] == "plant_baseline.pcap"
    assert doc["alerts"]
    for alert in doc["alerts"]:
        assert set(alert) == {"rule", "source", "destination", "note"}, alert
        assert alert["rule"] in RULES, alert
        assert alert["source"] in PLANT_IPS, alert
        assert ipaddress.ip_address(alert["source"]).version == 4
        assert alert["note"].strip(), alert
        if alert["rule"] in ("otsec.baseline.new_asset", "otsec.recon.network_scan"):
            assert alert["destination"] in ("", *PLANT_IPS), alert
        else:
            assert alert["destination"] in PLANT_IPS, alert
        if alert["rule"] == "otsec.baseline.new_asset":
            assert alert["destination"] == ""


# -- what otsec and the frames show ----------------------------------------------------------


@pytest.fixture(scope="module")
def replays(tmp_path_factory: pytest.TempPathFactory) -> Replays:
    """otsec's events and summary of the baseline ("baseline"), plant_normal
    ("plant_normal"), each attack capture (its name) and each attack capture's normal
    part built alone ("normal/<name>")."""
    if importlib.util.find_spec("otsec") is None:
        pytest.skip("otsec is not importable")
    tmp = tmp_path_factory.mktemp("normal-parts")
    paths = {"baseline": BASELINE, "plant_normal": NORMAL}
    for name, capture in BUILDERS.items():
        paths[name] = PCAPS / "attacks" / f"{name}.pcap"
        out = tmp / f"{name}.pcap"
        ctx = Ctx(DEFAULT_SEEDS[name], capture.t0)
        write_capture(out, capture.normal(ctx), t0_us=capture.t0)
        paths[f"normal/{name}"] = out
    runs = replay(paths.values())
    return {key: (path, runs[str(path)]) for key, path in paths.items()}


@pytest.fixture(scope="module")
def profiles(replays: Replays) -> dict[str, Profile]:
    out = {}
    for key, (path, run) in replays.items():
        prof = event_profile(run.events, baseline=key == "baseline")
        frames = frame_profile(path)
        prof.hosts, prof.flows = frames.hosts, frames.flows
        out[key] = prof
    return out


def test_attack_registry_matches_the_test_list() -> None:
    assert tuple(BUILDERS) == ATTACKS


@pytest.mark.parametrize("key", ["plant_normal", *(f"normal/{name}" for name in ATTACKS)])
def test_normal_traffic_holds_nothing_the_baseline_lacks(
    profiles: dict[str, Profile], key: str
) -> None:
    """No new IP or MAC, flow, (edge, function code, operation class) or written address."""
    assert profiles["baseline"].new_in(profiles[key]) == {}
    assert profiles[key].operations and profiles[key].writes


def test_baseline_writes_table_is_what_plant_baseline_wrote(profiles: dict[str, Profile]) -> None:
    """plantgen.normal.BASELINE_WRITES lists exactly the coils, registers and DNP3 points
    plant_baseline.pcap writes with a successful answer, per activity."""
    names = {h.ip: h.name for h in P.BASE_HOSTS}
    table = {
        ("modbus", 1, "coil"): "coils",
        ("modbus", 1, "holding_register"): "registers",
        ("dnp3", 12): "crob",
        ("dnp3", 41): "analog",
    }
    found: dict[str, dict[str, set[object]]] = {}
    for client, server, _, _, *key, addr in profiles["baseline"].writes:
        kind = table.get(tuple(key))
        if kind is not None:
            picks = found.setdefault(f"{names[client]}/{names[server]}", {})
            picks.setdefault(kind, set()).add(addr)
    want = {a: {k: set(v) for k, v in picks.items()} for a, picks in BASELINE_WRITES.items()}
    assert found == want


def _pairs(rows: list[tuple[object, ...]]) -> set[tuple[object, object]]:
    return {(row[0], row[1]) for row in rows}


def _edges(flows: list[tuple[object, ...]] | set[tuple[object, ...]]) -> set[tuple[object, object]]:
    """client -> server pairs of the TCP and UDP flows."""
    return {(f[1], f[2]) for f in flows if f[0] in ("tcp", "udp")}


def _addressed(write: tuple[object, ...]) -> bool:
    """A write to an addressed table: Modbus, an S7 area or DB, DNP3 points (not an S7
    block or the clock, not DNP3 class data)."""
    proto = write[4]
    if proto == "s7comm":
        return isinstance(write[5], int)
    return proto == "modbus" or (proto == "dnp3" and write[-1] is not None)


@pytest.mark.parametrize("name", ATTACKS)
def test_expected_alerts_match_what_is_new(profiles: dict[str, Profile], name: str) -> None:
    """The baseline rules of the draft name exactly the hosts, edges, operations and
    written addresses that are new in the capture (client -> server pairs; operations and
    write ranges on known edges only)."""
    base = profiles["baseline"]
    new = base.new_in(profiles[name])
    known = _edges(base.flows)
    alerts = expected(name)["alerts"]

    def drafted(*rules: str) -> set[tuple[str, str]]:
        return {(a["source"], a["destination"]) for a in alerts if a["rule"] in rules}

    new_ips = {h for (h,) in new.get("hosts", []) if "." in str(h)}
    assert {src for src, _ in drafted("otsec.baseline.new_asset")} == new_ips
    assert drafted("otsec.baseline.new_edge") == _edges(new.get("flows", []))
    assert _pairs(new.get("operations", [])) & known <= drafted(*OPERATION_RULES)
    addressed = [w for w in new.get("writes", []) if _addressed(w)]
    assert _pairs(addressed) & known <= drafted(*WRITE_RULES)
    # every other finding is about a pair that does something new
    touched = _pairs(new.get("operations", [])) | _pairs(new.get("writes", []))
    touched |= _edges(new.get("flows", []))
    for rule in RULES - {"otsec.baseline.new_asset", "otsec.recon.network_scan",
                         "otsec.recon.ics_scan"}:  # fmt: skip
        assert drafted(rule) <= touched, rule


# -- decoding ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plant_normal", *ATTACKS])
def test_otsec_decodes_without_anomalies(replays: Replays, name: str) -> None:
    """No anomaly but the function-code scan's malformed probes (attack_recon_scan.md)."""
    summary = replays[name][1].summary
    want = {}
    if name == "attack_recon_scan":
        want = {
            "modbus.invalid_value": 1,
            "modbus.malformed_pdu": 11,
            "modbus.quantity_out_of_range": 2,
        }
    assert summary["anomalies"] == want
    reassembly = summary["reassembly"]
    assert reassembly["gaps"] == reassembly["retransmissions"] == 0


def test_both_evasive_stops_are_decoded(replays: Replays) -> None:
    """The STOP cut into 1-3 byte TCP segments and the one in three COTP DT TPDUs are both
    decoded and matched with their ack-data (attack_s7_stop_evasion.md)."""
    stops = [
        (d["destination"]["ip"], d["ics"]["transaction"]["request_packet"])
        for d in replays["attack_s7_stop_evasion"][1].events
        if d["event"]["action"] == "s7comm.plc_stop"
    ]
    assert stops == [(P.PLC_S71.ip, 1086), (P.PLC_S72.ip, 1450)]


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
@pytest.mark.tshark
def test_recon_scan_malformed_frames_are_the_short_requests() -> None:
    """tshark's only malformed frames are the scan's FC 15, 16, 22 and 23 requests."""
    assert TSHARK is not None
    path = PCAPS / "attacks" / "attack_recon_scan.pcap"

    def frames(display_filter: str) -> list[int]:
        out = subprocess.run(
            [TSHARK, "-r", str(path), "-Y", display_filter, "-T", "fields", "-e", "frame.number"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        return [int(x) for x in out.split()]

    short = "ip.src == 10.20.1.66 && modbus.func_code in {15, 16, 22, 23}"
    assert frames("_ws.malformed || _ws.expert.severity >= warning") == frames(short)
    assert len(frames(short)) == 4
