"""Time and inputs (issue 15, section 2): each rough edge a new user hit, through the CLI in-process."""

from __future__ import annotations

import gzip
import random
import re
import string
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command
from incidentlens.simulate import simulate

runner = CliRunner()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("b") / "bundle"
    simulate("cpu_saturation", seed=3, out=path)
    return path


def _invoke(ws: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    return result.exit_code, result.stdout, result.stderr


def test_random_text_stops_early_naming_the_file(tmp_path: Path) -> None:
    noise = tmp_path / "noise.txt"
    rng = random.Random(1)
    noise.write_text("\n".join("".join(rng.choices(string.ascii_letters + " ", k=80)) for _ in range(40_000)))
    started = time.perf_counter()
    code, _, err = _invoke(tmp_path / "ws", "investigate", "--no-record", "--logs", str(noise))
    assert code == 2, err
    assert str(noise) in err and "stopped early" in err and "no timestamp" in err
    assert time.perf_counter() - started < 30


def test_truncated_gzip_says_so(tmp_path: Path, bundle: Path) -> None:
    whole = gzip.compress((bundle / "logs" / "cart.jsonl").read_bytes())
    tiny, cut = tmp_path / "tiny.jsonl.gz", tmp_path / "cut.jsonl.gz"
    tiny.write_bytes(whole[:15])
    cut.write_bytes(whole[: len(whole) // 2])
    code, _, err = _invoke(tmp_path / "ws", "ingest", str(tiny))
    assert code == 2 and "truncated gzip" in err and "binary or empty" not in err
    code, out, err = _invoke(tmp_path / "ws", "ingest", str(cut), "--json")
    assert code == 0
    assert "truncated gzip" in out + err


def test_out_into_a_missing_folder_is_an_error(tmp_path: Path, bundle: Path) -> None:
    target = tmp_path / "missing" / "brief.md"
    code, _, err = _invoke(tmp_path / "ws", "investigate", str(bundle), "--no-record", "--out", str(target))
    assert code == 2 and "does not exist" in err
    assert not target.parent.exists()


def test_repo_that_is_not_git_is_exit_4(tmp_path: Path, bundle: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = _invoke(tmp_path / "ws", "investigate", str(bundle), "--no-record", "--repo", str(plain))
    assert code == 4, err
    assert "not a git repository" in err


def test_trial_runs_without_an_alert_are_not_recorded(tmp_path: Path, bundle: Path) -> None:
    ws = tmp_path / "ws"
    code, _, err = _invoke(ws, "investigate", "--traces", str(bundle / "traces"), "--format", "json")
    assert code == 0 and "not recorded" in err and "--record" in err
    code, out, _ = _invoke(ws, "incident", "list", "--json")
    assert code == 0 and "INC-" not in out
    code, _, err = _invoke(ws, "investigate", "--traces", str(bundle / "traces"), "--record", "--format", "json")
    assert code == 0 and "recorded as" in err
    code, _, err = _invoke(ws, "investigate", str(bundle), "--format", "json")  # the bundle has an alert
    assert code == 0 and "recorded as" in err


def test_alert_outside_the_data_is_a_warning_on_stderr(tmp_path: Path, bundle: Path) -> None:
    copy = tmp_path / "alert.json"
    text = (bundle / "alerts" / "alertmanager.json").read_text()
    copy.write_text(re.sub(r'"startsAt": "\d{4}', '"startsAt": "2001', text))
    code, out, err = _invoke(
        tmp_path / "ws", "investigate", "--no-record", "--traces", str(bundle / "traces"), "--alert", str(copy),
        "--format", "md",
    )  # fmt: skip
    assert code == 0, err
    assert "warning:" in err and "before the data" in err
    assert "**Warning:**" in out


def test_bench_rca_case_prints_that_cases_brief(tmp_path: Path, shared_data: Path) -> None:
    nezha = shared_data / "nezha"
    if not nezha.is_dir():
        pytest.skip(f"{nezha} absent")
    case = "onlineboutique_2022-08-22_001"
    code, out, err = _invoke(tmp_path / "ws", "bench", "rca", "--dataset", "nezha", str(nezha), "--case", case,
                             "--format", "md")  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"# Benchmark case {case}")
    assert "**What broke:**" in out and "**Leading hypothesis:**" in out and "true root cause" in err
    code, _, err = _invoke(tmp_path / "ws", "bench", "rca", "--dataset", "nezha", str(nezha), "--case", "nope")
    assert code == 2 and "no case 'nope'" in err
