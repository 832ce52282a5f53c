"""The ASGI application: one database, the API under /api/v1, login/logout, the console, the worker;
wrapped in security headers, a request-body cap and settings reload (`middleware.py`)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from incidentlens import __version__
from incidentlens.store.database import open_database
from incidentlens.store.jobs_repository import session_key
from incidentlens.web.api import router as api_router
from incidentlens.web.auth import router as auth_router
from incidentlens.web.console import router as console_router
from incidentlens.web.hooks import after_job
from incidentlens.web.intake_batch import IntakeWriter
from incidentlens.web.investigate import default_investigator
from incidentlens.web.middleware import BodyLimit, SecurityHeaders, SettingsReloader, SettingsWatch
from incidentlens.web.problems import install_problem_handlers
from incidentlens.web.settings import WebSettings
from incidentlens.web.throttle import Throttle
from incidentlens.web.worker import Investigator, Worker

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


def create_app(settings: WebSettings, *, investigator: Investigator | None = None, run_worker: bool = True) -> FastAPI:
    """Build the app on the settings' database (migrated on open).

    `app.state` holds `db`, `settings` (replaced when the settings file changes), `secret_key`, `throttle`,
    `worker` and `intake` (the alert writer). The worker thread runs while the app's
    lifespan does (uvicorn, or `with TestClient(app)`); `investigator` replaces the default investigation
    (tests), `run_worker=False` leaves jobs queued.
    """
    db = open_database(settings.database_url, workspace=settings.workspace)
    if settings.secret_key:
        secret = hashlib.sha256(settings.secret_key.encode("utf-8")).digest()
    else:
        with db.session() as session:
            secret = session_key(session)
    worker = Worker(
        db,
        investigator or default_investigator(settings),
        queue_size=settings.queue_size,
        on_finished=after_job(settings, db),
    )

    intake = IntakeWriter(db, lambda: worker.queue_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_worker:
            worker.start()
        try:
            yield
        finally:
            intake.close()
            worker.stop()
            db.dispose()

    app = FastAPI(
        title="IncidentLens",
        version=__version__,
        summary="Evidence-backed incident response: the tool prepares, humans decide.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI loads its assets from a CDN; IncidentLens must work offline (issue 15)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.secret_key = secret
    app.state.worker = worker
    app.state.intake = intake
    app.state.throttle = Throttle()
    install_problem_handlers(app)
    # Added innermost first: headers wrap everything, the body cap comes before any route reads a byte.
    app.add_middleware(SettingsReloader, state=app.state, watch=SettingsWatch.of(settings))
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, docs_path=f"{API_PREFIX}/docs")
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(auth_router)
    app.include_router(console_router)
    return app
