"""`incidentlens verify-fix`: check an executed fix's prediction against post-fix telemetry."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import typer
from rich.markup import escape

from incidentlens.cli.actors import acting_user, as_option, config_option, workflow_db
from incidentlens.cli.app import app, err, out
from incidentlens.model.enums import Role
from incidentlens.workflow.verify import verify_fix


@app.command("verify-fix")
def verify_fix_cmd(
    proposal: str = typer.Argument(..., help="Proposal id (INC-0001-F1)."),
    telemetry: list[Path] = typer.Option(..., "--telemetry", help="Post-fix telemetry files or folders."),
    as_user: str | None = as_option(),
    config: Path | None = config_option(),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record whether the fix's prediction held (confirmed or refuted) on the proposal and its hypothesis."""
    identity = acting_user(as_user, config, Role.RESPONDER, Role.APPROVER, Role.ADMIN)
    with workflow_db() as db:
        result, notes = verify_fix(
            db, proposal_id=proposal, telemetry=telemetry, actor=identity.name, now=datetime.now(UTC)
        )
    for note in notes:
        err.print(f"note: {escape(note)}")
    if as_json:
        sys.stdout.write(orjson.dumps({"proposal": proposal, **result.as_dict()}).decode() + "\n")
        return
    out.print(f"{proposal}: prediction {'CONFIRMED' if result.confirmed else 'REFUTED'} — {escape(result.detail)}")
