"""The tools that change something (registered only with `mcp.allow_changes`): acknowledge, confirm or refute
a hypothesis, propose fixes. Each acts as the acting identity, checks its role like the CLI and the web do,
and goes through the same `workflow/` functions (audit entry included).

There is deliberately no tool that validates, approves, rejects or executes a fix: an agent's suggestions
wait for people, and only the gate (`workflow/gate.py`) turns people's approvals into an `Approval`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from incidentlens.errors import ConfigError, InputError
from incidentlens.mcp_server.compact import fix_item
from incidentlens.mcp_server.context import ToolContext
from incidentlens.model.enums import HypothesisStatus, Role
from incidentlens.workflow import incidents as lifecycle
from incidentlens.workflow.fix_context import OPERATORS
from incidentlens.workflow.identity import Identity, require_role
from incidentlens.workflow.ledger import decide_hypothesis
from incidentlens.workflow.lifecycle import Action
from incidentlens.workflow.proposals import generate_proposals, list_fixes

__all__ = ["acknowledge", "decide", "propose_fixes"]

RESPONDERS = (Role.RESPONDER, Role.ADMIN)  # the same roles as `incident ack` and `hypothesis confirm|refute`
MAX_TEXT = 10_000


def _actor(ctx: ToolContext, *roles: Role) -> Identity:
    if not ctx.settings.allow_changes:  # the tools are not even registered then; this guards direct calls
        raise InputError("changes are off: enable them with 'mcp: {allow_changes: true}' in the settings")
    identity = ctx.acting()
    if identity is None:
        raise ConfigError("no identity to act as: set 'mcp.identity' or default_user in the settings")
    require_role(identity, *roles)
    return identity


def _text(value: str, what: str) -> str:
    if len(value) > MAX_TEXT:
        raise InputError(f"{what} is {len(value):,} characters; at most {MAX_TEXT:,}")
    return value


def acknowledge(ctx: ToolContext, *, incident_id: str, note: str) -> dict[str, Any]:
    actor = _actor(ctx, *RESPONDERS)
    row = lifecycle.apply_action(
        ctx.db, incident_id=incident_id, action=Action.ACK, actor=actor.name, note=_text(note, "note")
    )
    return {"incident": row.id, "status": row.status.value, "actor": actor.name}


def decide(
    ctx: ToolContext, *, incident_id: str, hypothesis_id: str, decision: HypothesisStatus, comment: str
) -> dict[str, Any]:
    actor = _actor(ctx, *RESPONDERS)
    result = decide_hypothesis(
        ctx.db,
        incident_id=incident_id,
        hypothesis_id=hypothesis_id,
        decision=decision,
        comment=_text(comment, "comment"),
        actor=actor.name,
    )
    return {
        "incident": incident_id,
        "hypothesis": hypothesis_id,
        "decision": result.decision.decision.value,
        "actor": actor.name,
        "previous": result.previous.decision.value if result.previous else None,
        "marked_understood": result.marked_understood,
    }


def propose_fixes(ctx: ToolContext, *, incident_id: str) -> dict[str, Any]:
    """Store fix SUGGESTIONS for the latest investigation (once); people validate, approve and execute them."""
    actor = _actor(ctx, *OPERATORS)
    notes: list[str] = []
    new = generate_proposals(
        ctx.db, incident_id=incident_id, settings=ctx.settings.workflow, now=datetime.now(UTC), notes=notes
    )
    stored = list_fixes(ctx.db, incident_id=incident_id)
    return {
        "incident": incident_id,
        "requested_by": actor.name,
        "new": [p.proposal.id for p in new],
        "fixes": [fix_item(p) for p in stored],
        "notes": notes,
        "approval": "SUGGESTIONS only: people validate, approve and execute them (`incidentlens fix ...`, the console)",
    }
