"""Architecture rules that keep the codebase honest."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from otsec.events import anomalies

REPO = Path(__file__).resolve().parents[1]
_ANOMALY_CALLS = {"_anomaly", "anomaly", "report", "on_anomaly"}


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_dissectors_import_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"dissectors", "__future__"}
    for path in _modules("dissectors"):
        foreign = _imports(path) - allowed
        assert not foreign, f"{path.relative_to(REPO)} imports {sorted(foreign)}"


#: The one module that may use scapy: its live-capture backend opens scapy's layer-2
#: socket and reads raw bytes (no dissection), importing scapy only when that backend is
#: chosen.
SCAPY_BACKEND = REPO / "otsec" / "capture" / "live.py"


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_packet_path_never_imports_scapy_or_pyshark() -> None:
    for path in _modules("otsec") + _modules("dissectors"):
        if path == SCAPY_BACKEND:
            assert not _top_level_imports(path) & {"scapy", "pyshark"}, path
            assert "pyshark" not in _imports(path), path
            continue
        assert not _imports(path) & {"scapy", "pyshark"}, path


def test_stages_do_not_import_later_stages() -> None:
    order = ["capture", "flows", "events", "inventory", "baseline", "detection", "sinks"]
    # events is the shared vocabulary every stage may use
    for i, stage in enumerate(order):
        later = {f"otsec.{s}" for s in order[i + 1 :] if s != "events"}
        for path in (
            (REPO / "otsec" / stage).rglob("*.py") if (REPO / "otsec" / stage).exists() else []
        ):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert not any(node.module.startswith(m) for m in later), (
                        f"{path.relative_to(REPO)} imports {node.module}"
                    )


def _emitted_anomaly_names() -> set[str]:
    names: set[str] = set()
    for path in _modules("otsec") + _modules("dissectors"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                fname in _ANOMALY_CALLS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and "." in first.value
            ):
                names.add(first.value)
    return names


def test_every_emitted_anomaly_is_registered() -> None:
    emitted = _emitted_anomaly_names()
    assert len(emitted) > 15
    missing = emitted - set(anomalies.ANOMALIES)
    assert not missing, f"register these in otsec/events/anomalies.py: {sorted(missing)}"


def test_anomaly_documentation_is_current() -> None:
    doc = (REPO / "docs" / "anomalies.md").read_text()
    assert doc == anomalies.markdown(), (
        "regenerate: python -m otsec.events.anomalies > docs/anomalies.md"
    )
