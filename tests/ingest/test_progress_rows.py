"""Progress on large inputs (issue 15): while one big file is read, its rows so far are reported."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from incidentlens.ingest import sink as sink_module
from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink, TableBuffer


def test_rows_so_far_are_reported_while_a_large_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink_module, "FLUSH_ROWS", 500)
    logs = tmp_path / "app.jsonl"
    lines = (
        orjson.dumps({"timestamp": f"2026-11-04T09:{i // 60 % 60:02d}:{i % 60:02d}Z", "level": "INFO",
                      "service": "cart", "message": f"request {i} done"})
        for i in range(2_000)
    )  # fmt: skip
    logs.write_bytes(b"\n".join(lines) + b"\n")
    stored: list[int] = []
    sink = RowSink()

    def flusher(buffer: TableBuffer) -> None:
        stored.append(buffer.total)

    sink.attach(flusher)
    seen: list[tuple[int, int]] = []

    def progress(path: Path, index: int, total: int, /, *, rows: int = 0) -> None:
        seen.append((index, rows))

    report = read_paths([logs], sink, progress=progress)
    assert report.rows.get("logs") == 2_000
    during = [rows for index, rows in seen if index == 0 and rows]
    assert during and during == sorted(during) and during[-1] >= 1_500  # several updates, growing
    assert stored  # the store still received every batch
    assert all(b.flusher is flusher for b in sink.buffers.values())  # the wrapper is removed afterwards
