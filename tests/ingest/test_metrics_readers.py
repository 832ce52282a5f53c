"""Prometheus, Loki and CSV metric readers against real samples and generated files."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlens.errors import FormatError
from incidentlens.ingest import loki, prometheus, widecsv
from incidentlens.ingest.common import read_head
from incidentlens.ingest.sink import RowSink

OWN_SAMPLES = {
    prometheus.READER: {"prometheus-query_range.json"},
    loki.READER: {"loki-query_range-matrix.json", "loki-query_range-streams.json"},
    widecsv.READER: set(),
}


def _read(reader: Any, path: Path) -> RowSink:
    sink = RowSink()
    reader.read(path, sink)
    return sink


def _col(sink: RowSink, table: str, column: str) -> list[Any]:
    return list(sink.buffers[table].to_arrays()[column])


@pytest.mark.parametrize("reader", list(OWN_SAMPLES), ids=lambda r: r.name)
def test_sniff_accepts_only_own_samples(reader: Any, formats_dir: Path) -> None:
    for path in sorted(p for p in formats_dir.rglob("*") if p.is_file()):
        expected = path.name in OWN_SAMPLES[reader]
        assert reader.sniff(read_head(path), path) is expected, path.name


def test_prometheus_query_range_sample(formats_dir: Path) -> None:
    sink = _read(prometheus.READER, formats_dir / "prometheus-query_range.json")
    assert sink.counts()["metrics"] == 6 and not sink.problems
    assert _col(sink, "metrics", "ts_ns")[:3] == [1435781430781000000, 1435781445781000000, 1435781460781000000]
    assert _col(sink, "metrics", "value") == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    assert set(_col(sink, "metrics", "name")) == {"up"}
    assert _col(sink, "metrics", "service")[::3] == ["prometheus", "node"]
    assert json.loads(str(_col(sink, "metrics", "labels")[3])) == {"job": "node", "instance": "localhost:9091"}


def test_prometheus_vector_scalar_nan_inf_list_and_jsonl(tmp_path: Path) -> None:
    vector = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"pod": "cart-7d9f8c-x2x4z"}, "value": [1700000000, "NaN"]},
                {"metric": {"__name__": "q", "pod": "kafka-0"}, "value": [1700000000.5, "+Inf"]},
            ],
        },
    }
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [1700000001, "-Inf"]}}
    as_list = tmp_path / "list.json"
    as_list.write_bytes(orjson.dumps([vector, scalar]))
    as_lines = tmp_path / "lines.jsonl"
    as_lines.write_bytes(orjson.dumps(vector) + b"\n" + orjson.dumps(scalar) + b"\n")
    for path in (as_list, as_lines):
        sink = _read(prometheus.READER, path)
        values = _col(sink, "metrics", "value")
        assert math.isnan(float(values[0]))  # NaN stored as NULL -> NaN in the numpy column
        assert sink.metrics._data["value"][0] is None
        assert values[1:] == [math.inf, -math.inf]
        assert _col(sink, "metrics", "name") == ["value", "q", "value"]
        assert _col(sink, "metrics", "service") == ["cart", "kafka", ""]
        assert _col(sink, "metrics", "ts_ns")[1] == 1700000000500000000


def test_prometheus_error_response_is_format_error(tmp_path: Path) -> None:
    path = tmp_path / "err.json"
    path.write_text('{"status":"error","errorType":"bad_data","error":"parse error at char 4"}')
    assert prometheus.READER.sniff(read_head(path), path)
    with pytest.raises(FormatError, match=r"bad_data: parse error at char 4"):
        _read(prometheus.READER, path)


def test_prometheus_bad_samples_are_problems_valid_kept(tmp_path: Path) -> None:
    good = {"metric": {"__name__": "m", "job": "api"}, "values": [[1, "1"], [2, "x"], ["t", "3"], [4]]}
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [good, "junk"]}}
    error = {"status": "error", "errorType": "timeout", "error": "query timed out"}
    path = tmp_path / "mixed.json"
    path.write_bytes(orjson.dumps([doc, error]))
    sink = _read(prometheus.READER, path)
    assert _col(sink, "metrics", "value") == [1.0]
    reasons = [p.reason for p in sink.problems]
    assert any("values[1]" in r for r in reasons) and any("values[2]" in r for r in reasons)
    assert any("values[3]" in r for r in reasons) and any("result[1]" in p.path for p in sink.problems)
    assert any("timeout: query timed out" in r for r in reasons)


@pytest.mark.parametrize(
    ("labels", "service"),
    [
        ({"service": "a", "job": "b"}, "a"),
        ({"service_name": "cart", "job": "x"}, "cart"),
        ({"job": "node", "container": "c"}, "node"),
        ({"app_kubernetes_io_name": "ad"}, "ad"),
        ({"container": "redis"}, "redis"),
        ({"pod": "checkout-5c7d9b8f4-qz2lm"}, "checkout"),
        ({"pod": "product-catalog-6b9f-abcde"}, "product-catalog"),
        ({"pod": "kafka-0"}, "kafka"),
        ({"pod": "standalone"}, "standalone"),
        ({"instance": "host:9090"}, ""),
    ],
)
def test_service_from_labels(labels: dict[str, str], service: str) -> None:
    assert prometheus.service_from_labels(labels) == service


def test_loki_streams_sample(formats_dir: Path) -> None:
    sink = _read(loki.READER, formats_dir / "loki-query_range-streams.json")
    assert sink.counts()["logs"] == 2 and not sink.problems
    assert _col(sink, "logs", "ts_ns") == [1569266497240578000, 1569266492548155000]
    assert _col(sink, "logs", "body") == ["foo", "bar"]
    assert _col(sink, "logs", "service") == ["varlogs", "varlogs"]
    assert _col(sink, "logs", "level") == ["INFO", "INFO"]
    attributes = json.loads(str(_col(sink, "logs", "attributes")[0]))
    assert attributes == {"filename": "/var/log/myproject.log", "job": "varlogs", "level": "info"}


def test_loki_matrix_sample(formats_dir: Path) -> None:
    sink = _read(loki.READER, formats_dir / "loki-query_range-matrix.json")
    assert sink.counts()["metrics"] == 6 and not sink.problems
    assert _col(sink, "metrics", "ts_ns") == [1588889221000000000] * 6
    assert _col(sink, "metrics", "value")[3:] == [137.27833333333334, 467.69, 660.6933333333334]
    assert set(_col(sink, "metrics", "name")) == {"value"}
    assert json.loads(str(_col(sink, "metrics", "labels")[5])) == {"level": "warn"}


def test_loki_metadata_levels_ids_and_bad_entries(tmp_path: Path) -> None:
    stream = {
        "stream": {"service_name": "cart", "job": "x"},
        "values": [
            ["1700000000000000001", "level=warn msg=slow", {"structuredMetadata": {"trace_id": "AB" * 16}}],
            ["1700000000000000002", "2026 ERROR boom"],
            ["1700000000000000003", "no error here"],
            [1, 2],
            "junk",
        ],
    }
    doc = {"status": "success", "data": {"resultType": "streams", "result": [stream]}, "stats": {}}
    path = tmp_path / "loki.json"
    path.write_bytes(orjson.dumps(doc))
    assert loki.READER.sniff(read_head(path), path)
    sink = _read(loki.READER, path)
    assert _col(sink, "logs", "level") == ["WARN", "ERROR", ""]
    assert _col(sink, "logs", "service") == ["cart"] * 3
    assert _col(sink, "logs", "trace_id")[0] == "ab" * 16
    assert [p.reason for p in sink.problems] == [
        "result[0].values[3] is not a [ns-string, line] entry",
        "result[0].values[4] is not a [ns-string, line] entry",
    ]


def _write(path: Path, text: str, *, gz: bool = False) -> Path:
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_wide_csv(tmp_path: Path, gz: bool) -> None:
    text = (
        'Time,cart_cpu,cart_mem,latency,"rps{service=""ad"",pod=""p""}"\n'
        "2026-11-28T04:00:00Z,0.5,100,12,3\n"
        "1795838460,,200,NaN,bad\n"
        "1795838520000,0.7,300,14\n"
        "not-a-time,1,1,1,1\n"
        'Time,cart_cpu,cart_mem,latency,"rps{service=""ad"",pod=""p""}"\n'
    )
    path = _write(tmp_path / ("m.csv.gz" if gz else "m.csv"), text, gz=gz)
    assert widecsv.READER.sniff(read_head(path), path)
    sink = _read(widecsv.READER, path)
    rows = list(
        zip(
            _col(sink, "metrics", "ts_ns"),
            _col(sink, "metrics", "service"),
            _col(sink, "metrics", "name"),
            sink.metrics._data["value"],
            strict=True,
        )
    )
    t0 = 1795838400_000_000_000
    assert rows == [
        (t0, "cart", "cart_cpu", 0.5),
        (t0, "cart", "cart_mem", 100.0),
        (t0, "", "latency", 12.0),
        (t0, "ad", "rps", 3.0),
        (t0 + 60_000_000_000, "cart", "cart_mem", 200.0),
        (t0 + 60_000_000_000, "", "latency", None),
    ]
    assert json.loads(str(_col(sink, "metrics", "labels")[3])) == {"service": "ad", "pod": "p"}
    assert [(p.line, p.reason) for p in sink.problems] == [
        (3, "column 'rps': 'bad' is not a number"),
        (4, "4 fields, the header has 5"),
        (5, "time 'not-a-time' is not a time"),
    ]


def test_long_csv_tab_and_semicolon(tmp_path: Path) -> None:
    path = _write(tmp_path / "long.tsv", "timestamp\tmetric\tvalue\tpod\n1764302400\tcpu\t0.25\tcart-1a-2b\n")
    sink = _read(widecsv.READER, path)
    assert _col(sink, "metrics", "service") == ["cart"] and _col(sink, "metrics", "name") == ["cpu"]
    assert json.loads(str(_col(sink, "metrics", "labels")[0])) == {"pod": "cart-1a-2b"}
    path = _write(tmp_path / "long.csv", "time;service;name;value\n1764302400;cart;cpu;0,5\n1764302400;ad;;x\n")
    sink = _read(widecsv.READER, path)
    assert _col(sink, "metrics", "value") == [0.5] and _col(sink, "metrics", "service") == ["cart"]
    assert [(p.line, p.reason) for p in sink.problems] == [(3, "value 'x' is not a number")]


def test_csv_sniff_rejects_non_metric_text(tmp_path: Path) -> None:
    for text in ("a,b,c\n1,2,3\n", "time\n1\n", '{"time": 1}\n', "time,cpu\n1,2,3\n4,5\n"):
        path = _write(tmp_path / "x.csv", text)
        assert not widecsv.READER.sniff(read_head(path), path), text
    with pytest.raises(FormatError, match="no time column"):
        _read(widecsv.READER, _write(tmp_path / "y.csv", "a,b\n1,2\n"))


_cells = st.one_of(
    st.just(""),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.integers(-(10**6), 10**6).map(str),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.lists(st.lists(_cells, min_size=3, max_size=3), max_size=15))
def test_wide_csv_property_valid_cells_all_land(tmp_path: Path, table: list[list[str]]) -> None:
    lines = ["ts,a_x,a_y,z"] + [f"{1700000000 + i},{','.join(row)}" for i, row in enumerate(table)]
    path = _write(tmp_path / "p.csv", "\n".join(lines) + "\n")
    sink = _read(widecsv.READER, path)
    expected = [float(cell) for row in table for cell in row if cell]
    assert sink.metrics._data["value"] == expected and not sink.problems
    assert all(
        s == ("a" if n.startswith("a_") else "")
        for s, n in zip(sink.metrics._data["service"], sink.metrics._data["name"], strict=True)
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=300))
def test_csv_random_rows_never_crash(tmp_path: Path, body: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text("time,cpu,mem\n" + body, encoding="utf-8")
    sink = _read(widecsv.READER, path)
    assert len(sink.metrics) <= 2 * max(1, body.count("\n") + body.count("\r") + 1)
