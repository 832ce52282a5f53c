"""The console in-process (TestClient): login, pages, pictures, escaping, CSRF, roles and the fix flow."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from incidentlens.store.intake_repository import queue_jobs
from incidentlens.web.app import create_app
from incidentlens.web.settings import load_web_settings


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


support = _load("console_workspace")


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> object:
    return support.build_workspace(tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="module")
def app(space: object) -> Iterator[object]:
    settings = load_web_settings(config=space.config, workspace=space.workspace, database_url=None)  # type: ignore[attr-defined]
    application = create_app(settings, run_worker=False)
    yield application


def login(app: object, user: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    response = client.post("/login", data={"user": user, "token": support.TOKENS[user], "next": "/incidents"})
    assert response.status_code == 303 and response.headers["location"] == "/incidents"
    return client


def csrf_of(client: TestClient, path: str = "/incidents/INC-0001") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, "no CSRF field on the page"
    return match.group(1)


def test_pages_need_a_login_and_the_login_page_is_labelled(app: object) -> None:
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    response = client.get("/incidents/INC-0001")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fincidents%2FINC-0001"
    page = client.get("/login?next=/incidents/INC-0001").text
    assert '<label for="login-user">' in page and '<label for="login-token">' in page
    assert 'name="next" value="/incidents/INC-0001"' in page
    assert client.post("/login", data={"user": "alice", "token": "wrong"}).headers["location"].startswith("/login?")
    assert "<main" in page and 'lang="en"' in page


def test_incident_list_shows_status_owner_age_and_filters(app: object, space: object) -> None:
    client = login(app, "carol")
    page = client.get("/incidents").text
    assert "INC-0001" in page and 'href="/incidents/INC-0001"' in page
    assert '<th scope="col">MTTU</th>' in page and 'id="f-status"' in page and '<label for="f-service">' in page
    assert "INC-0001" not in client.get("/incidents?status=closed").text
    assert "INC-0001" in client.get(f"/incidents?service={space.truth['service']}").text  # type: ignore[attr-defined]


def test_incident_page_draws_pictures_and_escapes_telemetry(app: object, space: object) -> None:
    page = login(app, "carol").get("/incidents/INC-0001")
    assert page.status_code == 200
    html = page.text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html  # the log line, shown as text
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') >= 3  # graph, waterfall, sparkline
    assert 'id="graph-title">Involved services' in html and "suspected root cause (cart" in html
    assert "Trace waterfall of exemplar trace" in html and "Sparkline of" in html
    assert 'class="d-add"' in html or 'class="d-del"' in html  # the revert's diff, styled per line
    assert space.top_hypothesis in html and "Audit trail" in html  # type: ignore[attr-defined]
    assert "Needs 2 approver(s)" in html  # the two-person rule on the production service


def test_mutations_need_the_csrf_token_and_the_role(app: object, space: object) -> None:
    hid = space.other_hypothesis  # type: ignore[attr-defined]
    carol = login(app, "carol")
    no_token = carol.post(f"/incidents/INC-0001/hypotheses/{hid}/decide", data={"decision": "confirm"})
    assert no_token.status_code == 403
    vera = login(app, "vera")
    denied = vera.post(
        f"/incidents/INC-0001/hypotheses/{hid}/decide",
        data={"decision": "refute", "comment": "x", "csrf": csrf_of(vera)},
    )
    assert denied.status_code == 403 and "needs the role responder or admin" in denied.text
    assert "Refute</button>" not in vera.get("/incidents/INC-0001").text  # no buttons a viewer cannot use


def test_refuting_needs_a_reason_and_stays_visible(app: object, space: object) -> None:
    hid = space.other_hypothesis  # type: ignore[attr-defined]
    carol = login(app, "carol")
    path = f"/incidents/INC-0001/hypotheses/{hid}/decide"
    missing = carol.post(path, data={"decision": "refute", "comment": " ", "csrf": csrf_of(carol)})
    assert missing.status_code == 400 and "needs a comment saying why" in missing.text
    done = carol.post(
        path, data={"decision": "refute", "comment": "errors <b>start</b> downstream", "csrf": csrf_of(carol)}
    )
    assert done.status_code == 303 and done.headers["location"].endswith(f"#h-{hid}")
    html = carol.get(done.headers["location"].split("#")[0]).text
    block = html[html.index(f'id="h-{hid}"') :]
    assert "st-refuted" in html and "<strong>refuted</strong> by carol" in block
    assert "errors &lt;b&gt;start&lt;/b&gt; downstream" in block


def test_two_approvers_then_the_branch_executor(app: object, space: object) -> None:
    pid = space.revert_id  # type: ignore[attr-defined]
    alice, bob, carol = login(app, "alice"), login(app, "bob"), login(app, "carol")
    r = alice.post(f"/fixes/{pid}/decide", data={"decision": "approve", "comment": "safe", "csrf": csrf_of(alice)})
    assert r.status_code == 303
    html = alice.get("/incidents/INC-0001").text
    assert "has 1 (alice): 1 more approver(s) required" in html
    refused = carol.post(f"/fixes/{pid}/execute", data={"executor": "git_branch", "csrf": csrf_of(carol)})
    assert refused.status_code == 409 and "needs 2 distinct approver" in refused.text
    bob.post(f"/fixes/{pid}/decide", data={"decision": "approve", "csrf": csrf_of(bob)})
    assert "Policy satisfied</strong>: approved by alice, bob" in carol.get("/incidents/INC-0001").text
    ok = carol.post(f"/fixes/{pid}/execute", data={"executor": "git_branch", "csrf": csrf_of(carol)})
    assert ok.status_code == 303
    branch = f"incidentlens/INC-0001-{pid.rsplit('-', 1)[-1]}"
    listed = subprocess.run(
        ["git", "branch", "--list", "incidentlens/*"],
        cwd=space.repo,
        capture_output=True,
        text=True,
        check=True,  # type: ignore[attr-defined]
    ).stdout
    assert branch in listed
    html = carol.get("/incidents/INC-0001").text
    assert f"branch <code>{branch}</code>" in html and "approval_redeemed" in html


def test_job_fragment_polls_only_while_a_job_runs(app: object) -> None:
    carol = login(app, "carol")
    idle = carol.get("/incidents/INC-0001/jobs").text
    assert "hx-trigger" not in idle and "No background jobs" in idle
    db = app.state.db  # type: ignore[attr-defined]
    with db.session() as session:
        queue_jobs(session, {"INC-0001": ({}, 1)}, kind="investigate", now=datetime.now(UTC), max_queued=10)
    busy = carol.get("/incidents/INC-0001/jobs").text
    assert 'hx-trigger="every 2s"' in busy and "queued" in busy
    assert 'hx-get="/incidents/INC-0001/jobs"' in carol.get("/incidents/INC-0001").text


def test_metrics_page_and_static_files(app: object) -> None:
    carol = login(app, "carol")
    html = carol.get("/metrics").text
    assert 'data-testid="aggregates"' in html and '<th scope="row">MTTU</th>' in html and "<svg" in html
    assert carol.get("/metrics?by=incident").status_code == 200
    assert carol.get("/metrics?by=<x>").status_code == 422
    js = carol.get("/static/htmx.min.js")
    assert js.status_code == 200 and js.text.startswith("/*! htmx 2.0.11") and "Zero-Clause BSD" in js.text[:200]
    assert carol.get("/static/console.css").headers["content-type"].startswith("text/css")
    assert carol.get("/static/..%2Fapp.py").status_code == 404
    assert carol.get("/incidents/INC-9999").status_code == 404


def test_everything_served_works_offline(app: object) -> None:
    """Swagger UI pulled its scripts from a CDN; the interactive docs are off and no page loads a remote asset."""
    client = login(app, "carol")
    assert client.get("/api/v1/docs").status_code == 404
    assert client.get("/api/v1/openapi.json").status_code in (200, 401)
    for path in ("/login", "/incidents", "/incidents/INC-0001", "/metrics"):
        page = client.get(path).text
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page), path


def test_incident_page_lists_the_briefs_suggestions_before_any_are_generated(app: object, space: object) -> None:
    page = login(app, "vera").get("/incidents/INC-0001").text
    assert 'data-testid="head"' in page and "What broke" in page
    # Generation is a POST: reading the page stored nothing new, and the stored ones are listed.
    assert 'data-testid="fix"' in page or 'data-testid="brief-fixes"' in page
