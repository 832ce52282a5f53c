"""`incidentlens ingest` on every real format sample and on bad input, through the CLI runner."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command

runner = CliRunner()

# Files in the formats folder that are documentation or inputs of other features (SQL DDL, CODEOWNERS,
# flag definitions, expected graphs), not telemetry.
NOT_TELEMETRY = {
    "README.md",
    "otlp-README.md",
    "CODEOWNERS.github-docs-example",
    "codeowners-patterns.hmarr.json",
    "clickhouse-exporter-otel_logs.sql",
    "clickhouse-exporter-otel_traces.sql",
    "otel-demo-flagd.json",
    "otel-demo-expected-service-graph.json",
}


def _ingest(tmp_path: Path, *paths: Path | str) -> tuple[int, dict[str, object], str]:
    result = runner.invoke(app, ["--workspace", str(tmp_path / "ws"), "ingest", "--json", *map(str, paths)])
    data = orjson.loads(result.stdout) if result.exit_code == 0 else {}
    return result.exit_code, data, result.output


def _samples(formats_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in formats_dir.rglob("*")
        if p.is_file() and p.name not in NOT_TELEMETRY and p.parent.name != "stacktraces"
    )


def test_every_format_sample_ingests(tmp_path: Path, formats_dir: Path) -> None:
    for sample in _samples(formats_dir):
        code, data, output = _ingest(tmp_path / sample.name, sample)
        assert code == 0, f"{sample.name}: {output}"
        rows = data["rows"]
        assert isinstance(rows, dict) and sum(rows.values()) > 0, f"{sample.name} gave no rows: {data}"


@pytest.mark.parametrize(
    ("name", "table", "expected"),
    [
        ("otlp-trace.json", "spans", 1),
        ("jaeger-ui_01.trace.json", "spans", None),
        ("zipkin2-skew.json", "spans", None),
        ("alertmanager-webhook-v4.synthetic.json", "alerts", 1),
        ("prometheus-query_range.json", "metrics", 6),
    ],
)
def test_sample_counts(tmp_path: Path, formats_dir: Path, name: str, table: str, expected: int | None) -> None:
    code, data, output = _ingest(tmp_path, formats_dir / name)
    assert code == 0, output
    rows = data["rows"]
    assert isinstance(rows, dict)
    assert rows.get(table, 0) > 0
    if expected is not None:
        assert rows[table] == expected


def test_stacktrace_samples_ingest_as_single_records(tmp_path: Path, formats_dir: Path) -> None:
    for sample in sorted((formats_dir / "stacktraces").glob("*.txt")):
        code, data, output = _ingest(tmp_path / sample.stem, sample)
        assert code == 0, output
        rows = data["rows"]
        assert isinstance(rows, dict) and 1 <= rows["logs"] <= 3, f"{sample.name}: {rows}"


def test_binary_file_fails_clearly(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 64)
    code, _, output = _ingest(tmp_path, blob)
    assert code == 2
    assert "blob.bin" in output and "Traceback" not in output


def test_empty_file_fails_clearly(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    code, _, output = _ingest(tmp_path, empty)
    assert code == 2 and "empty.json" in output and "empty" in output


def test_truncated_json_names_the_file_and_keeps_store_unchanged(tmp_path: Path, formats_dir: Path) -> None:
    good = formats_dir / "otlp-trace.json"
    truncated = tmp_path / "trace-cut.json"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    code, _, output = _ingest(tmp_path, good, truncated)
    assert code == 2, output
    assert "trace-cut.json" in output and "Traceback" not in output
    code, data, _ = _ingest(tmp_path, good)
    assert code == 0
    assert data["rows"] == {"logs": 0, "spans": 1, "metrics": 0, "alerts": 0, "changes": 0}


def test_bad_lines_are_reported_and_valid_ones_kept(tmp_path: Path) -> None:
    logs = tmp_path / "app.jsonl"
    good = {"timestamp": "2026-11-28T04:10:01Z", "level": "error", "message": "boom", "service.name": "cart"}
    lines = [orjson.dumps(good), b"{not json", orjson.dumps({**good, "message": "again"})]
    logs.write_bytes(b"\n".join(lines) + b"\n")
    code, data, output = _ingest(tmp_path, logs)
    assert code == 0, output
    assert data["rows"]["logs"] == 2  # type: ignore[index]
    assert data["problem_count"] == 1
    problems = data["files"][0]["problems"]  # type: ignore[index]
    assert "app.jsonl:2" in problems[0]


def test_huge_line_is_reported_not_loaded(tmp_path: Path) -> None:
    logs = tmp_path / "huge.log"
    with logs.open("wb") as fh:
        fh.write(b"2026-11-28 04:10:01 ERROR cart boom\n")
        fh.write(b"x" * (10 << 20) + b"\n")
        fh.write(b"2026-11-28 04:10:02 ERROR cart boom again\n")
    code, data, output = _ingest(tmp_path, logs)
    assert code == 0, output
    assert data["rows"]["logs"] == 2  # type: ignore[index]
    assert data["problem_count"] == 1


def test_gzip_is_transparent(tmp_path: Path, formats_dir: Path) -> None:
    packed = tmp_path / "trace.json.gz"
    packed.write_bytes(gzip.compress((formats_dir / "otlp-trace.json").read_bytes()))
    code, data, output = _ingest(tmp_path, packed)
    assert code == 0, output
    assert data["rows"]["spans"] == 1  # type: ignore[index]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    code, _, output = _ingest(tmp_path, tmp_path / "nope.json")
    assert code == 2 and "no such file" in output
