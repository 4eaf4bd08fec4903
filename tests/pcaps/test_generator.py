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

ROOT = Path(__file__).resolve().parents[2]
PCAPS = ROOT / "pcaps"
GENERATOR = PCAPS / "gen_plant.py"
TSHARK = shutil.which("tshark")

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


# What each committed capture must contain (pcaps/README.md): protocols with a non-zero
# frame count, and the only expert warnings allowed (the attack's scan RSTs and the
# outstation's "function not supported" IIN answer to STOP APPLICATION).
@dataclass(frozen=True)
class Expected:
    protocols: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    retransmissions: int = 0


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
    assert total < 4 * 1024 * 1024


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
    assert "Errors" not in expert, expert.get("Errors")
    rows = [summary for _, summary in expert.get("Warns", [])]
    assert all(any(ok in row for ok in spec.warnings) for row in rows), rows
    everything = [s for section in expert.values() for _, s in section]
    assert not [s for s in everything if "Malformed" in s or "checksum" in s.lower()]
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
