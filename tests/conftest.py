"""Shared fixtures: where the real sample data lives, skipping cleanly when it is absent."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
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


# --- PostgreSQL: a private cluster (Debian's `postgresql` binaries), started once per test session ---------

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
DATABASE_BACKENDS = ("sqlite", "postgresql")


def _pg_bin() -> Path | None:
    found = sorted(
        Path("/").glob(PG_BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    found = [p for p in found if (p / "initdb").is_file() and (p / "pg_ctl").is_file()]
    return found[-1] if found else None


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: CI (and this machine) run as root, so use Debian's user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """`postgresql+psycopg://postgres@127.0.0.1:PORT` of a throwaway cluster in a temp folder, on a free port."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL is not installed (no initdb/pg_ctl under {PG_BIN_GLOB}; apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="incidentlens-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


_pg_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg  # the `postgres` extra, installed with `dev`

    name = f"t{os.getpid()}_{next(_pg_databases)}"
    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{postgres_server}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The workflow database URL for a test, once on SQLite (the default) and once on PostgreSQL."""
    if request.param == "sqlite":
        from incidentlens.store.database import default_url

        (tmp_path / "db").mkdir(exist_ok=True)
        return default_url(tmp_path / "db")
    url: str = request.getfixturevalue("postgres_url")
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
