"""The compiled packet path (mypyc, dissectors/_native.py): it is used only when it matches
the sources, and it gives exactly what the plain-Python code gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dissectors import _native
from tests.conftest import REPO

PROBE = (
    "from dissectors import _native; import otsec.pipeline, dissectors.s7comm.pdu;"
    "print(_native.status()); print(otsec.pipeline.__file__); "
    "print(dissectors.s7comm.pdu.__file__)"
)


def _probe(**env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("OTSEC_PURE", "OTSEC_NATIVE_DIR")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=full, cwd=REPO, check=True)  # fmt: skip
    return out.stdout.splitlines()


def _build_current() -> bool:
    check = [sys.executable, str(REPO / "scripts" / "build_native.py"), "--check"]
    return subprocess.run(check, capture_output=True, cwd=REPO, check=False).returncode == 0


def test_no_build_means_plain_python(tmp_path: Path) -> None:
    status, pipeline, pdu = _probe(OTSEC_NATIVE_DIR=str(tmp_path))
    assert status.startswith("pure Python (no compiled modules")
    assert pipeline.endswith("otsec/pipeline.py") and pdu.endswith("s7comm/pdu.py")


def test_a_stale_build_is_not_used(tmp_path: Path) -> None:
    """A manifest for other sources (or another interpreter) is refused as a whole."""
    sources = ["otsec/pipeline.py"]
    base = {"version": _native.MANIFEST_VERSION, "interpreter": _native.interpreter_tag(),
            "modules": {"otsec.pipeline": "otsec/pipeline.so"}, "sources": sources}  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps({**base, "digest": "0" * 64}))
    status, pipeline, _ = _probe(OTSEC_NATIVE_DIR=str(tmp_path))
    assert "older than the sources" in status
    assert pipeline.endswith("otsec/pipeline.py")
    digest = _native.source_digest(sources)
    other = {**base, "digest": digest, "interpreter": ".cpython-39-foo.so"}
    (tmp_path / "manifest.json").write_text(json.dumps(other))
    status, pipeline, _ = _probe(OTSEC_NATIVE_DIR=str(tmp_path))
    assert "compiled for .cpython-39-foo.so" in status
    assert pipeline.endswith("otsec/pipeline.py")
    (tmp_path / "manifest.json").write_text("{not json")
    assert _probe(OTSEC_NATIVE_DIR=str(tmp_path))[0].startswith("pure Python (unreadable")


def test_otsec_pure_forces_plain_python() -> None:
    status, pipeline, _ = _probe(OTSEC_PURE="1")
    assert status == "pure Python (OTSEC_PURE is set)"
    assert pipeline.endswith("otsec/pipeline.py")


CAPTURES = ("pcaps/plant_attack.pcap", "pcaps/s7_functions.pcap", "pcaps/modbus_functions.pcap",
            "pcaps/plant_vlan_ipv6.pcap")  # fmt: skip


def _replay(tmp_path: Path, tag: str, pure: bool) -> tuple[dict, bytes]:  # type: ignore[type-arg]
    """Summary, then events and alerts (against the sample plant's baseline) as bytes."""
    env = {k: v for k, v in os.environ.items() if k != "OTSEC_PURE"}
    if pure:
        env["OTSEC_PURE"] = "1"
    events = tmp_path / f"{tag}.jsonl"
    alerts = tmp_path / f"{tag}.alerts.jsonl"
    argv = [sys.executable, "-m", "otsec", "replay", "--json", "--no-progress",
            "--events", str(events), "--baseline", "baselines/plant.json", "--alerts",
            str(alerts), *(str(REPO / c) for c in CAPTURES)]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    summary = json.loads(out.stdout)
    summary["events"].pop("file")
    summary["alerts"].pop("file")
    for part in (summary, *summary["files"]):
        part.pop("elapsed_s", None)
        part.pop("packets_per_s", None)
    assert summary["alerts"]["total"] > 10
    return summary, events.read_bytes() + alerts.read_bytes()


def test_compiled_and_plain_python_give_the_same_output(tmp_path: Path) -> None:
    """The same captures through both: identical summaries, byte-identical events and
    alerts."""
    if not _build_current():
        pytest.skip("no current compiled build (make setup builds it)")
    status, pipeline, pdu = _probe()
    assert status.startswith("compiled"), status
    assert pipeline.endswith(".so") and pdu.endswith(".so")
    compiled, compiled_events = _replay(tmp_path, "compiled", pure=False)
    plain, plain_events = _replay(tmp_path, "plain", pure=True)
    assert compiled == plain
    assert compiled_events == plain_events
    assert compiled["protocols"]["modbus"]["pdus"] > 0 and compiled["protocols"]["s7comm"]["pdus"]
    assert compiled_events.count(b"\n") > 1000
