"""The appliance's service unit (deploy/otsec.service): systemd accepts it without a
warning, it grants CAP_NET_RAW and nothing else, and its command line is one otsec takes."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from otsec.cli import _parser
from tests.conftest import REPO

UNIT = REPO / "deploy" / "otsec.service"
OTSEC = REPO / ".venv" / "bin" / "otsec"


def _settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    if not OTSEC.exists():
        pytest.skip("needs the project's .venv (make setup)")
    unit = tmp_path / "otsec.service"
    unit.write_text(UNIT.read_text().replace("/opt/otsec/.venv/bin/otsec", str(OTSEC)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], check=False,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(unit) not in done.stderr, done.stderr  # no unknown key, no bad value


def test_least_privilege() -> None:
    unit = _settings()
    assert unit["User"] == ["otsec"] and unit["NoNewPrivileges"] == ["yes"]
    assert unit["AmbientCapabilities"] == ["CAP_NET_RAW"]
    assert unit["CapabilityBoundingSet"] == ["CAP_NET_RAW"]
    assert unit["ProtectSystem"] == ["strict"]


def test_the_command_lines_are_otsecs() -> None:
    unit = _settings()
    argv = shlex.split(unit["ExecStart"][0])
    assert argv[0] == "/opt/otsec/.venv/bin/otsec"
    args = _parser().parse_args(argv[1:])
    assert args.command == "sniff" and args.config == "/etc/otsec/otsec.toml"
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # SIGHUP reloads the baseline
    assert unit["KillSignal"] == ["SIGTERM"]  # stops cleanly, flushing every output
