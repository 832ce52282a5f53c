"""Jaeger v1, Zipkin v2 and legacy Tempo readers: real samples, detection, bad spans and fuzzed input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlens.errors import FormatError
from incidentlens.ingest import jaeger, otlp_logs, otlp_metrics, otlp_traces, tempo, zipkin
from incidentlens.ingest.common import read_head
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
KINDS = {"SERVER", "CLIENT", "PRODUCER", "CONSUMER", "INTERNAL", "UNSPECIFIED"}


def read(reader: FormatReader, path: Path) -> RowSink:
    sink = RowSink()
    reader.read(path, sink)
    return sink


def spans(sink: RowSink) -> list[dict[str, Any]]:
    arrays = sink.spans.to_arrays()
    return [{k: v[i] for k, v in arrays.items()} for i in range(len(sink.spans))]


def write_json(tmp_path: Path, obj: Any, name: str = "x.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj, indent=2))
    return path


def without_source(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "source"} for r in rows]


def test_sniff_each_sample(formats_dir: Path) -> None:
    expected = {
        "jaeger-ui_01.trace.json": "jaeger",
        "jaeger-api-traces-response.wrapped.json": "jaeger",
        "tempo-grafana-legacy-trace.synthetic.json": "tempo-legacy",
        "zipkin2-skew.json": "zipkin",
        "zipkin2-simple-db-p6.json": "zipkin",
        "zipkin2-yelp.json": "zipkin",
        "zipkin2-messaging-kafka.json": "zipkin",
    }
    for name, reader in expected.items():
        path = formats_dir / name
        assert [r.name for r in READERS if r.sniff(read_head(path), path)] == [reader], name


@pytest.mark.parametrize(
    "text",
    [
        '[{"time": "2024-01-01", "level": "info", "msg": "x", "id": "1"}]',
        '[{"traceId": "abc", "id": "1", "binaryAnnotations": [], "timestamp": 1}]',
        '{"status": "success", "data": {"resultType": "streams", "result": []}}',
        '{"data": [{"labels": {}, "spanID": 1}]}',
        "not json at all",
    ],
)
def test_sniff_rejects_lookalikes(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    assert [r.name for r in READERS if r.sniff(text, path)] == []


def test_jaeger_ui_trace(formats_dir: Path) -> None:
    sink = read(jaeger.READER, formats_dir / "jaeger-ui_01.trace.json")
    rows = spans(sink)
    assert sink.problem_count == 0 and len(rows) == 5
    assert {r["trace_id"] for r in rows} == {"0" * 31 + "1"}
    assert [r["span_id"][-1] for r in rows] == ["2", "2", "3", "4", "5"]
    assert [r["service"] for r in rows] == ["service-x"] * 2 + ["service-y"] * 3
    assert [r["parent_span_id"] for r in rows] == ["", "", "0" * 15 + "2", "0" * 15 + "2", "0" * 15 + "4"]
    assert [r["status"] for r in rows] == ["UNSET", "ERROR", "UNSET", "UNSET", "UNSET"]
    assert rows[0]["start_ns"] == 1485467191639875000 and rows[0]["end_ns"] == 1485467191639880000
    assert rows[4]["end_ns"] - rows[4]["start_ns"] == 4_000
    attrs = orjson.loads(rows[1]["attributes"])
    assert attrs["javascript_limit"] == 9223372036854775222 and attrs["peer.ipv4"] == 23456
    # The CHILD_OF into another trace and the FOLLOWS_FROM become links, not parents.
    assert orjson.loads(rows[3]["links"]) == [
        {"trace_id": "0" * 30 + "ff", "span_id": "0" * 14 + "ff"},
        {"trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "2"},
    ]
    assert rows[0]["source"].endswith("jaeger-ui_01.trace.json#0")


def test_jaeger_envelope_equals_single_trace(formats_dir: Path) -> None:
    single = spans(read(jaeger.READER, formats_dir / "jaeger-ui_01.trace.json"))
    wrapped = spans(read(jaeger.READER, formats_dir / "jaeger-api-traces-response.wrapped.json"))
    assert without_source(single) == without_source(wrapped)


def test_jaeger_tags_logs_errors_and_bad_spans(tmp_path: Path) -> None:
    def span(span_id: str, **extra: Any) -> dict[str, Any]:
        base = {"traceID": "a" * 16, "spanID": span_id, "operationName": "op", "startTime": 10, "duration": 2}
        return {**base, "processID": "p1", **extra}

    error_log = {
        "timestamp": 11,
        "fields": [
            {"key": "event", "type": "string", "value": "error"},
            {"key": "error.kind", "type": "string", "value": "TimeoutError"},
            {"key": "stack", "type": "string", "value": "Traceback ..."},
        ],
    }
    tags = [
        {"key": "span.kind", "type": "string", "value": "client"},
        {"key": "otel.status_code", "type": "string", "value": "ERROR"},
        {"key": "otel.status_description", "type": "string", "value": "deadline"},
    ]
    trace = {
        "traceID": "a" * 16,
        "spans": [span("01", tags=tags, logs=[error_log]), span("02", startTime=None), span("", duration=1)],
        "processes": {"p1": {"serviceName": "checkout", "tags": [{"key": "host", "value": "h1"}]}},
    }
    document = {"data": [trace, "junk"], "errors": [{"code": 500, "msg": "storage timeout"}]}
    sink = read(jaeger.READER, write_json(tmp_path, document))
    (row,) = spans(sink)
    assert row["trace_id"] == "0" * 16 + "a" * 16 and row["span_id"] == "0" * 14 + "01"
    assert (row["kind"], row["status"], row["status_message"], row["service"]) == (
        "CLIENT",
        "ERROR",
        "deadline",
        "checkout",
    )
    attrs = orjson.loads(row["attributes"])
    assert attrs["exception.type"] == "TimeoutError" and attrs["exception.stacktrace"] == "Traceback ..."
    assert attrs["host"] == "h1"
    reasons = [p.reason for p in sink.problems]
    assert "storage timeout" in reasons[0]
    assert reasons[1] == "span #1: missing startTime"
    assert reasons[2] == "span #2: missing spanID"
    assert reasons[3].startswith("trace #1:")


def test_zipkin_skew_keeps_shared_span_ids(formats_dir: Path) -> None:
    rows = spans(read(zipkin.READER, formats_dir / "zipkin2-skew.json"))
    shared = [r for r in rows if r["span_id"] == "74280ae0c10d8062"]
    assert {(r["kind"], r["service"]) for r in shared} == {("SERVER", "serviceb"), ("CLIENT", "servicea")}
    assert rows[0]["trace_id"] == "0" * 16 + "1e223ff1f80f1c69"
    assert rows[0]["kind"] == "UNSPECIFIED" and rows[0]["parent_span_id"] == "74280ae0c10d8062"
    assert (rows[0]["start_ns"], rows[0]["end_ns"]) == (1470150004008762000, 1470150004073762000)
    assert rows[2]["parent_span_id"] == ""


def test_zipkin_samples_counts_peers_and_errors(formats_dir: Path) -> None:
    counts = {
        name: len(spans(read(zipkin.READER, formats_dir / name)))
        for name in ("zipkin2-simple-db-p6.json", "zipkin2-yelp.json", "zipkin2-messaging-kafka.json")
    }
    assert counts == {"zipkin2-simple-db-p6.json": 5, "zipkin2-yelp.json": 16, "zipkin2-messaging-kafka.json": 28}
    db = spans(read(zipkin.READER, formats_dir / "zipkin2-simple-db-p6.json"))[0]
    assert orjson.loads(db["attributes"])["peer.service"] == "app_db"
    assert db["service"] == "bootifulmeters" and db["kind"] == "CLIENT"
    kafka = spans(read(zipkin.READER, formats_dir / "zipkin2-messaging-kafka.json"))
    errors = [r for r in kafka if r["status"] == "ERROR"]
    assert [r["status_message"] for r in errors] == ["some error", "some error", ""]
    assert {r["kind"] for r in kafka} <= KINDS and "PRODUCER" in {r["kind"] for r in kafka}


def test_zipkin_list_of_traces_and_bad_spans(tmp_path: Path) -> None:
    good = {"traceId": "463ac35c9f6413ad48485a3953bb6124", "id": "A2FB4A1D1A96D312", "timestamp": 5, "kind": "SERVER"}
    document = [[good, {**good, "timestamp": None}], [{**good, "id": "xyz!"}, 3]]
    path = write_json(tmp_path, document)
    assert zipkin.READER.sniff(path.read_text(), path)
    sink = read(zipkin.READER, path)
    (row,) = spans(sink)
    assert row["trace_id"] == "463ac35c9f6413ad48485a3953bb6124" and row["span_id"] == "a2fb4a1d1a96d312"
    assert row["end_ns"] == row["start_ns"] == 5_000  # no duration: an incomplete span
    assert [p.reason.split(":")[0] for p in sink.problems] == ["span #1", "span #2", "span #3"]


def test_tempo_legacy_base64_ids(formats_dir: Path) -> None:
    sink = read(tempo.READER, formats_dir / "tempo-grafana-legacy-trace.synthetic.json")
    (row,) = spans(sink)
    assert row["trace_id"] == "000000000000000060ba2abb44f13eae"
    assert (row["span_id"], row["parent_span_id"]) == ("726b5e30102fc0d0", "398f0f21a3db99ae")
    assert (row["service"], row["kind"], row["status"]) == ("db", "SERVER", "UNSET")
    assert (row["start_ns"], row["end_ns"]) == (1627471657255809000, 1627471657256268000)
    assert orjson.loads(row["attributes"]) == {"service.name": "db", "http.status_code": 200}


@pytest.mark.parametrize("reader", [jaeger.READER, zipkin.READER, tempo.READER], ids=lambda r: r.name)
def test_wrong_document_shape_is_format_error(tmp_path: Path, reader: FormatReader) -> None:
    path = write_json(tmp_path, {"batches": 1} if reader is not tempo.READER else [1])
    with pytest.raises(FormatError) as info:
        reader.read(path, RowSink())
    assert info.value.path == str(path)


scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=20))
zipkin_span = st.fixed_dictionaries(
    {},
    optional={
        "traceId": st.one_of(scalar, st.text("0123456789abcdef", min_size=1, max_size=33)),
        "id": st.one_of(scalar, st.text("0123456789abcdef", min_size=1, max_size=17)),
        "parentId": scalar,
        "timestamp": st.one_of(scalar, st.floats(allow_nan=False, allow_infinity=False)),
        "duration": scalar,
        "kind": scalar,
        "localEndpoint": st.one_of(scalar, st.fixed_dictionaries({"serviceName": scalar})),
        "tags": st.one_of(scalar, st.dictionaries(st.text(max_size=5), scalar, max_size=3)),
    },
)
jaeger_span = st.fixed_dictionaries(
    {},
    optional={
        "traceID": st.one_of(scalar, st.text("0123456789abcdef", min_size=1, max_size=33)),
        "spanID": st.one_of(scalar, st.text("0123456789abcdef", min_size=1, max_size=17)),
        "startTime": scalar,
        "duration": scalar,
        "references": st.one_of(scalar, st.lists(st.dictionaries(st.sampled_from(["traceID", "spanID"]), scalar))),
        "tags": st.one_of(scalar, st.lists(st.fixed_dictionaries({"key": scalar, "value": scalar}), max_size=3)),
        "processID": scalar,
        "logs": st.one_of(scalar, st.lists(st.fixed_dictionaries({"fields": scalar}), max_size=2)),
    },
)


def check_rows(sink: RowSink, expected: int) -> None:
    assert len(sink.spans) + sink.problem_count == expected
    for row in spans(sink):
        assert len(row["trace_id"]) == 32 and len(row["span_id"]) == 16
        assert 0 <= row["start_ns"] <= row["end_ns"] and row["kind"] in KINDS


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(zipkin_span, max_size=5))
def test_random_zipkin_spans(tmp_path: Path, items: list[Any]) -> None:
    check_rows(read(zipkin.READER, write_json(tmp_path, items)), len(items))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(jaeger_span, max_size=5))
def test_random_jaeger_spans(tmp_path: Path, items: list[Any]) -> None:
    trace = {"traceID": "1", "spans": items, "processes": {"p": {"serviceName": "s"}}}
    check_rows(read(jaeger.READER, write_json(tmp_path, trace)), len(items))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_garbage_never_crashes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(data)
    for reader in (jaeger.READER, zipkin.READER, tempo.READER):
        reader.sniff(data.decode("utf-8", "replace"), path)
        try:
            reader.read(path, RowSink())
        except FormatError as exc:
            assert str(path) in str(exc)


def test_times_beyond_int64_nanoseconds_are_problems(tmp_path: Path) -> None:
    z = {"traceId": "1", "id": "2", "timestamp": 2**62, "duration": 1}
    sink = read(zipkin.READER, write_json(tmp_path, [z, {**z, "timestamp": 1, "duration": 2**62}], "z.json"))
    assert len(sink.spans) == 0 and [p.reason.split(" ")[2] for p in sink.problems] == ["timestamp", "duration"]
    big_tag = {"key": "n", "type": "int64", "value": str(2**70)}
    j = {"traceID": "1", "spanID": "2", "startTime": 2**62, "duration": 0}
    trace = {"traceID": "1", "spans": [j, {**j, "startTime": 1, "tags": [big_tag]}], "processes": {}}
    sink = read(jaeger.READER, write_json(tmp_path, trace, "j.json"))
    (row,) = spans(sink)
    assert orjson.loads(row["attributes"]) == {"n": str(2**70)}  # beyond int64: kept as text
    assert sink.problems[0].reason == f"span #0: startTime {2**62} is out of range"
