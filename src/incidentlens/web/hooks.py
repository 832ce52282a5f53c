"""What happens after a background job finishes: the Slack notification when one is configured."""

from __future__ import annotations

from incidentlens.store.database import Database
from incidentlens.store.jobs_repository import JobRow, JobStatus
from incidentlens.store.repository import get_brief
from incidentlens.web.notify import message_from_brief, post_slack
from incidentlens.web.settings import WebSettings
from incidentlens.web.worker import OnFinished

__all__ = ["after_job"]


def after_job(settings: WebSettings, db: Database) -> OnFinished | None:
    """Post each recorded investigation to Slack (None when no webhook URL is configured)."""
    url = settings.slack_webhook_url
    if not url:
        return None

    def notify(job: JobRow) -> None:
        if job.status is not JobStatus.DONE or job.investigation_id is None:
            return
        brief = get_brief(db, investigation_id=job.investigation_id)
        post_slack(url, message_from_brief(brief, incident_id=job.incident_id, base_url=settings.public_base_url))

    return notify
