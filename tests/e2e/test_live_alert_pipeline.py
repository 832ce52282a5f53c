"""End to end on real servers: a scrape target the test controls -> Prometheus evaluates an alert rule ->
Alertmanager posts the alert to `incidentlens serve` -> the server investigates with a live Prometheus source
and records a brief built from what Prometheus answered."""

from __future__ import annotations

import hashlib
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
from tests.sources.prometheus_servers import MissingBinary, Server, _start, free_port, require

FAILING_AFTER_S = 25.0  # payment starts failing this long after the target starts
DEADLINE_S = 150.0


class ShopTarget:
    """/metrics of a tiny shop: request counters per service and status, payment failing after a while."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def exposition(self) -> str:
        t = time.monotonic() - self.started
        failing = max(0.0, t - FAILING_AFTER_S)
        lines = ["# TYPE http_server_requests_total counter"]
        for service, ok in (("frontend", 40.0), ("checkout", 20.0), ("payment", 20.0)):
            lines.append(f'http_server_requests_total{{service="{service}",code="200"}} {ok * t:.0f}')
        lines.append(f'http_server_requests_total{{service="payment",code="500"}} {15.0 * failing:.0f}')
        lines.append(f'http_server_requests_total{{service="frontend",code="500"}} {5.0 * failing:.0f}')
        return "\n".join(lines) + "\n"

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
        expr: sum by (service) (rate(http_server_requests_total{service="payment",code=~"5.."}[10s])) > 2
        labels: {severity: critical}
        annotations: {summary: "payment requests fail"}
"""


def _prometheus(folder: Path, target: str, alertmanager: str) -> Server:
    (folder / "rules.yml").write_text(RULES, encoding="utf-8")
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{folder / 'rules.yml'}]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{alertmanager}']}}]}}]}}\n"
        f"scrape_configs: [{{job_name: shop, static_configs: [{{targets: ['{target}']}}]}}]\n",
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
        require("prometheus", "prometheus-alertmanager")
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
            prometheus = _prometheus(tmp_path, target.address, alertmanager.url.removeprefix("http://"))
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
