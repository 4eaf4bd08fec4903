"""The configuration file's [capture] section, durations, [output] files, and the
appliance's example configuration in deploy/."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsec.capture.live import default_filter
from otsec.config import CaptureSettings, ConfigError, load, parse_duration
from otsec.outputs import file_limits, file_paths, load_outputs
from tests.conftest import REPO

EXAMPLE = REPO / "deploy" / "otsec.toml"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("8h", 28800.0), ("14d", 1209600.0),
     (" 1.5M ", 90.0), (5, 5.0), (0.5, 0.5)],
)  # fmt: skip
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text, "--x") == seconds


@pytest.mark.parametrize("text", ["", "m", "5x", "0", "-1m", "nan", "inf", True, 0])
def test_bad_durations(text: str | float) -> None:
    with pytest.raises(ConfigError, match="--x"):
        parse_duration(text, "--x")


def _load(tmp_path: Path, text: str) -> CaptureSettings:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return load(path).capture


def test_capture_section(tmp_path: Path) -> None:
    cap = _load(tmp_path, """
[capture]
interface = "eth1"
backend = "scapy"
bpf = ""
extra_ports = [4000, 8080]
user = "otsec"
buffer_mb = 64
snaplen = 1500
promisc = false
baseline = "/var/lib/otsec/baseline.json"
checkpoint = "10m"
status_every = 60
""")  # fmt: skip
    assert cap == CaptureSettings(
        interface="eth1", backend="scapy", bpf="", extra_ports=(4000, 8080), user="otsec",
        buffer_mb=64, snaplen=1500, promisc=False, baseline="/var/lib/otsec/baseline.json",
        checkpoint=600.0, status_every=60.0,
    )  # fmt: skip
    assert _load(tmp_path, "").bpf is None  # the default filter


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("interfac = 'eth1'", "unknown setting \\[capture\\] interfac"),
        ("backend = 'dpdk'", "backend must be one of auto, pcap, scapy"),
        ("extra_ports = [0]", "extra_ports must be a list of port numbers"),
        ("extra_ports = 502", "extra_ports must be a list of port numbers"),
        ("buffer_mb = 0", "buffer_mb must be positive"),
        ("promisc = 'yes'", "promisc must be bool"),
        ("bpf = 5", "bpf must be a string"),
        ("checkpoint = 'soon'", "checkpoint"),
        ("status_every = 0", "status_every"),
    ],
)
def test_capture_section_errors_name_the_setting(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, f"[capture]\n{body}\n")


def test_output_files(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[output]\nalerts = '/var/log/otsec/alerts.jsonl'\n")
    assert file_paths(load(path)) == ("/var/log/otsec/alerts.jsonl", None)
    path.write_text("[output]\nevents = 3\n")
    with pytest.raises(ConfigError, match="events"):
        file_paths(load(path))


def test_the_example_appliance_configuration_loads() -> None:
    settings = load(EXAMPLE)
    cap = settings.capture
    assert cap.interface and cap.baseline.endswith(".json") and cap.user == ""
    assert {z.name for z in settings.zones} and settings.conduits
    assert file_paths(settings)[0] == "/var/log/otsec/alerts.jsonl"
    assert file_limits(settings)[0] > 0
    env = {"OTSEC_ES_API_KEY": "k"}
    outputs = load_outputs(settings, env=env)
    assert outputs.elastic is not None and outputs.elastic.api_key == "k"
    assert outputs.syslog and outputs.syslog.startswith("tls://")
    # the extra ports reach the kernel filter
    assert all(f"port {p}" in default_filter(settings.ics_ports, cap.extra_ports)
               for p in cap.extra_ports)  # fmt: skip
