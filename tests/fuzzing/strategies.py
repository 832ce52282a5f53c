"""Hypothesis strategies for reader inputs: seeds reshaped leaf by leaf, log lines, CSV tables, raw bytes.

A JSON seed keeps its shape (so the input reaches the reader's record handling past format detection) while
Hypothesis replaces, drops or wraps its values; text formats are built from the parts readers look for
(timestamps, levels, delimiters, stack frames).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import orjson
from hypothesis import strategies as st

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "0" * 32, "f" * 16, "AAAAAAAAAAAAAAAAAAAAAA==", "2026-11-28T04:05:00Z", "1764302880000"])
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
TIMES = st.sampled_from(
    [
        "2026-11-28T04:05:00Z",
        "2026-11-28 04:05:00,123",
        "2026-11-28T04:05:00.123456789+01:00",
        "Nov 28 04:05:00",
        "1764302880",
        "1764302880123",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-13-45T99:99:99Z",
        "",
    ]
) | st.integers(min_value=-(2**63), max_value=2**64).map(str)
LEVELS = st.sampled_from(["INFO", "ERROR", "WARN", "debug", "FATAL", "E", "level=error", "[error]", ""])
TEXT = st.text(st.characters(codec="utf-8"), max_size=60)


def reshaped(value: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """`value` with some of its leaves and branches replaced by generated JSON (usually kept, sometimes not)."""
    if depth > 12:
        return st.just(value)
    if isinstance(value, dict):
        kept = st.fixed_dictionaries({str(k): reshaped(v, depth + 1) for k, v in list(value.items())[:30]})
        return _mostly(kept, JSON_VALUES)
    if isinstance(value, list):
        items = [reshaped(v, depth + 1) for v in value[:6]]
        kept_list = st.tuples(*items).map(list) if items else st.just([])
        return _mostly(kept_list, st.lists(JSON_VALUES, max_size=3))
    return _mostly(st.just(value), JSON_LEAVES)


@st.composite
def _mostly(draw: st.DrawFn, kept: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """`kept` seven times in eight, else `other` (one_of with repeated branches has an exponential repr)."""
    return draw(other) if draw(st.integers(min_value=0, max_value=7)) == 0 else draw(kept)


def json_inputs(seed_docs: list[Any]) -> st.SearchStrategy[bytes]:
    """Reshaped JSON seeds, as one document or as JSON lines."""
    if not seed_docs:
        return st.nothing()
    shaped = st.one_of(*(reshaped(doc) for doc in seed_docs))
    return st.one_of(shaped.map(_dumps), st.lists(shaped, min_size=1, max_size=3).map(_json_lines))


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: the standard library writes them
        return json.dumps(value).encode()


def _json_lines(values: list[Any]) -> bytes:
    return b"\n".join(_dumps(v) for v in values)


@st.composite
def log_lines(draw: st.DrawFn) -> bytes:
    """Plain-text, JSON-lines and container-wrapped log lines with stack traces among them."""
    lines: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        kind = draw(st.integers(min_value=0, max_value=4))
        if kind == 0:
            lines.append(f"{draw(TIMES)} {draw(LEVELS)} [{draw(TEXT)}] {draw(TEXT)}")
        elif kind == 1:
            record = {"ts": draw(TIMES), "level": draw(LEVELS), "msg": draw(TEXT), "service": draw(TEXT)}
            lines.append(orjson.dumps(record).decode())
        elif kind == 2:
            lines.append(f"{draw(TIMES)} stdout {draw(st.sampled_from(['F', 'P', 'X']))} {draw(TEXT)}")
        elif kind == 3:
            lines.extend(draw(stack_trace_lines()))
        else:
            lines.append(draw(TEXT))
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


@st.composite
def stack_trace_lines(draw: st.DrawFn) -> list[str]:
    frame = st.sampled_from(
        [
            '  File "{}", line {}, in {}',
            "\tat {}.{}({}:{})",
            "    at {} ({}:{}:{})",
            "{}(...)\n\t{}:{} +0x{}",
            "   at {}.{}() in {}:line {}",
        ]
    )
    parts = st.one_of(TEXT, st.integers(min_value=-5, max_value=10**20).map(str))
    head = draw(
        st.sampled_from(
            [
                "Traceback (most recent call last):",
                'Exception in thread "main" java.lang.IllegalStateException: boom',
                "panic: runtime error",
                "goroutine 1 [running]:",
                "Unhandled exception. System.InvalidOperationException: x",
                "Error: boom",
                "Caused by: java.io.IOException",
            ]
        )
    )
    lines = [head]
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        template = draw(frame)
        lines.append(template.format(*(draw(parts) for _ in range(template.count("{}")))))
    lines.append(draw(st.sampled_from(["ValueError: bad", "... 3 more", "", draw(TEXT)])))
    return lines


@st.composite
def csv_tables(draw: st.DrawFn) -> bytes:
    """Wide and long metric CSV with odd cells, delimiters, quotes and ragged rows."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    cell = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["", "NaN", "-Inf", "n/a", "1,5", '"', '"a""b"', "1e999", "x"]),
        TEXT,
    )
    header = draw(
        st.sampled_from(
            [
                ["time", "cart_cpu", "cart_mem", 'cpu{service="ad"}'],
                ["timestamp", "name", "service", "value"],
                ["ts", "value"],
                ["date", "metric", "value", "pod"],
            ]
        )
    )
    rows = [delimiter.join(header)]
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        width = draw(st.integers(min_value=len(header) - 1, max_value=len(header) + 1))
        rows.append(delimiter.join([draw(TIMES), *(draw(cell) for _ in range(max(width - 1, 0)))]))
    return "\n".join(rows).encode("utf-8", errors="surrogatepass")


def byte_inputs(seed_bytes: list[bytes]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, seeds with arbitrary bytes spliced in, and gzip of either (whole or cut short)."""
    spliced = st.tuples(st.sampled_from(seed_bytes), st.binary(max_size=64), st.integers(min_value=0)).map(
        lambda t: t[0][: t[2] % (len(t[0]) + 1)] + t[1] + t[0][t[2] % (len(t[0]) + 1) :]
    )
    plain = st.binary(max_size=512) | spliced
    packed = st.tuples(plain, st.floats(min_value=0.0, max_value=1.0)).map(
        lambda t: (lambda g: g[: max(2, int(len(g) * t[1]))])(gzip.compress(t[0], mtime=0))
    )
    return st.one_of(plain, plain, plain, packed)
