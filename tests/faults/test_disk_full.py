"""A full disk (a small tmpfs) and a read-only workspace: a clear error naming the path, exit code, no
traceback, and nothing already stored is lost. Needs root (or CAP_SYS_ADMIN) to mount; skips otherwise."""

from __future__ import annotations

import errno
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.faults.helpers import audit_verifies, cli, rows

from incidentlens.telemetry.store import TELEMETRY_FILE, TelemetryStore


def _mount(point: Path, *options: str) -> None:
    done = subprocess.run(["mount", *options, point], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(done.stderr.strip())


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs; unmounted at the end."""
    point = tmp_path / "disk"
    point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    try:
        _mount(point, "-t", "tmpfs", "-o", "size=4m", "tmpfs")
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {exc}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", point], check=False)


def _fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    code, text = cli(
        out.parent, "simulate", "--fault", "cpu_saturation", "--seed", "3", "--scale", "0.1", "--out", str(out)
    )
    assert code == 0, text
    shutil.rmtree(out / "repo")
    return out


def _counts(ws: Path) -> dict[str, int]:
    with TelemetryStore(ws / TELEMETRY_FILE) as store:
        return store.counts()


def test_ingest_into_a_full_disk_names_the_store_and_keeps_what_it_held(small_disk: Path, bundle: Path) -> None:
    ws = small_disk / "ws"
    code, text = cli(ws, "ingest", str(bundle / "changes"))
    assert code == 0, text
    before = _counts(ws)
    filler = _fill(small_disk)
    code, text = cli(ws, "ingest", str(bundle))
    assert code == 3, text
    assert f"{ws / TELEMETRY_FILE}" in text.replace("\n", "") and "No space left on device" in text
    assert "Traceback" not in text
    filler.unlink()
    assert _counts(ws) == before  # nothing lost, nothing half-added
    code, text = cli(ws, "ingest", str(bundle / "alerts"))
    assert code == 0, text
    assert _counts(ws)["alerts"] == before["alerts"] + 1


def test_recording_into_a_full_disk_names_the_database_and_loses_nothing(small_disk: Path, bundle: Path) -> None:
    ws = small_disk / "ws"
    args = ("investigate", str(bundle), "--record", "--no-memory", "--format", "json")
    code, text = cli(ws, *args)
    assert code == 0, text
    filler = _fill(small_disk)
    code, text = cli(ws, *args)
    assert code == 3, text
    assert "incidentlens.db" in text and "Traceback" not in text
    assert "no space left on the device" in text.replace("\n", " ")
    filler.unlink()
    audit_verifies(ws)
    assert rows(ws, "SELECT count(*) FROM investigations") == [(1,)]
    assert cli(ws, *args)[0] == 0
    assert rows(ws, "SELECT count(*) FROM investigations") == [(2,)]


def test_writing_a_bundle_or_a_brief_into_a_full_disk_names_the_path(small_disk: Path, bundle: Path) -> None:
    _fill(small_disk)
    code, text = cli(small_disk, "simulate", "--fault", "cpu_saturation", "--out", str(small_disk / "b"))
    assert code == 2, text
    assert f"cannot write the bundle to {small_disk / 'b'}" in text.replace("\n", "") and "No space left" in text
    brief = small_disk / "brief.md"
    code, text = cli(small_disk, "investigate", str(bundle), "--no-record", "--no-memory", "--out", str(brief))
    assert code == 2, text
    assert f"cannot write {brief}" in text.replace("\n", "")


def test_a_read_only_workspace_is_refused_clearly_and_keeps_its_data(small_disk: Path, bundle: Path) -> None:
    ws = small_disk / "ws"
    assert cli(ws, "ingest", str(bundle / "changes"))[0] == 0
    assert cli(ws, "investigate", str(bundle), "--record", "--no-memory", "--format", "json")[0] == 0
    before = _counts(ws)
    _mount(small_disk, "-o", "remount,ro")
    try:
        code, text = cli(ws, "ingest", str(bundle / "alerts"))
        assert code == 3 and str(ws / TELEMETRY_FILE) in text.replace("\n", "") and "Read-only" in text, text
        code, text = cli(ws, "investigate", str(bundle), "--record", "--no-memory", "--format", "json")
        assert code == 3 and "incidentlens.db" in text and "read-only" in text.replace("\n", ""), text
        assert "Traceback" not in text
        # SQLite in WAL mode writes beside the database even to read: reading is refused too, and says why.
        code, text = cli(ws, "incident", "list")
        assert code == 3 and "is read-only" in text.replace("\n", ""), text
    finally:
        _mount(small_disk, "-o", "remount,rw")
    assert _counts(ws) == before
    assert rows(ws, "SELECT count(*) FROM investigations") == [(1,)]
    audit_verifies(ws)
