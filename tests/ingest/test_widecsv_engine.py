"""DuckDB's CSV reader gives exactly the rows and problems of the per-record wide CSV reader, which reads alone
every file SQL does not convert exactly."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.engine_load import Loaded, load

from incidentlens.ingest import widecsv_engine

_ROWS = "SELECT ts_ns, service, name, labels, value, source FROM metrics ORDER BY source, name, labels, ts_ns, value"


@pytest.fixture(autouse=True)
def _engine_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(widecsv_engine, "ENGINE_MIN_BYTES", 0)


def _load(path: Path, *, engine: bool, store_path: Path | None = None) -> Loaded:
    return load(path, forced_format="widecsv", table="metrics", queries=(_ROWS,), engine=engine, store_path=store_path)


def _same_both_ways(path: Path) -> int:
    """Identical rows and problems (or the same refusal); returns the rows the per-record reader made."""
    fast, slow = _load(path, engine=True), _load(path, engine=False)
    assert fast.rows == slow.rows
    assert fast.problems == slow.problems
    return fast.by_python


def test_shared_metric_csv_files(shared_data: Path, tmp_path: Path) -> None:
    sockshop = sorted((shared_data / "rcd-sockshop").rglob("normal.csv"))[:3]
    nezha = (
        sorted((shared_data / "nezha").rglob("*_50.csv.gz"))[:2]
        + sorted((shared_data / "nezha").rglob("*_metric.csv.gz"))[:1]
    )
    if not sockshop:
        pytest.skip("no rcd-sockshop CSV files in the shared data")
    for path in sockshop:
        assert _same_both_ways(path) == 0
        assert len(_load(path, engine=True).rows) > 1000
    for path in nezha:  # a Go time string in the first time column: both refuse the file alike
        _same_both_ways(path)
    bounded = _load(sockshop[0], engine=True, store_path=tmp_path / "store.duckdb")
    assert bounded.rows == _load(sockshop[0], engine=True).rows and bounded.by_python == 0


_HEAD = "time,cart_cpu,cart_mem,db_latency\n"


def _times(*times: str) -> str:
    return _HEAD + "".join(f"{t},1,2,3\n" for t in times)


# (name, file text, whether the engine reads it all): every case gives the per-record reader's rows and problems.
_CASES: list[tuple[str, str, bool]] = [
    ("epoch seconds", _HEAD + "1700000000,1.5,2,3\n1700000015,4,5,6\n", True),
    (
        "epoch units",
        _HEAD + "1700000000000,1,2,3\n1700000000000000,1,2,3\n1700000000000000000,1,2,3\n1700000000.25,1,2,3\n",
        True,
    ),
    ("negative and float times", _HEAD + "-5,1,2,3\n+17,1,2,3\n1.7e9,1,2,3\n1e15,1,2,3\n", True),
    (
        "iso times",
        _times(
            "2024-01-02T03:04:05Z", "2024-01-02 03:04", "2024-01-02T03:04:05.123456789+02:00", "2024-01-02T03:04:05 UTC"
        ),
        True,
    ),
    (
        "iso offsets",
        _HEAD + "2024-01-02T03:04:05-0130,1,2,3\n2024-01-02T03:04:05+05:45,1,2,3\n1969-12-31T23:59:59.5Z,1,2,3\n",
        True,
    ),
    (
        "bad times",
        _times(
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "0001-01-01T00:00:00Z",
            "",
            "1_700",
            "1700000000",
        ),
        False,
    ),
    ("missing cells", _HEAD + "1700000000,,null,NA\n1700000015,n/a,-,None\n1700000030, ,1, \n", True),
    (
        "special values",
        _HEAD + "1700000000,NaN,+Inf,-inf\n1700000015,infinity,-nan,1e400\n1700000030,.5,5.,00012\n",
        True,
    ),
    ("bad cells", _HEAD + "1700000000,abc,1,2\n1700000015,1_000,1,2\n1700000030,0x10,1,2\n", False),
    ("wrong field count", _HEAD + "1700000000,1,2\n1700000015,1,2,3\n", False),
    ("blank lines", "\n\n" + _HEAD + "1700000000,1,2,3\n\n1700000015,1,2,3\n\n", True),
    ("repeated header", _HEAD + "1700000000,1,2,3\n" + _HEAD + "1700000015,1,2,3\n", True),
    ("crlf", (_HEAD + "1700000000,1,2,3\n1700000015,4,5,6\n").replace("\n", "\r\n"), True),
    ("lone carriage return", _HEAD + "1700000000,1,2,3\r1700000015,4,5,6\n", False),
    ("bom", "\ufeff" + _HEAD + "1700000000,1,2,3\n", True),
    ("no final newline", _HEAD + "1700000000,1,2,3", True),
    ("quoted cells", _HEAD + '"1700000000","1.5","2",""\n', True),
    ("blanks around quotes", _HEAD + '1700000000, "1.5" ,2,3\n', False),
    ("quote after a quoted cell", _HEAD + '1700000000,"1"5,2,3\n', False),
    ("multi-line quoted cell", _HEAD + '1700000000,"1\n",2,3\n1700000015,1,2,3\n', True),
    ("semicolon and decimal comma", "time;cart_cpu;cart_mem\n1700000000;1,5;2\n1700000015;-3,25;4.5\n", True),
    ("tabs", "timestamp\tcpu\tmem\n1700000000\t1\t2\n", True),
    ("labelled columns", 'time,"cpu{service=""cart"",pod=""p""}",mem\n1700000000,1,2\n', False),
    ("unicode names", "time,çart_cpü,çart_mem,数据\n1700000000,1,2,3\n", True),
    ("unicode digits", _HEAD + "1700000000,١٢,2,3\n", False),
    ("long format", "time,name,value,pod\n1700000000,cpu,1.5,cart-1-2\n", True),
    (
        "long header",
        "time," + ",".join(f"s{i}_x" for i in range(300)) + "\n1700000000," + ",".join(["1"] * 300) + "\n",
        True,
    ),
    ("non-breaking space", _HEAD + "1700000000,\u00a01,2,3\n", False),
]


@pytest.mark.parametrize(("content", "all_by_engine"), [c[1:] for c in _CASES], ids=[c[0] for c in _CASES])
def test_edge_cases_match_the_per_record_reader(tmp_path: Path, content: str, all_by_engine: bool) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text(content, encoding="utf-8", newline="")
    by_python = _same_both_ways(path)
    if all_by_engine and "name,value" not in content:
        assert by_python == 0


def test_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv.gz"
    path.write_bytes(gzip.compress((_HEAD + "1700000000,1,2,3\n1700000015,4,5,6\n").encode()))
    assert _same_both_ways(path) == 0
    assert len(_load(path, engine=True).rows) == 6


def test_invalid_utf8_goes_to_the_per_record_reader(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_bytes(_HEAD.encode() + b"1700000000,1,2,3\n1700000015,\xff,2,3\n")
    assert _same_both_ways(path) > 0


_CELLS = st.one_of(
    st.floats().map(repr),
    st.from_regex(r"[+-]?[0-9]{0,12}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["", "NaN", "-Inf", "null", "-", " 1 ", "x", "1_0", '"2"', "1,5"]),
)
_TIMES = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**19).map(str),
    st.floats(min_value=-1e12, max_value=1e20).map(repr),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2024-01-02T03:04:05Z", "2024-01-02 03:04:05.5+01:00", "", "x"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(_TIMES, st.lists(_CELLS, min_size=3, max_size=3)), min_size=1, max_size=6),
    st.sampled_from([",", ";", "\t"]),
)
def test_any_wide_file_matches_the_per_record_reader(
    tmp_path: Path, rows: list[tuple[str, list[str]]], delimiter: str
) -> None:
    lines = [delimiter.join(["time", "a_x", "a_y", "b"])]
    for time, cells in rows:
        quoted = ['"' + c.replace('"', '""') + '"' if (delimiter in c or '"' in c) else c for c in cells]
        lines.append(delimiter.join([time, *quoted]))
    path = tmp_path / "generated.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _same_both_ways(path)


_PLAIN_CELLS = st.one_of(
    st.floats().map(repr),
    st.from_regex(r"[+-]?[0-9]{1,12}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["", "NaN", "-Inf", "null", "-", " 1 "]),
)
# Times whose nanoseconds fit 64 bits (epoch seconds, ms, us or ns by magnitude).
_PLAIN_TIMES = st.one_of(
    st.integers(min_value=0, max_value=9 * 10**9).map(str),
    st.integers(min_value=10**11, max_value=9 * 10**12).map(str),
    st.integers(min_value=10**17, max_value=9 * 10**18).map(str),
    st.floats(min_value=-1e9, max_value=9e9).map(repr),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2262, 4, 10)).map(lambda d: d.isoformat() + "Z"),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_PLAIN_TIMES, st.lists(_PLAIN_CELLS, min_size=3, max_size=3)), min_size=1, max_size=6))
def test_well_formed_wide_files_are_read_by_the_engine_alone(tmp_path: Path, rows: list[tuple[str, list[str]]]) -> None:
    path = tmp_path / "generated.csv"
    path.write_text("\n".join(["time,a_x,a_y,b", *(",".join([t, *cells]) for t, cells in rows)]) + "\n")
    assert _same_both_ways(path) == 0
