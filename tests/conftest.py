"""Shared fixtures: where the real sample data lives, skipping cleanly when it is absent."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.pg_cluster import PG_BIN_GLOB, create_database, drop_database, pg_bin, postgres_cluster

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


# --- PostgreSQL: a private cluster (Debian's `postgresql` binaries), started once per test session ---------

DATABASE_BACKENDS = ("sqlite", "postgresql")
_pg_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """`postgresql+psycopg://postgres@127.0.0.1:PORT` of a throwaway cluster in a temp folder, on a free port."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL is not installed (no initdb/pg_ctl under {PG_BIN_GLOB}; apt-get install postgresql)")
    with postgres_cluster(bin_dir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"t{os.getpid()}_{next(_pg_databases)}"
    url = create_database(postgres_server, name)
    try:
        yield url
    finally:
        drop_database(postgres_server, name)


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The workflow database URL for a test, once on SQLite (the default) and once on PostgreSQL."""
    if request.param == "sqlite":
        from incidentlens.store.database import default_url

        (tmp_path / "db").mkdir(exist_ok=True)
        return default_url(tmp_path / "db")
    url: str = request.getfixturevalue("postgres_url")
    return url
