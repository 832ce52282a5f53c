"""Two `incidentlens serve` processes on one PostgreSQL database, sharing nothing else: the same alert posted to
both at once opens one incident, every job runs once, and the audit chain verifies after 1,000 concurrent
writes from both replicas (`incidentlens audit verify`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from incidentlens.web.settings import hash_token

SRC = Path(__file__).resolve().parents[2] / "src"
AM = "/api/v1/webhooks/alertmanager"
SECRET = {"X-IncidentLens-Webhook-Secret": "s"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def _replica(folder: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    """One replica: its own workspace folder and process; only the database URL is shared."""
    folder.mkdir()
    (folder / "config.yaml").write_text(
        f"users:\n  ops: {{roles: [admin], token_sha256: {hash_token('tok')}}}\n"
        "web: {webhook_secrets: {alertmanager: s}, queue_size: 5000}\n",
        encoding="utf-8",
    )
    port = _free_port()
    argv = [sys.executable, "-m", "incidentlens", "--workspace", str(folder), "--database-url", url]
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen([*argv, "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=_env())
    return proc, f"http://127.0.0.1:{port}"


def _ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"replica {base} did not start\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[tuple[list[str], str]]:
    started = [_replica(tmp_path / f"replica{n}", postgres_url) for n in (1, 2)]
    try:
        for n, (proc, base) in enumerate(started, start=1):
            _ready(base, proc, tmp_path / f"replica{n}" / "serve.log")
        yield [base for _, base in started], postgres_url
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, _ in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _alert(fingerprint: str) -> dict[str, Any]:
    alert = {
        "status": "firing",
        "labels": {"alertname": f"Errors-{fingerprint}", "service": "checkout"},
        "startsAt": "2026-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }
    return {"version": "4", "groupKey": f"{{}}:{{fp={fingerprint}}}", "alerts": [alert]}


def _post(client: httpx.Client, base: str, fingerprint: str) -> dict[str, Any]:
    answer = client.post(f"{base}{AM}", json=_alert(fingerprint), headers=SECRET)
    assert answer.status_code == 202, (base, answer.status_code, answer.text[:500])
    item: dict[str, Any] = answer.json()["alerts"][0]
    return item


def test_two_replicas_dedupe_run_each_job_once_and_keep_one_audit_chain(replicas: tuple[list[str], str]) -> None:
    (first, second), url = replicas
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
        return local.client  # type: ignore[no-any-return]

    # The same fingerprint posted to both replicas at the same instant, 40 times over.
    def race(fingerprint: str) -> list[dict[str, Any]]:
        barrier = threading.Barrier(2)

        def one(base: str) -> dict[str, Any]:
            with httpx.Client(timeout=30) as own:
                barrier.wait()
                return _post(own, base, fingerprint)

        with ThreadPoolExecutor(2) as pair:
            return list(pair.map(one, (first, second)))

    with ThreadPoolExecutor(8) as pool:
        raced = list(pool.map(race, [f"race{n:02d}" for n in range(40)]))
    for answers in raced:
        assert sorted(a["action"] for a in answers) == ["opened", "updated"], answers
        assert answers[0]["incident"] == answers[1]["incident"]

    # 1,000 incidents opened (one audit entry each) from both replicas at once.
    with ThreadPoolExecutor(16) as pool:
        opened = list(pool.map(lambda n: _post(client(), (first, second)[n % 2], f"audit{n:04d}"), range(1000)))
    assert {a["action"] for a in opened} == {"opened"}
    assert len({a["incident"] for a in opened}) == 1000

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            per_fingerprint = connection.execute(
                sa.text("SELECT alert_fingerprint, count(*) FROM incidents GROUP BY alert_fingerprint")
            ).all()
            assert len(per_fingerprint) == 1040 and {n for _, n in per_fingerprint} == {1}
            assert connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() >= 1040
        # Each replica's worker drains the shared queue (no sources configured: each job fails at once).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                waiting = connection.execute(
                    sa.text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
                ).scalar_one()
            if waiting == 0:
                break
            time.sleep(0.5)
        with engine.connect() as connection:
            jobs = connection.execute(sa.text("SELECT status, attempts, error FROM jobs")).all()
    finally:
        engine.dispose()
    # One job per incident, plus one more for a raced fingerprint whose first job had already run.
    assert 1040 <= len(jobs) <= 1080
    assert {(status, attempts) for status, attempts, _ in jobs} == {("failed", 1)}  # each job ran exactly once
    assert all("configure 'sources:'" in error for _, _, error in jobs)

    verify = subprocess.run(
        [sys.executable, "-m", "incidentlens", "--database-url", url, "audit", "verify", "--json"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert '"ok": true' in verify.stdout
