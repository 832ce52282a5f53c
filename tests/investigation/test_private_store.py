"""Big inputs are investigated in an on-disk store with a memory limit, and give the same answer as in memory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from incidentlens.errors import StoreError
from incidentlens.ingest import jsonlogs_engine
from incidentlens.investigation import InvestigationRequest, run
from incidentlens.investigation import private_store as private
from incidentlens.simulate import simulate
from incidentlens.telemetry.store import TelemetryStore


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("private") / "bundle"
    simulate("bad_deploy_exception", seed=3, out=out, with_repo=False)
    return out


def _answer(request: InvestigationRequest) -> tuple[object, ...]:
    result = run(request)
    return (result.brief.summary, [(h.service, round(h.confidence, 6)) for h in result.hypotheses], result.windows)


def test_on_disk_store_with_a_memory_limit_gives_the_same_answer(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = InvestigationRequest.for_files([bundle])
    in_memory = _answer(request)
    seen: list[Path | None] = []
    opened = TelemetryStore.__init__

    def spy(self: TelemetryStore, path: Path | None = None, **options: object) -> None:
        seen.append(path)
        opened(self, path, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(TelemetryStore, "__init__", spy)
    on_disk = _answer(replace(request, memory_limit="256MB", store_dir=tmp_path / "stores"))
    assert on_disk == in_memory
    assert seen and seen[-1] is not None and seen[-1].name == "telemetry.duckdb"
    assert not seen[-1].exists()  # the temporary store is removed afterwards
    assert (tmp_path / "stores").is_dir()


def test_big_inputs_choose_the_on_disk_store(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request = InvestigationRequest.for_files([bundle])
    assert private.local_input_bytes(request) > 1_000_000
    in_memory_by_record = _answer(request)
    monkeypatch.setattr(private, "BIG_INPUT_BYTES", 1_000_000)
    monkeypatch.setattr(jsonlogs_engine, "ENGINE_MIN_BYTES", 0)  # and every log file through DuckDB's reader
    with private.private_store(request) as store:
        assert store.path is not None
        assert store.scalar("SELECT current_setting('memory_limit')") in ("1.0 GB", "953.6 MiB")
    assert _answer(request) == in_memory_by_record


def test_a_memory_limit_that_is_not_a_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a size like 512MB"):
        TelemetryStore(tmp_path / "t.duckdb", memory_limit="lots")
