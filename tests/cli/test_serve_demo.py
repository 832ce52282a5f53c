"""`serve --demo` records an incident dated now: MTTA and the error budget must not count the weeks between
the simulation's fixed date and today (issue 15: "MTTA 25d 5h", "4109 % of the error budget")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from incidentlens.cli.commands_serve import _demo
from incidentlens.store.database import open_database
from incidentlens.store.repository import get_incident, list_incidents
from incidentlens.store.rows import IncidentFacts
from incidentlens.workflow import incidents as lifecycle
from incidentlens.workflow.lifecycle import Action
from incidentlens.workflow.metrics import Metric, incident_metrics


def test_demo_incident_is_dated_now_so_mtta_is_minutes(tmp_path: Path) -> None:
    _demo(tmp_path)
    _demo(tmp_path)  # a second start regenerates the bundle instead of reusing stale times
    db = open_database(workspace=tmp_path)
    try:
        rows = list_incidents(db)
        assert rows
        incident = rows[0]
        now = datetime.now(UTC)
        assert now - timedelta(minutes=15) <= incident.detected_at <= now
        lifecycle.apply_action(db, incident_id=incident.id, action=Action.ACK, actor="demo")
        detail = get_incident(db, incident.id)
        metrics = incident_metrics(IncidentFacts(detail.incident, detail.status_events, detail.assignments))
        mtta = metrics.durations[Metric.MTTA]
        assert mtta is not None and mtta < timedelta(minutes=15)
    finally:
        db.dispose()
