"""`incidentlens ask` and `incidentlens assist narrative|status|postmortem|patch`: the optional language model.

Every command here reads a recorded incident, sends its redacted evidence report to the configured model, and
prints only claims that cite existing evidence ids, with the egress record of the call. Without an `llm:`
section they say how to add one; every other command works without it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markup import escape

from incidentlens.assist.incidents import assistant_for_incident, incident_pack, record_egress, require_assist
from incidentlens.assist.prompt import Purpose
from incidentlens.cli.actors import config_option, load, workflow_db
from incidentlens.cli.app import app, err
from incidentlens.cli.commands_postmortem import _require_database
from incidentlens.errors import ModelError
from incidentlens.report.assistance import Assistance
from incidentlens.report.render_reports import ReportFormat, render_postmortem, render_status_update
from incidentlens.workflow.reports import load_postmortem, load_status_update

assist_app = typer.Typer(
    name="assist",
    help="Prose by the configured language model from an incident's redacted evidence (docs/assist.md).",
    no_args_is_help=True,
)
app.add_typer(assist_app, name="assist")

_HEADINGS = {
    Purpose.NARRATIVE: "Narrative",
    Purpose.STATUS: "Status update",
    Purpose.POSTMORTEM: "Postmortem prose",
    Purpose.ASK: "Answer",
}


def _json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _markdown(a: Assistance, heading: str) -> str:
    lines = [f"## {heading} (MODEL-DRAFTED: phrased by a language model from the cited evidence; it decides nothing)"]
    lines += [f"- {c.text} [{', '.join(c.evidence)}]" for c in a.claims]
    if a.unanswerable:
        lines.append(f"- The evidence does not answer this: {a.unanswerable}")
    lines += [f"- _{n}_" for n in a.notes()]
    lines += [f"- Egress: {e.describe()}" for e in a.egress]
    return "\n".join(lines) + "\n"


def _run(incident: str, purpose: Purpose, config: Path | None, question: str = "") -> Assistance:
    settings = require_assist(load(config))
    _require_database()
    with workflow_db() as db:
        assistant = assistant_for_incident(settings, db, incident_id=incident)
        pack = incident_pack(db, incident_id=incident, max_evidence=settings.max_evidence)
        drafted = assistant.assist(pack, purpose, question=question)
        record_egress(db, incident_id=incident, lines=drafted.assistance.egress, at=datetime.now(UTC))
    return drafted.assistance


def _emit(a: Assistance, heading: str, as_json: bool) -> None:
    if as_json:
        _json({"label": "MODEL-DRAFTED", **orjson.loads(orjson.dumps(a)), "notes": list(a.notes())})
        return
    sys.stdout.write(_markdown(a, heading))


@app.command("ask")
def ask_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    question: str = typer.Argument(..., help="Your question about the incident."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (claims, evidence ids, egress)."),
    config: Path | None = config_option(),
) -> None:
    """Answer a question from the incident's evidence, every sentence citing evidence ids (needs an llm: section)."""
    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    answer = _run(incident, Purpose.ASK, config, question)
    _emit(answer, _HEADINGS[Purpose.ASK], as_json)
    if answer.fallback:
        raise ModelError(f"no answer: {answer.fallback}")


@assist_app.command("narrative")
def narrative_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path | None = config_option(),
) -> None:
    """The brief's narrative by the model (the recorded brief's summary stands when the model fails)."""
    a = _run(incident, Purpose.NARRATIVE, config)
    _emit(a, _HEADINGS[Purpose.NARRATIVE], as_json)


@assist_app.command("status")
def status_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path | None = config_option(),
) -> None:
    """A stakeholder status update by the model; the deterministic one (`status-update`) when it fails."""
    a = _run(incident, Purpose.STATUS, config)
    _emit(a, _HEADINGS[Purpose.STATUS], as_json)
    if a.fallback and not as_json:
        err.print(f"note: {escape(a.notes()[0])}: the deterministic status update follows")
        with workflow_db() as db:
            su = load_status_update(db, incident_id=incident, now=datetime.now(UTC))
        sys.stdout.write(render_status_update(su, ReportFormat.MARKDOWN))


@assist_app.command("postmortem")
def postmortem_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path | None = config_option(),
) -> None:
    """Postmortem prose by the model; the deterministic draft (`postmortem`) when it fails."""
    a = _run(incident, Purpose.POSTMORTEM, config)
    _emit(a, _HEADINGS[Purpose.POSTMORTEM], as_json)
    if a.fallback and not as_json:
        err.print(f"note: {escape(a.notes()[0])}: the deterministic postmortem draft follows")
        with workflow_db() as db:
            pm = load_postmortem(db, incident_id=incident, now=datetime.now(UTC))
        sys.stdout.write(render_postmortem(pm, ReportFormat.MARKDOWN))


@assist_app.command("patch")
def patch_cmd(
    incident: str = typer.Argument(..., help="Incident id, e.g. INC-0001."),
    hypothesis: str = typer.Option("", "--hypothesis", help="Hypothesis id (default: the leading code-fault one)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path | None = config_option(),
) -> None:
    """A patch drafted by the model for a code-fault hypothesis, stored as a MODEL-DRAFTED fix SUGGESTION.

    Validate, approve and execute it like any other: `fix validate|approve|execute` (humans only).
    """
    from incidentlens.assist.patch import draft_patch

    settings = load(config)
    chosen = require_assist(settings)
    _require_database()
    with workflow_db() as db:
        result = draft_patch(
            db,
            assistant_for_incident(chosen, db, incident_id=incident),
            incident_id=incident,
            settings=settings,
            now=datetime.now(UTC),
            hypothesis=hypothesis,
        )
    proposal = result.proposal.proposal.id if result.proposal is not None else None
    if as_json:
        _json({"proposal": proposal, "rejected": result.rejected, **orjson.loads(orjson.dumps(result.assistance))})
    else:
        sys.stdout.write(_markdown(result.assistance, "Patch rationale"))
    if proposal is None:
        raise ModelError(f"no patch stored: {result.rejected}")
    err.print(f"stored as {proposal} (MODEL-DRAFTED SUGGESTION): next, incidentlens fix validate {proposal}")
