"""`incidentlens bench logparse` through the CLI runner: JSON shape, table, warnings, errors."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

import incidentlens.cli.bench_logparse  # noqa: F401 - registers `bench logparse`
from incidentlens.cli.app import app

runner = CliRunner()


def _layout(root: Path) -> Path:
    folder = root / "Svc"
    labels = folder / "loghub2.0_2k"
    labels.mkdir(parents=True)
    lines = [
        "Jun 14 15:16:01 host sshd[1]: Accepted password for alice from 10.0.0.1 port 22 ssh2",
        "Jun 14 15:16:02 host sshd[2]: Accepted password for alice from 10.0.0.2 port 2222 ssh2",
        "Jun 14 15:16:03 host sshd[3]: Connection closed by 10.0.0.3 [preauth]",
    ]
    (folder / "Svc_2k.log").write_text("\r\n".join(lines) + "\r\n")
    rows = "LineId,Content,EventId,EventTemplate\n"
    rows += "1,x,E1,Accepted password for alice from <*> port <*> ssh2\n"
    rows += "2,x,E1,Accepted password for alice from <*> port <*> ssh2\n"
    rows += "3,x,E2,Connection closed by <*> [preauth]\n"
    (labels / "Svc_2k.log_structured_corrected.csv").write_text(rows)
    (root / "Other").mkdir()
    (root / "Other" / "Other_2k.log").write_text("a line\n")
    return root


def test_json_output_has_exactly_systems_and_average(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "logparse", str(_layout(tmp_path)), "--labels", "loghub2", "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert set(data) == {"systems", "average"}
    assert data["systems"] == {"Svc": {"GA": 1.0, "PA": 1.0, "FGA": 1.0, "FTA": 1.0}}
    assert data["average"] == {"GA": 1.0, "PA": 1.0, "FGA": 1.0, "FTA": 1.0}
    assert "skipped Other" in result.stderr


def test_table_output_lists_systems_and_average(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "logparse", str(_layout(tmp_path)), "--labels", "loghub2"])
    assert result.exit_code == 0, result.output
    assert "Svc" in result.stdout and "average" in result.stdout and "1.000" in result.stdout


def test_no_labelled_system_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "logparse", str(_layout(tmp_path))])
    assert result.exit_code == 2
    assert "no system folder" in result.stderr


def test_missing_folder_is_a_user_error_without_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "logparse", str(tmp_path / "nope"), "--json"])
    assert result.exit_code == 2
    assert "not a directory" in result.stderr
    assert "Traceback" not in result.output


def test_real_loghub_2k_meets_targets(shared_data: Path) -> None:
    result = runner.invoke(app, ["bench", "logparse", str(shared_data / "loghub-2k"), "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert len(data["systems"]) == 12
    assert data["average"]["GA"] >= 0.95 and data["average"]["PA"] >= 0.85
