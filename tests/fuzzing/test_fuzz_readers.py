"""Property tests: every reader, the alert webhooks and the stack-trace parser on generated and mutated input.

The fast subset of `benchmarks/fuzz_readers.py`: each target gets inputs of its own shape (its seeds reshaped by
Hypothesis, log lines, CSV tables) and raw bytes, and must return or raise a clear error that names the file,
with every skipped record's position, in under a second. Regression inputs found by the long run are below.
"""

from __future__ import annotations

import gzip
import random
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fuzzing.strategies import byte_inputs, csv_tables, json_inputs, log_lines
from tests.fuzzing.targets import Outcome, mutate, seeds, seeds_by_target, targets

from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink

# The suite shares machines with other work: an input may take 5 s here; benchmarks/fuzz_readers.py holds 1 s.
TARGETS = targets(hang=5.0)
POOL = seeds()
MINE = seeds_by_target(POOL)
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _json_docs(datas: list[bytes]) -> list[Any]:
    docs: list[Any] = []
    for data in datas:
        try:
            docs.append(orjson.loads(data))
        except orjson.JSONDecodeError:
            for line in data.splitlines()[:3]:
                try:
                    docs.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    continue
    return docs


def _strategy(name: str) -> st.SearchStrategy[bytes]:
    mine = MINE[name]
    shaped = json_inputs(_json_docs(mine)[:6])
    if name in ("reader:widecsv",):
        shaped = csv_tables()
    elif name in ("reader:textlogs", "reader:jsonlogs", "stacktrace", "detect"):
        shaped = log_lines() | shaped
    return shaped | shaped | byte_inputs(mine)


def _run(name: str, data: bytes) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        return TARGETS[name](data, Path(tmp) / "input")


def _assert_clean(name: str, data: bytes, outcome: Outcome) -> None:
    assert not outcome.failed, f"{name} {outcome.kind} on {data[:300]!r}: {outcome.detail}"
    assert outcome.kind in ("ok", "error")


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_generated_inputs_read_cleanly(name: str) -> None:
    @FUZZ
    @given(data=_strategy(name))
    def check(data: bytes) -> None:
        _assert_clean(name, data, _run(name, data))

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutated_seeds_read_cleanly(name: str) -> None:
    rng = random.Random(f"fuzz-{name}")  # fixed per target: a failure reproduces
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        for _ in range(150):
            data = mutate(rng.choice(MINE[name]), rng, POOL)
            _assert_clean(name, data, TARGETS[name](data, path))


def test_seeds_exist_for_every_reader() -> None:
    """Without the shared samples only the built-in seeds remain; each reader still needs one of its own."""
    if not any(len(v) < len(POOL) for v in MINE.values()):
        pytest.skip("no seed detected as any reader's format")
    own = [name for name, mine in MINE.items() if name.startswith("reader:") and len(mine) < len(POOL)]
    assert "reader:changes" in own
    assert "reader:widecsv" in own


# --- regressions found by benchmarks/fuzz_readers.py (each crashed before its fix) --------------------------


def _corrupt_gzip() -> bytes:
    packed = bytearray(gzip.compress(b'{"resourceMetrics": []}\n' * 400, mtime=0))
    for i in range(14, 22):
        packed[i] ^= 0x55
    return bytes(packed)


_CORRUPT_GZIP = _corrupt_gzip()
_ALIAS_BOMB = (
    b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + b"".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n".encode() for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + b"changes:\n  - kind: deploy\n    service: cart\n    timestamp: 2026-11-28T04:05:00Z\n    extra: *i\n"
)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        # yaml's reader refused a control character while the loader was built, outside the error handling
        ("reader:changes", b"changes:\n  - kind: deploy\x13\n", "input:2: invalid YAML: character #x0013"),
        # PyYAML composes nesting recursively (RecursionError) and scans open brackets in quadratic time (> 1 s)
        ("reader:changes", b"changes: " + b"[" * 5000 + b"]" * 5000, "nested deeper than 64 levels"),
        ("reader:changes", b"changes:\n" + b"".join(b" " * i + b"- \n" for i in range(200)), ":65: invalid YAML"),
        # nine aliases of nine aliases...: 43 million values built from a 700-byte file
        ("reader:changes", _ALIAS_BOMB, "aliases expand to more than"),
        # an unquoted YAML timestamp that is no date raised ValueError from PyYAML's constructor
        (
            "reader:changes",
            b"changes:\n  - kind: deploy\n    service: a\n    timestamp: 2026-02-30T01:00:00Z\n",
            "input:2: changes[0]: timestamp '2026-02-30T01:00:00Z' is not a time",
        ),
        # two `changes:` keys: the node list and the constructed list differed in length (zip strict)
        (
            "reader:changes",
            b"changes:\n  - kind: deploy\nchanges:\n  - kind: x\n  - kind: deploy\n    service: a\n",
            "input:4: changes[0]: unknown kind 'x'",
        ),
        # Zipkin's sniffer decodes the first span with the standard library, which recurses per level
        ("detect", b'[{"a":' * 3000 + b"1" + b"}" * 3000 + b"]", "input: content matches no supported format"),
        # a carriage return inside the header line escaped the CSV error handling
        ("reader:widecsv", b"time,cart\rcpu,x\n1,2,3\n", "input:1: unreadable CSV header"),
        # gzip data whose deflate stream is corrupt raised zlib.error, not OSError
        ("reader:otlp-metrics", _CORRUPT_GZIP, "corrupt gzip data"),
        ("reader:changes", _CORRUPT_GZIP, "corrupt gzip data"),
        ("reader:textlogs", _CORRUPT_GZIP, "corrupt gzip data"),
    ],
)
def test_regression_inputs_are_clear_errors(name: str, data: bytes, expected: str) -> None:
    outcome = _run(name, data)
    assert outcome.kind == "error", outcome
    assert expected in outcome.detail


def test_a_bad_yaml_timestamp_skips_only_its_record(tmp_path: Path) -> None:
    path = tmp_path / "changes.yaml"
    path.write_text(
        "changes:\n  - {kind: deploy, service: a, timestamp: 2026-02-30T01:00:00Z}\n"
        "  - {kind: deploy, service: b, timestamp: 2026-02-10T01:00:00Z}\n"
    )
    sink = RowSink()
    read_paths([path], sink)
    assert sink.changes.total == 1
    assert [str(p) for p in sink.problems] == [f"{path}:2: changes[0]: timestamp '2026-02-30T01:00:00Z' is not a time"]


def test_jaeger_errors_are_reported_with_their_index(tmp_path: Path) -> None:
    path = tmp_path / "jaeger.json"
    span = {
        "traceID": "a" * 32,
        "spanID": "b" * 16,
        "operationName": "GET",
        "startTime": 1764302880000000,
        "duration": 5,
        "processID": "p1",
        "references": [],
        "tags": [],
    }
    trace = {"traceID": "a" * 32, "spans": [span], "processes": {"p1": {"serviceName": "cart", "tags": []}}}
    path.write_bytes(orjson.dumps({"data": [trace], "errors": [{"code": 500, "msg": "storage timeout"}]}))
    sink = RowSink()
    read_paths([path], sink)
    assert sink.spans.total == 1
    assert "errors[0]: Jaeger reported an error" in str(sink.problems[0])


def test_pagerduty_assignees_that_are_not_a_list_are_ignored() -> None:
    payload = orjson.loads((Path(__file__).parent / "pagerduty_event.json").read_bytes())
    payload["event"]["data"]["assignees"] = 7
    payload["event"]["data"]["teams"] = {"id": "x"}
    outcome = _run("webhook:pagerduty", orjson.dumps(payload))
    assert outcome.kind == "ok", outcome


def test_repository_yaml_is_bounded_too() -> None:
    """Kubernetes manifests and the service catalog come with a repository, which may be hostile."""
    from incidentlens.errors import ConfigError
    from incidentlens.locate.catalog import parse_catalog
    from incidentlens.locate.manifests import _yaml, _yaml_all

    deep = "a: " + "[" * 20000
    assert _yaml(deep) is None  # was a RecursionError after seconds
    assert _yaml_all("---\nkind: Service\n---\n" + deep) == []
    assert _yaml_all("kind: Service\n---\nkind: Deployment\n") == [{"kind": "Service"}, {"kind": "Deployment"}]
    with pytest.raises(ConfigError, match=r"incidentlens\.yaml:1: not valid YAML: nested deeper than 64 levels"):
        parse_catalog(deep)
