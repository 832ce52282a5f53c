"""DuckDB's reader for Prometheus query responses gives exactly the rows and problems of the per-record reader,
falling back to it line by line (JSON lines) or for the whole file for anything SQL does not convert exactly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.engine_load import Loaded, load

from incidentlens.ingest import prometheus_engine
from incidentlens.simulate import simulate

_ROWS = "SELECT ts_ns, service, name, labels, value, source FROM metrics ORDER BY source, name, labels, ts_ns, value"


@pytest.fixture(autouse=True)
def _engine_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prometheus_engine, "ENGINE_MIN_BYTES", 0)


def _load(path: Path, *, engine: bool, store_path: Path | None = None) -> Loaded:
    return load(
        path, forced_format="prometheus", table="metrics", queries=(_ROWS,), engine=engine, store_path=store_path
    )


def _same_both_ways(path: Path) -> int:
    """Identical rows (labels as stored text) and problems; returns the rows the per-record reader made."""
    fast, slow = _load(path, engine=True), _load(path, engine=False)
    assert fast.rows == slow.rows
    assert fast.problems == slow.problems
    return fast.by_python


def _series(labels: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    return {"metric": labels, "values": values}


def _matrix(*series: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "matrix", "result": list(series)}}


_UP = _series({"__name__": "up", "job": "api", "instance": "h:9090"}, [[1435781430.781, "1"], [1435781445, "0"]])


def test_real_query_range_sample(formats_dir: Path) -> None:
    path = formats_dir / "prometheus-query_range.json"
    assert _same_both_ways(path) == 0  # pretty-printed, read whole by DuckDB
    rows = _load(path, engine=True).rows
    assert len(rows) == 6 and rows[0][0] == 1435781430781000000 and {r[1] for r in rows} == {"node", "prometheus"}


def test_simulated_bundle_metrics_read_by_the_engine(tmp_path: Path) -> None:
    simulate("bad_deploy_exception", seed=1, out=tmp_path / "bundle", scale=0.2, with_repo=False)
    path = tmp_path / "bundle" / "metrics" / "metrics.prom.json"
    assert _same_both_ways(path) == 0
    rows = _load(path, engine=True).rows
    assert len(rows) > 1000
    bounded = _load(path, engine=True, store_path=tmp_path / "store.duckdb")
    assert bounded.rows == rows and bounded.by_python == 0  # also on the on-disk store big investigations use


def _text(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False)


# (name, file text, whether the engine reads it all): every case gives the per-record reader's rows and problems.
_CASES: list[tuple[str, str, bool]] = [
    ("plain", _text(_matrix(_UP)), True),
    ("empty result", _text(_matrix()), True),
    ("no samples", _text(_matrix(_series({"a": "b"}, []))), True),
    ("values missing", _text(_matrix({"metric": {"a": "b"}})), True),
    ("metric missing", _text(_matrix({"values": [[1, "1"]]})), False),
    ("metric null", _text(_matrix({"metric": None, "values": [[1, "1"]]})), False),
    ("no name", _text(_matrix(_series({"job": "x"}, [[1, "2"]]))), True),
    ("empty name", _text(_matrix(_series({"__name__": "", "job": "x"}, [[1, "2"]]))), True),
    (
        "label order kept",
        _text(_matrix(_series({"z": "1", "__name__": "m", "a": "2", "pod": "cart-7d9f8c-x2x4z"}, [[1, "2"]]))),
        True,
    ),
    (
        "service labels",
        _text(
            _matrix(
                *(
                    _series({k: "svc", "job": "j"}, [[1, "2"]])
                    for k in ("server", "app", "container", "destination_app")
                )
            )
        ),
        True,
    ),
    ("empty service label", _text(_matrix(_series({"service": "", "job": "j"}, [[1, "2"]]))), True),
    (
        "pods",
        _text(
            _matrix(
                *(
                    _series({"pod": p}, [[1, "2"]])
                    for p in ("kafka-0", "kafka-x", "a-b-c-d", "solo", "kafka-", "-0", "x-3-é")
                )
            )
        ),
        True,
    ),
    (
        "special values",
        _text(
            _matrix(
                _series(
                    {"a": "b"},
                    [
                        [1, v]
                        for v in (
                            "NaN",
                            "+Inf",
                            "-Inf",
                            "inf",
                            "-nan",
                            "Infinity",
                            "1e400",
                            "1e-400",
                            "-0",
                            ".5",
                            "5.",
                            "00012",
                            "1E5",
                        )
                    ],
                )
            )
        ),
        True,
    ),
    ("numbers as values", _text(_matrix(_series({"a": "b"}, [[1, 2.5], [2, 3], [3, -0.0]]))), True),
    (
        "bad values",
        _text(_matrix(_series({"a": "b"}, [[1, "x"], [2, ""], [3, " 1"], [4, "1_0"], [5, None], [6, True], [7, "2"]]))),
        False,
    ),
    ("bad pairs", _text(_matrix(_series({"a": "b"}, [[1], [1, "2", 3], [], [2, "1"]]))), False),
    (
        "odd times",
        _text(
            _matrix(
                _series(
                    {"a": "b"},
                    [
                        ["1.5", "1"],
                        [1e20, "1"],
                        [-1.25, "1"],
                        [0.000123, "1"],
                        [True, "1"],
                        ["x", "1"],
                        [1435781430.0000000001, "1"],
                    ],
                )
            )
        ),
        False,
    ),
    ("pod with a non-ASCII digit", _text(_matrix(_series({"pod": "kafka-٣"}, [[1, "2"]]))), False),
    ("negative times", _text(_matrix(_series({"a": "b"}, [[-1.25, "1"], [-0.5, "1"], [0, "1"]]))), True),
    ("number label", _text(_matrix(_series({"a": 5}, [[1, "2"]]))), False),
    ("unicode labels", _text(_matrix(_series({"é": "ünï 🙂", "q": 'a"b\\c/d'}, [[1, "2"]]))), True),
    ("control characters", _text(_matrix(_series({"a": "x\ny\u0001", "b\u0002": "c"}, [[1, "2"]]))), False),
    ("escaped unicode", json.dumps(_matrix(_series({"a": "é"}, [[1, "2"]]))), True),
    ("long labels", _text(_matrix(_series({"a": "x" * 100_000, "b": "y, z: w"}, [[1, "2"]]))), True),
    (
        "duplicate labels",
        '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1","a":"2"},"values":[[1,"1"]]}]}}',
        False,
    ),
    (
        "vector",
        _text(
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [{"metric": {"__name__": "m"}, "value": [1, "3"]}, {"metric": {}, "value": None}],
                },
            }
        ),
        True,
    ),
    ("scalar", _text({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}), False),
    (
        "string",
        _text({"status": "success", "data": {"resultType": "string", "result": [1, "x"]}})
        + "\n"
        + _text(_matrix(_UP))
        + "\n",
        False,
    ),
    (
        "histograms",
        _text(_matrix({"metric": {"__name__": "h"}, "histograms": [[1, {"count": "2", "sum": "3"}]]})),
        False,
    ),
    (
        "error and success lines",
        _text({"status": "error", "errorType": "bad_data", "error": "parse"}) + "\n" + _text(_matrix(_UP)) + "\n",
        False,
    ),
    ("error only", _text({"status": "error", "errorType": "bad_data", "error": "parse"}), False),
    ("lines", "".join(_text(_matrix(_UP)) + "\n" for _ in range(3)), True),
    ("damaged line", _text(_matrix(_UP)) + "\n" + _text(_matrix(_UP))[:-9] + "\n" + _text(_matrix(_UP)) + "\n", False),
    ("damaged document", _text(_matrix(_UP))[:-3], False),
    ("blank line", _text(_matrix(_UP)) + "\n\n" + _text(_matrix(_UP)) + "\n", False),
    ("crlf lines", _text(_matrix(_UP)) + "\r\n" + _text(_matrix(_UP)) + "\r\n", True),
    ("bom", "\ufeff" + _text(_matrix(_UP)), False),
    ("nan literal", _text(_matrix(_UP))[:-2] + ', "stats": NaN}}', False),
    ("trailing comma", _text(_matrix(_UP))[:-2] + ", }}", False),
    ("list of responses", _text([_matrix(_UP), _matrix(_UP)]), False),
    ("two documents", _text(_matrix(_UP)) + " " + _text(_matrix(_UP)), False),
    ("pretty", json.dumps(_matrix(_UP), indent=2), True),
    (
        "stats and warnings",
        _text({**_matrix(_UP), "warnings": ["w"], "infos": ["i"], "stats": {"timings": {"a": 1.5}}}),
        True,
    ),
]


@pytest.mark.parametrize(("content", "all_by_engine"), [c[1:] for c in _CASES], ids=[c[0] for c in _CASES])
def test_edge_cases_match_the_per_record_reader(tmp_path: Path, content: str, all_by_engine: bool) -> None:
    path = tmp_path / "response.json"
    path.write_text(content, encoding="utf-8", newline="")
    by_python = _same_both_ways(path)
    if all_by_engine:
        assert by_python == 0


def test_bad_lines_go_to_the_per_record_reader_and_are_named(tmp_path: Path) -> None:
    bad = _matrix(_series({"__name__": "m"}, [[1, "x"], [2, "4"]]))
    path = tmp_path / "lines.json"
    path.write_text("".join(_text(d) + "\n" for d in (_matrix(_UP), bad, _matrix(_UP))))
    assert _same_both_ways(path) == 1  # only the bad line's good sample
    fast = _load(path, engine=True)
    assert len(fast.rows) == 5 and fast.problems == [
        f"{path}:2 result[0]: values[0]: could not convert string to float: 'x'"
    ]


_COMMA_ACROSS_LINES = json.dumps(_matrix(_UP), indent=2)[:-2] + ",\n\n}"  # orjson refuses it, DuckDB would not


def test_gzip_files(tmp_path: Path) -> None:
    plain = _text(_matrix(_UP))
    cases = {
        "document": plain,
        "pretty": json.dumps(_matrix(_UP), indent=2),
        "lines": plain + "\n" + plain + "\n",
        "trailing comma across lines": _COMMA_ACROSS_LINES,
        "damaged": plain[:-5],
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.json.gz"
        path.write_bytes(gzip.compress(text.encode()))
        assert _same_both_ways(path) == 0, name  # read by the engine, or refused by both alike


def test_trailing_comma_across_lines_refused_as_python_does(tmp_path: Path) -> None:
    path = tmp_path / "response.json"
    path.write_text(_COMMA_ACROSS_LINES)
    assert _same_both_ways(path) == 0
    refused = _load(path, engine=True)
    assert not refused.rows and "invalid JSON" in refused.problems[0]


_LABELS = st.dictionaries(
    st.sampled_from(["__name__", "service", "job", "pod", "app", "le", "x", "é"]),
    st.one_of(st.text(max_size=10), st.sampled_from(["cart-7d9f8c-x2x4z", "kafka-0", "", "a-1"])),
    max_size=5,
)
_TIMES = st.one_of(
    st.floats(min_value=-1e10, max_value=1e10, allow_nan=False),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.decimals(min_value=-(10**9), max_value=10**10, places=6).map(str),
)
_VALUES = st.one_of(
    st.floats().map(repr),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**60), max_value=2**60).map(str),
    st.sampled_from(["NaN", "+Inf", "-Inf", "x", "", "1e5", ".5", "1_0", " 2"]),
    st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)
_RESPONSES = st.lists(
    st.builds(_series, _LABELS, st.lists(st.tuples(_TIMES, _VALUES).map(list), max_size=4)), max_size=3
).map(lambda series: _matrix(*series))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_RESPONSES, min_size=1, max_size=3), st.booleans())
def test_any_responses_match_the_per_record_reader(tmp_path: Path, docs: list[Any], as_lines: bool) -> None:
    path = tmp_path / "generated.json"
    text = "".join(_text(d) + "\n" for d in docs) if as_lines and len(docs) > 1 else _text(docs[0])
    path.write_text(text, encoding="utf-8")
    _same_both_ways(path)


_PLAIN_LABELS = st.dictionaries(
    st.sampled_from(["__name__", "service", "job", "pod", "app", "le", "x", "é"]),
    # no "-": a two-part pod name with non-ASCII characters is left to Python (`str.isdigit`)
    st.text(
        alphabet=st.characters(min_codepoint=32, exclude_characters="\x7f-", exclude_categories=("Cs",)), max_size=10
    ),
    max_size=5,
)
# JSON numbers with exponents of three digits send the file to the per-record reader (see `_LENIENT`), as do
# times DuckDB writes with an exponent.
_SHORT_EXPONENT = st.one_of(
    st.just(0.0), st.floats(min_value=1e-99, max_value=1e99), st.floats(min_value=-1e99, max_value=-1e-99)
)
_PLAIN_VALUES = st.one_of(
    st.floats().map(repr),
    _SHORT_EXPONENT,
    st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,2})?", fullmatch=True),
)
_PLAIN_TIMES = st.one_of(
    st.just(0.0), st.floats(min_value=1e-3, max_value=8e9), st.floats(min_value=-8e9, max_value=-1e-3)
)
_PLAIN_RESPONSES = st.lists(
    st.builds(
        _series,
        _PLAIN_LABELS,
        st.lists(st.tuples(_PLAIN_TIMES, _PLAIN_VALUES).map(list), max_size=4),
    ),
    max_size=3,
).map(lambda series: _matrix(*series))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_PLAIN_RESPONSES)
def test_well_formed_responses_are_read_by_the_engine_alone(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "generated.json"
    path.write_text(_text(doc), encoding="utf-8")
    assert _same_both_ways(path) == 0
