"""`incidentlens logs templates|diff` through the CLI runner, and the distinct-message query on a real store."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from incidentlens.cli import commands_logs  # noqa: F401 - registers the `logs` commands
from incidentlens.cli.app import app
from incidentlens.model import TimeRange
from incidentlens.telemetry.logqueries import log_message_groups, log_span
from incidentlens.telemetry.store import TelemetryStore

runner = CliRunner()
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def _line(second: float, level: str, service: str, message: str, trace: str = "") -> bytes:
    record: dict[str, str] = {
        "timestamp": f"2026-01-01T{int(second) // 3600:02d}:{int(second) // 60 % 60:02d}:{second % 60:06.3f}Z",
        "level": level,
        "service.name": service,
        "message": message,
    }
    if trace:
        record["trace_id"] = trace
    return orjson.dumps(record) + b"\n"


def _normal(path: Path) -> Path:
    lines = []
    for i in range(600):  # ten minutes, one request a second
        lines.append(_line(i, "INFO", "cart", f"GetCart called for user_id=u{i % 37:04d}", f"{i + 1:032x}"))
        if i % 10 == 0:
            lines.append(_line(i + 0.5, "INFO", "cart", f"cache refreshed in {i % 7 + 1} ms"))
    path.write_bytes(b"".join(lines))
    return path


def _incident(path: Path) -> Path:
    lines = []
    for i in range(300):  # five minutes: the cache stopped refreshing and charges fail for one product
        second = 3600 + i
        lines.append(_line(second, "INFO", "cart", f"GetCart called for user_id=u{i % 37:04d}", f"{i + 1000:032x}"))
        if i % 3 == 0:
            product = "OLJCESPC7Z" if i % 30 else "66VCHSJNUP"
            trace = f"{i + 5000:032x}"
            lines.append(_line(second + 0.2, "ERROR", "cart", f"charge failed for product_id={product}", trace))
    path.write_bytes(b"".join(lines))
    return path


def test_templates_json_lists_templates_with_counts_and_examples(tmp_path: Path) -> None:
    result = runner.invoke(app, ["logs", "templates", str(_normal(tmp_path / "cart.jsonl")), "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert data["lines"] == 660 and data["total"] == 2
    first, second = data["templates"]
    assert first["template"] == "GetCart called for user_id=<*>" and first["count"] == 600
    assert first["service"] == "cart" and first["traces"] == 600 and first["messages"] == 37
    assert first["example"].startswith("GetCart called for user_id=u")
    assert first["example_source"].endswith("cart.jsonl:1")
    assert second["template"] == "cache refreshed in <*> ms" and second["count"] == 60


def test_templates_table_names_each_template(tmp_path: Path) -> None:
    result = runner.invoke(app, ["logs", "templates", str(_normal(tmp_path / "cart.jsonl")), "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "GetCart called" in result.stdout and "600" in result.stdout and "cache refreshed" not in result.stdout
    assert "2 templates over 660 lines (showing 1)" in result.stdout


def test_diff_json_reports_new_gone_and_concentrated_values(tmp_path: Path) -> None:
    base, inc = _normal(tmp_path / "normal.jsonl"), _incident(tmp_path / "incident.jsonl")
    result = runner.invoke(app, ["logs", "diff", "--baseline", str(base), "--incident", str(inc), "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert data["exposure"] == "seconds" and data["per_service"] is True
    assert data["baseline"]["lines"] == 660 and data["incident"]["lines"] == 400
    shifts = {s["template"]: s for s in data["shifts"]}
    new = shifts["charge failed for product_id=<*>"]
    assert new["shift"] == "new" and new["incident_count"] == 100 and new["z"] > 10
    assert new["rate_ratio"] is None and new["log10_p"] < -20 and new["traces"] == 100
    assert new["concentration"] == {
        "name": "product_id",
        "value": "OLJCESPC7Z",
        "share": 0.9,
        "lines": 100,
        "baseline_share": 0.0,
    }
    gone = shifts["cache refreshed in <*> ms"]
    assert gone["shift"] == "gone" and gone["baseline_count"] == 60 and gone["z"] < -3
    assert "GetCart called for user_id=<*>" not in shifts  # same rate per second in both windows


def test_diff_pools_services_named_after_files(tmp_path: Path) -> None:
    base = tmp_path / "app-monday.log"
    inc = tmp_path / "app-tuesday.log"
    base.write_text("".join(f"Accepted password for user{i % 5} from 10.0.0.{i % 9}\n" for i in range(200)))
    inc.write_text(
        "".join(f"Accepted password for user{i % 5} from 10.0.0.{i % 9}\n" for i in range(100))
        + "".join(f"Failed password for root from 203.0.113.{7 if i % 20 else 8}\n" for i in range(100))
    )
    result = runner.invoke(
        app, ["logs", "diff", "-b", str(base), "-i", str(inc), "--format", "textlogs", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert data["per_service"] is False and data["exposure"] == "lines"
    (shift,) = [s for s in data["shifts"] if s["shift"] == "new"]
    assert shift["template"] == "Failed password for root from <*>" and shift["service"] == ""
    assert shift["concentration"]["value"] == "203.0.113.7" and shift["concentration"]["share"] == 0.95
    table = runner.invoke(app, ["logs", "diff", "-b", str(base), "-i", str(inc), "-f", "textlogs"])
    assert "new" in table.stdout and "(all)" in table.stdout and "compared all services pooled" in table.stdout


def test_files_without_log_lines_are_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    result = runner.invoke(app, ["logs", "templates", str(empty)])
    assert result.exit_code != 0
    assert "error:" in result.output and "Traceback" not in result.output
    missing = runner.invoke(app, ["logs", "diff", "-b", str(tmp_path / "nope.log"), "-i", str(empty)])
    assert missing.exit_code != 0 and "no such file" in missing.output


def test_distinct_messages_are_counted_per_window_in_the_store() -> None:
    with TelemetryStore() as store:
        rows = [
            (10, "cart", "ERROR", "boom id=1\n  at Foo.bar(Foo.java:3)", "t1", "TypeError", "a.log:1"),
            (20, "cart", "ERROR", "boom id=1\n  at Foo.baz(Foo.java:9)", "t2", "", "a.log:2"),
            (30, "cart", "ERROR", "boom id=1", "t2", "", "a.log:3"),
            (110, "cart", "ERROR", "boom id=1", "t9", "", "a.log:4"),
            (120, "cart", "warn", "slow", "", "", "a.log:5"),
        ]
        for ts, service, level, body, trace, exc, source in rows:
            store.execute(
                "INSERT INTO logs (ts_ns, service, level, body, trace_id, exception_type, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [ts, service, level, body, trace, exc, source],
            )
        assert log_span(store) == TimeRange(10, 120)
        groups = log_message_groups(store, TimeRange(0, 100), TimeRange(100, 200))
    boom, slow = groups
    assert (boom.message, boom.baseline_count, boom.incident_count) == ("boom id=1", 3, 1)
    assert (boom.baseline_traces, boom.incident_traces) == (2, 1)
    assert boom.exception_type == "TypeError"
    assert (boom.example, boom.example_source, boom.example_trace, boom.first_ns) == ("boom id=1", "a.log:4", "t9", 110)
    assert (slow.level, slow.incident_count, slow.example_trace) == ("WARN", 1, "")


def test_garbage_inputs_give_clear_errors_or_templates_without_crashing(tmp_path: Path) -> None:
    binary = tmp_path / "core.bin"
    binary.write_bytes(bytes(range(256)) * 512)
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    mixed = tmp_path / "mixed.log"
    with mixed.open("wb") as fh:
        fh.write(b"2026-11-28 04:10:01 ERROR payment declined card \xff\xfe for order 42\n")
        fh.write(b"y" * (10 << 20) + b"\n")
        fh.write(b"2026-11-28 04:10:02 ERROR payment declined card visa for order 43\n")
    for path in (binary, empty):
        result = runner.invoke(app, ["logs", "templates", str(path)])
        assert result.exit_code == 2, result.output
        assert path.name in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["logs", "templates", "--json", str(mixed)])
    assert result.exit_code == 0, result.output
    assert "payment declined card" in result.stdout
