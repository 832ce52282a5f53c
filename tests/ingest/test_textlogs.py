"""Plain-text reader: headers, continuation grouping, container unwrapping, bad input, throughput."""

from __future__ import annotations

import os
from calendar import timegm
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlens.ingest.sink import RowSink
from incidentlens.ingest.textlogs import MAX_RECORD_LINES, READER

NS = 1_000_000_000


def _read(path: Path) -> tuple[list[dict[str, Any]], RowSink]:
    sink = RowSink()
    READER.read(path, sink)
    arrays = sink.logs.to_arrays()
    rows = [{k: v[i] for k, v in arrays.items()} for i in range(len(sink.logs))]
    return rows, sink


def _write(tmp_path: Path, name: str, text: str, *, mtime: int | None = None) -> Path:
    path = tmp_path / name
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _utc(*parts: int) -> int:
    return timegm((*parts, 0, 0, 0)) * NS if len(parts) == 6 else 0


JAVA_LOG = """2024-03-01 10:00:00.100  INFO 4242 --- [main] c.e.shop.CartService : started service=cart
2024-03-01 10:00:01.250 ERROR 4242 --- [http-1] c.e.shop.CartService : failed trace_id=5b8efff798038103d269b633813fc60c
java.lang.IllegalStateException: cart store unavailable
\tat com.example.shop.CartService.emptyCart(CartService.java:8)
\tat com.example.shop.CartService.main(CartService.java:10)
Caused by: java.lang.NullPointerException: boom
\tat com.example.shop.CartService.itemCount(CartService.java:5)
\t... 1 more
2024-03-01 10:00:02.000  WARN 4242 --- [main] c.e.shop.CartService : slow
"""


def test_java_log_groups_stack_trace(tmp_path: Path) -> None:
    rows, sink = _read(_write(tmp_path, "payment.log", JAVA_LOG))
    assert sink.problem_count == 0
    assert [r["level"] for r in rows] == ["INFO", "ERROR", "WARN"]
    assert rows[0]["service"] == "cart" and rows[1]["service"] == "payment"  # key, else the file stem
    assert rows[0]["logger"] == "c.e.shop.CartService" and rows[0]["body"] == "started service=cart"
    assert rows[0]["ts_ns"] == _utc(2024, 3, 1, 10, 0, 0) + 100_000_000
    err = rows[1]
    assert err["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert err["exception_type"] == "java.lang.IllegalStateException"
    assert err["body"].count("\n") == 6 and err["body"].startswith("failed trace_id=")
    frames = orjson.loads(err["frames"])
    assert [f["function"] for f in frames] == ["itemCount", "emptyCart", "main"]  # root cause first
    attrs = orjson.loads(err["attributes"])
    assert attrs["exception.root_cause_type"] == "java.lang.NullPointerException"
    assert attrs["thread"] == "http-1"
    assert err["source"].endswith("payment.log:2")


PY_LOG = """2024-03-01 10:00:00,001 ERROR worker: job failed
Traceback (most recent call last):
  File "/srv/app/jobs.py", line 9, in run
    charge()
ZeroDivisionError: division by zero

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/app/jobs.py", line 12, in run
    raise JobError("x") from e
JobError: x
2024-03-01 10:00:00,500 INFO worker: next
"""


def test_python_logging_traceback_is_one_record(tmp_path: Path) -> None:
    rows, _ = _read(_write(tmp_path, "worker.log", PY_LOG))
    assert len(rows) == 2
    assert rows[0]["exception_type"] == "JobError"
    assert orjson.loads(rows[0]["attributes"])["exception.root_cause_type"] == "ZeroDivisionError"
    assert rows[0]["ts_ns"] % NS == 1_000_000


def test_syslog_year_comes_from_mtime(tmp_path: Path) -> None:
    mtime = timegm((2024, 1, 3, 12, 0, 0, 0, 0, 0))
    text = "Dec 31 23:59:59 host1 sshd[42]: old year\nJan  2 08:00:00 host1 kernel: new year\n"
    rows, _ = _read(_write(tmp_path, "auth.log", text, mtime=mtime))
    assert rows[0]["ts_ns"] == _utc(2023, 12, 31, 23, 59, 59)  # after the mtime this year -> last year
    assert rows[1]["ts_ns"] == _utc(2024, 1, 2, 8, 0, 0)
    assert rows[0]["logger"] == "sshd" and orjson.loads(rows[0]["attributes"]) == {"pid": 42, "host": "host1"}
    assert rows[1]["body"] == "new year"


def test_time_of_day_uses_mtime_date(tmp_path: Path) -> None:
    mtime = timegm((2023, 1, 29, 9, 0, 0, 0, 0, 0))
    text = (
        "08:48:42.424 INFO  t.s.TravelServiceImpl#532 TraceID: 49a51828322183eb20bfe4ace3060000 "
        "SpanID: 083e5d40259e7999 ok\n"
    )
    rows, _ = _read(_write(tmp_path, "travel.log", text, mtime=mtime))
    row = rows[0]
    assert row["ts_ns"] == _utc(2023, 1, 29, 8, 48, 42) + 424_000_000
    assert row["logger"] == "t.s.TravelServiceImpl"
    assert orjson.loads(row["attributes"])["code.lineno"] == 532
    assert (row["trace_id"], row["span_id"]) == ("49a51828322183eb20bfe4ace3060000", "083e5d40259e7999")


def test_cri_wrapped_text_joins_partials_and_uses_runtime_clock(tmp_path: Path) -> None:
    text = (
        "2026-11-28T04:10:01.000000001Z stdout F 04:10:01.000 ERROR c.e.Pay : failed\n"
        "2026-11-28T04:10:01.000000002Z stdout P java.lang.IllegalStateEx\n"
        "2026-11-28T04:10:01.000000003Z stdout F ception: no card\n"
        "2026-11-28T04:10:01.000000004Z stdout F \tat com.e.Pay.charge(Pay.java:7)\n"
    )
    rows, sink = _read(_write(tmp_path, "0.log", text))
    assert sink.problem_count == 0 and len(rows) == 1
    row = rows[0]
    assert row["ts_ns"] == _utc(2026, 11, 28, 4, 10, 1) + 1  # the runtime's full date wins over time of day
    assert row["exception_type"] == "java.lang.IllegalStateException"
    assert orjson.loads(row["frames"])[0]["line"] == 7
    assert orjson.loads(row["attributes"])["stream"] == "stdout"


def test_headerless_file_keeps_one_record_per_line(tmp_path: Path) -> None:
    text = "alpha one\nbeta two\n\tindented continuation\ngamma three\n"
    rows, _ = _read(_write(tmp_path, "plain.txt", text))
    assert [r["body"] for r in rows] == ["alpha one", "beta two\n\tindented continuation", "gamma three"]
    assert all(r["ts_ns"] == 0 and r["service"] == "plain" for r in rows)


def test_record_size_is_capped(tmp_path: Path) -> None:
    text = "2024-01-01 00:00:00 ERROR x: boom\n" + "\tat a.b.C.d(C.java:1)\n" * (MAX_RECORD_LINES + 10)
    rows, sink = _read(_write(tmp_path, "big.log", text))
    assert len(rows) == 1
    assert orjson.loads(rows[0]["attributes"])["dropped_lines"] == 10
    assert sink.problems[0].line == 1 and "dropped" in sink.problems[0].reason


def test_bad_bytes_and_huge_lines_do_not_stop_reading(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    with path.open("wb") as fh:
        fh.write(b"2024-01-01 00:00:00 INFO first\n")
        fh.write(b"2024-01-01 00:00:01 INFO caf\xe9 latin-1\n")
        fh.write(b"x" * (10 << 20) + b"\n")
        fh.write(b"2024-01-01 00:00:02 INFO last\n")
    rows, sink = _read(path)
    assert [r["body"] for r in rows] == ["first", "caf\ufffd latin-1", "last"]
    reasons = {p.line: p.reason for p in sink.problems}
    assert "invalid UTF-8" in reasons[2] and "longer than" in reasons[3]


def test_sniff_accepts_text_only() -> None:
    assert READER.sniff("2024-01-01 hello\n", Path("a.log"))
    assert not READER.sniff('{"msg": "x"}\n', Path("a.log"))
    assert not READER.sniff("  \n", Path("a.log"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60), max_size=40))
def test_random_text_never_crashes(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.log"
    path.write_text("\n".join(lines), encoding="utf-8")
    rows, _ = _read(path)
    real_lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert len(rows) <= len(real_lines)


def test_loghub_samples(shared_data: Path) -> None:
    linux, _ = _read(shared_data / "loghub-2k" / "Linux" / "Linux_2k.log")
    assert len(linux) == 2000 and all(r["ts_ns"] > 0 for r in linux)
    assert linux[0]["logger"] == "sshd(pam_unix)"
    hadoop, _ = _read(shared_data / "loghub-2k" / "Hadoop" / "Hadoop_2k.log")
    assert hadoop[0]["level"] == "INFO"
    assert hadoop[0]["logger"] == "org.apache.hadoop.mapreduce.v2.app.MRAppMaster"
    assert hadoop[0]["ts_ns"] == _utc(2015, 10, 18, 18, 1, 47) + 978_000_000


def test_a_long_real_log_reads_whole(shared_data: Path) -> None:
    """Every line of a 25k-line real log read (speed is measured by benchmarks, not asserted by tests)."""
    path = shared_data / "loghub-full" / "Linux.log"
    if not path.exists():
        pytest.skip("loghub-full/Linux.log absent")
    rows, sink = _read(path)
    assert len(rows) == 25567 and sink.problem_count == 20  # 20 lines are not UTF-8


def test_year_outside_int64_nanoseconds_is_not_a_timestamp(tmp_path: Path) -> None:
    rows, _ = _read(_write(tmp_path, "odd.log", "9999-01-01 00:00:00 INFO far\n"))
    assert rows[0]["ts_ns"] == 0 and rows[0]["body"] == "9999-01-01 00:00:00 INFO far"


def test_runtime_traces_without_headers_stay_one_record(formats_dir: Path) -> None:
    for name, expected in [
        ("go-panic.synthetic.txt", "panic"),
        ("python-chained.txt", "PaymentError"),
        ("dotnet-inner-exception.synthetic.txt", "System.ApplicationException"),
    ]:
        rows, _ = _read(formats_dir / "stacktraces" / name)
        assert rows[0]["exception_type"] == expected, name
        assert len(orjson.loads(rows[0]["frames"])) >= 4, name
        assert len(rows) <= 2, name  # go's trailing "exit status 2" is its own line
