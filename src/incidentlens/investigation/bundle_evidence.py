"""Evidence of a bundle for `incidentlens locate --bundle`: the warning and error templates and the stack
frames a bundle's services logged, mined exactly as an investigation mines them."""

from __future__ import annotations

from pathlib import Path

from incidentlens.analyze.logs import mine_groups
from incidentlens.errors import InputError
from incidentlens.ingest.runner import ingest_paths
from incidentlens.locate.hypothesis import frames_from_json
from incidentlens.model.records import TimeRange
from incidentlens.model.stack import Frame
from incidentlens.telemetry.queries import DuckDBQueries
from incidentlens.telemetry.store import TelemetryStore

MAX_BUNDLE_TEMPLATES = 20


def bundle_evidence(bundle: Path, service: str | None) -> tuple[list[str], list[Frame], list[str]]:
    """Warning/error templates and logged stack frames of a bundle, read into a private in-memory store."""
    if not bundle.is_dir():
        raise InputError(f"--bundle {bundle}: not a folder")
    with TelemetryStore() as store:
        ingest_paths([bundle], store)
        queries = DuckDBQueries(store)
        bounds = queries.bounds()
        if bounds is None:
            return [], [], [f"{bundle}: no telemetry found"]
        whole = TimeRange(bounds.start_ns, bounds.end_ns + 1)
        # the same mined templates investigate uses; warnings and errors only
        mined = mine_groups(queries.log_message_groups(TimeRange(bounds.start_ns, bounds.start_ns), whole))
        stats = [
            s
            for s in mined
            if s.level in ("WARN", "ERROR", "FATAL") and s.incident_count and (service is None or s.service == service)
        ]
        stats.sort(key=lambda s: (-s.incident_count, s.template))
        templates = list(dict.fromkeys(s.template for s in stats))[:MAX_BUNDLE_TEMPLATES]
        services = sorted({s.service for s in stats if s.service} | ({service} if service else set()))
        frames = [
            f for svc in services for g in queries.exception_frames(svc, whole) for f in frames_from_json(g.frames)
        ]
    return templates, frames, []
