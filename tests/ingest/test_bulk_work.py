"""Bulk work runs without cyclic garbage collection and gives the collector back as it found it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from incidentlens.ingest.common import paused_gc
from incidentlens.ingest.engine_files import line_count
from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink


def test_paused_gc_nests_and_restores() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # was off before: stays off
    finally:
        gc.enable()


def test_reading_pauses_the_collector_and_restores_it_after_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text("{not json\n")
    with pytest.raises(Exception, match="no valid"):
        read_paths([path], RowSink(), forced_format="jsonlogs")
    assert gc.isenabled()


@pytest.mark.parametrize(("content", "lines"), [(b"", 0), (b"a\n", 1), (b"a", 1), (b"a\nb", 2), (b"\n\n", 2)])
def test_line_count(tmp_path: Path, content: bytes, lines: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    assert line_count(path, gz=False) == lines
