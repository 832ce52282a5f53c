"""What the reader fuzzers share: the targets (every reader, alert webhooks, stack traces), seeds and mutators.

A target takes bytes and returns the outcome of reading them the way the product does. The contract every
reader must keep on any input, hostile or broken:

- it returns, or raises an `IncidentLensError` (a clear error) — any other exception is a crash;
- an error names the file, and a skipped record names its position (line, byte offset or record index);
- it takes well under a second (a hang is `HANG_SECONDS` or more).

Used by `tests/fuzzing/test_fuzz_readers.py` (a fast Hypothesis subset) and `benchmarks/fuzz_readers.py`
(the million-input run). Seeds come from `../shared/data` when present, plus a few written here.
"""

from __future__ import annotations

import gzip
import random
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from incidentlens.analyze.stacktraces import find_stacktrace, parse_stacktrace
from incidentlens.errors import FormatError, IncidentLensError
from incidentlens.ingest.registry import all_readers, detect
from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import Problem, RowSink
from incidentlens.web.intake import parse_payload, replay_into

HANG_SECONDS = 1.0
MAX_WEBHOOK_DEPTH = 32  # as the webhook route refuses deeper payloads before parsing (web/webhooks.py)
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# A problem names its position by line or byte offset, or by a record index in the path or reason.
_POSITION_RE = re.compile(r"#\d+|\[\d+\]|:\d+|line \d+|column \d+|byte \d+|offset \d+")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one input did: `kind` is ok, error (a clear IncidentLensError) or a failure kind."""

    kind: str  # ok | error | crash | hang | unnamed | unpositioned
    seconds: float
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.kind not in ("ok", "error")


Target = Callable[[bytes, Path], Outcome]


def _positioned(problem: Problem) -> bool:
    if problem.line is not None or problem.offset is not None:
        return True
    return bool(_POSITION_RE.search(problem.path) or _POSITION_RE.search(problem.reason))


def _crash(exc: BaseException) -> str:
    """The exception and the innermost frame inside incidentlens: enough to group and find a failure."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "incidentlens" in f.filename]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}: {str(exc)[:160]}"


def _timed(run: Callable[[], str | None], hang: float = HANG_SECONDS) -> Outcome:
    """Run one input; `run` returns None when fine or a failure detail ("kind: detail")."""
    started = time.perf_counter()
    try:
        failure = run()
    except IncidentLensError as exc:
        seconds = time.perf_counter() - started
        if seconds >= hang:
            return Outcome("hang", seconds, f"{seconds:.2f} s, then {type(exc).__name__}")
        return Outcome("error", seconds, str(exc)[:200])
    except Exception as exc:  # every other exception is what the fuzzer looks for
        return Outcome("crash", time.perf_counter() - started, _crash(exc))
    seconds = time.perf_counter() - started
    if seconds >= hang:
        return Outcome("hang", seconds, f"{seconds:.2f} s")
    if failure is not None:
        kind, _, detail = failure.partition(": ")
        return Outcome(kind, seconds, detail)
    return Outcome("ok", seconds)


def _check_problems(sink: RowSink, path: Path) -> str | None:
    for problem in sink.problems:
        if str(path) not in problem.path:
            return f"unnamed: problem without the file name: {problem}"
        if not _positioned(problem):
            return f"unpositioned: {problem}"
    return None


def reader_target(fmt: str | None, hang: float = HANG_SECONDS) -> Target:
    """Read a file through the ingest runner, detecting its format (`fmt` None) or forcing one reader."""

    def target(data: bytes, path: Path) -> Outcome:
        path.write_bytes(data)

        def run() -> str | None:
            sink = RowSink()
            try:
                read_paths([path], sink, forced_format=fmt)
            except FormatError as exc:
                if str(path) not in str(exc):
                    return f"unnamed: error without the file name: {exc}"
                raise
            return _check_problems(sink, path)

        return _timed(run, hang)

    return target


def webhook_target(source: str, hang: float = HANG_SECONDS) -> Target:
    """An alert webhook body as the route reads it: JSON, the depth limit, then the parser and the replay."""

    def target(data: bytes, path: Path) -> Outcome:
        def run() -> str | None:
            try:
                payload = orjson.loads(data)
            except orjson.JSONDecodeError:
                return None  # the route answers 400 before any parser runs
            if _depth(payload) > MAX_WEBHOOK_DEPTH:
                return None  # the route answers 400 before any parser runs
            alerts, _problems = parse_payload(source, payload)
            for alert in alerts:
                replay_into(RowSink(), alert.replay)
            return None

        return _timed(run, hang)

    return target


def stacktrace_target(hang: float = HANG_SECONDS) -> Target:
    """Stack traces in log messages: both entry points promise never to raise."""

    def target(data: bytes, path: Path) -> Outcome:
        text = data.decode("utf-8", errors="replace")

        def run() -> str | None:
            parse_stacktrace(text)
            find_stacktrace(text)
            return None

        return _timed(run, hang)

    return target


def _depth(value: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_WEBHOOK_DEPTH:
            return depth
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def targets(hang: float = HANG_SECONDS) -> dict[str, Target]:
    """Every fuzz target by name: `detect` (format detection + read), one per reader, webhooks, stack traces.

    `hang` is the time an input may take; the test suite, on shared machines, allows more than the benchmark.
    Every reader module is imported here, so no input pays for an import.
    """
    found: dict[str, Target] = {"detect": reader_target(None, hang)}
    for reader in all_readers():
        found[f"reader:{reader.name}"] = reader_target(reader.name, hang)
    found["webhook:alertmanager"] = webhook_target("alertmanager", hang)
    found["webhook:pagerduty"] = webhook_target("pagerduty", hang)
    found["stacktrace"] = stacktrace_target(hang)
    return found


# --- seeds --------------------------------------------------------------------------------------------------

_CHANGES_SEEDS = (
    b"changes:\n  - kind: deploy\n    service: cart\n    timestamp: 2026-11-28T04:05:00Z\n    version: v1.8.0\n"
    b"    previous: v1.7.3\n    commit: 3f2c9a1e\n    author: alice\n    description: 'cart: switch Redis client'\n"
    b"  - kind: feature_flag\n    service: cart\n    time: 2026-11-28T04:08:30Z\n    flag: cartFailure\n"
    b"    previous: false\n    current: true\n",
    b'{"kind": "deploy", "service": "cart", "timestamp": "2026-11-28T04:05:00Z", "version": "v1.8.0"}\n'
    b'{"kind": "config", "service": "checkout", "ts": 1764302880, "key": "http.timeout_ms", "previous": 500,'
    b' "current": 50}\n',
    b'{"changes": [{"kind": "rollout", "service": "ad", "timestamp": "2026-11-28T04:00:00+01:00", '
    b'"current": "2.0.1"}]}',
)
_CSV_SEEDS = (
    b'time,cart_cpu,cart_mem,cpu{service="ad",pod="p"}\n1764302880,0.5,120,0.1\n1764302895,0.7,,NaN\n'
    b"1764302910,-Inf,130,2\n",
    b"timestamp;name;service;value\n2026-11-28T04:05:00Z;latency;cart;1,5\n2026-11-28T04:05:15Z;latency;cart;2\n",
)
_TEXT_SEEDS = (
    b"2026-11-28 04:05:00,123 ERROR [cart] payment failed: timeout after 30s\n"
    b"2026-11-28 04:05:01,000 INFO  [cart] retrying\n"
    b'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    main()\n'
    b"ValueError: bad\n",
)


def seeds(data_dir: Path = SHARED_DATA, *, lines_per_file: int = 30) -> list[bytes]:
    """Small real inputs of every kind: the format samples, stack traces, log and CSV heads, change files."""
    found: list[bytes] = [*_CHANGES_SEEDS, *_CSV_SEEDS, *_TEXT_SEEDS]
    formats = data_dir / "formats"
    if formats.is_dir():
        for path in sorted(formats.rglob("*")):
            if path.is_file() and path.stat().st_size <= 64_000:
                found.append(path.read_bytes())
    for pattern in ("loghub-2k/*/*_2k.log", "rcd-sockshop/sock-shop-data/*/1/*.csv"):
        for path in sorted(data_dir.glob(pattern))[:12]:
            found.append(_head(path.read_bytes(), lines_per_file))
    for pattern in ("nezha/trainticket/construct_data/*/*/*.csv.gz",):
        for path in sorted(data_dir.glob(pattern))[:4]:
            found.append(_head(gzip.decompress(path.read_bytes()), lines_per_file))
    return found


def _head(data: bytes, lines: int) -> bytes:
    return b"\n".join(data.split(b"\n")[:lines]) + b"\n"


# --- mutation -----------------------------------------------------------------------------------------------

_TOKENS = (
    b'"',
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\x00",
    b"\xff\xfe",
    b"\xed\xa0\x80",
    b"\r",
    b"\n",
    b"\t",
    b";",
    b"-1",
    b"0",
    b"1e999",
    b"-1e999",
    b"NaN",
    b"Infinity",
    b"99999999999999999999999999",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b'""',
    b'"\\ud800"',
    b'"\\u0000"',
    b"0001-01-01T00:00:00Z",
    b"9999-12-31T23:59:59.999999999Z",
    b"2026-02-30T25:61:61Z",
    b"&a [*a, *a, *a]",
    b"!!python/object/apply:os.system ['true']",
    b"---\n",
    b"...\n",
    b"Traceback (most recent call last):\n",
    b'  File "x.py", line 99999999999999999999, in f\n',
    b"\tat a.b.C.d(C.java:-1)\n",
    b"goroutine 1 [running]:\n",
    b"panic: boom\n",
    b"Caused by: ",
    b"... 12 more\n",
    b'{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]}',
    b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{}]}}',
    b'{"version":"4","alerts":[{}]}',
    b"time,value\n",
    b"\x1f\x8b",
)


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """One to four random edits of `data`: byte flips, cuts, splices, tokens, JSON-aware replacements."""
    for _ in range(rng.randint(1, 4)):
        data = _MUTATORS[rng.randrange(len(_MUTATORS))](data, rng, pool)
    return data[:200_000]


def _flip(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _truncate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    return data[: rng.randint(0, len(data))]


def _delete(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, 64) :]


def _duplicate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(1, 256)]
    at = rng.randrange(len(data) + 1)
    return data[:at] + piece * rng.choice((1, 2, 10, 100)) + data[at:]


def _token(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(_TOKENS) + data[at:]


def _splice(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    other = rng.choice(pool)
    cut = rng.randint(0, len(data))
    start = rng.randint(0, len(other))
    return data[:cut] + other[start : start + rng.randint(1, 2048)]


def _lines(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    lines = data.split(b"\n")
    op = rng.randrange(3)
    if op == 0:
        rng.shuffle(lines)
    elif op == 1 and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i] * rng.choice((2, 50)))
    else:
        lines = [line for line in lines if rng.random() > 0.3]
    return b"\n".join(lines)


def _deep(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    n = rng.choice((40, 200, 5000))
    at = rng.randrange(len(data) + 1)
    opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
    return data[:at] + opener * n + b"1" + closer * rng.choice((n, 0)) + data[at:]


def _gzip(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    packed = gzip.compress(data, mtime=0)
    return packed if rng.random() < 0.5 else packed[: rng.randint(2, len(packed))]


def _json_tree(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """Keep the JSON valid and change one value deep inside: reaches the readers' record handling."""
    lines = data.split(b"\n")
    try:
        value = orjson.loads(data)
        whole = True
    except orjson.JSONDecodeError:
        whole = False
        index = rng.randrange(len(lines))
        try:
            value = orjson.loads(lines[index])
        except orjson.JSONDecodeError:
            return _token(data, rng, pool)
    value = _replace_node(value, rng)
    try:
        text = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return data
    if whole:
        return text
    lines[index] = text
    return b"\n".join(lines)


def _replace_node(value: Any, rng: random.Random) -> Any:
    nodes: list[tuple[Any, Any]] = []  # (container, key)
    stack = [value]
    while stack and len(nodes) < 5000:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                nodes.append((item, key))
                stack.append(child)
        elif isinstance(item, list):
            for i, child in enumerate(item):
                nodes.append((item, i))
                stack.append(child)
    if not nodes:
        return _random_value(rng)
    container, key = rng.choice(nodes)
    if isinstance(container, dict) and rng.random() < 0.15:
        del container[key]
    else:
        container[key] = _random_value(rng, container[key])
    return value


def _random_value(rng: random.Random, old: Any = None) -> Any:
    choices: list[Any] = [
        None,
        True,
        0,
        -1,
        2**63,
        -(2**63) - 1,
        2**64,
        1e308,
        -0.0,
        "",
        "x" * rng.choice((1, 100, 10_000)),
        "\u0000",
        "2026-11-28T04:05:00Z",
        "0001-01-01T00:00:00Z",
        "1764302880",
        "not-a-time",
        "ZZZZ",
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "0" * 32,
        "f" * 40,
        [],
        {},
        [None],
        {"": None},
        [[[[[]]]]],
    ]
    if isinstance(old, str) and old:
        choices += [old * 3, old[: len(old) // 2], old[::-1]]
    if isinstance(old, int | float) and not isinstance(old, bool):
        choices += [old * 1000, -old, str(old)]
    if isinstance(old, list | dict):
        choices += [old, [old, old], {"x": old}]
    return rng.choice(choices)


_MUTATORS = (
    _flip,
    _flip,
    _truncate,
    _delete,
    _duplicate,
    _token,
    _token,
    _splice,
    _lines,
    _deep,
    _gzip,
    _json_tree,
    _json_tree,
    _json_tree,
)


def seeds_by_target(pool: list[bytes]) -> dict[str, list[bytes]]:
    """For each target, the seeds it understands (its own format), so mutations reach past detection.

    A target with no seed of its own gets every seed: then the fuzzer mostly probes its refusals.
    """
    detected: list[tuple[bytes, str]] = []
    for data in pool:
        head = data[:65536].decode("utf-8", errors="replace")
        reader = detect(head, Path("seed"))
        detected.append((data, reader.name if reader else ""))
    mine: dict[str, list[bytes]] = {}
    for name in targets():
        if name.startswith("reader:"):
            fmt = name.partition(":")[2]
            mine[name] = [d for d, found in detected if found == fmt]
        elif name.startswith("webhook:"):
            mine[name] = [d for d, found in detected if found == name.partition(":")[2]]
        elif name == "stacktrace":
            mine[name] = [d for d in pool if _STACK_RE.search(d)]
        else:
            mine[name] = list(pool)
        mine[name] = mine[name] or list(pool)
    return mine


_STACK_RE = re.compile(rb"Traceback|\tat |goroutine \d|panic:|   at |Caused by")
