"""Rendering console pages: the Jinja2 environment (autoescaped .html templates) and common page context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from incidentlens.report.brief import clock, iso
from incidentlens.web.auth import csrf_token, current_user

__all__ = ["TEMPLATES", "human_duration", "login_redirect", "page"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
TEMPLATES.env.globals.update(iso=iso, clock=clock)


def human_duration(value: timedelta | float | None) -> str:
    """'3m 20s', '2h 05m', '4d 3h'; '-' when not reached (never a misleading zero)."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 0:
        return "-"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


TEMPLATES.env.filters["duration"] = human_duration


def page(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """A full page with the logged-in user, the CSRF token for its forms and the current time."""
    base = {
        "user": current_user(request),
        "csrf": csrf_token(request),
        "now": datetime.now(UTC),
        "path": request.url.path,
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def login_redirect(request: Request) -> RedirectResponse:
    """Not logged in: to the login page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
