"""`incidentlens fix list|show|validate|approve|reject|execute`: suggestions, validation, the gate, executors."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from incidentlens.cli.actors import acting_user, as_option, config_option, load, workflow_db
from incidentlens.cli.app import app, err, out
from incidentlens.model.approval import DecisionKind
from incidentlens.model.enums import Role
from incidentlens.workflow.executors import EXECUTORS
from incidentlens.workflow.fix_context import OPERATORS, execute_approved, gate_context
from incidentlens.workflow.gate import decide
from incidentlens.workflow.proposals import describe, generate_proposals, get_fix, list_fixes
from incidentlens.workflow.validate import validate_fix, validation_summary

fix_app = typer.Typer(
    name="fix",
    help="Fix suggestions: list, show, validate, approve, reject, execute (behind the approval gate).",
    no_args_is_help=True,
)
app.add_typer(fix_app, name="fix")


def _json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@fix_app.command("list")
def list_cmd(
    incident: str = typer.Argument(..., help="Incident id (INC-0001)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path | None = config_option(),
) -> None:
    """Fix suggestions of an incident; generated for its latest investigation the first time."""
    settings = load(config)
    with workflow_db() as db:
        notes: list[str] = []
        generate_proposals(db, incident_id=incident, settings=settings, now=datetime.now(UTC), notes=notes)
        stored = list_fixes(db, incident_id=incident)
    for note in notes:
        err.print(f"note: {escape(note)}")
    if as_json:
        _json([describe(p) for p in stored])
        return
    if not stored:
        out.print(f"no fix suggestions for {incident}")
        return
    table = Table("id", "kind", "status", "risk", "service", "title", title=f"SUGGESTIONS for {incident}")
    for p in stored:
        fix = p.proposal
        table.add_row(fix.id, fix.kind.value, p.status.value, fix.risk.value, fix.service, escape(fix.title))
    out.print(table)


@fix_app.command("show")
def show_cmd(
    proposal: str = typer.Argument(..., help="Proposal id (INC-0001-F1)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One suggestion: rationale, evidence, prediction, diff or action spec, validation and verification."""
    with workflow_db() as db:
        data = describe(get_fix(db, proposal_id=proposal))
    if as_json:
        _json(data)
        return
    out.print(f"[bold]SUGGESTION {data['id']}[/] ({data['kind']}, risk {data['risk']}, {data['status']})")
    out.print(escape(data["title"]))
    out.print(f"why: {escape(data['rationale'])}")
    out.print(f"evidence: {', '.join(data['evidence_ids']) or '-'}")
    if data["prediction"]:
        out.print(f"prediction: {escape(data['prediction']['statement'])}")
    if data["validation"]:
        v = data["validation"]
        out.print(f"validation: {escape(validation_summary(v))}")
    if data["verification"]:
        out.print(f"verification: {escape(data['verification']['detail'])}")
    if data["diff"]:
        sys.stdout.write(data["diff"])
    else:
        out.print(f"action: {escape(str(data['action']))}")


@fix_app.command("validate")
def validate_cmd(
    proposal: str = typer.Argument(..., help="Proposal id."),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Apply the fix in a scratch worktree and run the repository's test command; record the result."""
    identity = acting_user(as_user, config, *OPERATORS)
    with workflow_db() as db:
        stored = validate_fix(
            db, proposal_id=proposal, settings=load(config), actor=identity.name, now=datetime.now(UTC)
        )
    v = stored.validation or {}
    out.print(f"{proposal}: {stored.status.value}: {escape(validation_summary(v))}")


def _decide(proposal: str, as_user: str | None, config: Path | None, kind: DecisionKind, comment: str) -> None:
    identity = acting_user(as_user, config, Role.APPROVER, Role.ADMIN, Role.RESPONDER)
    settings = load(config)
    with workflow_db() as db:
        context = gate_context(db, settings, proposal)
        decide(
            db,
            proposal_id=proposal,
            identity=identity,
            kind=kind,
            context=context,
            now=datetime.now(UTC),
            comment=comment,
        )
    out.print(f"{identity.name} {'approved' if kind is DecisionKind.APPROVE else 'rejected'} {proposal}")


@fix_app.command("approve")
def approve_cmd(
    proposal: str = typer.Argument(..., help="Proposal id."),
    as_user: str | None = as_option(),
    comment: str = typer.Option("", "--comment", help="Why, for the record."),
    config: Path | None = config_option(),
) -> None:
    """Record your approval; the gate counts distinct approvers with allowed roles under the policy."""
    _decide(proposal, as_user, config, DecisionKind.APPROVE, comment)


@fix_app.command("reject")
def reject_cmd(
    proposal: str = typer.Argument(..., help="Proposal id."),
    as_user: str | None = as_option(),
    comment: str = typer.Option("", "--comment", help="Why, for the record."),
    config: Path | None = config_option(),
) -> None:
    """Record your rejection: the proposal will not be executed."""
    _decide(proposal, as_user, config, DecisionKind.REJECT, comment)


@fix_app.command("execute")
def execute_cmd(
    proposal: str = typer.Argument(..., help="Proposal id."),
    executor: str = typer.Option(..., "--executor", help=f"One of: {', '.join(sorted(EXECUTORS))}."),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
) -> None:
    """Ask the gate for an approval and, only if the policy holds, run the executor once."""
    identity = acting_user(as_user, config, *OPERATORS)
    with workflow_db() as db:
        done = execute_approved(db, proposal_id=proposal, executor=executor, settings=load(config), actor=identity.name)
    row, approval = done.row, done.approval
    details = ", ".join(
        f"{k}={v}" for k, v in row.result.items() if k in ("branch", "commit", "pushed", "url", "exit_code")
    )
    out.print(f"{proposal}: executed by {executor} (approved by {', '.join(approval.approvers)}): {escape(details)}")
