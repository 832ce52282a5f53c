"""The Prometheus source against real servers: a simulated CPU-saturation incident, backfilled from the raw
exporter series the simulator writes, investigated live from Prometheus and from VictoriaMetrics, must name
the simulated root cause, and the same one as investigating the simulator's own metric file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from incidentlens.cli.app import app
from incidentlens.cli.main import main  # noqa: F401 - registers every command
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.runner import ingest_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation import InvestigationRequest, run_on_store
from incidentlens.model import FaultKind, TimeRange
from incidentlens.sources.config import parse_source
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.store import TelemetryStore

from .prometheus_servers import MissingBinary, Shared, shared_servers


@pytest.fixture(scope="module")
def servers() -> Shared:
    try:
        return shared_servers()
    except MissingBinary as exc:
        pytest.skip(str(exc))


def _window(servers: Shared) -> SourceQuery:
    """The bundle's 40 minutes; no services named, as when an alert alone starts the investigation."""
    truth = servers.truth
    window = TimeRange(parse_time_ns(truth.window_start) or 0, parse_time_ns(truth.window_end) or 0)
    return SourceQuery(window=window, incident=TimeRange(truth.alert_ns, window.end_ns))


def _live(servers: Shared, url: str) -> tuple[SourceReport, TelemetryStore]:
    store = TelemetryStore()
    source = build_source(parse_source("live", {"kind": "prometheus", "url": url, "retry_backoff_seconds": 0}))
    sink = RowSink()
    sink.attach(store.append_buffer)
    progress: list[str] = []
    with store.transaction():
        report = source.load(_window(servers), sink, progress.append)
        store.append(sink)
    assert progress and progress[0] == "live: discovering series"
    ingest_paths([servers.bundle / "alerts" / "alertmanager.json"], store)
    return report, store


@pytest.fixture(scope="module")
def from_files(servers: Shared) -> tuple[str, FaultKind]:
    """The top hypothesis from the simulator's own metric file and alert."""
    store = TelemetryStore()
    ingest_paths(
        [servers.bundle / "metrics" / "metrics.prom.json", servers.bundle / "alerts" / "alertmanager.json"], store
    )
    top = run_on_store(store, InvestigationRequest(sources=())).hypotheses[0]
    return top.service, top.fault


@pytest.mark.parametrize("backend", ["prometheus", "victoria-metrics"])
def test_live_investigation_names_the_simulated_root_cause(
    servers: Shared, from_files: tuple[str, FaultKind], backend: str
) -> None:
    server = servers.prometheus if backend == "prometheus" else servers.victoria
    if server is None:
        pytest.skip("victoria-metrics not installed")
    report, store = _live(servers, server.url)

    assert report.errors == [] and report.truncated == []
    assert servers.truth.service in report.services
    window = _window(servers).window
    assert report.first_ns is not None and report.last_ns is not None
    assert window.start_ns <= report.first_ns < report.last_ns <= window.end_ns
    names = {row[0] for row in store.rows("SELECT DISTINCT name FROM metrics")}
    assert {
        "http_server_requests_per_second",
        "http_server_error_ratio",
        "http_server_request_duration_seconds_p95",
        "container_cpu_usage_cores",
        "container_memory_working_set_bytes",
        "container_restarts_per_second",
        "db_client_connections_in_use",  # a raw gauge of a service, found by discovery
    } <= names
    assert report.rows["metrics"] == store.scalar("SELECT count(*) FROM metrics")

    top = run_on_store(store, InvestigationRequest(sources=())).hypotheses[0]
    assert top.service == servers.truth.service
    assert top.fault.value == servers.truth.fault_kind == FaultKind.CPU.value
    assert (top.service, top.fault) == from_files


@pytest.mark.parametrize("backend", ["prometheus", "victoria-metrics"])
def test_investigate_source_with_the_alert_from_the_command_line(
    servers: Shared, from_files: tuple[str, FaultKind], backend: str, tmp_path: Path
) -> None:
    """`incidentlens investigate --source prom --alert alert.json`: the window comes from the alert alone."""
    server = servers.prometheus if backend == "prometheus" else servers.victoria
    if server is None:
        pytest.skip("victoria-metrics not installed")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"sources": {"prom": {"kind": "prometheus", "url": server.url}}}))
    alert = servers.bundle / "alerts" / "alertmanager.json"
    argv = ["--workspace", str(tmp_path / "ws"), "investigate", "--config", str(config), "--source", "prom"]
    result = CliRunner().invoke(app, [*argv, "--alert", str(alert), "--no-record", "--no-memory", "--json"])
    assert result.exit_code == 0, result.output
    brief = orjson.loads(result.stdout)
    top = brief["hypotheses"][0]
    assert (top["service"], top["fault"]) == (servers.truth.service, from_files[1].value)
    assert top["service"] == from_files[0]
    prom = next(s for s in brief["sources"] if s["name"] == "prom")
    assert prom["rows"]["metrics"] > 0 and not prom["failed"] and not prom["errors"]
    lead = 45 * 60 * 10**9  # the onset search (15 min) and the normal period (30 min) before the alert
    assert brief["baseline"][0] >= servers.truth.alert_ns - lead
