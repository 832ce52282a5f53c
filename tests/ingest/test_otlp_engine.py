"""DuckDB's reader for OTLP/JSON exporter spans gives exactly the rows of the per-record reader, line by line
falling back to it for anything SQL does not convert exactly, and to it alone for files DuckDB cannot read."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.engine_load import load

from incidentlens.ingest import otlp_engine
from incidentlens.simulate import simulate

_COLUMNS = (
    "trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message,"
    " attributes, links, source"
)


@pytest.fixture(autouse=True)
def _engine_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otlp_engine, "ENGINE_MIN_BYTES", 0)


def _load(path: Path, *, engine: bool, store_path: Path | None = None) -> tuple[list[tuple[Any, ...]], list[str], int]:
    """Span rows and log counts, problems (or the error), and how many spans the per-record reader made."""
    spans = f"SELECT {_COLUMNS} FROM spans ORDER BY source, trace_id, span_id, start_ns, name"
    logs = "SELECT count(*), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM logs"
    got = load(
        path, forced_format="otlp-traces", table="spans", queries=(spans, logs), engine=engine, store_path=store_path
    )
    return got.rows, got.problems, got.by_python


def _same_both_ways(path: Path) -> int:
    """Identical rows (attributes and links as stored text) and problems; spans the per-record reader made."""
    fast, fast_problems, by_python = _load(path, engine=True)
    slow, slow_problems, _ = _load(path, engine=False)
    assert fast == slow
    assert fast_problems == slow_problems
    return by_python


def _write(path: Path, *requests: Any) -> Path:
    # json, not orjson: writes integers beyond 64 bits too
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests))
    return path


def _span(**fields: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "parentSpanId": "eee19b7ec3c1b173",
        "name": "op",
        "kind": 2,
        "startTimeUnixNano": "100",
        "endTimeUnixNano": "200",
        "attributes": [{"key": "http.status_code", "value": {"intValue": "500"}}],
        "status": {"code": 2, "message": "boom"},
    }
    span.update(fields)
    return span


def _request(*spans: Any, service: Any = "svc", extra: list[Any] | None = None) -> dict[str, Any]:
    attrs = [{"key": "service.name", "value": {"stringValue": service}}, *(extra or [])]
    return {"resourceSpans": [{"resource": {"attributes": attrs}, "scopeSpans": [{"scope": {}, "spans": list(spans)}]}]}


def test_simulated_bundle_spans_read_by_the_engine(tmp_path: Path) -> None:
    simulate("bad_deploy_exception", seed=1, out=tmp_path / "bundle", scale=0.2, with_repo=False)
    traces = tmp_path / "bundle" / "traces" / "traces.otlp.jsonl"
    assert _same_both_ways(traces) == 0  # nothing went through Python buffers...
    rows, _, _ = _load(traces, engine=True)
    assert len(rows) > 1000  # ...yet every span is there, exception events included
    assert any('"exception.stacktrace":' in r[10] for r in rows)
    assert any(r[11] != "[]" for r in rows)
    bounded, _, by_python = _load(traces, engine=True, store_path=tmp_path / "store.duckdb")
    assert bounded == rows and by_python == 0  # also on the on-disk store big investigations use


def test_shared_otlp_samples_as_exporter_lines(formats_dir: Path, tmp_path: Path) -> None:
    names = (
        "otlp-trace.json",
        "jaeger-otlp-fixture-example_trace.json",
        "jaeger-otlp-fixture-link_attributes_trace.json",
        "jaeger-apiv3-GetTrace.json",
        "otlp-logs.json",
        "otlp-metrics.json",
    )
    lines = [orjson.loads((formats_dir / name).read_bytes()) for name in names if (formats_dir / name).exists()]
    path = _write(tmp_path / "samples.jsonl", *lines, *lines)
    assert _same_both_ways(path) > 0  # the Jaeger result wrapper and the other signals are Python's
    rows, problems, _ = _load(path, engine=True)
    assert not problems and len(rows) > 10


def test_lines_sql_cannot_convert_go_to_the_per_record_reader(tmp_path: Path) -> None:
    b64 = base64.b64encode(bytes.fromhex("5b8efff798038103d269b633813fc60c")).decode()
    event = {
        "name": "exception",
        "attributes": [
            {"key": "exception.type", "value": {"stringValue": "KeyError"}},
            {"key": "exception.type", "value": {"stringValue": "ValueError"}},  # the last one wins
            {"key": "exception.message", "value": {}},
        ],
    }
    odd_values = [
        {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}},
        {"key": "map", "value": {"kvlistValue": {"values": []}}},
        {"key": "bytes", "value": {"bytesValue": "AQI="}},
        {"key": "big", "value": {"doubleValue": 1e20}},
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "flag", "value": {"boolValue": "yes"}},
        {"key": "huge", "value": {"intValue": "99999999999999999999"}},
        {"key": "none", "value": {}},
        {"key": 5, "value": {"stringValue": "x"}},
    ]
    requests = [
        _request(_span()),
        _request(_span(traceId=b64)),
        _request(_span(traceId="")),
        _request(_span(spanId="zz")),
        _request(_span(endTimeUnixNano="50")),
        _request(_span(startTimeUnixNano=1.5)),
        _request(_span(kind="SPAN_KIND_CLIENT", status={"code": "STATUS_CODE_OK"})),
        _request(_span(kind=" client ", status={"code": 9})),
        _request(_span(events=[{"name": "log"}, event])),
        _request(_span(attributes=[{"key": "service.name", "value": {"stringValue": "span-wins"}}])),
        _request(_span(attributes=[{"key": "a", "value": {"intValue": 1}}, {"key": "a", "value": {"intValue": 2}}])),
        *(_request(_span(attributes=[odd])) for odd in odd_values),
        _request(_span(links=[{"traceId": "ff", "spanId": "ff"}])),
        _request(_span(links=[{"traceId": "ff"}])),
        _request(_span(name=7, parentSpanId="0000000000000000")),
        _request(_span(name=True)),
        _request(_span(), service=12),
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"intValue": "12"}}]},
                    "scopeSpans": [{"spans": [_span()]}],
                }
            ]
        },
        _request(_span(), extra=[{"key": "service.name", "value": {"stringValue": "again"}}]),
        {"resourceSpans": [{"instrumentationLibrarySpans": [{"spans": [_span()]}]}]},
        {"resourceSpans": [None, {"scopeSpans": [None, {"spans": None}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [None]}]}]},
        {"resourceSpans": None},
        {"result": _request(_span())},
        {**_request(_span()), "resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "hi"}}]}]}]},
        _request(_span(attributes=[{"key": 'é "q"\n', "value": {"stringValue": "\u2028 \\ \t \u0001 ü"}}])),
        _request(
            _span(attributes=[{"key": "d", "value": {"doubleValue": 0.1}}, {"key": "z", "value": {"doubleValue": 0}}])
        ),
        _request(
            _span(attributes=[{"key": "t", "value": {"boolValue": True}}, {"key": "i", "value": {"intValue": -7}}])
        ),
    ]
    path = _write(tmp_path / "traces.jsonl", *requests)
    _same_both_ways(path)
    rows, problems, by_python = _load(path, engine=True)
    assert problems and all(p.startswith(f"{path}:") for p in problems)
    assert 0 < by_python < len(rows)  # some lines each way


def test_a_file_duckdb_cannot_read_goes_whole_to_the_per_record_reader(tmp_path: Path) -> None:
    good = json.dumps(_request(_span()))
    for name, text in (
        ("damaged.jsonl", f"{good}\n{{not json\n{good}\n"),
        ("blank.jsonl", f"{good}\n\n{good}\n"),
        ("spaces.jsonl", f"{good}\n \t\r\n{good}"),
        ("trailing.jsonl", f"{good}\n{good}\n\n"),
        ("structure.jsonl", f"{good}\n" + json.dumps({"resourceSpans": {"not": "a list"}}) + f"\n{good}\n"),
    ):
        path = tmp_path / name
        path.write_text(text)
        assert _same_both_ways(path) == 2
        rows, problems, _ = _load(path, engine=True)
        assert len(rows) == 3  # two spans and the log count
        if name not in ("damaged.jsonl", "structure.jsonl"):
            assert problems == []
        else:
            assert problems[0].startswith(f"{path}:2: ")


def test_lines_without_spans_go_alone_to_the_per_record_reader(tmp_path: Path) -> None:
    """Every line keeps its number wherever empty lists are: the others' spans still come from SQL."""
    good = _request(_span())
    resource = good["resourceSpans"][0]
    empty = (
        {"resourceSpans": []},
        {"resourceSpans": [{**resource, "scopeSpans": []}]},
        {"resourceSpans": [{**resource, "scopeSpans": [{"spans": []}]}, resource]},
        {"resourceSpans": [{"resource": resource["resource"]}]},
    )
    for i, line in enumerate(empty):
        path = _write(tmp_path / f"empty-{i}.jsonl", good, line, good, line)
        assert _same_both_ways(path) == (2 if i == 2 else 0)
        rows, problems, _ = _load(path, engine=True)
        assert problems == []
        lines = [2, 4] if i == 2 else []  # the second case's lines hold a span as well
        assert [r[-1] for r in rows[:-1]] == [f"{path}:{n}" for n in sorted([1, 3, *lines], key=str)]


def test_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(_request(_span())) + "\n" for _ in range(3)).encode()))
    assert _same_both_ways(path) == 0


_IDS = st.one_of(
    st.sampled_from(["", "0", "00", "ab", "ABCDEF", "0" * 32, "f" * 32, "f" * 33, "zz", "AQI=", " ab"]),
    st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=34),
    st.integers(min_value=0, max_value=2**64),
    st.none(),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["SPAN_KIND_SERVER", "STATUS_CODE_ERROR", "error", "3", "", "-1", "100", "1793610000000000000"]),
)
_VALUES = st.one_of(
    st.dictionaries(
        st.sampled_from(["stringValue", "intValue", "doubleValue", "boolValue", "arrayValue", "bytesValue"]),
        _SCALARS,
        max_size=1,
    ),
    st.builds(lambda s: {"stringValue": s}, st.text(max_size=12)),
)
_ATTRS = st.lists(
    st.fixed_dictionaries({"key": st.sampled_from(["a", "b", "service.name", "exception.type"]), "value": _VALUES}),
    max_size=4,
)
_SPANS = st.fixed_dictionaries(
    {"traceId": _IDS, "spanId": _IDS},
    optional={
        "parentSpanId": _IDS,
        "name": _SCALARS,
        "kind": _SCALARS,
        "startTimeUnixNano": _SCALARS,
        "endTimeUnixNano": _SCALARS,
        "attributes": _ATTRS,
        "status": st.fixed_dictionaries({}, optional={"code": _SCALARS, "message": _SCALARS}),
        "events": st.lists(
            st.fixed_dictionaries({"name": st.sampled_from(["exception", "log"]), "attributes": _ATTRS})
        ),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_ATTRS, st.lists(_SPANS, min_size=1, max_size=3)), min_size=1, max_size=4))
def test_any_spans_match_the_per_record_reader(tmp_path: Path, lines: list[tuple[list[Any], list[Any]]]) -> None:
    requests = [{"resourceSpans": [{"resource": {"attributes": a}, "scopeSpans": [{"spans": s}]}]} for a, s in lines]
    _same_both_ways(_write(tmp_path / "prop.jsonl", *requests))


# Mostly what exporters write, so most lines take the SQL path and the values it converts are compared.
_VALID_VALUES = st.one_of(
    st.builds(lambda s: {"stringValue": s}, st.text(max_size=12)),
    st.builds(lambda n: {"intValue": str(n)}, st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    st.builds(lambda n: {"intValue": n}, st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    st.builds(lambda x: {"doubleValue": x}, st.floats(allow_nan=False, allow_infinity=False)),
    st.builds(lambda b: {"boolValue": b}, st.booleans()),
)
_VALID_KEYS = st.one_of(
    st.sampled_from(["service.name", "exception.type", "exception.message", "exception.stacktrace"]),
    st.text(min_size=1, max_size=6),
)
_VALID_ATTRS = st.lists(st.fixed_dictionaries({"key": _VALID_KEYS, "value": _VALID_VALUES}), max_size=4)
_VALID_SPANS = st.fixed_dictionaries(
    {
        "traceId": st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=32),
        "spanId": st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
        "startTimeUnixNano": st.integers(min_value=0, max_value=2**62).map(str),
        "endTimeUnixNano": st.just(str(2**62)),
    },
    optional={
        "parentSpanId": st.text(alphabet="0123456789abcdef", max_size=16),
        "name": st.text(max_size=8),
        "kind": st.integers(min_value=-1, max_value=7),
        "attributes": _VALID_ATTRS,
        "status": st.fixed_dictionaries({}, optional={"code": st.integers(0, 3), "message": st.text(max_size=5)}),
        "events": st.lists(st.fixed_dictionaries({"name": st.just("exception"), "attributes": _VALID_ATTRS})),
        "links": st.lists(st.fixed_dictionaries({"traceId": st.just("ab" * 16), "spanId": st.just("cd" * 8)})),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_VALID_ATTRS, st.lists(_VALID_SPANS, min_size=1, max_size=3)), min_size=1, max_size=4))
def test_exporter_like_spans_match_the_per_record_reader(
    tmp_path: Path, lines: list[tuple[list[Any], list[Any]]]
) -> None:
    requests = [{"resourceSpans": [{"resource": {"attributes": a}, "scopeSpans": [{"spans": s}]}]} for a, s in lines]
    _same_both_ways(_write(tmp_path / "prop.jsonl", *requests))
