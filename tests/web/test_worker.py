"""The background worker: real investigations from configured telemetry, progress, failures, resume after restart."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from incidentlens.simulate import DEFAULT_FAULT, simulate
from incidentlens.store.database import Database
from incidentlens.store.jobs_repository import JobRow, JobStatus, claim_next, get_job
from incidentlens.web.app import create_app
from incidentlens.web.settings import hash_token, load_web_settings
from incidentlens.web.webhooks import SECRET_HEADER
from incidentlens.web.worker import Progress

AM = "/api/v1/webhooks/alertmanager"
ADMIN = {"Authorization": "Bearer tok"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    simulate(DEFAULT_FAULT, seed=7, out=out)
    return out


def _settings(tmp_path: Path, telemetry: Path | None) -> object:
    (tmp_path / "c.yaml").write_text(
        f"users:\n  ann: {{roles: [admin], token_sha256: {hash_token('tok')}}}\n"
        "web: {webhook_secrets: {alertmanager: s}}\n" + (f"telemetry: {{paths: [{telemetry}]}}\n" if telemetry else "")
    )
    return load_web_settings(config=tmp_path / "c.yaml", workspace=tmp_path, database_url=None)


def _wait(client: TestClient, job_id: int, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/api/v1/jobs/{job_id}", headers=ADMIN).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_alert_runs_a_real_investigation_recorded_on_its_incident(tmp_path: Path, bundle: Path) -> None:
    alert = orjson.loads(next((bundle / "alerts").iterdir()).read_bytes())
    truth = orjson.loads((bundle / "truth.json").read_bytes())
    with TestClient(create_app(_settings(tmp_path, bundle))) as client:  # type: ignore[arg-type]
        accepted = client.post(AM, json=alert, headers={SECRET_HEADER: "s"}).json()["alerts"][0]
        job = _wait(client, accepted["job"])
        assert job["status"] == "done" and job["step"] == "done" and job["investigation_id"] == 1
        inc = client.get(f"/api/v1/incidents/{accepted['incident']}", headers=ADMIN).json()
    assert inc["status"] == "investigating" and inc["investigations"] == 1
    assert [e["status"] for e in inc["status_history"]] == ["detected", "opened", "investigating"]
    assert inc["hypotheses"][0]["service"] == truth["service"]


def test_failure_is_recorded_with_the_reason(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path, None))) as client:  # type: ignore[arg-type]
        payload = {"alerts": [{"status": "firing", "labels": {"alertname": "X"}, "startsAt": "2026-01-01T00:00:00Z"}]}
        accepted = client.post(AM, json=payload, headers={SECRET_HEADER: "s"}).json()["alerts"][0]
        job = _wait(client, accepted["job"])
    assert job["status"] == "failed" and "configure 'sources:'" in str(job["error"])


def test_jobs_left_running_are_resumed_after_a_restart(tmp_path: Path) -> None:
    settings = _settings(tmp_path, None)
    seen: list[int] = []

    def investigator(db: Database, job: JobRow, progress: Progress) -> int | None:
        progress("step one")
        seen.append(job.attempts)
        return None

    app = create_app(settings, investigator=investigator, run_worker=False)  # type: ignore[arg-type]
    client = TestClient(app)
    payload = {"alerts": [{"status": "firing", "labels": {"alertname": "X"}, "startsAt": "2026-01-01T00:00:00Z"}]}
    job_id = client.post(AM, json=payload, headers={SECRET_HEADER: "s"}).json()["alerts"][0]["job"]
    db: Database = app.state.db
    with db.session() as session:  # a server claimed it, then died
        assert claim_next(session, now=datetime.now(UTC)) is not None
    restarted = create_app(settings, investigator=investigator)  # type: ignore[arg-type]
    with TestClient(restarted) as again:
        job = _wait(again, job_id)
    # Claimed once by the dead server, run once after the restart.
    assert job["status"] == "done" and job["attempts"] == 2 and seen == [2]
    assert job["step"] == "done: nothing to investigate"
    with restarted.state.db.session() as session:
        assert get_job(session, job_id=job_id).status is JobStatus.DONE


def test_a_job_whose_outcome_cannot_be_written_at_once_is_not_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the SQLite lock past the busy timeout when the job finishes ("database is
    locked"): the worker retries recording the outcome instead of leaving the job `running` forever."""
    import sqlite3
    import threading

    from incidentlens.store import database

    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 100)
    settings = _settings(tmp_path, None)

    def investigator(db: Database, job: JobRow, progress: Progress) -> int | None:
        blocker = sqlite3.connect(tmp_path / "incidentlens.db", isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")  # a long write elsewhere (another process, a big payload)
        threading.Timer(1.5, lambda: (blocker.rollback(), blocker.close())).start()
        return None

    app = create_app(settings, investigator=investigator, run_worker=False)  # type: ignore[arg-type]
    client = TestClient(app)
    payload = {"alerts": [{"status": "firing", "labels": {"alertname": "X"}, "startsAt": "2026-01-01T00:00:00Z"}]}
    job_id = client.post(AM, json=payload, headers={SECRET_HEADER: "s"}).json()["alerts"][0]["job"]
    finished = app.state.worker.run_once()
    assert finished is not None and finished.id == job_id
    with app.state.db.session(readonly=True) as session:
        job = get_job(session, job_id=job_id)
    assert job.status is JobStatus.DONE and job.step == "done: nothing to investigate"
