"""`otsec sniff` on a veth pair between two network namespaces the test creates: the
alerts of live traffic equal those of the same capture replayed from file, SIGTERM leaves
flushed alerts and a valid baseline checkpoint, a second signal exits at once."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsec.baseline import store
from otsec.cli import main
from tests.conftest import REPO
from tests.netns import VethPair, available  # veth: the fixture in tests/conftest.py

why = available() or (None if shutil.which("tcpreplay") else "needs tcpreplay")
pytestmark = pytest.mark.skipif(why is not None, reason=why or "")
OTSEC = [sys.executable, "-m", "otsec.cli"]
PLANT = REPO / "baselines" / "plant.json"
STOP = REPO / "pcaps" / "attacks" / "attack_rogue_s7_stop.pcap"


def _start(veth: VethPair, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        veth.command(veth.ns_b, [*OTSEC, "sniff", "-i", veth.veth_b, *args]),
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the capture is open once this is printed
    assert "otsec sniff: live:" in line, line + proc.stderr.read()
    return proc


def _send(veth: VethPair, capture: Path) -> None:
    veth.run(veth.ns_a, ["tcpreplay", "-q", "-i", veth.veth_a, "--pps=3000", str(capture)],
             timeout=120)  # fmt: skip


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    time.sleep(0.5)  # the last frames reach the socket
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _rules(path: Path) -> Counter[tuple[Any, ...]]:
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    return Counter((d["rule"]["id"], d["source"].get("ip"), d.get("destination", {}).get("ip"))
                   for d in docs)  # fmt: skip


def test_sniff_raises_the_alerts_of_the_file(
    veth: VethPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live.jsonl"
    proc = _start(veth, "--baseline", str(PLANT), "--alerts", str(live), "--json", "--quiet")
    _send(veth, STOP)
    code, out, err = _stop(proc)
    assert code == 0, err
    result = json.loads(out)
    assert result["capture"]["dropped_kernel"] == 0 and result["capture"]["received"] > 2000
    assert "tcp" in result["capture"]["filter"]
    offline = tmp_path / "file.jsonl"
    assert main(["replay", "--no-progress", "--quiet", "--baseline", str(PLANT), "--alerts",
                 str(offline), str(STOP)]) == 0  # fmt: skip
    capsys.readouterr()
    assert _rules(live) == _rules(offline) and _rules(live)


def test_sigterm_while_learning_leaves_a_valid_checkpoint(veth: VethPair, tmp_path: Path) -> None:
    out = tmp_path / "learned.json"
    proc = _start(veth, "--learn", "1h", "-o", str(out), "--checkpoint", "1s", "--json")
    _send(veth, REPO / "pcaps" / "plant_normal.pcap")
    time.sleep(1.5)
    checkpoint = store.load(out)  # written while the capture runs
    assert checkpoint.doc["edges"]
    code, stdout, err = _stop(proc)
    assert code == 0, err
    final = store.load(out)
    assert len(final.doc["edges"]) >= len(checkpoint.doc["edges"])
    assert json.loads(stdout)["baseline"]["edges"] == len(final.doc["edges"])


def test_a_second_signal_exits_at_once(veth: VethPair, tmp_path: Path) -> None:
    alerts = tmp_path / "a.jsonl"
    conf = str(_spool_conf(tmp_path))
    proc = _start(veth, "--baseline", str(PLANT), "--alerts", str(alerts), "--quiet",
                  "--es-url", "http://127.0.0.1:9", "--config", conf)  # fmt: skip
    _send(veth, STOP)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode in (0, 130)
    for line in alerts.read_text().splitlines():
        json.loads(line)  # whole lines only


def _spool_conf(tmp_path: Path) -> Path:
    conf = tmp_path / "c.toml"
    conf.write_text(f"[elasticsearch]\nspool_dir = '{tmp_path / 'spool'}'\n")
    return conf
