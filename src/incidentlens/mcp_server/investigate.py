"""The `investigate` tool: the configured sources for a window or an alert, through the investigation use case.

Not recorded by default (reading changes nothing); the result is kept in memory as `RUN-n` so its evidence
and symptoms can be fetched. Recording is a change: only with `mcp.allow_changes`, as the acting identity.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson

from incidentlens.errors import ConfigError, InputError
from incidentlens.investigation import InvestigationRequest, InvestigationResult, TimeWindow, run
from incidentlens.investigation.record import record_result
from incidentlens.investigation.times import parse_cli_time
from incidentlens.mcp_server.compact import hypothesis_item
from incidentlens.mcp_server.context import ToolContext
from incidentlens.mcp_server.paging import shorten
from incidentlens.memory.index import MemoryIndex
from incidentlens.memory.indexing import load_fingerprints
from incidentlens.memory.retrieve import recaller
from incidentlens.model.enums import Role
from incidentlens.sources.files import FileSource
from incidentlens.sources.protocol import Source
from incidentlens.sources.registry import build_source
from incidentlens.workflow.identity import require_role

__all__ = ["investigate"]

HYPOTHESES_SHOWN = 5
MAX_ALERT_BYTES = 1_000_000
RECORDERS = (Role.RESPONDER, Role.ADMIN)


def _sources(ctx: ToolContext, names: list[str] | None) -> list[Source]:
    configured = {c.name: c for c in ctx.settings.web.sources}
    chosen = list(configured) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in configured]
    if unknown:
        known = ", ".join(sorted(configured)) or "none (add a 'sources:' section to the settings file)"
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; configured: {known}")
    return [build_source(configured[n]) for n in chosen]


def _window(since: str | None, until: str | None, onset: str | None) -> TimeWindow:
    return TimeWindow(
        since_ns=parse_cli_time("since", since),
        until_ns=parse_cli_time("until", until),
        onset_ns=parse_cli_time("onset", onset),
    )


def investigate(
    ctx: ToolContext,
    *,
    sources: list[str] | None,
    since: str | None,
    until: str | None,
    onset: str | None,
    alert: dict[str, Any] | None,
    services: list[str] | None,
    record: bool,
) -> dict[str, Any]:
    if record and not ctx.settings.allow_changes:
        raise InputError("record=true changes the workflow database: enable it with 'mcp: {allow_changes: true}'")
    actor = ctx.acting() if record else None
    if record:
        if actor is None:
            raise ConfigError("no identity to record as: set 'mcp.identity' or default_user in the settings")
        require_role(actor, *RECORDERS)
    window = _window(since, until, onset)
    chosen = _sources(ctx, sources)
    if not chosen and alert is None:
        raise InputError("nothing to investigate: configure 'sources:' in the settings file or pass an alert")
    if alert is None and not window.given and any(s.live for s in chosen):
        raise InputError("live sources need a window: give since/until (e.g. since='-1h') or onset, or an alert")
    fingerprints = load_fingerprints(ctx.db)
    with tempfile.TemporaryDirectory(prefix="incidentlens-mcp-") as tmp:
        if alert is not None:
            chosen.insert(0, _alert_source(alert, Path(tmp)))
        request = InvestigationRequest(
            sources=tuple(chosen),
            window=window,
            recall=recaller(MemoryIndex(fingerprints)) if fingerprints else None,
            services=tuple(services or ()),
        )
        result = run(request)
    run_id = ctx.runs.add(result)
    recorded = None
    if record and actor is not None:
        inputs: dict[str, Any] = {**result.brief.inputs, "via": "mcp", "actor": actor.name}
        recorded = record_result(ctx.db, result, workspace="mcp", inputs=inputs).incident_id
    return _summary(run_id, result, recorded)


def _alert_source(alert: dict[str, Any], folder: Path) -> Source:
    """The alert payload (Alertmanager, PagerDuty, Opsgenie webhook JSON) as a file the usual readers parse."""
    data = orjson.dumps(alert)
    if len(data) > MAX_ALERT_BYTES:
        raise InputError(f"the alert payload is {len(data):,} bytes; at most {MAX_ALERT_BYTES:,}")
    path = folder / "alert.json"
    path.write_bytes(data)
    return FileSource.of([path], name="alert", signal="alerts")


def _summary(run_id: str, result: InvestigationResult, recorded: str | None) -> dict[str, Any]:
    brief = result.brief
    source_problems = [f"{r.name}: {shorten(line, 240)}" for r in result.sources for line in (*r.errors, *r.truncated)]
    return {
        "run_id": run_id,
        "recorded_as": recorded,
        "title": shorten(brief.title, 240),
        "summary": shorten(brief.summary, 600),
        "abstained": brief.abstained,
        "window": {"incident": list(brief.incident), "baseline": list(brief.baseline), "onset_ns": brief.onset_ns},
        "hypotheses": [hypothesis_item(h, rank=i) for i, h in enumerate(result.hypotheses[:HYPOTHESES_SHOWN], 1)],
        "hypotheses_total": len(result.hypotheses),
        "evidence_total": len(result.evidence),
        "seen_before": [s.incident_id for s in brief.seen_before],
        "warnings": [shorten(w, 240) for w in brief.warnings],
        "source_problems": source_problems,
        "next": f"get_evidence(run_id='{run_id}', evidence_ids=[...]) for excerpts; search_memory(run_id='{run_id}')",
    }
