"""The REST API under /api/v1: one router per resource, assembled here."""

from __future__ import annotations

from fastapi import APIRouter

from incidentlens.web import webhooks
from incidentlens.web.api import audit, fixes, incidents, jobs

__all__ = ["router"]

router = APIRouter()
for module in (incidents, fixes, audit, jobs, webhooks):
    router.include_router(module.router)
