"""Leave-one-system-out choice of the miner settings: the protocol on a tiny layout, the targets on loghub-2k."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentlens.analyze.templates import MinerConfig
from incidentlens.bench.logparse import LabelSet
from incidentlens.bench.loso import GRID, MinerSettings, run_loso
from incidentlens.errors import InputError


def _system(root: Path, name: str, lines: list[str], templates: list[str]) -> None:
    folder = root / name
    (folder / "corrected_khan2022").mkdir(parents=True)
    (folder / f"{name}_2k.log").write_text("".join(f"{line}\n" for line in lines))
    rows = ["LineId,Content,EventId,EventTemplate"] + [f'{i},"x",E1,"{t}"' for i, t in enumerate(templates, 1)]
    (folder / "corrected_khan2022" / f"{name}_2k.log_structured_corrected.csv").write_text("\n".join(rows) + "\n")


def test_grid_is_small_and_starts_with_the_shipped_defaults() -> None:
    assert len(GRID) <= 27
    assert GRID[0] == MinerSettings.of(MinerConfig())
    assert len(set(GRID)) == len(GRID)


def test_each_fold_is_chosen_without_its_system(tmp_path: Path) -> None:
    lines = [f"2024-01-02 03:04:0{i} INFO app.Server: Listening on port 80{i}" for i in range(3)]
    _system(tmp_path, "A", lines, ["Listening on port <*>"] * 3)
    _system(tmp_path, "B", lines, ["Listening on port <*>"] * 3)
    result = run_loso(tmp_path, LabelSet.CORRECTED)
    assert [f.system for f in result.folds] == ["A", "B"]
    assert all(f.loso.GA == 1.0 and f.in_sample.PA == 1.0 for f in result.folds)
    assert result.shipped == GRID[0] and result.stability == 1.0  # every point ties: the default wins
    assert set(result.as_json()["systems"]) == {"A", "B"}  # type: ignore[arg-type]


def test_one_system_is_not_enough(tmp_path: Path) -> None:
    _system(tmp_path, "A", ["x 1"], ["x <*>"])
    with pytest.raises(InputError, match="at least two"):
        run_loso(tmp_path)


def test_loso_targets_on_loghub_2k(shared_data: Path) -> None:
    result = run_loso(shared_data / "loghub-2k", LabelSet.CORRECTED)
    assert len(result.folds) == 12
    loso = result.average("loso")
    assert loso.GA >= 0.95, result.as_json()
    assert loso.PA >= 0.85, result.as_json()
    assert min(f.loso.GA for f in result.folds) >= 0.85, result.as_json()
    assert result.shipped == MinerSettings.of(MinerConfig()), "the shipped defaults must be the choice on all"
