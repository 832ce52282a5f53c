"""JSON-lines reader: the common shapes, container wrappers, sniffing, and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlens.ingest.common import read_head
from incidentlens.ingest.jsonlogs import READER, flatten, render_template
from incidentlens.ingest.sink import RowSink

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def _read(path: Path) -> tuple[list[dict[str, Any]], RowSink]:
    sink = RowSink()
    READER.read(path, sink)
    arrays = sink.logs.to_arrays()
    rows = [{k: v[i] for k, v in arrays.items()} for i in range(len(sink.logs))]
    return rows, sink


def _lines(tmp_path: Path, *objs: Any, name: str = "app.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((o if isinstance(o, str) else orjson.dumps(o).decode()) + "\n" for o in objs))
    return path


@pytest.fixture(scope="module")
def shapes(formats_dir: Path) -> dict[str, dict[str, Any]]:
    rows, sink = _read(formats_dir / "json-log-shapes.synthetic.jsonl")
    assert sink.problem_count == 0
    by_shape = {orjson.loads(r["attributes"])["_shape"].split(" ")[0]: r for r in rows}
    assert len(by_shape) == 9
    return by_shape


def test_every_shape_has_time_level_body(shapes: dict[str, dict[str, Any]]) -> None:
    for shape, row in shapes.items():
        assert row["ts_ns"] > 1_500_000_000 * 10**9, shape
        assert row["level"] in ("ERROR", "INFO"), shape
        assert row["body"], shape


def test_trace_context_shapes(shapes: dict[str, dict[str, Any]]) -> None:
    for shape in ("otel-logs-data-model-flattened", "ecs-logging", "logstash-logback-encoder", "log/slog",
                  "pino", "Serilog", "python-json-logger"):  # fmt: skip
        assert (shapes[shape]["trace_id"], shapes[shape]["span_id"]) == (TRACE, SPAN), shape


def test_otel_and_ecs(shapes: dict[str, dict[str, Any]]) -> None:
    otel = shapes["otel-logs-data-model-flattened"]
    assert (otel["service"], otel["body"], otel["level"]) == ("cart", "Incoming request", "ERROR")
    assert otel["ts_ns"] == 1581385157144290048  # float seconds keep microseconds (float precision)
    ecs = shapes["ecs-logging"]
    assert ecs["service"] == "cart" and ecs["body"] == "Failed to empty cart"
    assert ecs["exception_type"] == "StackExchange.Redis.RedisConnectionException"
    attrs = orjson.loads(ecs["attributes"])
    assert attrs["error.message"] == "No connection is available" and "service.name" not in attrs


def test_java_go_node_shapes(shapes: dict[str, dict[str, Any]]) -> None:
    logback = shapes["logstash-logback-encoder"]
    assert logback["logger"] == "oteldemo.AdService"
    assert logback["exception_type"] == "io.grpc.StatusRuntimeException"
    assert orjson.loads(logback["frames"])[0]["line"] == 239
    assert "level_value" not in orjson.loads(logback["attributes"])
    zap = shapes["zap"]
    assert orjson.loads(zap["frames"])[0] == {
        "file": "/usr/src/app/main.go",
        "line": 321,
        "function": "(*checkout).chargeCard",
        "module": "main",
        "library": False,
    }
    assert zap["exception_type"] == ""  # a zap stacktrace has frames but no panic header
    assert orjson.loads(zap["attributes"])["caller"] == "checkout/main.go:321"
    pino = shapes["pino"]
    assert pino["level"] == "ERROR" and pino["ts_ns"] == 1764303001234 * 10**6


def test_dotnet_and_python_shapes(shapes: dict[str, dict[str, Any]]) -> None:
    clef = shapes["Serilog"]
    assert clef["body"] == "Wasn't able to connect to redis valkey-cart:6379"
    assert clef["exception_type"] == "StackExchange.Redis.RedisConnectionException"
    assert clef["ts_ns"] % 10**9 == 234567800
    pjl = shapes["python-json-logger"]
    assert pjl["logger"] == "recommendation" and pjl["body"] == "get_product_list failed"
    assert orjson.loads(pjl["frames"])[0]["function"] == "get_product_list"
    structlog = shapes["structlog"]
    assert (structlog["body"], structlog["logger"], structlog["level"]) == ("cache miss", "recommendation", "INFO")


def test_container_wrappers_sample(formats_dir: Path) -> None:
    path = formats_dir / "container-log-wrappers.synthetic.txt"
    assert READER.sniff(read_head(path), path)
    rows, sink = _read(path)
    assert [p.line for p in sink.problems] == [1, 5]  # the sample's "#" comments
    assert all("comment line" in p.reason for p in sink.problems)
    cri_json, joined, docker_json = sorted(rows, key=lambda r: int(r["source"].rsplit(":", 1)[1]))
    assert cri_json["trace_id"] == TRACE and cri_json["ts_ns"] % 10**9 == 123456789
    assert docker_json["body"] == "handled request" and docker_json["level"] == "INFO"
    assert joined["body"].endswith("cart store unavailable for user u-42")  # P + F joined
    assert joined["exception_type"] == "java.lang.IllegalStateException"
    assert joined["source"].endswith(":3")
    assert orjson.loads(joined["attributes"])["log.iostream"] == "stderr"


def test_cri_java_trace_lines_become_one_record(tmp_path: Path) -> None:
    path = _lines(
        tmp_path,
        "2026-11-28T04:10:01.1Z stdout F 2026-11-28 04:10:01.100 ERROR c.e.Cart : failed",
        "2026-11-28T04:10:01.2Z stdout F java.lang.IllegalStateException: no store",
        "2026-11-28T04:10:01.3Z stdout F \tat com.e.Cart.empty(Cart.java:8)",
        '2026-11-28T04:10:01.4Z stdout F {"level":"info","msg":"next","time":"2026-11-28T04:10:01.4Z"}',
        name="0.log",
    )
    rows, sink = _read(path)
    assert sink.problem_count == 0
    assert len(rows) == 2
    text = next(r for r in rows if r["logger"] == "c.e.Cart")
    assert text["exception_type"] == "java.lang.IllegalStateException"
    assert orjson.loads(text["frames"])[0]["function"] == "empty"


def test_docker_partial_lines_are_joined(tmp_path: Path) -> None:
    inner = orjson.dumps({"msg": "x" * 40, "level": "warn", "time": 1_700_000_000}).decode()
    path = _lines(
        tmp_path,
        {"log": inner[:20], "stream": "stdout", "time": "2026-01-01T00:00:00Z"},
        {"log": inner[20:] + "\n", "stream": "stdout", "time": "2026-01-01T00:00:00Z"},
    )
    rows, _ = _read(path)
    assert len(rows) == 1 and rows[0]["body"] == "x" * 40 and rows[0]["level"] == "WARN"


def test_nested_and_dotted_keys_are_the_same_field(tmp_path: Path) -> None:
    nested = {"@timestamp": "2026-01-01T00:00:00Z", "log": {"level": "warn"}, "message": "m",
              "service": {"name": "cart"}, "trace": {"id": TRACE}}  # fmt: skip
    dotted = {"@timestamp": "2026-01-01T00:00:00Z", "log.level": "warn", "message": "m",
              "service.name": "cart", "trace.id": TRACE}  # fmt: skip
    rows, _ = _read(_lines(tmp_path, nested, dotted))
    assert rows[0] == {**rows[1], "source": rows[0]["source"]}
    assert flatten({"a": {"b": {"c": 1}}, "d": []}) == {"a.b.c": 1, "d": []}


def test_ids_are_normalised_and_bad_ids_reported(tmp_path: Path) -> None:
    short = {"msg": "a", "level": "info", "trace_id": "ABCDEF0123456789", "span_id": "0a"}
    b64 = {"msg": "b", "level": "info", "traceId": "W47/95gDgQPSabYzgT/GDA=="}
    bad = {"msg": "c", "level": "info", "trace_id": "not-an-id!"}
    rows, sink = _read(_lines(tmp_path, short, b64, bad))
    assert rows[0]["trace_id"] == "0" * 16 + "abcdef0123456789" and rows[0]["span_id"] == "0" * 14 + "0a"
    assert rows[1]["trace_id"] == TRACE
    assert rows[2]["trace_id"] == "" and orjson.loads(rows[2]["attributes"])["trace_id"] == "not-an-id!"
    assert sink.problems[0].line == 3 and "trace_id" in sink.problems[0].reason


def test_invalid_lines_are_problems_and_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    with path.open("wb") as fh:
        fh.write(b'{"msg":"one","level":"info"}\n')
        fh.write(b'{"msg": "broken",\n')
        fh.write(b"[1, 2]\n")
        fh.write(b'{"msg":"caf\xe9","level":"info"}\n')
        fh.write(b'{"msg":"' + b"y" * (10 << 20) + b'"}\n')
        fh.write(b'{"resourceLogs": []}\n')
        fh.write(b'{"msg":"last","level":"error"}\n')
    rows, sink = _read(path)
    assert [r["body"] for r in rows] == ["one", "caf\ufffd", "last"]
    reasons = {p.line: p.reason for p in sink.problems}
    assert "invalid JSON" in reasons[2] and "not a JSON object" in reasons[3]
    assert "invalid UTF-8" in reasons[4] and "longer than" in reasons[5] and "OTLP" in reasons[6]


def test_binary_file_does_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "blob.jsonl"
    path.write_bytes(bytes(range(256)) * 64)
    rows, sink = _read(path)
    assert rows == [] and sink.problem_count > 0


def test_sniff_is_conservative(formats_dir: Path, tmp_path: Path) -> None:
    def sniff(path: Path) -> bool:
        return bool(READER.sniff(read_head(path), path))

    assert sniff(formats_dir / "json-log-shapes.synthetic.jsonl")
    for other in ("otlp-file-exporter-logs.jsonl", "otlp-logs.json", "alertmanager-webhook-v4.synthetic.json",
                  "zipkin2-skew.json", "loki-query_range-streams.json", "jaeger-ui_01.trace.json"):  # fmt: skip
        assert not sniff(formats_dir / other), other
    assert not sniff(_lines(tmp_path, {"id": 1, "name": "no message or time"}, name="rows.jsonl"))
    assert not sniff(_lines(tmp_path, "2024-01-01 00:00:00 INFO plain text", name="plain.log"))


def test_serilog_template_rendering() -> None:
    props = {"User": "u-1", "Elapsed": 12.5, "Cart": {"n": 2}}
    assert render_template("{User} took {Elapsed:0.0} ms {{literal}} {@Cart} {Missing}", props) == (
        'u-1 took 12.5 ms {literal} {"n":2} {Missing}'
    )


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_KEYS = st.sampled_from(["msg", "message", "level", "time", "ts", "trace_id", "span_id", "service", "log",
                         "stack_trace", "@mt", "@x", "error", "event", "name", "levelname"])  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(_KEYS | st.text(max_size=8), _JSON_VALUES, max_size=6), min_size=1, max_size=8))
def test_random_objects_never_crash_and_each_is_a_row(tmp_path: Path, objs: list[dict[str, Any]]) -> None:
    path = _lines(tmp_path, *objs, name="fuzz.jsonl")
    rows, _ = _read(path)
    assert len(rows) <= len(objs)  # Docker-shaped partial pieces join, nothing is invented
    for row in rows:
        orjson.loads(row["attributes"])
        orjson.loads(row["frames"])


def test_out_of_range_time_is_reported_not_fatal(tmp_path: Path) -> None:
    rows, sink = _read(_lines(tmp_path, {"msg": "far future", "time": 9223372037}, {"msg": "ok", "time": 1}))
    assert [r["ts_ns"] for r in rows] == [0, 10**9]
    assert "out of range" in sink.problems[0].reason and sink.problems[0].line == 1
    assert orjson.loads(rows[0]["attributes"])["time"] == 9223372037


def test_sniff_tolerates_damaged_lines(tmp_path: Path) -> None:
    good = {"timestamp": "2026-11-28T04:10:01Z", "level": "error", "message": "boom"}
    path = _lines(tmp_path, good, "{not json", good, name="damaged.jsonl")
    assert READER.sniff(read_head(path), path)
