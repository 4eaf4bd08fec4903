"""Shared fixtures: where the public real-world captures are, and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def real_pcaps_dir() -> Path:
    """../shared/pcaps-real beside the repository (or $OTSEC_PCAPS_REAL)."""
    env = os.environ.get("OTSEC_PCAPS_REAL")
    return Path(env) if env else REPO.parent / "shared" / "pcaps-real"


@pytest.fixture(scope="session")
def real_pcaps() -> Path:
    path = real_pcaps_dir()
    if not (path / "GROUND_TRUTH.json").is_file():
        pytest.skip(f"public captures not available at {path} (set OTSEC_PCAPS_REAL)")
    return path
