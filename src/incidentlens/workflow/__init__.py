"""Incident lifecycle and the hypothesis ledger, written through `store/`."""

from incidentlens.store.repository import get_incident, list_incidents
from incidentlens.store.rows import RecordedInvestigation
from incidentlens.workflow.investigations import record_investigation

__all__ = ["RecordedInvestigation", "get_incident", "list_incidents", "record_investigation"]
