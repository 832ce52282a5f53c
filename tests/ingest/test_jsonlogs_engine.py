"""DuckDB's reader for JSON-lines logs gives exactly the rows of the per-record reader, and falls back to it."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.engine_load import load

from incidentlens.ingest import jsonlogs_engine

_COLUMNS = "ts_ns, service, level, body, trace_id, span_id, logger, exception_type, frames, attributes, source"


@pytest.fixture(autouse=True)
def _engine_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonlogs_engine, "ENGINE_MIN_BYTES", 0)


def _load(path: Path, *, engine: bool) -> tuple[list[tuple[Any, ...]], list[str], int]:
    """Rows (attributes parsed), problems (or the error), and how many rows the per-record reader made."""
    query = f"SELECT {_COLUMNS} FROM logs ORDER BY source"
    got = load(path, forced_format="jsonlogs", table="logs", queries=(query,), engine=engine)
    parsed = [(*r[:9], orjson.loads(r[9]), r[10]) for r in got.rows]
    return parsed, got.problems, got.by_python


def _same_both_ways(path: Path) -> int:
    fast, fast_problems, by_python = _load(path, engine=True)
    slow, slow_problems, _ = _load(path, engine=False)
    assert fast == slow
    assert fast_problems == slow_problems
    return by_python


def test_simulated_shapes_read_by_the_engine(tmp_path: Path) -> None:
    lines = [
        {"timestamp": "2026-11-02T09:00:00.849015+00:00", "level": "INFO", "logger": "shipping.server",
         "message": "quote computed: zip=14183", "service.name": "shipping",
         "trace_id": "27d4d5e10f336c1810744fdda64ee8b6", "span_id": "c032904e42122324"},
        {"level": "info", "ts": 1793610000.029713, "caller": "frontend/handlers.go:70", "msg": "request complete",
         "service.name": "frontend", "trace_id": "1b2065c7986e7f8dbe8d97861fa1b23e", "span_id": "e334a4afd85bbb33",
         "status": 200, "ratio": 0.5, "flag": True, "tags": ["a", {"k": 1}]},
        {"@timestamp": "2026-11-02T09:00:01.5Z", "@version": "1", "message": "ok", "logger_name": "a.B",
         "level": "WARN", "level_value": 30000, "service.name": "ad", "trace_id": "abc", "span_id": "00"},
        {"time": 1793610000123, "level": 50, "msg": "pino", "service": "cart"},
        {"timestamp": "2026-11-02 09:00:02", "levelname": "ERROR", "name": "py.logger", "message": "é \"q\" \t"},
    ]  # fmt: skip
    path = tmp_path / "app.jsonl"
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in lines))
    assert _same_both_ways(path) == 0  # nothing went through Python buffers...
    rows, _, _ = _load(path, engine=True)
    assert len(rows) == 5  # ...yet every record is there
    assert rows[2][4] == "00000000000000000000000000000abc" and rows[2][5] == ""


def test_ids_and_strings_in_every_form_read_alike(tmp_path: Path) -> None:
    """Normal ids take SQL's short path, others its general one; ids that are not hex go to Python."""
    ids = [
        ("27d4d5e10f336c1810744fdda64ee8b6", "c032904e42122324"),
        ("27D4D5E10F336C1810744FDDA64EE8B6", "C032904e42122324"),
        ("00000000000000000000000000000000", "0000000000000000"),
        ("0", "abc"),
        ("027d4d5e10f336c1810744fdda64ee8b6", "c032904e42122324"),  # too long
        ("27d4d5e10f336c1810744fdda64ee8bg", "c032904e42122324"),  # not hex
    ]
    messages = ["plain", 'quote \\"q\\" and tab \\t', "caf\\u00e9 \\/ é", "\\\\ back"]
    path = tmp_path / "app.jsonl"
    path.write_text(
        "".join(
            f'{{{_T}, "message": "{messages[i % len(messages)]}", "trace_id": "{t}", "span_id": "{s}"}}\n'
            for i, (t, s) in enumerate(ids * 2)
        )
    )
    assert _same_both_ways(path) == 4
    rows, _, _ = _load(path, engine=True)
    by_line = {str(r[-1]).rsplit(":", 1)[1]: (r[4], r[5]) for r in rows}
    assert [by_line[n] for n in "1234"] == [
        ("27d4d5e10f336c1810744fdda64ee8b6", "c032904e42122324"),
        ("27d4d5e10f336c1810744fdda64ee8b6", "c032904e42122324"),
        ("", ""),
        ("", "0000000000000abc"),
    ]


def test_records_sql_cannot_convert_go_to_the_per_record_reader(tmp_path: Path) -> None:
    lines = [
        '{"timestamp": "2026-11-02T09:00:00Z", "level": "ERROR", "message": "boom\\n  at a.b(C.java:1)"}',
        '{"timestamp": "2026-11-02T09:00:01Z", "level": "INFO", "message": "nested", "http": {"status": 500}}',
        '{"timestamp": "2026-11-02T09:00:02Z", "level": "INFO", "message": "b64",'
        ' "trace_id": "W47/95gDgQPSabYzgT/GDA=="}',
        '{"timestamp": "not a time", "level": "INFO", "message": "odd time"}',
        '{"timestamp": "2026-11-02T09:00:03Z", "level": "loud", "message": "odd level"}',
        '{"timestamp": "2026-11-02T09:00:04Z", "level": "INFO", "message": "", "service": ""}',
        '{"timestamp": "2026-11-02T09:00:05Z", "level": "INFO", "message": "fine", "exc_info": "Traceback"}',
        '{"log": "plain text\\n", "stream": "stdout", "time": "2026-11-02T09:00:06Z"}',
        '{"timestamp": "2026-11-02T09:00:07Z", "level": "INFO", "message": "fast"}',
        '{"time": 1.5e300, "level": "INFO", "message": "huge time"}',
        '{"time": 99999999999999999999, "level": "INFO", "message": "huge int time"}',
    ]
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join(lines) + "\n")
    _same_both_ways(path)


_T = '"timestamp": "2026-11-02T09:00:00Z", "level": "INFO"'


@pytest.mark.parametrize(
    ("lines", "by_python"),
    [
        # A null value looks like an absent key to DuckDB's record reader: such records, and shapes they
        # could be mistaken for, go to the per-record reader; records of the same shape without nulls do not.
        ([f'{{{_T}, "message": "a", "user": null}}', f'{{{_T}, "message": "b", "user": "u"}}'], 1),
        ([f'{{{_T}, "message": "a", "user": null}}', f'{{{_T}, "message": "b"}}'] * 2, 4),
        # The same keys in two orders: attributes keep each record's order, so the per-record reader reads both.
        ([f'{{{_T}, "message": "a", "x": 1, "y": 2}}', f'{{{_T}, "message": "b", "y": 2, "x": 1}}'], 2),
        # Keys that differ only in case (DuckDB's column names do not): the less common one's shapes.
        ([f'{{{_T}, "message": "a", "User": 1}}', f'{{{_T}, "message": "b", "user": 2}}', f'{{{_T}, "msg": "c"}}'], 1),
        (['{"timestamp": "2026-11-02T09:00:00Z", "Level": "WARN", "level": "INFO", "message": "m"}'], 1),
        # Nested objects anywhere but in a role; a logback level_value that is an object.
        ([f'{{{_T}, "message": "a", "http": {{"status": 500}}}}', f'{{{_T}, "message": "b", "http": 200}}'], 1),
        ([f'{{{_T}, "message": "a", "level_value": {{"n": 1}}}}', f'{{{_T}, "message": "b", "level_value": 2}}'], 1),
        # More keys than one 63-bit mask holds, and a shape that has all but one of them.
        (["{" + _T + ", " + ", ".join(f'"k{i}": {i}' for i in range(70)) + ', "message": "wide"}',
          "{" + _T + ", " + ", ".join(f'"k{i}": {i}' for i in range(69)) + ', "message": "narrower"}'], 0),
        # Lines DuckDB's record reader would refuse (not an object, a repeated key): the whole file goes
        # to the per-record reader, which names each.
        ([f'{{{_T}, "message": "a"}}', "[1, 2]", f'{{{_T}, "message": "b"}}'], 2),
        ([f'{{{_T}, "message": "a"}}', f'{{{_T}, "message": "b", "x": 1, "x": 2}}'], 2),
    ],
)  # fmt: skip
def test_shapes_sql_cannot_tell_apart(tmp_path: Path, lines: list[str], by_python: int) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert _same_both_ways(path) == by_python


@pytest.mark.parametrize("layout", ["crlf", "padded", "no final newline", "gzip"])
def test_leftover_lines_are_picked_from_the_file(tmp_path: Path, layout: str) -> None:
    lines = [f'{{{_T}, "message": "m{i}"}}' for i in range(3000)]
    for i in (0, 1234, 2999):
        lines[i] = f'{{{_T}, "message": "boom {i}\\n  at a.b(C.java:1)"}}'
    text = ("\r\n" if layout == "crlf" else "\n").join(f"  {x} " if layout == "padded" else x for x in lines)
    text += "" if layout == "no final newline" else "\n"
    path = tmp_path / "app.jsonl"
    path.write_bytes(gzip.compress(text.encode()) if layout == "gzip" else text.encode())
    assert _same_both_ways(path) == 3
    rows, _, _ = _load(path, engine=True)
    assert rows[0][10].endswith(":1") and "boom 0" in rows[0][3]


_JAVA = (
    "java.lang.IllegalStateException: refresh in progress\n\tat a.b.C.d(C.java:57)\n\tat a.b.E.f(E.java:20)\n"
    "Caused by: java.io.IOException: disk full\n\tat a.b.G.h(G.java:9)\n\t... 2 more"
)
_PYTHON = 'Traceback (most recent call last):\n  File "/app/m.py", line 3, in f\n    g()\nValueError: bad'


def test_stack_traces_are_parsed_for_rows_sql_converted(tmp_path: Path) -> None:
    records = [
        {"@timestamp": "2026-11-02T09:00:00Z", "level": "ERROR", "message": "failed", "stack_trace": _JAVA},
        {"@timestamp": "2026-11-02T09:00:01Z", "level": "ERROR", "message": "failed", "stack_trace": ""},
        {"timestamp": "2026-11-02T09:00:02Z", "level": "ERROR", "message": "py", "exc_info": _PYTHON, "x": 1},
        {"timestamp": "2026-11-02T09:00:03Z", "level": "ERROR", "message": "typed", "error.type": "Timeout"},
        {"timestamp": "2026-11-02T09:00:04Z", "level": "ERROR", "message": "both", "error.type": "X",
         "exc_info": "not a trace"},
        {"timestamp": "2026-11-02T09:00:05Z", "level": "INFO", "message": "plain"},
    ]  # fmt: skip
    path = tmp_path / "app.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    assert _same_both_ways(path) == 5  # finished by the per-record reader's code, not re-read
    rows, _, _ = _load(path, engine=True)
    assert rows[0][7] == "java.lang.IllegalStateException" and rows[0][9]["exception.root_cause_type"]
    assert rows[3][7] == "Timeout" and rows[4][7] == "X"


@pytest.mark.parametrize(
    "odd",
    [
        '"error.type": 5',  # not a string: the per-record reader reads the record
        '"stack_trace": ["a"]',
        '"stack_trace": {"text": "x"}',  # nested: flattened by the per-record reader
        '"stack_trace": "x", "exception.root_cause_type": "Mine"',
    ],
)
def test_odd_exception_keys_go_to_the_per_record_reader(tmp_path: Path, odd: str) -> None:
    lines = [f'{{{_T}, "message": "m", {odd}}}', f'{{{_T}, "message": "n", "stack_trace": {json.dumps(_JAVA)}}}']
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join(lines) + "\n")
    _same_both_ways(path)


@pytest.mark.parametrize("size", [(1 << 20) + 10, (2 << 20) + 10])
def test_over_long_lines_are_the_per_record_readers(tmp_path: Path, size: int) -> None:
    """Past MAX_LINE_BYTES the per-record reader reports the line; past DuckDB's buffer the shapes pass fails."""
    lines = [f'{{{_T}, "message": "a"}}', f'{{{_T}, "message": "{"x" * size}"}}', f'{{{_T}, "message": "b"}}']
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert _same_both_ways(path) == 2
    _, problems, _ = _load(path, engine=True)
    assert problems and problems[0].startswith(f"{path}:2:")


def test_damaged_file_is_read_record_by_record_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    good = '{"timestamp": "2026-11-02T09:00:00Z", "level": "INFO", "message": "ok"}'
    path.write_text(f"{good}\n{{not json\n{good}\n\n{good}\n")
    rows, problems, _ = _load(path, engine=True)
    assert len(rows) == 3
    assert problems and problems[0].startswith(f"{path}:2: invalid JSON")
    _same_both_ways(path)


def test_bad_utf8_file_is_read_record_by_record(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    good = f'{{{_T}, "message": "ok"}}\n'.encode()
    path.write_bytes(good + f'{{{_T}, "message": "bad '.encode() + b'\xff"}\n' + good)
    assert _same_both_ways(path) == 3
    _, problems, _ = _load(path, engine=True)
    assert problems and problems[0].startswith(f"{path}:2: invalid UTF-8")


def test_shared_log_shapes_match(formats_dir: Path, tmp_path: Path) -> None:
    for name in ("json-log-shapes.synthetic.jsonl", "container-log-wrappers.synthetic.txt"):
        source = formats_dir / name
        if source.exists():
            copy = tmp_path / name.replace(".txt", ".jsonl")
            shutil.copy(source, copy)
            _same_both_ways(copy)


_KEYS = ["timestamp", "time", "ts", "@timestamp", "level", "severity", "lvl", "message", "msg", "service",
         "service.name", "logger", "name", "levelname", "trace_id", "span_id", "user", "count", "stack_trace",
         "error.type"]  # fmt: skip
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["INFO", "warn", "Error", "30", "", "0", "00ff", "ABCDEF0123", "2026-11-02T09:00:00.123456789Z",
                     "2026-11-02 09:00", "2026-11-02T09:00:00+0200", "0001-01-01T00:00:00Z", "1793610000", "x\ny",
                     _JAVA, _PYTHON]),
    st.sampled_from([1793610000, 1793610000123, 1793610000.5, 30, 40000, 17, 2.5]),
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=7), min_size=1, max_size=12))
def test_any_records_match_the_per_record_reader(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = tmp_path / "prop.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # json: integers beyond 64 bits too
    _same_both_ways(path)
