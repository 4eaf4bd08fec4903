"""The scenario generator is deterministic and its captures decode cleanly in Wireshark.

The generator is run as a subprocess, exactly as the Makefile and the benchmark run it.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dissectors.dnp3.helpers import crc_bitwise  # bit by bit: not the generator's table
from tests.pcaps.conftest import ATTACKS, SCENARIO_CAPTURES, Regenerated

ROOT = Path(__file__).resolve().parents[2]
PCAPS = ROOT / "pcaps"
GENERATOR = PCAPS / "gen_plant.py"
TSHARK = shutil.which("tshark")

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


# What each committed capture must contain (pcaps/README.md): protocols with a non-zero
# frame count, and the only expert warnings allowed (the attack's scan RSTs and the
# outstation's "function not supported" IIN answer to STOP APPLICATION; in
# dnp3_functions the deliberately corrupted data-block CRC and the g52v1 object tshark 4.0
# does not know).
@dataclass(frozen=True)
class Expected:
    protocols: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    retransmissions: int = 0
    errors: tuple[str, ...] = ()  # expert errors allowed (summaries)


PLANT = ("modbus", "s7comm", "dnp3", "dns", "arp", "icmp")

EXPECTED = {
    "plant_baseline.pcap": Expected(
        ("modbus", "s7comm", "dnp3", "dns", "http", "arp", "icmp"), retransmissions=1
    ),
    "plant_attack.pcap": Expected(
        ("modbus", "s7comm", "dnp3", "ssh", "http", "arp"),
        warnings=("Connection reset (RST)", "IIN Abnormality"),
    ),
    "plant_vlan_ipv6.pcap": Expected(
        ("vlan", "ieee8021ad", "ipv6", "modbus", "s7comm", "dnp3", "udp")
    ),
    # the non-Modbus flow to port 502 is a TLS ClientHello, which tshark's TLS heuristic
    # picks up
    "modbus_functions.pcap": Expected(("modbus", "tls")),
    # the S7comm-plus connection's payload is "data" to tshark 4.0 (no dissector)
    "s7_functions.pcap": Expected(("tpkt", "cotp", "s7comm", "data")),
    "dnp3_functions.pcap": Expected(
        ("dnp3", "tcp", "udp"),
        warnings=("Data Chunk Checksum incorrect", "Unknown Object\\Variation"),
    ),
    # another stretch of normal operation, and the attack captures of pcaps/attacks/
    "plant_normal.pcap": Expected((*PLANT, "http")),
    "attacks/attack_rogue_s7_stop.pcap": Expected(PLANT),
    "attacks/attack_ews_download.pcap": Expected(PLANT),
    "attacks/attack_modbus_rogue_write.pcap": Expected(PLANT),
    "attacks/attack_hmi_new_range.pcap": Expected(PLANT),
    "attacks/attack_dnp3_restart.pcap": Expected(PLANT),
    "attacks/attack_enterprise_ssh.pcap": Expected((*PLANT, "ssh")),
    # the function-code scan's requests too short for their function (FC 15, 16, 22, 23)
    # are Wireshark's "Malformed Packet" (pcaps/attacks/attack_recon_scan.md)
    "attacks/attack_recon_scan.pcap": Expected(PLANT, errors=("Malformed Packet",)),
    "attacks/attack_s7_stop_evasion.pcap": Expected(PLANT),
}

CHECKSUMS = (
    "-o", "ip.check_checksum:TRUE",
    "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
)  # fmt: skip


def generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def pcap_record_count(path: Path) -> int:
    """Count the records of a classic little-endian pcap file."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data, 0)[0] == 0xA1B2C3D4
    offset, count = 24, 0
    while offset < len(data):
        incl_len = struct.unpack_from("<I", data, offset + 8)[0]
        offset += 16 + incl_len
        count += 1
    assert offset == len(data)
    return count


def tshark_summary(path: Path) -> tuple[dict[str, list[tuple[int, str]]], dict[str, int]]:
    """Expert info by severity ((count, summary) rows) and protocol-hierarchy frame counts."""
    assert TSHARK is not None
    out = subprocess.run(
        [TSHARK, "-r", str(path), *CHECKSUMS, "-q", "-z", "expert", "-z", "io,phs"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    expert: dict[str, list[tuple[int, str]]] = {}
    section = ""
    for line in out.splitlines():
        head = re.match(r"^(Errors|Warns|Notes|Chats) \(\d+\)", line)
        if head:
            section = head.group(1)
            continue
        row = re.match(r"^\s+(\d+)\s+\S+\s+\S.*?\s{2,}(\S.*)$", line)
        if section and row:
            expert.setdefault(section, []).append((int(row.group(1)), row.group(2).strip()))
    frames: dict[str, int] = {}
    for proto, count in re.findall(r"^\s*(\S+)\s+frames:(\d+)", out, re.MULTILINE):
        frames[proto] = frames.get(proto, 0) + int(count)
    return expert, frames


def test_smallest_capture_regenerates_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "plant_vlan_ipv6.pcap"
    generate("--scenario", "plant_vlan_ipv6", "--out", str(out))
    assert out.read_bytes() == (PCAPS / "plant_vlan_ipv6.pcap").read_bytes()


def test_committed_captures_stay_small() -> None:
    total = sum((PCAPS / name).stat().st_size for name in EXPECTED)
    assert total < 7 * 1024 * 1024
    attacks = sum((PCAPS / name).stat().st_size for name in EXPECTED if name.startswith("att"))
    assert attacks < 3 * 1024 * 1024


@pytest.mark.parametrize("name", SCENARIO_CAPTURES)
def test_scenario_capture_regenerates_byte_identical(regenerated: Regenerated, name: str) -> None:
    """plant_normal.pcap and the attack captures, from one ``--all --out-dir`` run."""
    assert (regenerated.root / name).read_bytes() == (PCAPS / name).read_bytes()


def test_every_attack_capture_is_registered() -> None:
    on_disk = sorted(p.stem for p in (PCAPS / "attacks").glob("*.pcap"))
    assert on_disk == sorted(ATTACKS)
    assert sorted(p.name.split(".")[0] for p in (PCAPS / "attacks").glob("*.md")) == on_disk


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_timeline_matches_its_readme(regenerated: Regenerated, name: str) -> None:
    """Every step the generator annotates is in pcaps/attacks/<name>.md with its frame
    number and time, and the steps start 20-30 s into a 60-90 s capture."""
    rows = regenerated.timeline[name]
    readme = (PCAPS / "attacks" / f"{name}.md").read_text(encoding="utf-8")
    assert rows
    for frame, seconds, note in rows:
        assert f"| {frame} | {seconds:.3f} | {note} |" in readme
    assert 20 <= rows[0][1] <= 30
    assert 2000 <= pcap_record_count(PCAPS / "attacks" / f"{name}.pcap") <= 4000


def test_attack_timeline_matches_readme(tmp_path: Path) -> None:
    """Every attack step the generator annotates is listed in pcaps/README.md with its
    frame number and packet time (so the README cannot drift from the capture)."""
    out = tmp_path / "attack.pcap"
    timeline = generate("--scenario", "plant_attack", "--out", str(out), "--timeline").stdout
    readme = (PCAPS / "README.md").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in timeline.splitlines() if line.strip()]
    assert len(rows) >= 20
    for _, frame, seconds, text in rows:
        assert f"| {frame} | {float(seconds):.3f} | {text} |" in readme
    assert out.read_bytes() == (PCAPS / "plant_attack.pcap").read_bytes()


@needs_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_capture_decodes_cleanly(name: str) -> None:
    spec = EXPECTED[name]
    expert, frames = tshark_summary(PCAPS / name)
    errors = [summary for _, summary in expert.get("Errors", [])]
    assert all(any(ok in row for ok in spec.errors) for row in errors), errors
    rows = [summary for _, summary in expert.get("Warns", [])]
    assert all(any(ok in row for ok in spec.warnings) for row in rows), rows
    everything = [s for section in expert.values() for _, s in section]
    bad = [s for s in everything if "Malformed" in s or "checksum" in s.lower()]
    allowed = spec.warnings + spec.errors
    assert not [s for s in bad if not any(ok in s for ok in allowed)], bad
    retransmissions = sum(
        n for n, s in expert.get("Notes", []) + expert.get("Warns", []) if "retransmission" in s
    )
    assert retransmissions == spec.retransmissions
    for proto in spec.protocols:
        assert frames.get(proto, 0) > 0, (proto, frames)


def test_bench_is_deterministic_and_exact(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pcap", tmp_path / "b.pcap"
    for out in (first, second):
        generate("--scenario", "bench", "--packets", "20000", "--out", str(out))
    assert first.read_bytes() == second.read_bytes()
    assert pcap_record_count(first) == 20000
    if TSHARK is None:
        pytest.skip("tshark is not installed: bench decode not checked")
    expert, frames = tshark_summary(first)
    assert "Errors" not in expert and "Warns" not in expert, expert
    for proto in ("modbus", "s7comm", "dnp3", "dns", "arp"):
        assert frames.get(proto, 0) > 0, (proto, frames)


def test_seed_changes_the_capture(tmp_path: Path) -> None:
    out = tmp_path / "other.pcap"
    generate("--scenario", "plant_vlan_ipv6", "--out", str(out), "--seed", "99")
    assert out.read_bytes() != (PCAPS / "plant_vlan_ipv6.pcap").read_bytes()
    assert pcap_record_count(out) > 100


# -- modbus_functions.pcap: coverage of the Modbus dissector (pcaps/README.md) ------------

MODBUS_FUNCTIONS = PCAPS / "modbus_functions.pcap"

# every function code the capture must carry (tshark's modbus.func_code, exceptions
# counted under their function code), and the exception codes
MODBUS_FCS = (1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, 65, 90, 100)
MODBUS_EXCEPTIONS = (1, 2, 3, 4, 6, 10, 11)
DIAGNOSTIC_SUBFUNCTIONS = (0, 1, 4, 10, 11, 12, 13, 14, 15, 16, 17, 18)
UMAS_CODES = (0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x12, 0x33, 0x34, 0x35, 0x40, 0x41)
# frames where tshark reports "Malformed" on purpose (pcaps/README.md): none
DELIBERATELY_MALFORMED: tuple[int, ...] = ()


@dataclass(frozen=True)
class Adu:
    """One Modbus/TCP ADU as the generator wrote it."""

    first_frame: int  # the frame carrying its first byte
    frame: int  # the frame carrying its last byte (where tshark shows it)
    response: bool  # sent from port 502
    tid: int
    unit: int
    pdu: bytes


def pcap_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert struct.unpack_from("<I", data, 0)[0] == 0xA1B2C3D4
    frames, offset = [], 24
    while offset < len(data):
        incl_len = struct.unpack_from("<I", data, offset + 8)[0]
        frames.append(data[offset + 16 : offset + 16 + incl_len])
        offset += 16 + incl_len
    return frames


def modbus_adus(path: Path) -> tuple[list[Adu], list[int]]:
    """Reassemble every TCP stream to or from port 502 (Ethernet, IPv4, in order, no
    retransmissions: what the generator writes) and cut it into MBAP ADUs. A stream whose
    first bytes have a protocol id other than 0 is not Modbus: the first frames of those
    streams are returned separately."""
    streams: dict[tuple[bytes, int, bytes, int], tuple[int, bytearray, list[int]]] = {}
    adus: list[Adu] = []
    not_modbus: list[int] = []
    garbage: set[tuple[bytes, int, bytes, int]] = set()
    for number, frame in enumerate(pcap_frames(path), start=1):
        if frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, 16)[0]
        tcp = frame[14 + ihl : 14 + total]
        sport, dport, seq = struct.unpack_from("!HHI", tcp, 0)
        payload = tcp[(tcp[12] >> 4) * 4 :]
        if 502 not in (sport, dport) or not payload:
            continue
        key = (frame[26:30], sport, frame[30:34], dport)
        if key in garbage:
            continue
        nxt, buf, owners = streams.get(key, (seq, bytearray(), []))
        assert seq == nxt, f"frame {number}: out-of-order or repeated data"
        buf += payload
        owners += [number] * len(payload)
        if len(buf) >= 4 and buf[2:4] != b"\x00\x00":
            not_modbus.append(owners[0])
            garbage.add(key)
            streams.pop(key, None)
            continue
        while len(buf) >= 6 and len(buf) >= 6 + struct.unpack_from("!H", buf, 4)[0]:
            end = 6 + struct.unpack_from("!H", buf, 4)[0]
            tid, _, _, unit = struct.unpack_from("!HHHB", buf, 0)
            adus.append(Adu(owners[0], owners[end - 1], sport == 502, tid, unit, bytes(buf[7:end])))
            del buf[:end], owners[:end]
        streams[key] = ((seq + len(payload)) & 0xFFFFFFFF, buf, owners)
    assert all(not buf for _, buf, _ in streams.values()), "an ADU was left incomplete"
    return adus, not_modbus


def tshark_fields(path: Path, display_filter: str, *fields: str) -> list[list[list[str]]]:
    """Per frame, per field, every occurrence (``-E occurrence=a``)."""
    assert TSHARK is not None
    args = [TSHARK, "-r", str(path), "-Y", display_filter, "-T", "fields"]
    for name in fields:
        args += ["-e", name]
    args += ["-E", "occurrence=a", "-E", "aggregator=,"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    rows = []
    for line in out.splitlines():
        cells = line.split("\t")
        rows.append([cell.split(",") if cell else [] for cell in cells])
    return rows


def modbus_timeline(tmp_path: Path) -> list[tuple[int, float, str]]:
    """(frame, seconds from the first frame, note) of every annotated event; checks on the
    way that the capture regenerates byte for byte."""
    out = tmp_path / "modbus_functions.pcap"
    text = generate("--scenario", "modbus_functions", "--out", str(out), "--timeline").stdout
    assert out.read_bytes() == MODBUS_FUNCTIONS.read_bytes()
    rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    return [(int(frame), float(seconds), note) for _, frame, seconds, note in rows]


def test_modbus_functions_regenerates_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "modbus_functions.pcap"
    generate("--scenario", "modbus_functions", "--out", str(out))
    assert out.read_bytes() == MODBUS_FUNCTIONS.read_bytes()
    assert 300 <= pcap_record_count(out) <= 2000


def test_modbus_functions_timeline_matches_readme(tmp_path: Path) -> None:
    """Every edge case and exception the generator annotates is in pcaps/README.md with
    its frame number."""
    readme = (PCAPS / "README.md").read_text(encoding="utf-8")
    timeline = modbus_timeline(tmp_path)
    assert len(timeline) >= 15
    for frame, seconds, note in timeline:
        assert f"| {frame} | {seconds:.3f} | {note} |" in readme


def test_modbus_functions_content() -> None:
    """What the generator wrote, independent of tshark: every function code, the FC 8
    sub-functions, MEI types and read-device-id codes, UMAS codes, exception codes, units."""
    adus, not_modbus = modbus_adus(MODBUS_FUNCTIONS)
    assert len(not_modbus) == 1
    requests = [a for a in adus if not a.response]
    responses = [a for a in adus if a.response]
    assert {a.pdu[0] for a in requests} == set(MODBUS_FCS)
    assert {a.pdu[0] & 0x7F for a in responses} == set(MODBUS_FCS)
    assert {a.pdu[1] for a in responses if a.pdu[0] & 0x80} == set(MODBUS_EXCEPTIONS)
    excepted = {a.pdu[0] & 0x7F for a in responses if a.pdu[0] & 0x80}
    assert {16, 43} <= excepted
    diag = {struct.unpack_from("!H", a.pdu, 1)[0] for a in requests if a.pdu[0] == 8}
    assert diag == set(DIAGNOSTIC_SUBFUNCTIONS)
    mei = {(a.pdu[1], a.pdu[2] if a.pdu[1] == 14 else 0) for a in requests if a.pdu[0] == 43}
    assert mei == {(13, 0), (14, 1), (14, 2), (14, 4)}
    assert {a.pdu[2] for a in requests if a.pdu[0] == 90} == set(UMAS_CODES)
    assert {a.pdu[2] for a in responses if a.pdu[0] == 90} == {0xFE, 0xFD}
    assert {a.unit for a in requests} >= {0, 1, 2, 247, 255}
    # unanswered: the broadcast, FC 8 sub-function 4 and one plain request; one response
    # answers nothing
    answered = {(a.tid, a.unit) for a in responses}
    asked = {(a.tid, a.unit) for a in requests}
    unanswered = [a for a in requests if (a.tid, a.unit) not in answered]
    assert len(unanswered) == 3
    assert {a.unit for a in unanswered} >= {0}
    assert [a.pdu[:3] for a in unanswered if a.pdu[0] == 8] == [b"\x08\x00\x04"]
    assert len([a for a in responses if (a.tid, a.unit) not in asked]) == 1
    # five requests complete in one frame, and ADUs cut across frames
    per_frame: dict[int, int] = {}
    for a in requests:
        per_frame[a.frame] = per_frame.get(a.frame, 0) + 1
    assert max(per_frame.values()) == 5
    assert sum(a.first_frame != a.frame for a in adus) >= 5


def test_modbus_functions_readme_table_matches_capture() -> None:
    """The per-function-code table of pcaps/README.md (requests, normal responses,
    exception responses) is what the capture holds."""
    readme = (PCAPS / "README.md").read_text(encoding="utf-8")
    section = readme.split("## modbus_functions.pcap", 1)[1].split("\n## ", 1)[0]
    table = {
        int(fc): (int(req), int(resp), int(exc))
        for fc, req, resp, exc in re.findall(
            r"^\| (\d+) \| [^|]+ \| (\d+) \| (\d+) \| (\d+) \|", section, re.MULTILINE
        )
    }
    adus, _ = modbus_adus(MODBUS_FUNCTIONS)
    counts: dict[int, list[int]] = {}
    for a in adus:
        row = counts.setdefault(a.pdu[0] & 0x7F, [0, 0, 0])
        row[0 if not a.response else 2 if a.pdu[0] & 0x80 else 1] += 1
    assert table == {fc: tuple(row) for fc, row in counts.items()}


@needs_tshark
@pytest.mark.tshark
def test_modbus_functions_tshark_decodes_every_adu(tmp_path: Path) -> None:
    """tshark sees every function code and exception code, and every ADU the generator
    wrote except the one whose first segment is 3 bytes of MBAP header alone (Wireshark
    refuses a first segment shorter than 8 bytes; pcaps/README.md)."""
    rows = tshark_fields(
        MODBUS_FUNCTIONS,
        "mbtcp",
        "frame.number",
        "tcp.srcport",
        "mbtcp.trans_id",
        "mbtcp.unit_id",
        "modbus.func_code",
        "modbus.exception_code",
    )
    seen: set[tuple[int, bool, int, int, int]] = set()
    fcs: set[int] = set()
    exceptions: set[int] = set()
    for frame, sport, tids, units, codes, excs in rows:
        assert len(tids) == len(units) == len(codes), frame
        for tid, unit, fc in zip(tids, units, codes, strict=True):
            seen.add((int(frame[0]), sport[0] == "502", int(tid), int(unit), int(fc)))
        fcs.update(int(fc) for fc in codes)
        exceptions.update(int(code) for code in excs)
    assert fcs == set(MODBUS_FCS)
    assert exceptions == set(MODBUS_EXCEPTIONS)

    adus, _ = modbus_adus(MODBUS_FUNCTIONS)
    written = {(a.frame, a.response, a.tid, a.unit, a.pdu[0] & 0x7F) for a in adus}
    assert seen <= written, sorted(seen - written)
    missed = sorted(written - seen)
    timeline = {note: frame for frame, _, note in modbus_timeline(tmp_path)}
    lone = timeline["request cut 3 bytes into its MBAP header (a 3-byte segment alone)"]
    assert [(frame, response) for frame, response, *_ in missed] == [(lone + 1, False)]


@needs_tshark
@pytest.mark.tshark
def test_modbus_functions_no_malformed_modbus() -> None:
    malformed = tshark_fields(
        MODBUS_FUNCTIONS, "_ws.malformed || _ws.expert.severity >= warning", "frame.number"
    )
    assert [int(row[0][0]) for row in malformed] == list(DELIBERATELY_MALFORMED)


# -- s7_functions.pcap: coverage of the S7comm dissector (pcaps/README.md) ---------------

S7_FUNCTIONS = PCAPS / "s7_functions.pcap"

# (ROSCTR, function) pairs tshark must decode: jobs and their ack-data; download block and
# download ended are jobs the CPU sends
S7_JOB_FUNCS = (0x04, 0x05, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x28, 0x29, 0xF0)
# user data (type, group, sub-function): requests (4), responses (8), pushes (0)
S7_USERDATA = {
    (4, 1, 2), (0, 1, 2), (8, 1, 2),
    (4, 3, 1), (8, 3, 1), (4, 3, 2), (8, 3, 2), (4, 3, 3), (8, 3, 3),
    (4, 4, 1), (8, 4, 1), (4, 5, 1), (8, 5, 1),
    (4, 7, 1), (8, 7, 1), (4, 7, 2), (8, 7, 2),
}  # fmt: skip
S7_SZL_IDS = {0x0011, 0x001C, 0x0424}
S7_PI_SERVICES = {"_INSE", "_DELE", "_GARB", "_MODU", "P_PROGRAM"}


def s7_timeline(tmp_path: Path) -> dict[str, int]:
    """note -> frame of every annotated event; checks on the way that the capture
    regenerates byte for byte and that pcaps/README.md lists every event."""
    out = tmp_path / "s7_functions.pcap"
    text = generate("--scenario", "s7_functions", "--out", str(out), "--timeline").stdout
    assert out.read_bytes() == S7_FUNCTIONS.read_bytes()
    readme = (PCAPS / "README.md").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    assert len(rows) >= 20
    for _, frame, seconds, note in rows:
        assert f"| {frame} | {float(seconds):.3f} | {note} |" in readme
    return {note: int(frame) for _, frame, _, note in rows}


def test_s7_functions_regenerates_byte_identical_and_matches_readme(tmp_path: Path) -> None:
    s7_timeline(tmp_path)
    assert 300 <= pcap_record_count(S7_FUNCTIONS) <= 1500


@needs_tshark
@pytest.mark.tshark
def test_s7_functions_tshark_decodes_every_function() -> None:
    rows = tshark_fields(
        S7_FUNCTIONS,
        "s7comm",
        "frame.number",
        "s7comm.header.rosctr",
        "s7comm.param.func",
        "s7comm.param.userdata.type",
        "s7comm.param.userdata.funcgroup",
        "s7comm.param.userdata.subfunc",
        "s7comm.data.userdata.szl_id",
        "s7comm.header.errcls",
        "s7comm.header.errcod",
        "s7comm.data.returncode",
        "s7comm.param.pistart.servicename",
        "s7comm.param.pdu_length",
    )
    funcs: set[tuple[int, int]] = set()
    userdata: set[tuple[int, int, int]] = set()
    szl: set[int] = set()
    errors: set[int] = set()
    codes: set[int] = set()
    services: set[str] = set()
    pdu_sizes: set[int] = set()
    for _, rosctr, func, kind, group, subf, szl_id, cls, cod, ret, pi, pdu in rows:
        funcs.update((int(r), int(f, 16)) for r, f in zip(rosctr, func, strict=False))
        if group:
            userdata.add((int(kind[0]), int(group[0]), int(subf[0])))
        szl.update(int(x, 16) for x in szl_id)
        errors.update(int(a, 16) << 8 | int(b, 16) for a, b in zip(cls, cod, strict=True))
        codes.update(int(x, 16) for x in ret)
        services.update(pi)
        pdu_sizes.update(int(x) for x in pdu)
    assert {f for r, f in funcs if r == 1} == set(S7_JOB_FUNCS)
    assert {f for r, f in funcs if r == 3} == set(S7_JOB_FUNCS)
    assert userdata == S7_USERDATA
    assert szl == S7_SZL_IDS
    assert errors == {0x0000, 0x8500, 0x8104}
    assert {0xFF, 0x0A, 0x05} <= codes
    assert services == S7_PI_SERVICES
    assert pdu_sizes == {240, 480, 960}


@needs_tshark
@pytest.mark.tshark
def test_s7_functions_framing_edge_cases(tmp_path: Path) -> None:
    """The frames pcaps/README.md lists: a PDU over two TCP segments, one over three COTP
    DTs, two TPKTs in one segment, the COTP DR/DC, and the S7comm-plus frames (the
    GROUND_TRUTH heuristic: a COTP data frame whose payload starts with 0x72)."""
    timeline = s7_timeline(tmp_path)
    split = timeline["SZL 0x0011 answer cut in two TCP segments (61 bytes in)"]
    three = timeline[
        "upload ack-data of 578 bytes in three COTP DTs (EOT on the last), one segment"
    ]
    two = timeline["two read var jobs (two TPKTs) in one segment"]
    dr = timeline["COTP DR (normal disconnect), DC, then TCP FIN"]
    rows = tshark_fields(S7_FUNCTIONS, "tcp.segments", "frame.number", "tcp.segment")
    assert [(int(f[0]), [int(x) for x in seg]) for f, seg in rows] == [
        (split + 1, [split, split + 1])
    ]
    rows = tshark_fields(S7_FUNCTIONS, "cotp.segments", "frame.number", "cotp.segment")
    assert [(int(f[0]), len(seg)) for f, seg in rows] == [(three, 3)]
    rows = tshark_fields(S7_FUNCTIONS, "s7comm", "frame.number", "s7comm.header.rosctr")
    multi = [int(f[0]) for f, rosctr in rows if len(rosctr) > 1]
    assert multi == [two, two + 1]
    rows = tshark_fields(S7_FUNCTIONS, "cotp.type == 0x08 || cotp.type == 0x0c", "frame.number")
    assert [int(f[0]) for (f,) in rows] == [dr, dr + 1]
    rows = tshark_fields(S7_FUNCTIONS, "cotp && data.data[0:1] == 72", "data.data")
    versions = [cell[0][2:4] for (cell,) in rows]
    assert len(versions) == 10 and set(versions) == {"01", "02"}


# -- dnp3_functions.pcap: coverage of the DNP3 dissector (pcaps/README.md) ----------------

DNP3_FUNCTIONS = PCAPS / "dnp3_functions.pcap"

# application function codes the capture carries (requests, responses 129, unsolicited 130)
DNP3_FUNCS = {0, 1, 2, 3, 4, 5, 6, 7, 9, 13, 14, 20, 21, 22, 23, 24, 129, 130}
# object headers (group << 8 | variation) as tshark 4.0 lists them; it shows none for
# ASSIGN_CLASS (22), and g52v1 as an unknown object
DNP3_OBJECTS = {
    0x00F2, 0x00F3, 0x00F5, 0x00F7, 0x00F8, 0x00F9, 0x00FA, 0x00FC, 0x00FE,
    0x0102, 0x0202, 0x0A02, 0x0C01, 0x1400, 0x1401, 0x1405, 0x1500, 0x1501, 0x1601,
    0x1E01, 0x1E05, 0x2001, 0x2007, 0x2801, 0x2902, 0x2903, 0x3201, 0x3203, 0x3401,
    0x3402, 0x3C01, 0x3C02, 0x3C03, 0x3C04, 0x5001,
}  # fmt: skip
# link-layer control octets of the frames without user data (request link status, link
# status, reset link states, ACK), once per TCP association
DNP3_LINK_ONLY = {0xC9: 2, 0x0B: 2, 0xC0: 2, 0x00: 2}


@dataclass(frozen=True)
class LinkFrame:
    first_frame: int  # the capture frame carrying its first octet
    frame: int  # the capture frame carrying its last octet
    ctrl: int
    dst: int
    src: int
    user_data: bytes  # CRCs removed
    crc_ok: bool  # every data block's CRC matches


@dataclass(frozen=True)
class Fragment:
    """One application fragment, reassembled from its transport segments."""

    frame: int  # the capture frame of its last link frame
    src: int
    dst: int
    segments: int
    apdu: bytes

    @property
    def func(self) -> int:
        return self.apdu[1]

    @property
    def seq(self) -> int:
        return self.apdu[0] & 0x0F

    @property
    def uns(self) -> bool:
        return bool(self.apdu[0] & 0x10)

    @property
    def con(self) -> bool:
        return bool(self.apdu[0] & 0x20)


def _link_frames(buf: bytearray, owners: list[int]) -> list[LinkFrame]:
    """Cut complete link frames off the front of ``buf`` (and ``owners``)."""
    out = []
    while len(buf) >= 10:
        assert buf[:2] == b"\x05\x64", "lost link-frame sync"
        assert crc_bitwise(bytes(buf[:8])) == struct.unpack_from("<H", buf, 8)[0], "header CRC"
        size = buf[2] - 5
        total = 10 + size + 2 * -(-size // 16)
        if len(buf) < total:
            break
        data, ok, pos = b"", True, 10
        while pos < total:
            block = bytes(buf[pos : min(pos + 16, total - 2)])
            ok &= crc_bitwise(block) == struct.unpack_from("<H", buf, pos + len(block))[0]
            data += block
            pos += len(block) + 2
        ctrl, dst, src = struct.unpack_from("<BHH", buf, 3)
        out.append(LinkFrame(owners[0], owners[total - 1], ctrl, dst, src, data, ok))
        del buf[:total], owners[:total]
    return out


def dnp3_link_frames(path: Path) -> tuple[list[LinkFrame], list[int]]:
    """Every DNP3 link frame of the TCP streams and UDP datagrams on port 20000 (Ethernet,
    IPv4, in order: what the generator writes), and the capture frames of the datagrams
    that carry more than one link frame."""
    streams: dict[tuple[bytes, int, bytes, int], tuple[int, bytearray, list[int]]] = {}
    frames: list[LinkFrame] = []
    multi: list[int] = []
    for number, raw in enumerate(pcap_frames(path), start=1):
        if raw[12:14] != b"\x08\x00" or raw[23] not in (6, 17):
            continue
        ihl = (raw[14] & 0x0F) * 4
        total = struct.unpack_from("!H", raw, 16)[0]
        l4 = raw[14 + ihl : 14 + total]
        sport, dport = struct.unpack_from("!HH", l4, 0)
        if 20000 not in (sport, dport):
            continue
        if raw[23] == 17:
            got = _link_frames(bytearray(l4[8:]), [number] * len(l4[8:]))
            assert got and sum(len(f.user_data) for f in got) > 0
            frames += got
            if len(got) > 1:
                multi.append(number)
            continue
        seq = struct.unpack_from("!I", l4, 4)[0]
        payload = l4[(l4[12] >> 4) * 4 :]
        if not payload:
            continue
        key = (raw[26:30], sport, raw[30:34], dport)
        nxt, buf, owners = streams.get(key, (seq, bytearray(), []))
        assert seq == nxt, f"frame {number}: out-of-order or repeated data"
        buf += payload
        owners += [number] * len(payload)
        frames += _link_frames(buf, owners)
        streams[key] = ((seq + len(payload)) & 0xFFFFFFFF, buf, owners)
    assert all(not buf for _, buf, _ in streams.values()), "a link frame was left incomplete"
    return frames, multi


def dnp3_fragments(frames: list[LinkFrame]) -> list[Fragment]:
    """Transport reassembly per (source, destination): FIR starts a fragment, FIN ends
    it, sequence numbers consecutive; frames with a CRC error are skipped."""
    partial: dict[tuple[int, int], tuple[int, bytes, int]] = {}
    out = []
    for f in frames:
        if not f.user_data or not f.crc_ok:
            continue
        th, chunk = f.user_data[0], f.user_data[1:]
        key = (f.src, f.dst)
        if th & 0x40:
            partial[key] = (th & 0x3F, chunk, 1)
        else:
            last, data, n = partial.pop(key)
            assert th & 0x3F == (last + 1) & 0x3F, f"frame {f.frame}: transport sequence"
            partial[key] = (th & 0x3F, data + chunk, n + 1)
        if th & 0x80:
            _, data, n = partial.pop(key)
            out.append(Fragment(f.frame, f.src, f.dst, n, data))
    assert not partial, "a fragment was left without its FIN segment"
    return out


def dnp3_timeline(tmp_path: Path) -> dict[str, int]:
    """note -> frame of every annotated event; checks on the way that the capture
    regenerates byte for byte and that pcaps/README.md lists every event."""
    out = tmp_path / "dnp3_functions.pcap"
    text = generate("--scenario", "dnp3_functions", "--out", str(out), "--timeline").stdout
    assert out.read_bytes() == DNP3_FUNCTIONS.read_bytes()
    readme = (PCAPS / "README.md").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    assert len(rows) >= 30
    for _, frame, seconds, note in rows:
        assert f"| {frame} | {float(seconds):.3f} | {note} |" in readme
    notes = [note for *_, note in rows]
    assert len(set(notes)) == len(notes)
    return {note: int(frame) for _, frame, _, note in rows}


def test_dnp3_functions_regenerates_byte_identical_and_matches_readme(tmp_path: Path) -> None:
    dnp3_timeline(tmp_path)
    assert 200 <= pcap_record_count(DNP3_FUNCTIONS) <= 1000


def test_dnp3_functions_content(tmp_path: Path) -> None:
    """What the generator wrote, independent of tshark: CRCs, transport reassembly, the
    function codes, and request/response pairing by application sequence number per
    (master, outstation) with unsolicited responses in their own sequence space."""
    timeline = dnp3_timeline(tmp_path)
    frames, multi = dnp3_link_frames(DNP3_FUNCTIONS)
    bad = [f for f in frames if not f.crc_ok]
    assert [f.frame for f in bad] == [
        timeline[
            "unsolicited response with a wrong data-block CRC (a bit flipped in its second "
            "block): dropped by the master, not confirmed"
        ]
    ]
    link_only: dict[int, int] = {}
    for f in frames:
        assert bool(f.ctrl & 0x80) == (f.src == 1), "DIR set exactly on the master's frames"
        if not f.user_data:
            link_only[f.ctrl] = link_only.get(f.ctrl, 0) + 1
    assert link_only == DNP3_LINK_ONLY
    assert multi == [
        timeline["READ g60v1 (class 0) over UDP, answered by two link frames in one datagram"] + 1
    ]
    cut_frames = [f.frame for f in frames if f.first_frame != f.frame]
    assert cut_frames == sorted(
        timeline[note] + 1
        for note in (
            "response link frame cut across two TCP segments inside its link header (6 bytes in)",
            "response link frame cut across two TCP segments inside its second data block "
            "(31 bytes in)",
        )
    )

    fragments = dnp3_fragments(frames)
    assert {f.func for f in fragments} == DNP3_FUNCS
    assert max(f.segments for f in fragments) == 3
    assert all(len(f.apdu) > 249 for f in fragments if f.segments > 1)
    per_frame: dict[int, set[int]] = {}
    for f in fragments:
        per_frame.setdefault(f.frame, set()).add(f.func)
    two = timeline["two link frames in one TCP segment: CONFIRM (0) and READ class 1, 2, 3"]
    assert per_frame[two] == {0, 1}

    # pairing: (master, outstation) -> seq -> outstanding request function
    asked: dict[tuple[int, int], dict[int, int]] = {}
    awaiting_confirm: dict[tuple[int, int], set[tuple[bool, int]]] = {}
    unsolicited: dict[int, list[int]] = {}
    no_response_fc = (0, 6)  # CONFIRM, DIRECT_OPERATE_NR
    for f in fragments:
        master = f.src == 1
        pair = (f.src, f.dst) if master else (f.dst, f.src)
        pending = asked.setdefault(pair, {})
        confirms = awaiting_confirm.setdefault(pair, set())
        if master and f.func == 0:
            confirms.remove((f.uns, f.seq))  # a confirm answers a response with CON
        elif master:
            assert not f.uns and f.seq not in pending, f"frame {f.frame}: sequence reused"
            if f.func not in no_response_fc:
                pending[f.seq] = f.func
        elif f.func == 129:
            assert not f.uns and f.apdu[0] & 0xC0 == 0xC0
            assert pending.pop(f.seq) != 0, f"frame {f.frame}: response to no request"
            if f.con:
                confirms.add((False, f.seq))
        else:
            assert f.func == 130 and f.uns and f.con
            unsolicited.setdefault(pair[1], []).append(f.seq)
            confirms.add((True, f.seq))
    # one READ to rtu-02 (outstation 11) never answered, at the end
    unanswered = {pair: list(pending.values()) for pair, pending in asked.items() if pending}
    assert unanswered == {(1, 11): [1]}
    assert not any(awaiting_confirm.values())
    # rtu-01's unsolicited sequence: consecutive, the corrupted one repeated (it kept its
    # number: the good repetition follows the previous unsolicited response's number + 1)
    seqs = unsolicited[10]
    assert len(seqs) == 3 and seqs == [(seqs[0] + i) & 0x0F for i in range(3)]
    repeat = timeline[
        "the same unsolicited response repeated after the 5 s confirm timeout (same "
        "sequence number), confirmed"
    ]
    good = next(f for f in frames if f.frame == repeat)
    assert bad[0].user_data[1:16] == good.user_data[1:16]  # the first block, but the TH


@needs_tshark
@pytest.mark.tshark
def test_dnp3_functions_tshark_decodes_every_function() -> None:
    """tshark sees every function code and object, and its histograms are the ones
    pcaps/README.md gives."""
    rows = tshark_fields(DNP3_FUNCTIONS, "dnp3", "frame.number", "dnp3.al.func", "dnp3.al.obj")
    funcs: dict[int, int] = {}
    objs: dict[int, int] = {}
    for _, func, obj in rows:
        for x in func:
            funcs[int(x)] = funcs.get(int(x), 0) + 1
        for x in obj:
            objs[int(x, 16)] = objs.get(int(x, 16), 0) + 1
    assert set(funcs) == DNP3_FUNCS
    assert set(objs) == DNP3_OBJECTS
    readme = (PCAPS / "README.md").read_text(encoding="utf-8")
    section = readme.split("## dnp3_functions.pcap", 1)[1].split("\n## ", 1)[0]
    text = " ".join(section.split())
    func_line = ", ".join(f"{k}:{v}" for k, v in sorted(funcs.items()))
    obj_line = ", ".join(f"g{k >> 8}v{k & 0xFF}:{v}" for k, v in sorted(objs.items()))
    assert f"`dnp3.al.func` {func_line};" in text
    assert f"`dnp3.al.obj` {obj_line}." in text


@needs_tshark
@pytest.mark.tshark
def test_dnp3_functions_framing_edge_cases(tmp_path: Path) -> None:
    """The frames pcaps/README.md lists: the fragments of several transport segments,
    the link frames cut across TCP segments, and the only expert warnings: the corrupted
    CRC and tshark 4.0's unknown g52v1 (the COLD_RESTART answer)."""
    timeline = dnp3_timeline(tmp_path)
    rows = tshark_fields(
        DNP3_FUNCTIONS, "dnp3.al.fragment.count > 1", "frame.number", "dnp3.al.fragment.count"
    )
    got = [(int(f[0]), int(n[0])) for f, n in rows]
    integrity = timeline[
        next(note for note in timeline if note.startswith("integrity response of 518 bytes"))
    ]
    rtu02 = timeline[
        next(note for note in timeline if note.startswith("integrity response of 279 bytes"))
    ]
    restart = timeline["integrity poll after the restart (IIN1.7 still set in the response)"]
    udp = timeline["READ g60v1 (class 0) over UDP, answered by two link frames in one datagram"]
    assert got == [(integrity, 3), (rtu02 + 1, 2), (restart + 2, 2), (udp + 1, 2)]
    rows = tshark_fields(DNP3_FUNCTIONS, "tcp.segments", "frame.number", "tcp.segment")
    head = timeline[
        "response link frame cut across two TCP segments inside its link header (6 bytes in)"
    ]
    block = timeline[
        "response link frame cut across two TCP segments inside its second data block (31 bytes in)"
    ]
    assert [(int(f[0]), [int(x) for x in seg]) for f, seg in rows] == [
        (block + 1, [block, block + 1]),
        (head + 1, [head, head + 1]),
    ]
    rows = tshark_fields(
        DNP3_FUNCTIONS, "_ws.malformed || _ws.expert.severity >= warning", "frame.number"
    )
    crc = timeline[
        "unsolicited response with a wrong data-block CRC (a bit flipped in its second "
        "block): dropped by the master, not confirmed"
    ]
    cold = timeline["COLD_RESTART (13) answered g52v1 time delay coarse (6 s)"]
    assert sorted(int(f[0]) for (f,) in rows) == sorted([crc, cold + 1])
    rows = tshark_fields(DNP3_FUNCTIONS, f"frame.number == {crc}", "dnp3.al.func", "dnp3.ctl")
    assert rows == [[[], ["0x44"]]]
