"""OTLP/JSON readers: real samples, id encodings, mixed exporter lines, bad records and fuzzed input."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlens.errors import FormatError
from incidentlens.ingest import jaeger, otlp_logs, otlp_metrics, otlp_traces, tempo, zipkin
from incidentlens.ingest.common import read_head
from incidentlens.ingest.otlp_metrics import histogram_quantile
from incidentlens.ingest.protocol import FormatReader
from incidentlens.ingest.sink import RowSink

READERS: tuple[FormatReader, ...] = (
    otlp_traces.READER,
    otlp_logs.READER,
    otlp_metrics.READER,
    tempo.READER,
    jaeger.READER,
    zipkin.READER,
)
HEX32, HEX16 = set("0123456789abcdef"), set("0123456789abcdef")


def read(path: Path) -> RowSink:
    sink = RowSink()
    otlp_traces.READER.read(path, sink)
    return sink


def rows(sink: RowSink, table: str) -> list[dict[str, Any]]:
    arrays = sink.buffers[table].to_arrays()
    return [{k: v[i] for k, v in arrays.items()} for i in range(len(sink.buffers[table]))]


def write_json(tmp_path: Path, obj: Any, name: str = "x.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj, indent=2))  # stdlib: writes integers beyond 64 bits too
    return path


def otlp_span(**fields: Any) -> dict[str, Any]:
    span = {
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "name": "op",
        "startTimeUnixNano": "100",
        "endTimeUnixNano": "200",
    }
    span.update(fields)
    return span


def traces_request(*spans: Any, service: str = "svc") -> dict[str, Any]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {}, "spans": list(spans)}]}]}


# --- real samples -------------------------------------------------------------------------------


def test_otlp_trace_sample(formats_dir: Path) -> None:
    sink = read(formats_dir / "otlp-trace.json")
    (span,) = rows(sink, "spans")
    assert sink.problem_count == 0
    assert span["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert span["span_id"] == "eee19b7ec3c1b174"
    assert span["parent_span_id"] == "eee19b7ec3c1b173"
    assert (span["service"], span["kind"], span["status"]) == ("my.service", "SERVER", "UNSET")
    assert (span["start_ns"], span["end_ns"]) == (1544712660000000000, 1544712661000000000)
    assert orjson.loads(span["attributes"]) == {"service.name": "my.service", "my.span.attr": "some value"}
    assert span["source"].endswith("otlp-trace.json#0")


def test_jaeger_apiv3_result_wrapper(formats_dir: Path) -> None:
    (span,) = rows(read(formats_dir / "jaeger-apiv3-GetTrace.json"), "spans")
    assert span["trace_id"] == "0" * 31 + "1"
    assert span["span_id"] == "0" * 15 + "2"
    assert (span["kind"], span["status"], span["name"], span["service"]) == ("SERVER", "ERROR", "foobar", "")


def test_jaeger_otlp_fixtures(formats_dir: Path) -> None:
    spans = rows(read(formats_dir / "jaeger-otlp-fixture-example_trace.json"), "spans")
    assert [s["span_id"][-1] for s in spans] == ["4", "5", "3", "6", "7"]
    assert [s["service"] for s in spans] == ["example-service-2", "example-service-3"] + ["example-service-1"] * 3
    assert [s["kind"] for s in spans] == ["UNSPECIFIED"] * 3 + ["SERVER", "CLIENT"]
    assert all(s["end_ns"] - s["start_ns"] == 100_000 for s in spans)
    (linked,) = rows(read(formats_dir / "jaeger-otlp-fixture-link_attributes_trace.json"), "spans")
    links = orjson.loads(linked["links"])
    assert links[0] == {"trace_id": "0" * 30 + "ff", "span_id": "0" * 14 + "ff"}
    assert len(links) == 3


def test_otlp_logs_sample(formats_dir: Path) -> None:
    sink = read(formats_dir / "otlp-logs.json")
    (log,) = rows(sink, "logs")
    assert (log["level"], log["body"], log["service"], log["logger"]) == (
        "INFO",
        "Example log record",
        "my.service",
        "my.library",
    )
    assert (log["trace_id"], log["span_id"]) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert log["ts_ns"] == 1544712660300000000
    attrs = orjson.loads(log["attributes"])
    assert attrs["int.attribute"] == 10 and attrs["boolean.attribute"] is True
    assert attrs["double.attribute"] == 637.704
    assert attrs["array.attribute"] == ["many", "values"]
    assert attrs["map.attribute"] == {"some.map.key": "some value"}


def test_otlp_events_structured_body(formats_dir: Path) -> None:
    (log,) = rows(read(formats_dir / "otlp-events.json"), "logs")
    assert orjson.loads(log["body"])["title"] == "Free Online GUID Generator"
    assert orjson.loads(log["attributes"])["event.name"] == "browser.page_view"
    assert log["level"] == "INFO" and log["trace_id"] == ""


def test_file_exporter_jsonl(formats_dir: Path) -> None:
    sink = read(formats_dir / "otlp-file-exporter-logs.jsonl")
    logs = rows(sink, "logs")
    assert sink.problem_count == 0 and len(logs) == 4
    assert logs[0]["trace_id"] == "08040201000000000000000000000000"
    assert logs[0]["span_id"] == "0102040800000000"
    assert (logs[1]["trace_id"], logs[1]["span_id"]) == ("", "")  # the empty "" ids of the spec example
    assert [r["source"].rsplit(":", 1)[1] for r in logs] == ["1", "1", "2", "2"]
    assert logs[2]["ts_ns"] == 1581452773000001233


def test_otlp_metrics_sample(formats_dir: Path) -> None:
    sink = read(formats_dir / "otlp-metrics.json")
    values = {r["name"]: r["value"] for r in rows(sink, "metrics")}
    assert values == pytest.approx(
        {
            "my.counter": 5.0,
            "my.gauge": 10.0,
            "my.histogram_count": 2.0,
            "my.histogram_sum": 2.0,
            "my.histogram_p50": 1.0,
            "my.histogram_p90": 1.8,
            "my.histogram_p99": 1.98,
            "my.exponential.histogram_count": 3.0,
            "my.exponential.histogram_sum": 10.0,
        }
    )
    gauge = next(r for r in rows(sink, "metrics") if r["name"] == "my.gauge")
    assert orjson.loads(gauge["labels"]) == {"my.gauge.attr": "some value"}
    assert gauge["service"] == "my.service" and gauge["ts_ns"] == 1544712660300000000


def test_sniff_picks_exactly_the_right_reader(formats_dir: Path) -> None:
    expected = {
        "otlp-trace.json": "otlp-traces",
        "jaeger-apiv3-GetTrace.json": "otlp-traces",
        "jaeger-otlp-fixture-example_trace.json": "otlp-traces",
        "otlp-logs.json": "otlp-logs",
        "otlp-events.json": "otlp-logs",
        "otlp-file-exporter-logs.jsonl": "otlp-logs",
        "otlp-metrics.json": "otlp-metrics",
    }
    for path in sorted(p for p in formats_dir.rglob("*") if p.is_file()):
        head = read_head(path)
        accepted = [r.name for r in READERS if r.sniff(head, path)]
        if path.name in expected:
            assert accepted == [expected[path.name]], path.name
        elif not path.name.startswith(("jaeger-", "zipkin2-", "tempo-")):
            assert accepted == [], path.name


# --- encodings and semantics --------------------------------------------------------------------


def test_base64_and_hex_ids_give_the_same_row(tmp_path: Path) -> None:
    hex_ids = {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174"}
    b64 = {k: base64.b64encode(bytes.fromhex(v)).decode() for k, v in hex_ids.items()}
    a = rows(read(write_json(tmp_path, traces_request(otlp_span(**hex_ids)), "a.json")), "spans")
    b = rows(read(write_json(tmp_path, traces_request(otlp_span(**b64)), "b.json")), "spans")
    assert [{**r, "source": ""} for r in a] == [{**r, "source": ""} for r in b]
    assert a[0]["trace_id"] == "5b8efff798038103d269b633813fc60c"


def test_enum_names_exception_events_and_span_wins(tmp_path: Path) -> None:
    event = {
        "name": "exception",
        "attributes": [
            {"key": "exception.type", "value": {"stringValue": "ValueError"}},
            {"key": "exception.message", "value": {"stringValue": "bad"}},
        ],
    }
    span = otlp_span(
        kind="SPAN_KIND_CONSUMER",
        status={"code": "STATUS_CODE_ERROR", "message": "boom"},
        events=[{"name": "log"}, event],
        attributes=[{"key": "service.name", "value": {"stringValue": "span-wins"}}],
    )
    (row,) = rows(read(write_json(tmp_path, traces_request(span))), "spans")
    assert (row["kind"], row["status"], row["status_message"]) == ("CONSUMER", "ERROR", "boom")
    attrs = orjson.loads(row["attributes"])
    assert attrs["exception.type"] == "ValueError" and attrs["exception.message"] == "bad"
    assert attrs["service.name"] == "span-wins" and row["service"] == "svc"


def test_bad_spans_are_problems_and_good_ones_kept(tmp_path: Path) -> None:
    spans = [otlp_span(), otlp_span(traceId=""), otlp_span(spanId="zz!"), otlp_span(endTimeUnixNano="50")]
    sink = read(write_json(tmp_path, traces_request(*spans)))
    assert len(sink.spans) == 1
    reasons = [p.reason for p in sink.problems]
    assert reasons[0].startswith("span #1: missing traceId")
    assert reasons[1].startswith("span #2: spanId")
    assert reasons[2].startswith("span #3: endTimeUnixNano 50 is before")
    assert all(p.path.endswith("x.json") for p in sink.problems)


def test_mixed_jsonl_lines_and_bad_lines(tmp_path: Path) -> None:
    log = {"timeUnixNano": "5", "severityText": "warn", "body": {"stringValue": "hi"}}
    lines = [
        orjson.dumps(traces_request(otlp_span())),
        b"{not json",
        orjson.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [log]}]}]}),
        b"",
        orjson.dumps({"error": {"message": "trace not found"}}),
        orjson.dumps({"something": "else"}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    sink = read(path)
    assert (len(sink.spans), len(sink.logs)) == (1, 1)
    assert rows(sink, "logs")[0]["level"] == "WARN"
    assert [p.line for p in sink.problems] == [2, 5, 6]
    assert "trace not found" in sink.problems[1].reason


def test_log_fallbacks_and_exception_type(tmp_path: Path) -> None:
    record = {
        "observedTimeUnixNano": "1700000000000000000",
        "severityNumber": 17,
        "traceId": "not-an-id!",
        "body": {"intValue": "42"},
        "attributes": [{"key": "exception.type", "value": {"stringValue": "java.io.IOException"}}],
    }
    path = write_json(tmp_path, {"resourceLogs": [{"scopeLogs": [{"logRecords": [record, 7]}]}]})
    sink = read(path)
    (log,) = rows(sink, "logs")
    assert (log["ts_ns"], log["level"], log["body"]) == (1700000000000000000, "ERROR", "42")
    assert log["exception_type"] == "java.io.IOException" and log["frames"] == "[]"
    assert log["trace_id"] == ""  # malformed id dropped and reported, record kept
    assert sink.problem_count == 2


def test_metric_kinds_and_bad_points(tmp_path: Path) -> None:
    def metric(name: str, kind: str, *points: Any) -> dict[str, Any]:
        return {"name": name, kind: {"dataPoints": list(points)}}

    metrics = [
        metric("g", "gauge", {"timeUnixNano": "1", "asInt": "7"}, {"timeUnixNano": "2", "asDouble": "NaN"}),
        metric("g2", "gauge", {"timeUnixNano": "3"}, {"timeUnixNano": "4", "flags": 1}),
        metric("s", "summary", {"count": "4", "sum": 8, "quantileValues": [{"quantile": 0.99, "value": 3}]}),
        metric("h", "histogram", {"count": "3", "bucketCounts": ["1"], "explicitBounds": [1, 2]}),
        metric("h2", "histogram", {"count": "0"}),
    ]
    request = {"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]}
    sink = read(write_json(tmp_path, request))
    got = [(r["name"], r["value"]) for r in rows(sink, "metrics")]
    assert got[0] == ("g", 7.0)
    assert got[1][0] == "g" and math.isnan(got[1][1])  # NaN stored as NULL
    assert got[2:] == [("s_count", 4.0), ("s_sum", 8.0), ("s_p99", 3.0), ("h2_count", 0.0)]
    assert [p.reason.split(":")[0] for p in sink.problems] == ["metric 'g2' data point #2", "metric 'h' data point #5"]


@given(
    st.lists(st.integers(0, 50), min_size=2, max_size=8),
    st.floats(0.01, 0.999),
    st.floats(0.01, 0.999),
)
def test_histogram_quantile_is_bounded_and_monotone(counts: list[int], q1: float, q2: float) -> None:
    if sum(counts) == 0:
        counts[0] = 1
    bounds = [float(i + 1) for i in range(len(counts) - 1)]
    a, b = (histogram_quantile(q, bounds, [float(c) for c in counts], 0.0, 100.0) for q in sorted((q1, q2)))
    assert 0.0 <= a <= b <= 100.0


# --- fuzzing ------------------------------------------------------------------------------------

any_value = st.recursive(
    st.one_of(
        st.builds(lambda s: {"stringValue": s}, st.text(max_size=5)),
        st.builds(lambda i: {"intValue": str(i)}, st.integers()),
        st.builds(lambda b: {"boolValue": b}, st.booleans()),
        st.builds(lambda f: {"doubleValue": f}, st.floats(allow_nan=False, allow_infinity=False)),
        st.builds(lambda b: {"bytesValue": base64.b64encode(b).decode()}, st.binary(max_size=4)),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
    lambda inner: st.one_of(
        st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3)),
        st.builds(
            lambda kv: {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in kv.items()]}},
            st.dictionaries(st.text(max_size=3), inner, max_size=3),
        ),
    ),
    max_leaves=6,
)
id_value = st.one_of(
    st.none(),
    st.text(alphabet="0123456789abcdefABCDEF", max_size=34),
    st.binary(min_size=1, max_size=17).map(lambda b: base64.b64encode(b).decode()),
    st.text(max_size=6),
    st.integers(),
)
time_value = st.one_of(st.none(), st.integers(-5, 2**65), st.integers(0, 2**63).map(str), st.text(max_size=4))
span_strategy = st.fixed_dictionaries(
    {},
    optional={
        "traceId": id_value,
        "spanId": id_value,
        "parentSpanId": id_value,
        "name": st.one_of(st.text(max_size=5), st.integers()),
        "kind": st.one_of(st.integers(-1, 7), st.sampled_from(["SPAN_KIND_CLIENT", "server", "bogus"])),
        "startTimeUnixNano": time_value,
        "endTimeUnixNano": time_value,
        "status": st.one_of(st.none(), st.fixed_dictionaries({"code": st.one_of(st.integers(), st.text())})),
        "attributes": st.lists(st.fixed_dictionaries({"key": st.text(max_size=4), "value": any_value}), max_size=3),
        "events": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["exception", "x"])}), max_size=2),
        "links": st.one_of(st.lists(st.fixed_dictionaries({"traceId": id_value, "spanId": id_value}), max_size=2)),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(span_strategy, st.integers()), max_size=6))
def test_random_spans_give_valid_rows_or_problems(tmp_path: Path, spans: list[Any]) -> None:
    sink = read(write_json(tmp_path, traces_request(*spans)))
    assert len(sink.spans) + sink.problem_count == len(spans)
    for row in rows(sink, "spans"):
        assert len(row["trace_id"]) == 32 and set(row["trace_id"]) <= HEX32
        assert len(row["span_id"]) == 16 and set(row["span_id"]) <= HEX16
        assert row["parent_span_id"] == "" or len(row["parent_span_id"]) == 16
        assert 0 <= row["start_ns"] <= row["end_ns"]
        assert row["kind"] in otlp_traces.KINDS and row["status"] in otlp_traces.STATUSES
        assert isinstance(orjson.loads(row["attributes"]), dict)
        assert all(len(link["trace_id"]) == 32 for link in orjson.loads(row["links"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_garbage_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(data)
    for reader in (otlp_traces.READER, otlp_logs.READER, otlp_metrics.READER):
        sink = RowSink()
        try:
            reader.read(path, sink)
        except FormatError as exc:
            assert str(path) in str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["otlp-trace.json", "otlp-logs.json", "otlp-metrics.json"]), st.floats(0, 0.999))
def test_truncated_samples_raise_format_error(tmp_path: Path, formats_dir: Path, name: str, cut: float) -> None:
    data = (formats_dir / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data.rstrip()) * cut)])
    with pytest.raises(FormatError) as info:
        otlp_traces.READER.read(path, RowSink())
    assert info.value.path == str(path)


def test_out_of_range_values(tmp_path: Path) -> None:
    big = {"key": "big", "value": {"intValue": str(2**64)}}
    spans = [otlp_span(attributes=[big]), otlp_span(startTimeUnixNano=str(2**63), endTimeUnixNano=str(2**63))]
    sink = read(write_json(tmp_path, traces_request(*spans)))
    (row,) = rows(sink, "spans")
    assert orjson.loads(row["attributes"])["big"] == str(2**64)
    assert "out of range" in sink.problems[0].reason and sink.problems[0].reason.startswith("span #1:")


def test_superscript_digits_are_not_numbers(tmp_path: Path) -> None:
    # "²".isdigit() is True but int("²") fails: such text is a bad value, not a crash.
    span = otlp_span(kind="²", startTimeUnixNano="²")
    sink = read(write_json(tmp_path, traces_request(otlp_span(kind="²"), span)))
    assert [r["kind"] for r in rows(sink, "spans")] == ["UNSPECIFIED"]
    assert sink.problems[0].reason.startswith("span #1: startTimeUnixNano")
