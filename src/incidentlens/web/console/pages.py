"""Console pages (GET): login, incidents list, incident, its job-progress fragment, metrics, static files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from incidentlens.assist.settings import assist_settings
from incidentlens.errors import IncidentLensError
from incidentlens.report.assistance import Assistance
from incidentlens.store.errors import NotFoundError
from incidentlens.web.auth import current_user, safe_next
from incidentlens.web.console.incident_view import incident_view, job_rows
from incidentlens.web.console.listing import CHART_METRICS, DEFINITION_ROWS, incident_rows, metrics_report, mttx_chart
from incidentlens.web.console.render import TEMPLATES, login_redirect, page
from incidentlens.web.problems import scrub, status_of
from incidentlens.workflow.config import Settings

__all__ = ["render_incident", "router"]

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parents[1] / "static"
STATIC_TYPES = {"htmx.min.js": "text/javascript", "console.css": "text/css", "htmx.LICENSE": "text/plain"}


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The vendored htmx and the stylesheet: a fixed list, so no path can leave the folder."""
    if name not in STATIC_TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(STATIC / name, media_type=STATIC_TYPES[name], headers={"Cache-Control": "max-age=3600"})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/incidents", error: str = "") -> HTMLResponse:
    """The login form; POST /login checks the token and sets the session."""
    message = "Unknown user or wrong token." if error else ""
    return page(request, "login.html", {"next": safe_next(next), "error": message}, status_code=401 if error else 200)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/incidents", status_code=303)


@router.get("/incidents", response_model=None)
def incidents_page(
    request: Request,
    status: Annotated[str, Query()] = "",
    service: Annotated[str, Query()] = "",
    severity: Annotated[str, Query()] = "",
) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    now = datetime.now(UTC)
    rows, choices = incident_rows(request.app.state.db, now=now, status=status, service=service, severity=severity)
    chosen = {"status": status, "service": service, "severity": severity}
    return page(request, "incidents.html", {"rows": rows, "choices": choices, "chosen": chosen})


def render_incident(
    request: Request,
    incident_id: str,
    *,
    error: str = "",
    done: str = "",
    status_code: int = 200,
    answer: Assistance | None = None,
    question: str = "",
) -> Response:
    """The incident page, optionally with the outcome of an action (an error keeps its HTTP status)."""
    settings = request.app.state.settings
    try:
        view = incident_view(
            request.app.state.db, incident_id=incident_id, settings=settings.workflow, now=datetime.now(UTC)
        )
    except NotFoundError as exc:
        return page(request, "error.html", {"message": scrub(request, str(exc))}, status_code=404)
    context = {
        "v": view,
        "error": error,
        "done": done,
        "executors": ("git_branch", "github_pr", "command"),
        "answer": answer,
        "question": question,
        "can_ask": _model_configured(settings.workflow),
    }
    return page(request, "incident.html", context, status_code=status_code)


@router.get("/incidents/{incident_id}", response_model=None)
def incident_page(request: Request, incident_id: str, done: str = "") -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    return render_incident(request, incident_id, done=done)


@router.get("/incidents/{incident_id}/jobs", response_model=None)
def jobs_fragment(request: Request, incident_id: str) -> Response:
    """The job-progress fragment htmx polls while a background job runs (it stops polling when none does)."""
    if current_user(request) is None:
        return Response("log in to see job progress", status_code=401, media_type="text/plain")
    try:
        rows = job_rows(request.app.state.db, incident_id=incident_id)
    except IncidentLensError as exc:
        return Response(scrub(request, str(exc)), status_code=status_of(exc), media_type="text/plain")
    return TEMPLATES.TemplateResponse(request, "_jobs.html", {"jobs": rows, "incident_id": incident_id})


@router.get("/metrics", response_model=None)
def metrics_page(request: Request, by: Annotated[str, Query(pattern="^(week|incident)$")] = "week") -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    report = metrics_report(request.app.state.db)
    chart, points = mttx_chart(report, by=by)
    context = {
        "report": report,
        "chart": chart,
        "points": points,
        "by": by,
        "chart_metrics": [m.value.upper() for m in CHART_METRICS],
        "definitions": DEFINITION_ROWS,
    }
    return page(request, "metrics.html", context)


def _model_configured(settings: Settings) -> bool:
    """Whether to offer "Ask": a broken llm section hides the form (the CLI and the POST name the error)."""
    try:
        return assist_settings(settings) is not None
    except IncidentLensError:
        return False
