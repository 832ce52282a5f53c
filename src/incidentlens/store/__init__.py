"""The workflow database (SQLite by default, PostgreSQL for teams): the only SQL for application state."""

from incidentlens.store.database import Database, open_database
from incidentlens.store.errors import NotFoundError
from incidentlens.store.repository import (
    get_brief,
    get_incident,
    list_incidents,
    record_investigation,
    set_incident_status,
)
from incidentlens.store.rows import (
    IncidentDetail,
    IncidentDraft,
    IncidentRow,
    InvestigationDraft,
    InvestigationRow,
    RecordedInvestigation,
    StatusEvent,
    StoredHypothesis,
)

__all__ = [
    "Database",
    "IncidentDetail",
    "IncidentDraft",
    "IncidentRow",
    "InvestigationDraft",
    "InvestigationRow",
    "NotFoundError",
    "RecordedInvestigation",
    "StatusEvent",
    "StoredHypothesis",
    "get_brief",
    "get_incident",
    "list_incidents",
    "open_database",
    "record_investigation",
    "set_incident_status",
]
