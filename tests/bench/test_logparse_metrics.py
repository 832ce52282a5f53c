"""GA, PA, FGA, FTA on hand-made cases, the folder harness on a tiny layout, and the targets on loghub-2k."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentlens.bench.logparse import LabelSet, load_system, run, score
from incidentlens.errors import FormatError, InputError


def test_perfect_parse_scores_one_everywhere() -> None:
    s = score([1, 1, 2], ["a <*>", "a <*>", "b"], ["a <*>", "a <*>", "b"])
    assert (s.GA, s.PA, s.FGA, s.FTA) == (1.0, 1.0, 1.0, 1.0)


def test_merged_groups_lose_all_their_lines() -> None:
    # truth: A = lines 0-1, B = line 2, C = line 3; we merge A and B, keep C
    truth = ["A", "A", "B", "C"]
    s = score([1, 1, 1, 2], ["x", "x", "x", "C"], truth)
    assert pytest.approx(1 / 4) == s.GA  # only line 3 sits in a group equal to its true group
    assert pytest.approx(1 / 4) == s.PA  # only line 3 has the label text
    # groups: predicted 2, true 3, correct 1 -> P = 1/2, R = 1/3
    assert pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3)) == s.FGA
    assert pytest.approx(s.FGA) == s.FTA


def test_split_group_is_wrong_even_with_the_right_text() -> None:
    truth = ["A", "A", "B"]
    s = score([1, 2, 3], ["A", "A", "B"], truth)
    assert pytest.approx(1 / 3) == s.GA
    assert s.PA == 1.0  # text is right on every line, grouping is not
    # predicted 3 groups, true 2, correct 1 (B) -> P = 1/3, R = 1/2
    assert pytest.approx(0.4) == s.FGA
    assert pytest.approx(0.4) == s.FTA


def test_right_group_with_wrong_text_counts_for_fga_not_fta() -> None:
    s = score([1, 1, 2], ["a <*>", "a <*>", "b c"], ["a <*>", "a <*>", "b <*>"])
    assert s.GA == 1.0 and s.FGA == 1.0
    assert pytest.approx(2 / 3) == s.PA
    assert pytest.approx(0.5) == s.FTA  # P = R = 1/2


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="one entry per line"):
        score([1], ["a", "b"], ["a"])


def _system(root: Path, name: str, lines: list[str], templates: list[str] | None) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"{name}_2k.log").write_bytes("".join(f"{line}\r\n" for line in lines).encode())
    if templates is not None:
        labels = folder / "corrected_khan2022"
        labels.mkdir()
        rows = ["LineId,Content,EventId,EventTemplate"]
        rows += [f'{i},"x",E1,"{t}"' for i, t in enumerate(templates, 1)]
        (labels / f"{name}_2k.log_structured_corrected.csv").write_text("\n".join(rows) + "\n")


def test_harness_runs_unseen_systems_and_skips_missing_labels(tmp_path: Path) -> None:
    lines = [
        "2024-01-02 03:04:05,678 INFO [main] app.Server: Listening on port 8080",
        "2024-01-02 03:04:06,001 INFO [main] app.Server: Listening on port 9090",
        "2024-01-02 03:04:07,123 WARN [pool-1] app.Cache: Cache miss for key user",
    ]
    _system(tmp_path, "NeverSeen", lines, ["Listening on port <*>", "Listening on port <*>", "Cache miss for key user"])
    _system(tmp_path, "Unlabelled", lines, None)
    result = run(tmp_path, LabelSet.CORRECTED)
    assert [s.name for s in result.systems] == ["NeverSeen"]
    assert result.systems[0].scores.as_dict() == {"GA": 1.0, "PA": 1.0, "FGA": 1.0, "FTA": 1.0}
    assert result.skipped and result.skipped[0][0] == "Unlabelled"
    assert result.as_json()["average"] == {"GA": 1.0, "PA": 1.0, "FGA": 1.0, "FTA": 1.0}


def test_bad_labels_name_the_file(tmp_path: Path) -> None:
    _system(tmp_path, "Sys", ["a"], ["a"])
    bad = tmp_path / "Sys" / "corrected_khan2022" / "Sys_2k.log_structured_corrected.csv"
    bad.write_text("LineId,Content,EventId,EventTemplate\n7,x,E1,a\n")
    with pytest.raises(FormatError, match=r"Sys_2k\.log_structured_corrected\.csv"):
        load_system(tmp_path / "Sys", LabelSet.CORRECTED)
    with pytest.raises(InputError, match="not a directory"):
        run(tmp_path / "missing")


def test_targets_on_loghub_2k_corrected_labels(shared_data: Path) -> None:
    result = run(shared_data / "loghub-2k", LabelSet.CORRECTED)
    assert len(result.systems) == 12 and not result.skipped
    average = result.average()
    assert average.GA >= 0.95, result.as_json()
    assert average.PA >= 0.85, result.as_json()
    assert result.seconds < 10
