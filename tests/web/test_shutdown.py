"""A real `incidentlens serve` stopped by a signal to its whole process group (Ctrl-C, systemd, Kubernetes)
while an investigation runs: the job goes back to the queue, not to `failed`, and the next start runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from incidentlens.store.database import open_database
from incidentlens.store.jobs_repository import JobStatus, get_job
from incidentlens.web.settings import hash_token

SRC = Path(__file__).resolve().parents[2] / "src"


class SlowPrometheus:
    """Answers every Prometheus API call with an empty success, after `delay` seconds while that is set."""

    def __init__(self) -> None:
        self.delay = 60.0
        self.asked = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.asked.set()
                deadline = time.monotonic() + owner.delay
                while time.monotonic() < deadline and owner.delay:
                    time.sleep(0.05)
                data: Any = {"resultType": "matrix", "result": []} if "query" in self.path else []
                body = orjson.dumps({"status": "success", "data": data})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                return

        return Handler

    def __enter__(self) -> SlowPrometheus:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.delay = 0.0
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(workspace: Path, port: int) -> subprocess.Popen[bytes]:
    """`incidentlens serve` in a process group of its own, as a terminal or a service manager starts it."""
    argv = [sys.executable, "-m", "incidentlens", "--workspace", str(workspace), "serve", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    log = (workspace / "serve.log").open("ab")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _until(check: Any, what: str, timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout:.0f} s\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def prometheus() -> Iterator[SlowPrometheus]:
    with SlowPrometheus() as server:
        yield server


def test_process_group_stop_requeues_the_running_job_and_restart_runs_it(
    tmp_path: Path, prometheus: SlowPrometheus
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "config.yaml").write_text(
        f"users:\n  ops: {{roles: [admin], token_sha256: {hash_token('tok')}}}\n"
        "web: {webhook_secrets: {alertmanager: s}}\n"
        f"sources:\n  prom: {{kind: prometheus, url: '{prometheus.url}'}}\n",
        encoding="utf-8",
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = ws / "serve.log"
    started = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    alert = {
        "alerts": [
            {"status": "firing", "labels": {"alertname": "HighErrors", "service": "payment"}, "startsAt": started}
        ]
    }
    server = _serve(ws, port)
    try:
        posted = _until(
            lambda: httpx.post(
                f"{base}/api/v1/webhooks/alertmanager", json=alert, headers={"X-IncidentLens-Webhook-Secret": "s"}
            ).json(),
            "the server answering the webhook",
            30,
            log,
        )
        job_id = posted["alerts"][0]["job"]
        assert prometheus.asked.wait(30), log.read_text(errors="replace")[-3000:]  # the investigation is running
        os.killpg(server.pid, signal.SIGTERM)  # the whole group: the server and its investigation process
        # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit too.
        assert server.wait(45) in (0, -signal.SIGTERM), log.read_text(errors="replace")[-3000:]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
    with open_database(workspace=ws) as db, db.session(readonly=True) as session:
        stopped = get_job(session, job_id=job_id)
    assert stopped.status is JobStatus.QUEUED, (stopped, log.read_text(errors="replace")[-3000:])
    assert stopped.error == "" and "server stopped" in stopped.step and stopped.attempts == 1

    prometheus.delay = 0.0
    server = _serve(ws, port)
    try:
        job = _until(
            lambda: (
                answer
                if (
                    answer := httpx.get(f"{base}/api/v1/jobs/{job_id}", headers={"Authorization": "Bearer tok"}).json()
                )["status"]
                in ("done", "failed")
                else None
            ),
            "the resumed job finishing",
            60,
            log,
        )
    finally:
        server.terminate()
        server.wait(30)
    # Run to its end the second time: the investigation's own verdict on this empty Prometheus, not a crash.
    assert job["attempts"] == 2, job
    assert job["status"] == "failed" and "prom: no rows in the window" in job["error"], job
    assert "Broken" not in job["error"] and "died" not in job["error"]


def test_kill_9_of_the_whole_server_leaves_the_job_running_and_restart_resumes_it(
    tmp_path: Path, prometheus: SlowPrometheus
) -> None:
    """kill -9 gives the server no chance to requeue: the job stays `running` in the database, and the next
    start (a single server owns every running job) puts it back in the queue and runs it as attempt 2."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "config.yaml").write_text(
        f"users:\n  ops: {{roles: [admin], token_sha256: {hash_token('tok')}}}\n"
        "web: {webhook_secrets: {alertmanager: s}}\n"
        f"sources:\n  prom: {{kind: prometheus, url: '{prometheus.url}'}}\n",
        encoding="utf-8",
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = ws / "serve.log"
    started = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    alert = {
        "alerts": [
            {"status": "firing", "labels": {"alertname": "HighErrors", "service": "payment"}, "startsAt": started}
        ]
    }
    server = _serve(ws, port)
    try:
        posted = _until(
            lambda: httpx.post(
                f"{base}/api/v1/webhooks/alertmanager", json=alert, headers={"X-IncidentLens-Webhook-Secret": "s"}
            ).json(),
            "the server answering the webhook",
            30,
            log,
        )
        job_id = posted["alerts"][0]["job"]
        assert prometheus.asked.wait(30), log.read_text(errors="replace")[-3000:]  # the investigation is running
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its investigation process, no shutdown at all
        server.wait(10)
    with open_database(workspace=ws) as db, db.session(readonly=True) as session:
        killed = get_job(session, job_id=job_id)
    assert killed.status is JobStatus.RUNNING and killed.attempts == 1, killed
    code, text = _audit_verify(ws)
    assert code == 0, text

    prometheus.delay = 0.0
    server = _serve(ws, port)
    try:
        job = _until(
            lambda: (
                answer
                if (
                    answer := httpx.get(f"{base}/api/v1/jobs/{job_id}", headers={"Authorization": "Bearer tok"}).json()
                )["status"]
                in ("done", "failed")
                else None
            ),
            "the resumed job finishing",
            60,
            log,
        )
    finally:
        server.terminate()
        server.wait(30)
    assert job["attempts"] == 2, job
    assert job["status"] == "failed" and "prom: no rows in the window" in job["error"], job
    assert "Broken" not in job["error"] and "died" not in job["error"]


def _audit_verify(ws: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "incidentlens", "--workspace", str(ws), "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr
