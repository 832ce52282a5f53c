"""The demo generator: every fault yields a well-formed, deterministic bundle whose truth is checkable."""

from __future__ import annotations

import hashlib
import itertools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from incidentlens.errors import ConfigError
from incidentlens.ingest.common import parse_time_ns
from incidentlens.model.enums import FaultKind
from incidentlens.simulate import DEFAULT_FAULT, FAULTS, Truth, simulate
from incidentlens.simulate.metrics import BOUNDS, histogram_quantile

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
REQUIRED_SERIES = {
    "container_cpu_usage_ratio",
    "container_memory_working_set_bytes",
    "http_server_request_duration_seconds_p95",
    "http_server_error_ratio",
    "http_server_requests_per_second",
    "db_client_connections_in_use",
    "db_client_connections_max",
    "kafka_consumer_lag",
    "cache_hit_ratio",
}


def _small(fault: str, seed: int, out: Path, *, with_repo: bool = True) -> Truth:
    """A short, thin window keeps the whole module fast."""
    return simulate(fault, seed=seed, out=out, scale=0.6, normal_minutes=8, incident_minutes=5, with_repo=with_repo)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Truth, Path]]:
    out: dict[str, tuple[Truth, Path]] = {}
    for name in FAULTS:
        path = tmp_path_factory.mktemp(name) / "bundle"
        out[name] = (_small(name, 11, path), path)
    return out


def _attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values())) for a in items}


def _spans(bundle: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for line in (bundle / "traces" / "traces.otlp.jsonl").read_bytes().splitlines():
        for rs in orjson.loads(line)["resourceSpans"]:
            service = _attrs(rs["resource"]["attributes"])["service.name"]
            for ss in rs["scopeSpans"]:
                for sp in ss["spans"]:
                    yield service, sp


def _logs(bundle: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((bundle / "logs").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            yield path.stem, orjson.loads(line)


def _ns(value: Any) -> int:
    t = parse_time_ns(value)
    assert t is not None, value
    return int(t)


def _log_time(rec: dict[str, Any]) -> int:
    for key in ("timestamp", "time", "ts", "@timestamp"):
        if key in rec:
            return _ns(rec[key])
    raise AssertionError(f"no time field in {rec}")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def test_catalogue() -> None:
    assert len(FAULTS) >= 12 and "none" in FAULTS and DEFAULT_FAULT in FAULTS
    kinds = {k.value for k in FaultKind}
    for name, spec in FAULTS.items():
        assert spec.name == name and spec.description and "\n" not in spec.description
        assert name == "none" or (spec.kind is not None and spec.kind.value in kinds and spec.candidates)


def test_bundle_structure(bundles: dict[str, tuple[Truth, Path]]) -> None:
    for name, (truth, bundle) in bundles.items():
        kinds: set[int] = set()
        for _, sp in _spans(bundle):
            assert HEX32.match(sp["traceId"]) and HEX16.match(sp["spanId"]), name
            assert sp["parentSpanId"] == "" or HEX16.match(sp["parentSpanId"])
            assert int(sp["endTimeUnixNano"]) >= int(sp["startTimeUnixNano"])
            kinds.add(sp["kind"])
            attrs = _attrs(sp["attributes"])
            if sp["kind"] == 3:
                assert "peer.service" in attrs and "server.address" in attrs
            if sp["status"]:
                assert sp["status"]["code"] == 2 and sp["status"]["message"]
            for ev in sp.get("events", []):
                ev_attrs = _attrs(ev["attributes"])
                assert {"exception.type", "exception.message", "exception.stacktrace"} <= set(ev_attrs)
        assert {2, 3, 4, 5} <= kinds, name
        assert sum(1 for _ in _logs(bundle)) > 1000
        doc = orjson.loads((bundle / "metrics" / "metrics.prom.json").read_bytes())
        assert doc["status"] == "success" and doc["data"]["resultType"] == "matrix"
        names = {r["metric"]["__name__"] for r in doc["data"]["result"]}
        assert names >= REQUIRED_SERIES
        for r in doc["data"]["result"]:
            assert {"service", "namespace", "pod"} <= set(r["metric"])
            steps = [v[0] for v in r["values"]]
            assert all(b - a >= 15 for a, b in itertools.pairwise(steps))
        alert = orjson.loads((bundle / "alerts" / "alertmanager.json").read_bytes())
        assert alert["version"] == "4" and alert["alerts"][0]["status"] == "firing"
        assert alert["alerts"][0]["startsAt"] == truth.alert_time
        changes = orjson.loads((bundle / "changes" / "changes.json").read_bytes())["changes"]
        assert {c["kind"] for c in changes} <= {"deploy", "config", "feature_flag"}
        assert all(
            set(c) >= {"service", "timestamp", "description", "author", "commit", "previous", "current"}
            for c in changes
        )
        on_disk = orjson.loads((bundle / "truth.json").read_bytes())
        assert on_disk["fault"] == name == truth.fault and on_disk["seed"] == 11
        assert on_disk["lines"] == list(truth.lines) and on_disk["commit"] == truth.commit


def test_truth_fields(bundles: dict[str, tuple[Truth, Path]]) -> None:
    for name, (truth, bundle) in bundles.items():
        spec = FAULTS[name]
        if name == "none":
            assert truth.service == "" and truth.commit == "" and truth.file == "" and truth.fault_kind == ""
            continue
        assert truth.service in spec.candidates and truth.fault_kind == spec.kind
        assert parse_time_ns(truth.onset) == truth.onset_ns // 1_000_000 * 1_000_000
        assert 100e9 < truth.alert_ns - truth.onset_ns < 200e9
        assert truth.owner.startswith("@") and truth.red_herring and truth.red_herring != truth.service
        alert = orjson.loads((bundle / "alerts" / "alertmanager.json").read_bytes())
        assert alert["commonLabels"]["service"] != truth.service  # the alert is on a symptom


def test_changes_timeline(bundles: dict[str, tuple[Truth, Path]]) -> None:
    for name, (truth, bundle) in bundles.items():
        changes = orjson.loads((bundle / "changes" / "changes.json").read_bytes())["changes"]
        onset = truth.onset_ns or truth.alert_ns
        recent = [c for c in changes if 0 < onset - _ns(c["timestamp"]) < 10 * 60e9]
        herring = [c for c in recent if c["service"] == truth.red_herring and c["kind"] == "deploy"]
        assert herring, name
        if truth.commit:
            fault = [c for c in changes if c["commit"] == truth.commit]
            assert len(fault) == 1 and fault[0]["service"] == truth.service
            assert 60e9 <= truth.onset_ns - _ns(fault[0]["timestamp"]) <= 181e9
        if name == "config_timeout":
            config = [c for c in changes if c["kind"] == "config" and c["service"] == "checkout"]
            assert any(abs(_ns(c["timestamp"]) - truth.onset_ns) < 2e9 for c in config)


def test_code_faults_in_repo(bundles: dict[str, tuple[Truth, Path]]) -> None:
    code = [(t, b) for t, b in bundles.values() if t.commit]
    assert len(code) >= 4
    for truth, bundle in code:
        repo = bundle / "repo"
        assert _git(repo, "show", "--name-only", "--format=", truth.commit).split() == [truth.file]
        hunks = re.findall(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", _git(repo, "show", truth.commit), re.M)
        start, end = truth.lines
        assert any(int(a) <= end and start <= int(a) + int(n or 1) - 1 for a, n in hunks), truth.fault
        assert (repo / truth.file).is_file()
        assert _git(repo, "rev-parse", "HEAD").strip() == truth.commit
        authors = set(_git(repo, "log", "--format=%ae").split())
        assert 4 <= len(authors) <= 6 and 20 <= len(_git(repo, "log", "--format=%H").split()) <= 40
        owners = ""
        for line in (repo / ".github" / "CODEOWNERS").read_text().splitlines():
            parts = line.split()
            if parts and not parts[0].startswith("#") and _codeowners_match(parts[0], truth.file):
                owners = line
        assert truth.owner in owners.split()[1:]
        catalog = yaml.safe_load((repo / "incidentlens.yaml").read_text())["services"]
        assert catalog[truth.service]["path"] == f"services/{truth.service}"
        assert catalog[truth.service]["owner"].startswith("@shop/")


def _codeowners_match(pattern: str, path: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("**/"):
        return path.endswith("/" + pattern[3:])
    pattern = pattern.lstrip("/")
    return path.startswith(pattern) if pattern.endswith("/") else path == pattern


def test_tracebacks_point_at_the_repo(bundles: dict[str, tuple[Truth, Path]]) -> None:
    frame = re.compile(r'File "/app/([^"]+)", line (\d+), in (\w+)\n    (.*)\n')
    for truth, bundle in bundles.values():
        if not truth.commit or truth.fault == "slow_db_query":
            continue
        repo = bundle / "repo"
        hit = False
        for service, rec in _logs(bundle):
            text = rec.get("exc_info", "")
            for path, line, _func, source in frame.findall(text):
                lines = (repo / path).read_text().splitlines()
                assert lines[int(line) - 1].strip() == source, (path, line)
                if service == truth.service and path == truth.file:
                    hit = hit or truth.lines[0] <= int(line) <= truth.lines[1]
        assert hit, truth.fault


def test_logs_carry_real_trace_context(bundles: dict[str, tuple[Truth, Path]]) -> None:
    _, bundle = bundles["dependency_unreachable"]
    spans = {(sp["traceId"], sp["spanId"]): service for service, sp in _spans(bundle)}
    handlers = (bundle / "repo" / "services" / "frontend" / "handlers.go").read_text().splitlines()
    with_ctx = stacks = 0
    for service, rec in _logs(bundle):
        if rec.get("trace_id"):
            with_ctx += 1
            assert spans.get((rec["trace_id"], rec["span_id"])) == service
        for line in re.findall(r"services/frontend/handlers\.go:(\d+)", rec.get("stacktrace", "")):
            stacks += 1
            assert "renderError" in handlers[int(line) - 1] or "logger.Error" in handlers[int(line) - 1]
    assert with_ctx > 1000 and stacks > 10


def test_dead_service_goes_silent(bundles: dict[str, tuple[Truth, Path]]) -> None:
    truth, bundle = bundles["dependency_unreachable"]
    dead, onset = truth.service, truth.onset_ns
    refused = 0
    for service, sp in _spans(bundle):
        start = int(sp["startTimeUnixNano"])
        assert not (service == dead and start >= onset)
        if start >= onset and _attrs(sp["attributes"]).get("peer.service") == dead:
            assert "connection refused" in sp["status"]["message"]
            refused += 1
    assert refused > 10
    assert all(_log_time(rec) < onset for service, rec in _logs(bundle) if service == dead)
    doc = orjson.loads((bundle / "metrics" / "metrics.prom.json").read_bytes())
    for r in doc["data"]["result"]:
        if r["metric"]["service"] == dead:
            assert all(v[0] * 1e9 < onset for v in r["values"])


def test_attribute_failure_concentrates(bundles: dict[str, tuple[Truth, Path]]) -> None:
    truth, bundle = bundles["payment_attribute_failure"]
    bad = truth.details["value"]
    errors = [
        _attrs(sp["attributes"])
        for s, sp in _spans(bundle)
        if s == "payment" and sp["kind"] == 2 and sp["status"] and int(sp["startTimeUnixNano"]) >= truth.onset_ns
    ]
    assert errors and all(a["app.payment.card_type"] == bad for a in errors)


def test_consumer_spans_link_to_producers(bundles: dict[str, tuple[Truth, Path]]) -> None:
    _, bundle = bundles["queue_consumer_lag"]
    spans = list(_spans(bundle))
    producers = {(sp["traceId"], sp["spanId"]) for _, sp in spans if sp["kind"] == 4}
    consumers = [sp for _, sp in spans if sp["kind"] == 5]
    assert consumers
    for sp in consumers:
        link = sp["links"][0]
        assert (link["traceId"], link["spanId"]) in producers and link["traceId"] != sp["traceId"]
    doc = orjson.loads((bundle / "metrics" / "metrics.prom.json").read_bytes())
    lag = next(r for r in doc["data"]["result"] if r["metric"]["__name__"] == "kafka_consumer_lag")
    assert float(lag["values"][-1][1]) >= 5 > float(lag["values"][len(lag["values"]) // 3][1])


def _digest(bundle: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(bundle).parts:
            h.update(str(path.relative_to(bundle)).encode() + path.read_bytes())
    return h.hexdigest()


def test_deterministic(tmp_path: Path) -> None:
    a = _small(DEFAULT_FAULT, 3, tmp_path / "a")
    b = _small(DEFAULT_FAULT, 3, tmp_path / "b")
    c = _small(DEFAULT_FAULT, 4, tmp_path / "c", with_repo=False)
    assert a == b and a.commit == _git(tmp_path / "b" / "repo", "rev-parse", "HEAD").strip()
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert not (tmp_path / "c" / "repo").exists() and len(c.commit) == 40


def test_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown fault"):
        simulate("nope", out=tmp_path / "x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        simulate(DEFAULT_FAULT, out=tmp_path / "full")


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=len(BOUNDS) + 1, max_size=len(BOUNDS) + 1))
def test_histogram_quantile_within_bounds(counts: list[int]) -> None:
    q = histogram_quantile(0.95, counts)
    if sum(counts) == 0:
        assert q is None
    else:
        assert q is not None and 0.0 <= q <= BOUNDS[-1]
        assert q <= (histogram_quantile(0.99, counts) or 0.0)
