"""Shared fixtures: where the public real-world captures are, and small helpers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.netns import VethPair

REPO = Path(__file__).resolve().parents[1]


def real_pcaps_dir() -> Path:
    """../shared/pcaps-real beside the repository (or $OTSEC_PCAPS_REAL)."""
    env = os.environ.get("OTSEC_PCAPS_REAL")
    return Path(env) if env else REPO.parent / "shared" / "pcaps-real"


def ground_truth(keep: Callable[[str, dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """GROUND_TRUTH.json's captures, sorted by name, those ``keep(name, truth)`` accepts;
    empty when the public captures are absent."""
    path = real_pcaps_dir() / "GROUND_TRUTH.json"
    if not path.is_file():
        return {}
    captures: dict[str, Any] = json.loads(path.read_text())["captures"]
    return {n: t for n, t in sorted(captures.items()) if keep is None or keep(n, t)}


@pytest.fixture(scope="session")
def real_pcaps() -> Path:
    path = real_pcaps_dir()
    if not (path / "GROUND_TRUTH.json").is_file():
        pytest.skip(f"public captures not available at {path} (set OTSEC_PCAPS_REAL)")
    return path


@pytest.fixture(scope="module")
def veth() -> Iterator[VethPair]:
    """Two network namespaces joined by a veth pair, removed afterwards (root only: the
    modules that use it skip otherwise)."""
    with VethPair() as pair:
        yield pair
