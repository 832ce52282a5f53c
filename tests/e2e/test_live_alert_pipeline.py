"""End to end on real servers: a scrape target the test controls -> Prometheus evaluates an alert rule ->
Alertmanager posts the alert to `incidentlens serve` -> the server investigates with a live Prometheus source
and records a brief built from what Prometheus answered."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.sources.prometheus_servers import MissingBinary, Server, _start, backfill, free_port, require

FAILING_AFTER_S = 15.0  # payment starts failing this long after the target starts
HISTORY_S = 30 * 60  # a normal half hour before that, backfilled into Prometheus at the scrape interval
DEADLINE_S = 150.0
RATES = {("frontend", "200"): 40.0, ("checkout", "200"): 20.0, ("payment", "200"): 20.0}
FAILING = {("payment", "500"): 15.0, ("frontend", "500"): 5.0}
BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, math.inf)
TYPES = ("# TYPE http_requests_total counter", "# TYPE http_request_duration_seconds histogram")


class ShopTarget:
    """/metrics of a tiny shop: request counters per service and status, payment failing after a while."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def exposition(self) -> str:
        return "\n".join([*TYPES, *self.samples(self.uptime())]) + "\n"

    def uptime(self) -> float:
        """Seconds the shop has been up: the backfilled history, then the time since the target started."""
        return HISTORY_S + time.monotonic() - self.started

    def samples(self, t: float, *, labels: str = "", at: str = "") -> list[str]:
        """Prometheus client conventions: `http_requests_total{code}` and the latency histogram; once payment
        fails, its failed requests also take about half a second."""
        failing = max(0.0, t - HISTORY_S - FAILING_AFTER_S)
        counts = {**{k: r * t for k, r in RATES.items()}, **{k: r * failing for k, r in FAILING.items()}}
        lines = [f'http_requests_total{{service="{s}",code="{c}"{labels}}} {n:.0f}{at}' for (s, c), n in counts.items()]
        for service in sorted({s for s, _ in RATES}):
            fast = sum(n for (s, _), n in counts.items() if s == service and (s, _) in RATES)
            slow = sum(n for (s, c), n in counts.items() if s == service and (s, c) in FAILING)
            for le in BUCKETS:
                n = (fast if le >= 0.05 else 0.0) + (slow if le >= 0.5 else 0.0)
                bound = "+Inf" if le == math.inf else str(le)
                lines.append(
                    f'http_request_duration_seconds_bucket{{service="{service}",le="{bound}"{labels}}} {n:.0f}{at}'
                )
            lines.append(f'http_request_duration_seconds_count{{service="{service}"{labels}}} {fast + slow:.0f}{at}')
            total = 0.04 * fast + 0.45 * slow
            lines.append(f'http_request_duration_seconds_sum{{service="{service}"{labels}}} {total:.3f}{at}')
        return lines

    def history(self) -> str:
        """The normal half hour before the target started, as OpenMetrics with the labels a scrape adds (each
        family's samples together, as the format requires)."""
        now = time.time()
        families: dict[str, list[str]] = {"http_requests": [], "http_request_duration_seconds": []}
        for second in range(HISTORY_S):
            at = f" {now - HISTORY_S + second:.3f}"
            for line in self.samples(float(second), labels=f',job="shop",instance="{self.address}"', at=at):
                family = "http_requests" if line.startswith("http_requests_total") else "http_request_duration_seconds"
                families[family].append(line)
        head = {"http_requests": "# TYPE http_requests counter", "http_request_duration_seconds": TYPES[1]}
        return "\n".join([line for name, lines in families.items() for line in (head[name], *lines)] + ["# EOF"]) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = target.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        return Handler

    def __enter__(self) -> ShopTarget:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


RULES = """groups:
  - name: shop
    interval: 1s
    rules:
      - alert: PaymentErrors
        expr: sum by (service) (rate(http_requests_total{service="payment",code=~"5.."}[10s])) > 2
        for: 30s
        labels: {severity: critical}
        annotations: {summary: "payment requests fail"}
"""


def _prometheus(folder: Path, target: ShopTarget, alertmanager: str) -> Server:
    (folder / "history.om").write_text(target.history(), encoding="utf-8")
    backfill(folder / "history.om", folder / "data")
    (folder / "rules.yml").write_text(RULES, encoding="utf-8")
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{folder / 'rules.yml'}]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{alertmanager}']}}]}}]}}\n"
        f"scrape_configs: [{{job_name: shop, static_configs: [{{targets: ['{target.address}']}}]}}]\n",
        encoding="utf-8",
    )
    port = free_port()
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    return _start("prometheus", argv, f"http://127.0.0.1:{port}", "/-/ready", folder / "prometheus.log")


def _alertmanager(folder: Path, webhook: str, secret: str) -> Server:
    config = folder / "alertmanager.yml"
    config.write_text(
        "route: {receiver: incidentlens, group_wait: 1s, group_interval: 1s, repeat_interval: 1h}\n"
        "receivers:\n"
        "  - name: incidentlens\n"
        f"    webhook_configs: [{{url: '{webhook}', send_resolved: false,"
        f" http_config: {{authorization: {{credentials: '{secret}'}}}}}}]\n",
        encoding="utf-8",
    )
    port = free_port()
    argv = [
        "prometheus-alertmanager",
        f"--config.file={config}",
        f"--storage.path={folder / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return _start("alertmanager", argv, f"http://127.0.0.1:{port}", "/-/ready", folder / "alertmanager.log")


def _serve(workspace: Path, port: int, prometheus: str, secret: str, token: str) -> subprocess.Popen[bytes]:
    workspace.mkdir()
    digest = hashlib.sha256(token.encode()).hexdigest()
    (workspace / "config.yaml").write_text(
        f"users:\n  ops: {{roles: [admin], token_sha256: {digest}}}\n"
        f"web: {{webhook_secrets: {{alertmanager: {secret}}}}}\n"
        f"sources:\n  prom: {{kind: prometheus, url: '{prometheus}', min_step: 1s}}\n",
        encoding="utf-8",
    )
    argv = [sys.executable, "-m", "incidentlens", "--workspace", str(workspace), "serve", "--port", str(port)]
    log = (workspace / "serve.log").open("wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, Any]]:
    try:
        require("prometheus", "promtool", "prometheus-alertmanager")
    except MissingBinary as exc:
        pytest.skip(str(exc))
    secret, token = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    serve_port = free_port()
    started: list[Server] = []
    serve: subprocess.Popen[bytes] | None = None
    with ShopTarget() as target:
        try:
            webhook = f"http://127.0.0.1:{serve_port}/api/v1/webhooks/alertmanager"
            alertmanager = _alertmanager(tmp_path, webhook, secret)
            started.append(alertmanager)
            prometheus = _prometheus(tmp_path, target, alertmanager.url.removeprefix("http://"))
            started.append(prometheus)
            serve = _serve(tmp_path / "ws", serve_port, prometheus.url, secret, token)
            yield {"base": f"http://127.0.0.1:{serve_port}", "token": token, "folder": tmp_path}
        finally:
            if serve is not None:
                serve.terminate()
                serve.wait(20)
            for server in reversed(started):
                server.stop()


def test_an_alert_from_prometheus_gets_a_brief_built_from_live_prometheus_data(servers: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {servers['token']}"}
    deadline = time.monotonic() + DEADLINE_S
    brief: dict[str, Any] | None = None
    while time.monotonic() < deadline and brief is None:
        time.sleep(1)
        try:
            incidents = httpx.get(f"{servers['base']}/api/v1/incidents", headers=headers, timeout=5).json()
        except httpx.HTTPError:
            continue  # the server is still starting
        for incident in incidents if isinstance(incidents, list) else []:
            answer = httpx.get(f"{servers['base']}/api/v1/incidents/{incident['id']}/brief", headers=headers)
            if answer.status_code == 200 and answer.json():
                brief = answer.json()
    logs = "\n".join(
        (servers["folder"] / name).read_text(errors="replace")[-3000:]
        for name in ("ws/serve.log", "prometheus.log", "alertmanager.log")
        if (servers["folder"] / name).exists()
    )
    assert brief is not None, f"no brief within {DEADLINE_S:.0f} s\n{logs}"
    sources = {s["name"]: s for s in brief["sources"]}
    assert sources["alert"]["rows"] == {"alerts": 1}
    prom = sources["prom"]
    assert not prom["failed"] and prom["kind"] == "prometheus", prom
    assert prom["rows"]["metrics"] > 0 and prom["requests"] > 0
    assert brief["impact"]["alerts"] and "PaymentErrors" in brief["impact"]["alerts"][0]
    assert brief["inputs"]["metrics"] == prom["rows"]["metrics"]
    assert brief["hypotheses"] and brief["hypotheses"][0]["service"] == "payment", brief["summary"]
