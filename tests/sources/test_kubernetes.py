"""The Kubernetes source against a local API server speaking the real list protocol."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from incidentlens.analyze.changes import change_findings, change_window
from incidentlens.errors import ConfigError, SourceError
from incidentlens.ingest.common import parse_time_ns
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import parse_source
from incidentlens.sources.kubernetes import KubernetesSource
from incidentlens.sources.protocol import SourceQuery, SourceReport
from incidentlens.sources.registry import build_source
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

from .change_api_server import Answer
from .kubernetes_server import KubernetesApi, status

TOKEN = "k8s-test-token-c2VjcmV0"


def ns(text: str) -> int:
    value = parse_time_ns(text)
    assert value is not None
    return value


QUERY = SourceQuery(
    window=TimeRange(ns("2026-11-28T03:00:00Z"), ns("2026-11-28T05:00:00Z")),
    incident=TimeRange(ns("2026-11-28T04:10:00Z"), ns("2026-11-28T05:00:00Z")),
)


@pytest.fixture
def api() -> Iterator[KubernetesApi]:
    with KubernetesApi(TOKEN) as server:
        yield server  # type: ignore[misc]


def source(url: str, **options: Any) -> KubernetesSource:
    entry = {"kind": "kubernetes", "url": url, "bearer_token": TOKEN, "retries": 0, "retry_backoff_seconds": 0}
    built = build_source(parse_source("k8s", {**entry, **options}))
    assert isinstance(built, KubernetesSource)
    return built


def load(src: KubernetesSource, query: SourceQuery = QUERY) -> tuple[RowSink, SourceReport, list[str]]:
    sink, seen = RowSink(), []
    report = src.load(query, sink, seen.append)
    return sink, report, seen


def stored(sink: RowSink) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with TelemetryStore() as store:
        store.append(sink)
        columns = 'ts_ns, service, kind, description, author, "commit", previous, current, attributes, source'
        changes = [
            dict(zip(columns.replace('"', "").split(", "), row, strict=True))
            for row in store.rows(f"SELECT {columns} FROM changes ORDER BY ts_ns")
        ]
        logs = [
            dict(zip(("ts_ns", "service", "level", "body", "logger", "attributes"), row, strict=True))
            for row in store.rows("SELECT ts_ns, service, level, body, logger, attributes FROM logs ORDER BY ts_ns")
        ]
    return changes, logs


def test_rollouts_events_and_terminations_load_into_the_store(api: KubernetesApi) -> None:
    sink, report, progress = load(source(api.url, page_size=2))
    changes, logs = stored(sink)

    assert [(c["service"], c["kind"], c["ts_ns"]) for c in changes] == [
        ("ad-server", "deploy", ns("2026-11-28T03:50:00Z")),
        ("cart", "deploy", ns("2026-11-28T04:05:00Z")),
        ("checkout", "deploy", ns("2026-11-28T04:20:00Z")),
    ]
    ad, cart, checkout = changes
    assert (cart["previous"], cart["current"]) == ("ghcr.io/shop/cart:1.7.3", "ghcr.io/shop/cart:1.8.0")
    assert cart["description"] == "cart: rollout to revision 5 (ghcr.io/shop/cart:1.7.3 -> ghcr.io/shop/cart:1.8.0)"
    assert json.loads(cart["attributes"]) == {
        "namespace": "shop",
        "deployment": "cart",
        "replicaset": "cart-7d9f8c6b5d",
        "revision": 5,
        "change_cause": "image bump to 1.8.0 (PR #412)",
    }
    assert cart["source"] == "k8s:/apis/apps/v1/namespaces/shop/replicasets/cart-7d9f8c6b5d"
    assert ad["current"] == "ad=ghcr.io/shop/ad:0.9.1, envoy=envoyproxy/envoy:v1.31.2"
    assert ad["previous"] == "ad=ghcr.io/shop/ad:0.9.0, envoy=envoyproxy/envoy:v1.31.2"
    assert "image unchanged" in checkout["description"] and checkout["previous"] == checkout["current"]

    assert [(log["service"], log["level"], log["body"].split(":")[0]) for log in logs] == [
        ("ad-server", "WARN", "FailedMount"),
        ("ad-server", "ERROR", "Error"),
        ("cart", "WARN", "Killing"),
        ("", "ERROR", "OOMKilling"),
        ("cart", "ERROR", "OOMKilled"),
        ("cart", "ERROR", "Evicted"),
        ("cart", "ERROR", "BackOff"),
        ("cart", "WARN", "FailedScheduling"),
        ("checkout", "WARN", "Unhealthy"),
    ]
    assert {log["logger"] for log in logs} == {"kubernetes.event"}
    oom = next(log for log in logs if log["body"].startswith("OOMKilled"))
    assert oom["body"] == "OOMKilled: container cart in pod cart-7d9f8c6b5d-x2k4p (exit 137)"
    assert oom["ts_ns"] == ns("2026-11-28T04:12:31Z")
    assert json.loads(oom["attributes"])["restart_count"] == 3
    backoff = next(log for log in logs if log["body"].startswith("BackOff"))
    assert backoff["ts_ns"] == ns("2026-11-28T04:16:00Z")
    assert json.loads(backoff["attributes"]) == {
        "reason": "BackOff",
        "type": "Warning",
        "namespace": "shop",
        "object": "Pod/cart-7d9f8c6b5d-x2k4p",
        "pod": "cart-7d9f8c6b5d-x2k4p",
        "container": "cart",
        "count": 5,
        "component": "kubelet",
        "node": "node-2",
        "first_seen_ns": ns("2026-11-28T04:12:40Z"),
    }
    scheduling = next(log for log in logs if log["body"].startswith("FailedScheduling"))
    assert scheduling["ts_ns"] == ns("2026-11-28T04:18:02.120114Z")  # the series' last observation
    assert scheduling["body"].endswith("(pod cart-7d9f8c6b5d-q9z8w)")
    probe = next(log for log in logs if log["body"].startswith("Unhealthy"))
    assert probe["body"] == (
        "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (pod checkout-8c5d4f7b9-k2m9x)"
    )

    assert report.rows == {"changes": 3, "logs": 9}
    assert report.services == ["ad-server", "cart", "checkout"]
    assert (report.first_ns, report.last_ns) == (ns("2026-11-28T03:50:00Z"), ns("2026-11-28T04:24:30Z"))
    assert report.errors == [] and report.truncated == [] and report.target == api.url
    assert progress[0] == "k8s: listing deployments (1/4)" and len(progress) == 4
    continued = [r for r in api.requests if r.arg("continue")]
    assert continued and all(r.arg("limit") == "2" for r in api.requests)
    assert report.requests == len(api.requests) == 2 + 4 + 3 + 5  # pages of 2 over 3, 7, 5 and 9 items
    assert {r.headers["authorization"] for r in api.requests} == {f"Bearer {TOKEN}"}


def test_namespaces_and_label_selector_narrow_the_lists(api: KubernetesApi) -> None:
    sink, _report, progress = load(
        source(api.url, namespaces=["shop"], label_selector="app.kubernetes.io/part-of=shop")
    )
    changes, logs = stored(sink)

    assert [c["service"] for c in changes] == ["cart", "checkout"]
    assert {log["service"] for log in logs} == {"cart", "checkout"}  # the node's OOM event is not selected
    assert len(logs) == 6
    assert {r.path for r in api.requests} == {
        "/apis/apps/v1/namespaces/shop/deployments",
        "/apis/apps/v1/namespaces/shop/replicasets",
        "/api/v1/namespaces/shop/pods",
        "/api/v1/namespaces/shop/events",
    }
    selectors = {r.path.rsplit("/", 1)[1]: r.arg("labelSelector") for r in api.requests}
    assert selectors == {
        "deployments": "app.kubernetes.io/part-of=shop",
        "replicasets": "app.kubernetes.io/part-of=shop",
        "pods": "app.kubernetes.io/part-of=shop",
        "events": "",  # events carry no labels: they are kept for the selected objects
    }
    assert progress[-1] == "k8s: listing events in shop (4/4)"


def test_query_services_narrow_the_rows(api: KubernetesApi) -> None:
    query = SourceQuery(QUERY.window, QUERY.incident, services=("checkout",))
    sink, report, _ = load(source(api.url), query)
    changes, logs = stored(sink)
    assert [c["service"] for c in changes] == ["checkout"]
    assert [log["service"] for log in logs] == ["checkout"]
    assert report.services == ["checkout"]


def test_an_expired_continue_token_restarts_the_list_once(api: KubernetesApi) -> None:
    api.expire_continue = 1
    _sink, report, _ = load(source(api.url, page_size=2))
    assert report.rows == {"changes": 3, "logs": 9}
    assert report.errors == []
    assert report.notes == ["/apis/apps/v1/deployments: the continue token expired (410 Gone); the list was restarted"]


def test_a_continue_token_that_keeps_expiring_is_reported(api: KubernetesApi) -> None:
    api.expire_continue = 100
    _sink, report, _ = load(source(api.url, page_size=4))
    assert len(report.errors) == 4  # every list had more than one page
    assert all("HTTP 410" in e and "list incomplete: 4 items read" in e for e in report.errors)
    assert "continue parameter is too old" in report.errors[0]
    assert report.rows  # the first pages still count


def test_forbidden_list_is_reported_with_the_api_message(api: KubernetesApi) -> None:
    api.forbidden = {"replicasets"}
    _sink, report, _ = load(source(api.url))
    assert report.rows == {"logs": 9}
    (error,) = report.errors
    assert "HTTP 403" in error and "/apis/apps/v1/replicasets" in error
    assert 'replicasets.apps is forbidden: User \\"system:serviceaccount:observability:incidentlens\\"' in error


def test_events_fall_back_to_events_k8s_io_when_core_events_are_refused(api: KubernetesApi) -> None:
    api.forbidden = {"events"}
    sink, report, _ = load(source(api.url))
    _, logs = stored(sink)
    assert report.rows == {"changes": 3, "logs": 9}
    assert report.errors == []
    assert "HTTP 403" in report.notes[0] and report.notes[0].endswith("read events.k8s.io/v1 instead")
    assert "/apis/events.k8s.io/v1/events" in {r.path for r in api.requests}
    scheduling = next(log for log in logs if log["body"].startswith("FailedScheduling"))
    assert scheduling["ts_ns"] == ns("2026-11-28T04:18:02.120114Z")


def test_nothing_readable_is_a_source_error(api: KubernetesApi) -> None:
    api.forbidden = {"deployments", "replicasets", "pods", "events", "events.k8s.io"}
    with pytest.raises(SourceError, match=r"kubernetes source 'k8s': nothing could be read: .*HTTP 403"):
        load(source(api.url))


def test_a_server_error_is_retried_then_succeeds(api: KubernetesApi) -> None:
    api.fail_next = [status(503, "ServiceUnavailable", "the server is currently unable to handle the request")]
    _sink, report, _ = load(source(api.url, retries=2))
    assert report.rows == {"changes": 3, "logs": 9} and report.errors == []
    assert report.requests == 5  # one retry


def test_a_server_error_without_retries_is_reported(api: KubernetesApi) -> None:
    api.fail_next = [Answer(500, {"kind": "Status", "status": "Failure", "message": "etcdserver: leader changed"})]
    _sink, report, _ = load(source(api.url))
    (error,) = report.errors
    assert f"GET {api.url}/apis/apps/v1/deployments: HTTP 500" in error and "leader changed" in error
    assert report.rows == {"changes": 3, "logs": 9}  # the service names fall back to the ReplicaSets' labels


def test_a_slow_server_times_out_once_not_per_list(api: KubernetesApi) -> None:
    api.delay_seconds = 2.0
    with pytest.raises(SourceError, match=r"GET http://127\.0\.0\.1:\d+/apis/apps/v1/deployments: timed out after"):
        load(source(api.url, timeout_seconds=0.2, retries=1))
    assert len(api.requests) == 2  # one retry, then the other lists are not tried


def test_row_cap_keeps_changes_first_and_reports_the_rest(api: KubernetesApi) -> None:
    _sink, report, _ = load(source(api.url, max_rows=4))
    assert report.rows == {"changes": 3, "logs": 1}
    assert report.truncated == ["rows capped at 4 (max_rows); 8 more were not loaded"]


def test_a_wrong_token_fails_without_showing_any_token(api: KubernetesApi) -> None:
    wrong = "wrong-token-dG9wc2VjcmV0"
    src = source(api.url, bearer_token=wrong)
    with pytest.raises(SourceError) as caught:
        load(src)
    message = str(caught.value)
    assert "HTTP 401" in message and "Unauthorized" in message
    assert wrong not in message and TOKEN not in message
    assert wrong not in repr(src.config) and wrong not in repr(src)


def test_credentials_never_reach_the_report(api: KubernetesApi) -> None:
    api.forbidden = {"pods"}
    _, report, _ = load(source(api.url))
    assert report.errors and TOKEN not in repr(report)


def certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_in_cluster_reads_the_service_account_and_verifies_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    cert, key = certificate(tmp_path, "server")
    shutil.copy(cert, account / "ca.crt")
    (account / "token").write_text("in-cluster-token-c2VjcmV0\n")
    with KubernetesApi("in-cluster-token-c2VjcmV0").start(tls=(cert, key)) as api:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", api.url.rsplit(":", 1)[1])
        entry = {"kind": "kubernetes", "in_cluster": True, "service_account_dir": str(account), "retries": 0}
        _, report, _ = load(build_source(parse_source("incluster", entry)))  # type: ignore[arg-type]
    assert report.target.startswith("https://127.0.0.1:")
    assert report.rows == {"changes": 3, "logs": 9}


def test_client_certificate_and_ca_file(tmp_path: Path) -> None:
    server_cert, server_key = certificate(tmp_path, "server")
    client_cert, client_key = certificate(tmp_path, "client")
    with KubernetesApi(token=None).start(tls=(server_cert, server_key), client_ca=client_cert) as api:
        entry = {"kind": "kubernetes", "url": api.url, "ca_file": str(server_cert), "retries": 0}
        with pytest.raises(SourceError, match="cannot connect"):  # no client certificate: the handshake fails
            load(build_source(parse_source("k8s", entry)))  # type: ignore[arg-type]
        entry |= {"cert_file": str(client_cert), "key_file": str(client_key)}
        _, report, _ = load(build_source(parse_source("k8s", entry)))  # type: ignore[arg-type]
    assert report.rows == {"changes": 3, "logs": 9}


def test_in_cluster_without_a_service_account_says_so(tmp_path: Path) -> None:
    entry = {"kind": "kubernetes", "in_cluster": True, "service_account_dir": str(tmp_path)}
    with pytest.raises(SourceError, match="cannot read the service-account token"):
        load(build_source(parse_source("incluster", entry)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"namespaces": "shop"}, "'namespaces' must be a list"),
        ({"namespaces": ["Shop_1"]}, "'namespaces' must be a list"),
        ({"page_size": 0}, "'page_size'"),
        ({"in_cluster": "yes"}, "'in_cluster' must be true or false"),
        ({"in_cluster": True}, "give no other credentials"),
        ({"url": None}, "'url' .* is required"),
        ({"labels": "x"}, r"unknown key\(s\) labels for kind 'kubernetes'"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    entry = {"kind": "kubernetes", "url": "https://k8s.example:6443", "bearer_token": TOKEN, **options}
    with pytest.raises(ConfigError, match=message):
        build_source(parse_source("k8s", {k: v for k, v in entry.items() if v is not None}))


def test_a_rollout_before_the_onset_is_found_by_the_change_analysis(api: KubernetesApi) -> None:
    sink, _, _ = load(source(api.url))
    onset = ns("2026-11-28T04:10:00Z")
    with TelemetryStore() as store:
        store.append(sink)
        rows = DuckDBQueries(store).changes(change_window(onset))
    analysis = change_findings(rows, onset_ns=onset)
    best = max(analysis.findings, key=lambda f: f.score)
    evidence = analysis.evidence[best.evidence_ids[0]]
    assert (best.service, best.detail) == ("cart", rows[1].description)
    assert evidence.summary.startswith("deploy of cart 5.0 min before onset: cart: rollout to revision 5")
    assert evidence.source_ref == "k8s:/apis/apps/v1/namespaces/shop/replicasets/cart-7d9f8c6b5d"
