"""The MCP server: tool declarations for the SDK, and the one place errors become MCP tool errors.

Tools are thin: each validates nothing itself, runs the plain function from `reads.py`, `investigate.py` or
`changes.py` on a worker thread (they touch the database, git and the telemetry store) and returns compact
JSON. An `IncidentLensError` becomes a tool error carrying its message; anything else is reported by the
SDK as "Error executing tool NAME" with the traceback only in the server's log.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
import orjson
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from incidentlens import __version__
from incidentlens.errors import IncidentLensError
from incidentlens.mcp_server import changes, reads
from incidentlens.mcp_server.context import ToolContext
from incidentlens.mcp_server.investigate import investigate
from incidentlens.model.enums import EvidenceKind, HypothesisStatus, IncidentStatus

__all__ = ["INSTRUCTIONS", "build_server"]

INSTRUCTIONS = (
    "IncidentLens investigates incidents deterministically from logs, traces, metrics, changes and code, and "
    "keeps a ledger of hypotheses with evidence ids. Start with list_incidents or investigate; follow ids "
    "(hypothesis -> supporting evidence ids -> get_evidence). Lists are paged: pass next_cursor back. "
    "Fix suggestions are only ever approved and executed by people."
)

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
CHANGE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)

IncidentId = Annotated[str, Field(description="Incident id, e.g. INC-0001 (see list_incidents).", max_length=64)]
Limit = Annotated[int, Field(description="Page size (1-100).", ge=1, le=100)]
Cursor = Annotated[str | None, Field(description="next_cursor from the previous page; omit for the first.")]
RunId = Annotated[str | None, Field(description="RUN-n from investigate (instead of incident_id).", max_length=32)]
OptIncident = Annotated[str | None, Field(description="A recorded incident's id (instead of run_id).", max_length=64)]
Text = Annotated[str, Field(description="Why, for the record (status history and audit trail).", max_length=10_000)]


def _result(data: dict[str, Any]) -> CallToolResult:
    """Compact JSON (no indentation) as text, and the same object as structured content."""
    text = orjson.dumps(data, default=str).decode()
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _caller() -> str | None:
    """The user whose bearer token authenticated this HTTP request (set by `transport_http.TokenGate`)."""
    token = get_access_token()
    return token.client_id if token is not None else None


class _Runner:
    """Runs a plain tool function for one call: the caller's copy of the context, a worker thread, errors."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    async def __call__(self, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> CallToolResult:
        call_ctx = dataclasses.replace(self.ctx, caller=_caller())
        try:
            data = await anyio.to_thread.run_sync(functools.partial(fn, call_ctx, **kwargs))
        except IncidentLensError as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from None
        return _result(data)


def build_server(ctx: ToolContext) -> MCPServer[Any]:
    """The server with the read-only tools, and the change tools when `mcp.allow_changes` is on."""
    server: MCPServer[Any] = MCPServer(
        "incidentlens", instructions=INSTRUCTIONS, version=__version__, website_url=None, log_level="WARNING"
    )
    call = _Runner(ctx)
    _read_tools(server, call)
    if ctx.settings.allow_changes:
        _change_tools(server, call)
    return server


def _read_tools(server: MCPServer[Any], call: _Runner) -> None:
    @server.tool(annotations=READ)
    async def list_incidents(
        status: Annotated[IncidentStatus | None, Field(description="Only incidents in this status.")] = None,
        service: Annotated[str | None, Field(description="Only incidents of this service.")] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> CallToolResult:
        """Incidents, newest first: id, title, status, severity, service. Paged."""
        return await call(reads.list_incidents_tool, status=status, service=service, limit=limit, cursor=cursor)

    @server.tool(annotations=READ)
    async def show_incident(incident_id: IncidentId) -> CallToolResult:
        """One incident: status, owner, recent status changes, top hypotheses with evidence ids, MTTx so far."""
        return await call(reads.show_incident, incident_id=incident_id)

    @server.tool(annotations=READ)
    async def show_ledger(
        incident_id: IncidentId,
        status: Annotated[HypothesisStatus | None, Field(description="Only hypotheses in this status.")] = None,
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> CallToolResult:
        """The hypothesis ledger: every hypothesis across investigations, its status, evidence ids and decision."""
        return await call(reads.show_ledger, incident_id=incident_id, status=status, limit=limit, cursor=cursor)

    @server.tool(name="investigate", annotations=READ)
    async def investigate_tool(
        sources: Annotated[
            list[str] | None, Field(description="Configured source names (default: every configured source).")
        ] = None,
        since: Annotated[str | None, Field(description="Window start: RFC 3339, epoch, 'now' or '-2h'.")] = None,
        until: Annotated[str | None, Field(description="Window end (default: the alert's end or now).")] = None,
        onset: Annotated[str | None, Field(description="When the incident started, if known.")] = None,
        alert: Annotated[
            dict[str, Any] | None,
            Field(description="An alert payload (Alertmanager, PagerDuty or Opsgenie webhook JSON): gives the window."),
        ] = None,
        services: Annotated[list[str] | None, Field(description="Ask live sources only about these services.")] = None,
        record: Annotated[
            bool, Field(description="Record it as an incident (only when the server allows changes).")
        ] = False,
    ) -> CallToolResult:
        """Investigate the configured sources for a window or an alert: ranked hypotheses with evidence ids.

        The result is kept as run_id (RUN-n) for get_evidence, list_evidence and search_memory."""
        return await call(
            investigate,
            sources=sources,
            since=since,
            until=until,
            onset=onset,
            alert=alert,
            services=services,
            record=record,
        )

    @server.tool(annotations=READ)
    async def list_evidence(
        incident_id: OptIncident = None,
        run_id: RunId = None,
        kind: Annotated[EvidenceKind | None, Field(description="Only evidence of this kind.")] = None,
        service: Annotated[str | None, Field(description="Only evidence about this service.")] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> CallToolResult:
        """Evidence ids with kind, service, score and a one-line summary, strongest first. Paged."""
        return await call(
            reads.list_evidence,
            incident_id=incident_id,
            run_id=run_id,
            kind=kind,
            service=service,
            limit=limit,
            cursor=cursor,
        )

    @server.tool(annotations=READ)
    async def get_evidence(
        evidence_ids: Annotated[list[str], Field(description="Evidence ids (at most 20).")],
        incident_id: OptIncident = None,
        run_id: RunId = None,
        excerpt_chars: Annotated[
            int, Field(description="Cut each excerpt to this length (1-4000).", ge=1, le=4000)
        ] = 800,
    ) -> CallToolResult:
        """Evidence records by id with their stored excerpts, time range and source reference."""
        return await call(
            reads.get_evidence,
            evidence_ids=evidence_ids,
            incident_id=incident_id,
            run_id=run_id,
            excerpt_chars=excerpt_chars,
        )

    @server.tool(annotations=READ)
    async def locate_code(
        frame: Annotated[str | None, Field(description="A stack frame, a pasted trace, or Class#line.")] = None,
        log_line: Annotated[str | None, Field(description="A printed log line.")] = None,
        span: Annotated[str | None, Field(description="A span name or route: Cls.method, GET /a/{id}.")] = None,
        service: Annotated[str | None, Field(description="Prefer this service's folder (and its repository).")] = None,
        repository: Annotated[str | None, Field(description="A repository name from the settings.")] = None,
        incident_id: Annotated[str | None, Field(description="Use the repository recorded with this incident.")] = None,
        limit: Annotated[int, Field(description="Locations to return (1-20).", ge=1, le=20)] = 5,
    ) -> CallToolResult:
        """The code behind a stack frame, log line or span: file, line, function, confidence and why."""
        return await call(
            reads.locate_code_tool,
            frame=frame,
            log_line=log_line,
            span=span,
            service=service,
            repository=repository,
            incident_id=incident_id,
            limit=limit,
        )

    @server.tool(annotations=READ)
    async def search_memory(
        incident_id: OptIncident = None,
        run_id: RunId = None,
        limit: Annotated[int, Field(description="Past incidents to return (1-20).", ge=1, le=20)] = 5,
    ) -> CallToolResult:
        """Past incidents with similar symptoms: similarity, whether it counts as seen before, cause, fix, owners."""
        return await call(reads.search_memory, incident_id=incident_id, run_id=run_id, limit=limit)

    @server.tool(annotations=READ)
    async def show_audit(
        incident_id: IncidentId,
        limit: Limit = 20,
        cursor: Cursor = None,
        verify: Annotated[bool, Field(description="Also recompute the whole hash chain.")] = False,
    ) -> CallToolResult:
        """The incident's audit trail in order: who did what when. Paged."""
        return await call(reads.show_audit, incident_id=incident_id, limit=limit, cursor=cursor, verify=verify)

    @server.tool(annotations=READ)
    async def list_fixes(incident_id: IncidentId) -> CallToolResult:
        """The incident's stored fix SUGGESTIONS and their status (nothing is generated here)."""
        return await call(reads.list_incident_fixes, incident_id=incident_id)

    @server.tool(annotations=READ)
    async def show_fix(
        proposal_id: Annotated[str, Field(description="Suggestion id, e.g. INC-0001-F1.", max_length=64)],
        diff_chars: Annotated[int, Field(description="Cut the diff to this length (1-20000).", ge=1, le=20_000)] = 4000,
    ) -> CallToolResult:
        """One SUGGESTION: rationale, evidence ids, prediction, validation, diff or action."""
        return await call(reads.show_fix, proposal_id=proposal_id, diff_chars=diff_chars)


def _change_tools(server: MCPServer[Any], call: _Runner) -> None:
    @server.tool(annotations=CHANGE)
    async def acknowledge_incident(incident_id: IncidentId, note: Text = "") -> CallToolResult:
        """Acknowledge the incident as the configured identity (needs the responder or admin role)."""
        return await call(changes.acknowledge, incident_id=incident_id, note=note)

    @server.tool(annotations=CHANGE)
    async def confirm_hypothesis(
        incident_id: IncidentId,
        hypothesis_id: Annotated[str, Field(description="Hypothesis id from show_ledger.", max_length=128)],
        comment: Text = "",
    ) -> CallToolResult:
        """Confirm a hypothesis (the first confirmation marks the incident understood)."""
        return await call(
            changes.decide,
            incident_id=incident_id,
            hypothesis_id=hypothesis_id,
            decision=HypothesisStatus.CONFIRMED,
            comment=comment,
        )

    @server.tool(annotations=CHANGE)
    async def refute_hypothesis(
        incident_id: IncidentId,
        hypothesis_id: Annotated[str, Field(description="Hypothesis id from show_ledger.", max_length=128)],
        comment: Annotated[str, Field(description="Why it is wrong (required; stays visible).", max_length=10_000)],
    ) -> CallToolResult:
        """Refute a hypothesis with the reason; it stays in the ledger, marked refuted."""
        return await call(
            changes.decide,
            incident_id=incident_id,
            hypothesis_id=hypothesis_id,
            decision=HypothesisStatus.REFUTED,
            comment=comment,
        )

    @server.tool(annotations=CHANGE)
    async def propose_fixes(incident_id: IncidentId) -> CallToolResult:
        """Store fix SUGGESTIONS for the latest investigation; people validate, approve and execute them."""
        return await call(changes.propose_fixes, incident_id=incident_id)
