"""Shared fixtures: where the real sample data lives, skipping cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def formats_dir(shared_data: Path) -> Path:
    path = shared_data / "formats"
    if not path.is_dir():
        pytest.skip(f"format samples not found at {path}")
    return path
