"""A private PostgreSQL cluster from Debian's `postgresql` binaries: `initdb` + `pg_ctl` in a temp folder on a
free loopback port, as the `postgres` user when running as root. Used by the test fixtures and the benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PG_BIN_GLOB", "create_database", "drop_database", "pg_bin", "postgres_cluster"]

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (None when PostgreSQL is not installed)."""
    found = [
        p for p in Path("/").glob(PG_BIN_GLOB.lstrip("/")) if (p / "initdb").is_file() and (p / "pg_ctl").is_file()
    ]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: CI (and the dev machines) run as root, so use Debian's user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_cluster(bin_dir: Path, *, max_connections: int = 300) -> Iterator[str]:
    """Start a throwaway cluster; yields `postgresql+psycopg://postgres@127.0.0.1:PORT` (no database part)."""
    root = Path(tempfile.mkdtemp(prefix="incidentlens-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    pg_ctl = str(bin_dir / "pg_ctl")
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        # Durability off: a test cluster is thrown away, and fsync would dominate the timings on a small disk.
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections={max_connections} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run([pg_ctl, "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start"])
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True, timeout=60
        )
        shutil.rmtree(root, ignore_errors=True)


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_postgres(argv), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")


def create_database(server: str, name: str) -> str:
    """CREATE DATABASE `name` on the cluster; returns its SQLAlchemy URL."""
    import psycopg  # the `postgres` extra, installed with `dev`

    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
