"""The incident console: server-rendered HTML pages and form POSTs over the same workflow functions as the CLI.

Pages work without JavaScript; the vendored htmx only polls the job-progress fragment while a job runs.
"""

from fastapi import APIRouter

from incidentlens.web.console import actions, ask, pages

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(actions.router)
router.include_router(ask.router)
