"""Alertmanager, PagerDuty, Opsgenie and change-event readers against real samples and generated files."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentlens.errors import FormatError
from incidentlens.ingest import alertmanager, changes, opsgenie, pagerduty
from incidentlens.ingest.common import read_head
from incidentlens.ingest.sink import RowSink

OWN_SAMPLES = {
    alertmanager.READER: {"alertmanager-webhook-v4.synthetic.json"},
    pagerduty.READER: {"pagerduty-v3-incident.priority_updated.json"},
    opsgenie.READER: {"opsgenie-webhook.synthetic.json"},
    changes.READER: set(),
}


def _read(reader: Any, path: Path) -> RowSink:
    sink = RowSink()
    reader.read(path, sink)
    return sink


def _row(sink: RowSink, table: str, index: int = 0) -> dict[str, Any]:
    data = sink.buffers[table]._data
    return {name: values[index] for name, values in data.items()}


def _ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1_000_000_000


@pytest.mark.parametrize("reader", list(OWN_SAMPLES), ids=lambda r: r.name)
def test_sniff_accepts_only_own_samples(reader: Any, formats_dir: Path) -> None:
    for path in sorted(p for p in formats_dir.rglob("*") if p.is_file()):
        assert reader.sniff(read_head(path), path) is (path.name in OWN_SAMPLES[reader]), path.name


def test_alertmanager_webhook_sample(formats_dir: Path) -> None:
    path = formats_dir / "alertmanager-webhook-v4.synthetic.json"
    sink = _read(alertmanager.READER, path)
    assert len(sink.alerts) == 1 and not sink.problems
    row = _row(sink, "alerts")
    labels = json.loads(row.pop("labels"))
    assert row == {
        "starts_ns": _ns("2026-11-28T04:10:00"),
        "ends_ns": 0,
        "name": "CartServiceErrorRate",
        "service": "cart",
        "severity": "critical",
        "status": "firing",
        "fingerprint": "6d1e0a7c2b3f4e5d",
        "summary": "cart error ratio above 5% for 5m",
        "source": f"{path} alerts[0]",
    }
    assert labels["labels"]["namespace"] == "otel-demo"
    assert labels["annotations"]["description"] == "rpc EmptyCart failing: 12.3% errors"
    assert labels["generatorURL"].startswith("http://prometheus.example.com:9090/graph")
    assert labels["groupKey"] == '{}/{severity="page"}:{alertname="CartServiceErrorRate"}'


def test_alertmanager_v2_list_resolved_and_bad_alerts(tmp_path: Path) -> None:
    alerts: list[dict[str, Any]] = [
        {
            "labels": {"alertname": "HighLatency", "job": "checkout", "severity": "WARN"},
            "annotations": {"description": "p99 > 2s"},
            "startsAt": "2026-11-28T04:00:00Z",
            "endsAt": "2026-11-28T04:30:00Z",
            "fingerprint": "aa",
            "receivers": [{"name": "team"}],
            "status": {"state": "suppressed", "silencedBy": ["x"], "inhibitedBy": []},
            "updatedAt": "2026-11-28T04:01:00Z",
            "generatorURL": "http://p",
        },
        {"labels": {"alertname": "NoStart"}, "startsAt": "soon", "status": {"state": "active"}},
        {"annotations": {}, "startsAt": "2026-11-28T04:00:00Z"},
    ]
    path = tmp_path / "v2.json"
    path.write_bytes(orjson.dumps(alerts, option=orjson.OPT_INDENT_2))
    assert alertmanager.READER.sniff(read_head(path), path)
    sink = _read(alertmanager.READER, path)
    row = _row(sink, "alerts")
    assert (row["name"], row["service"], row["severity"], row["status"], row["ends_ns"]) == (
        "HighLatency",
        "checkout",
        "warning",
        "firing",
        0,
    )
    assert row["summary"] == "p99 > 2s" and json.loads(row["labels"])["state"] == "suppressed"
    assert [(p.path, p.reason) for p in sink.problems] == [
        (f"{path}#1", "alert 'NoStart': startsAt 'soon' is not a time"),
        (f"{path}#2", "alert has no 'labels' object"),
    ]
    resolved = {"version": "4", "groupKey": "g", "alerts": [{**alerts[0], "status": "resolved"}]}
    lines = tmp_path / "hooks.jsonl"
    lines.write_bytes(orjson.dumps(resolved) + b"\n" + orjson.dumps(resolved) + b"\n")
    sink = _read(alertmanager.READER, lines)
    assert len(sink.alerts) == 2 and _row(sink, "alerts", 1)["ends_ns"] == _ns("2026-11-28T04:30:00")
    assert _row(sink, "alerts", 1)["source"] == f"{lines}:2 alerts[0]"


@pytest.mark.parametrize(
    ("raw", "severity"),
    [
        ("CRITICAL", "critical"),
        ("page", "critical"),
        ("P1", "critical"),
        ("error", "high"),
        ("p2", "high"),
        ("warn", "warning"),
        ("P3", "warning"),
        ("info", "info"),
        ("p5", "info"),
        ("meh", "unknown"),
        (None, "unknown"),
    ],
)
def test_normalize_severity(raw: Any, severity: str) -> None:
    assert alertmanager.normalize_severity(raw) == severity


def test_pagerduty_sample(formats_dir: Path) -> None:
    path = formats_dir / "pagerduty-v3-incident.priority_updated.json"
    sink = _read(pagerduty.READER, path)
    assert len(sink.alerts) == 1 and not sink.problems
    row = _row(sink, "alerts")
    labels = json.loads(row.pop("labels"))
    assert row == {
        "starts_ns": _ns("2020-04-09T15:16:27"),
        "ends_ns": 0,
        "name": "A little bump in the road",
        "service": "API Service",
        "severity": "critical",
        "status": "firing",
        "fingerprint": "PGR0VU2",
        "summary": "A little bump in the road",
        "source": str(path),
    }
    assert labels["event_type"] == "incident.priority_updated" and labels["priority"] == "P1"
    assert labels["assignees"] == ["User 123"] and labels["teams"] == ["Engineering"]


def test_pagerduty_resolved_urgency_and_non_incident(tmp_path: Path) -> None:
    incident = {
        "id": "P1",
        "type": "incident",
        "status": "resolved",
        "title": "t",
        "urgency": "low",
        "created_at": "2026-11-28T04:00:00Z",
        "service": {"summary": "cart"},
    }
    resolved = {
        "event": {
            "event_type": "incident.resolved",
            "resource_type": "incident",
            "occurred_at": "2026-11-28T04:20:00Z",
            "data": incident,
        }
    }
    other = {"event": {"event_type": "service.updated", "resource_type": "service", "data": {}}}
    path = tmp_path / "pd.json"
    path.write_bytes(orjson.dumps([resolved, other]))
    sink = _read(pagerduty.READER, path)
    row = _row(sink, "alerts")
    assert (row["status"], row["severity"], row["ends_ns"]) == ("resolved", "info", _ns("2026-11-28T04:20:00"))
    assert [(p.path, p.reason) for p in sink.problems] == [
        (f"{path}#1", "event 'service.updated' is not about an incident; skipped")
    ]


def test_opsgenie_sample(formats_dir: Path) -> None:
    path = formats_dir / "opsgenie-webhook.synthetic.json"
    sink = _read(opsgenie.READER, path)
    assert len(sink.alerts) == 1 and not sink.problems
    row = _row(sink, "alerts")
    labels = json.loads(row.pop("labels"))
    assert row == {
        "starts_ns": 1764303000000 * 1_000_000,
        "ends_ns": 0,
        "name": "cart error ratio above 5%",
        "service": "cart",
        "severity": "high",
        "status": "firing",
        "fingerprint": "CartServiceErrorRate-otel-demo",
        "summary": "rpc EmptyCart failing",
        "source": str(path),
    }
    assert labels["alertId"] == "44f717bf-44bd-11c9-44c7-2d0cf1d07b23" and labels["tags"] == ["otel-demo", "cart"]


def test_opsgenie_close_and_bad(tmp_path: Path) -> None:
    close = {
        "action": "Close",
        "alert": {
            "alertId": "a",
            "message": "m",
            "createdAt": 1764303000000,
            "updatedAt": 1764303600000,
            "tags": ["service:ad"],
        },
    }
    path = tmp_path / "og.jsonl"
    path.write_bytes(orjson.dumps(close) + b"\n" + b'{"action": "Create"}\n{oops\n')
    sink = _read(opsgenie.READER, path)
    row = _row(sink, "alerts")
    assert (row["status"], row["service"], row["ends_ns"]) == ("resolved", "ad", 1764303600000 * 1_000_000)
    assert [(p.line, p.path) for p in sink.problems] == [(None, f"{path}:2"), (3, str(path))]


CHANGES: list[dict[str, Any]] = [
    {
        "kind": "deploy",
        "service": "cart",
        "timestamp": "2026-11-28T04:05:00Z",
        "version": "v1.8.0",
        "previous": "v1.7.3",
        "commit": "3f2c9a1e",
        "author": "alice",
        "region": "eu",
    },
    {
        "kind": "Feature-Flag",
        "service": "cart",
        "time": 1795839000,
        "flag": "cartFailure",
        "previous": False,
        "current": True,
    },
    {"kind": "rollback", "service": "ad", "timestamp": "2026-11-28T04:00:00Z"},
    {"kind": "config", "timestamp": "2026-11-28T04:00:00Z"},
    {"kind": "config", "service": "checkout", "ts": "yesterday"},
    {
        "kind": "configuration",
        "service": "checkout",
        "ts": 1795839000123,
        "key": "timeout_ms",
        "previous": 500,
        "current": 50,
        "description": "lower timeout",
    },
]
EXPECTED_REASONS = [
    "unknown kind 'rollback' (expected deploy, config or feature_flag)",
    "missing 'service'",
    "ts 'yesterday' is not a time",
]


def _check_changes(sink: RowSink) -> None:
    data = sink.changes._data
    assert data["kind"] == ["deploy", "feature_flag", "config"]
    assert data["ts_ns"] == [_ns("2026-11-28T04:05:00"), 1795839000 * 10**9, 1795839000123 * 10**6]
    assert data["current"] == ["v1.8.0", "true", "50"] and data["previous"] == ["v1.7.3", "false", "500"]
    assert data["description"] == ["cart: v1.7.3 -> v1.8.0", "cartFailure: false -> true", "lower timeout"]
    assert (data["commit"][0], data["author"][0]) == ("3f2c9a1e", "alice")
    assert json.loads(data["attributes"][0]) == {"region": "eu"}
    assert json.loads(data["attributes"][2]) == {"key": "timeout_ms"}
    assert [p.reason.split(": ", 1)[1] for p in sink.problems] == EXPECTED_REASONS


def test_changes_json_document_and_list(tmp_path: Path) -> None:
    for name, doc in (("doc.json", {"changes": CHANGES}), ("list.json", CHANGES)):
        path = tmp_path / name
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        assert changes.READER.sniff(read_head(path), path)
        sink = _read(changes.READER, path)
        _check_changes(sink)
        assert [p.reason.split(":")[0] for p in sink.problems] == ["changes[2]", "changes[3]", "changes[4]"]
        assert sink.changes._data["source"][0] == f"{path}#changes[0]"


def test_changes_json_lines_gzip(tmp_path: Path) -> None:
    path = tmp_path / "changes.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(c) for c in CHANGES) + b"\n"))
    assert changes.READER.sniff(read_head(path), path)
    sink = _read(changes.READER, path)
    _check_changes(sink)
    assert [p.line for p in sink.problems] == [3, 4, 5]
    assert sink.changes._data["source"][2] == f"{path}:6"


def test_changes_yaml(tmp_path: Path) -> None:
    path = tmp_path / "changes.yaml"
    path.write_text("# deploy log\n" + yaml.safe_dump({"changes": CHANGES}, sort_keys=False))
    assert changes.READER.sniff(read_head(path), path)
    sink = _read(changes.READER, path)
    _check_changes(sink)
    lines = path.read_text().splitlines()
    assert all(lines[p.line - 1].startswith("- kind:") for p in sink.problems if p.line)
    bare = tmp_path / "bare.yaml"
    bare.write_text("- kind: deploy\n  service: cart\n  timestamp: 2026-11-28T04:05:00Z\n")
    assert changes.READER.sniff(read_head(bare), bare)
    assert _read(changes.READER, bare).changes._data["ts_ns"] == [_ns("2026-11-28T04:05:00")]


def test_changes_invalid_documents(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("changes:\n  - kind: deploy\n    service: [unclosed\n")
    with pytest.raises(FormatError, match=r"bad.yaml:\d+: invalid YAML"):
        _read(changes.READER, path)
    path.write_text("changes: 3\n")
    with pytest.raises(FormatError, match="'changes:' list"):
        _read(changes.READER, path)


_scalar = st.one_of(
    st.text(max_size=8), st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none(), st.floats(allow_nan=False)
)
_valid = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(sorted(changes.KINDS)),
        "service": st.text(alphabet="abcdefghij-", min_size=1, max_size=10),
        "timestamp": st.integers(10**9, 2 * 10**9),
    },
    optional={"previous": _scalar, "current": _scalar, "author": _scalar, "extra": _scalar},
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_valid, max_size=10), junk=st.lists(st.dictionaries(st.text(max_size=5), _scalar)))
def test_changes_property_valid_land_junk_reported(
    tmp_path: Path, records: list[dict[str, Any]], junk: list[dict[str, Any]]
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in [*records, *junk]))
    sink = _read(changes.READER, path)
    valid_junk = 0
    for record in junk:
        try:
            changes.change_row(record)
            valid_junk += 1
        except ValueError:
            pass
    assert len(sink.changes) == len(records) + valid_junk
    assert sink.problem_count == len(junk) - valid_junk
    assert sink.changes._data["service"][: len(records)] == [r["service"] for r in records]
    assert sink.changes._data["ts_ns"][: len(records)] == [r["timestamp"] * 10**9 for r in records]
