"""`incidentlens audit verify|show`: check the hash chain, print an incident's trail."""

from __future__ import annotations

import sys

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from incidentlens.cli.actors import workflow_db
from incidentlens.cli.app import app, out
from incidentlens.errors import AuditIntegrityError, InputError
from incidentlens.workflow.audit import audit_trail, verify_audit
from incidentlens.workflow.views import audit_json

audit_app = typer.Typer(
    name="audit", help="The tamper-evident audit chain: verify it, show an incident's trail.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify_cmd(
    expect_head: str | None = typer.Option(
        None, "--expect-head", help="A head hash recorded earlier elsewhere: also fail if the chain's differs."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recompute every entry's hash and link; exit 7 naming the first bad seq if anything was altered."""
    with workflow_db() as db:
        result = verify_audit(db)
    if as_json:
        sys.stdout.write(
            orjson.dumps(
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "head_seq": result.head_seq,
                    "head_hash": result.head_hash,
                    "first_bad_seq": result.first_bad_seq,
                    "reason": result.reason,
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
            + "\n"
        )
    if not result.ok:
        raise AuditIntegrityError(f"audit chain broken at seq {result.first_bad_seq}: {result.reason}")
    if expect_head is not None and expect_head != result.head_hash:
        raise AuditIntegrityError(
            f"audit chain verifies internally but its head {result.head_hash} (seq {result.head_seq}) "
            f"is not the expected {expect_head}: it was rewritten or rolled back"
        )
    if not as_json:
        out.print(f"audit chain OK: {result.entries} entries, head seq {result.head_seq} hash {result.head_hash}")


@audit_app.command("show")
def show_cmd(
    incident: str | None = typer.Argument(None, help="Incident id (omit with --all)."),
    show_all: bool = typer.Option(False, "--all", help="Every entry, not just one incident's."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (with hashes)."),
) -> None:
    """An incident's audit trail in order: who did what, when."""
    if (incident is None) == (not show_all):
        raise InputError("give an incident id or --all (not both)")
    with workflow_db() as db:
        entries = audit_trail(db, incident_id=None if show_all else incident)
    if as_json:
        sys.stdout.write(orjson.dumps([audit_json(e) for e in entries], option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not entries:
        out.print(f"no audit entries for {incident}" if incident else "the audit log is empty")
        return
    table = Table("seq", "at (UTC)", "actor", "entity", "action", "data", "hash")
    for e in entries:
        table.add_row(
            str(e.seq),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            escape(e.actor),
            escape(f"{e.entity} {e.entity_id}"),
            escape(e.action),
            escape(e.data),
            e.hash[:12],
        )
    out.print(table)
