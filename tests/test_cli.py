"""The command line: summary, --json keys, exit codes, stdin, several files, warnings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from otsec.cli import main
from tests.scapy_util import TcpSession, udp, write_pcap


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    s = TcpSession("10.9.0.1", "10.9.0.2", 40000, 502).handshake()
    s.send(True, b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x01").fin()
    packets = [*s.packets, (s.ts + 1, udp("10.9.0.3", "10.9.0.4", 5353, 20000, b"\x05d"))]
    return write_pcap(tmp_path / "one.pcap", packets)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["replay", "--json", *args]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one JSON object, one line
    return json.loads(out)  # type: ignore[no-any-return]


def test_json_summary_has_the_documented_keys(
    capture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_json(capsys, str(capture))
    for key in ("packets", "bytes", "flows", "anomalies", "elapsed_s", "packets_per_s"):
        assert key in data
    assert data["packets"] == 8
    assert data["flows"] == 2 and data["flows_tcp"] == 1 and data["flows_udp"] == 1
    assert data["flows_by_port"] == {
        "502": {"protocol": "modbus", "flows": 1},
        "20000": {"protocol": "dnp3", "flows": 1},
    }
    # the capture's one Modbus request is never answered
    assert data["anomalies"] == {"modbus.unanswered_request": 1}
    assert data["protocols"]["modbus"] == {
        "pdus": 1,
        "function_codes": {"3": 1},
        "exception_codes": {},
        "transactions": {"unanswered": 1},
    }
    assert data["files"][0]["format"] == "pcap"
    assert data["files"][0]["protocols"] == data["protocols"]


def test_table_summary(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(capture)]) == 0
    out = capsys.readouterr().out
    assert "packets" in out and "modbus" in out and "packets/s" in out


def test_several_files_in_order(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = tmp_path / "two.pcap"
    second.write_bytes(capture.read_bytes())
    data = run_json(capsys, str(capture), str(second))
    assert [f["name"] for f in data["files"]] == [str(capture), str(second)]
    assert data["packets"] == 16


def test_truncated_file_is_a_warning_and_everything_before_counts(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture.read_bytes()[:-5])
    assert main(["replay", "--json", str(cut)]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["packets"] == 7 and data["files"][0]["truncated"] is True
    assert "warning:" in captured.err and "truncated" in captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "empty input"),
        (b"hello world, not a capture", "not a pcap or pcapng capture"),
        (bytes.fromhex("d4c3b2a10200040000000000000000000000040093000000"), "147 (USER0)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.pcap"
    if content is not None:
        path.write_bytes(content)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("otsec: error:")


def test_a_bad_file_among_good_ones_fails_before_processing(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(capture), str(tmp_path / "missing.pcap")]) == 2
    assert capsys.readouterr().out == ""


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["replay", "-", "-"]) == 2


NOWHERE = "otsec-none0"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no interface"),
        (["-i", NOWHERE, "--learn", "1h"], "--learn needs -o FILE"),
        (["-i", NOWHERE, "-o", "b.json"], "-o is the baseline --learn writes"),
        (["-i", NOWHERE, "--learn", "1h", "-o", "b.json", "--rules", "default"],
         "--rules: Sigma rules run when monitoring"),
        (["-i", NOWHERE, "--dashboard", "--json"], "pick one"),
        (["-i", NOWHERE, "--learn", "2 weeks", "-o", "b.json"], "--learn"),
    ],
)  # fmt: skip
def test_sniff_usage_errors_come_before_the_capture_opens(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the interface does not exist: opening the capture first would fail with another message
    assert main(["sniff", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err and err.startswith("otsec: error:")


def test_bad_config_exits_2(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "otsec.toml"
    cfg.write_text("[flows]\nmax_flowz = 3\n")
    assert main(["replay", "--config", str(cfg), str(capture)]) == 2
    assert "unknown setting [flows] max_flowz" in capsys.readouterr().err


def test_config_limits_apply(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "otsec.toml"
    cfg.write_text("[flows]\nmax_flows = 1\n")
    data = run_json(capsys, "--config", str(cfg), str(capture))
    assert data["flow_endings"].get("evicted") == 1
    assert data["anomalies"]["flow.evicted"] == 1


def test_stdin_pipe(capture: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "otsec", "replay", "--json", "-"],
        input=capture.read_bytes(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["packets"] == 8 and data["files"][0]["name"] == "<stdin>"


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("otsec")
    if not exe.exists():
        pytest.skip("otsec console script not installed in this environment")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("otsec ")
