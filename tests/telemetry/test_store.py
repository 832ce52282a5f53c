"""The DuckDB telemetry store: real files, atomic appends, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentlens.errors import StoreError
from incidentlens.ingest.sink import RowSink
from incidentlens.telemetry.store import TelemetryStore


def _sink_with_logs(n: int) -> RowSink:
    sink = RowSink()
    for i in range(n):
        sink.logs.add(ts_ns=i, service="cart", level="ERROR", body=f"boom {i}", source=f"x.log:{i + 1}")
    return sink


def test_append_persists_rows_in_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "ws" / "telemetry.duckdb"
    with TelemetryStore(path) as store:
        added = store.append(_sink_with_logs(3))
        assert added == {"logs": 3}
    with TelemetryStore(path) as store:
        assert store.counts()["logs"] == 3
        assert store.rows("SELECT body FROM logs ORDER BY ts_ns")[2] == ("boom 2",)


def test_failed_transaction_leaves_store_as_before(tmp_path: Path) -> None:
    with TelemetryStore(tmp_path / "t.duckdb") as store:
        store.append(_sink_with_logs(2))
        with pytest.raises(RuntimeError), store.transaction():
            store.append(_sink_with_logs(5))
            raise RuntimeError("a later file failed")
        assert store.counts()["logs"] == 2


def test_missing_values_take_column_defaults() -> None:
    sink = RowSink()
    sink.metrics.add(ts_ns=5, name="cpu", value=None)
    with TelemetryStore() as store:
        store.append(sink)
        assert store.rows("SELECT service, labels, value FROM metrics") == [("", "", None)]


def test_unknown_column_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="unknown column"):
        RowSink().logs.add(nonsense=1)


def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open telemetry store"):
        TelemetryStore(blocker / "sub" / "t.duckdb")


def test_large_files_flush_in_batches_and_still_roll_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import incidentlens.ingest.sink as sink_module

    monkeypatch.setattr(sink_module, "FLUSH_ROWS", 10)
    with TelemetryStore(tmp_path / "t.duckdb") as store:
        with pytest.raises(RuntimeError), store.transaction():
            sink = RowSink()
            sink.attach(store.append_buffer)
            for i in range(35):
                sink.logs.add(ts_ns=i, body="x")
            assert len(sink.logs) < 10 and sink.counts()["logs"] == 35  # flushed as it went
            assert store.counts()["logs"] == 30
            raise RuntimeError("the file turned out bad")
        assert store.counts()["logs"] == 0


def test_staging_folders_live_beside_the_spill_files_and_are_removed(tmp_path: Path) -> None:
    spill = tmp_path / "workspace" / "spill"
    with TelemetryStore(tmp_path / "t.duckdb", memory_limit="256MB", spill_dir=spill) as store:
        with store.scratch("incidentlens-test-") as folder:
            (folder / "staged.parquet").write_bytes(b"x")
            assert folder.parent == spill and folder.name.startswith("incidentlens-test-")
        assert not folder.exists()


def test_a_disposable_store_skips_the_checkpoint_at_close(tmp_path: Path) -> None:
    """Its file is removed right after, so writing its log into it would only cost time."""
    for disposable in (False, True):
        path = tmp_path / f"{disposable}.duckdb"
        store = TelemetryStore(path, disposable=disposable)
        store.execute("INSERT INTO changes (ts_ns, kind, service, description) VALUES (1, 'deploy', 'cart', 'v2')")
        store.close()
        assert path.with_name(path.name + ".wal").exists() is disposable
        with TelemetryStore(path) as reopened:  # nothing is lost either way: the log replays on open
            assert reopened.counts()["changes"] == 1
