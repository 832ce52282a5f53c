"""`incidentlens locate`: one piece of evidence (or a bundle's errors) -> files, lines and functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markup import escape

from incidentlens.cli.app import app, out
from incidentlens.errors import InputError
from incidentlens.investigation.bundle_evidence import bundle_evidence
from incidentlens.locate.frame_text import frames_from_text
from incidentlens.locate.locatecode import QueryKind, locate_code
from incidentlens.model.records import CodeLocation
from incidentlens.model.stack import Frame


def _as_json(loc: CodeLocation) -> dict[str, Any]:
    return {
        "path": loc.path,
        "line": loc.line,
        "end_line": loc.end_line,
        "function": loc.function,
        "confidence": loc.confidence,
        "why": loc.why,
    }


@app.command(name="locate")
def locate_cmd(
    repo: Path = typer.Option(..., "--repo", help="Git repository of the services' code."),
    frame: str | None = typer.Option(None, "--frame", help="A stack frame, a pasted trace, or Class#line."),
    log_line: str | None = typer.Option(None, "--log-line", help="A printed log line."),
    template: str | None = typer.Option(None, "--template", help="A log template with <*> placeholders."),
    span: str | None = typer.Option(None, "--span", help="A span name or route: `Cls.method`, `GET /a/{id}`."),
    bundle: Path | None = typer.Option(None, "--bundle", help="A telemetry bundle: locate its errors."),
    service: str | None = typer.Option(None, "--service", help="Prefer this service's folder."),
    as_json: bool = typer.Option(False, "--json", help='Print {"locations": [...]} best first.'),
) -> None:
    """Find the code behind a stack frame, log line, log template, span or a bundle's errors."""
    given = [
        name
        for name, value in (
            ("--frame", frame),
            ("--log-line", log_line),
            ("--template", template),
            ("--span", span),
            ("--bundle", bundle),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InputError("give exactly one of --frame, --log-line, --template, --span or --bundle")
    frames: list[Frame] = []
    loggers: list[str] = []
    templates: list[str] = []
    notes: list[str] = []
    if frame is not None:
        frames, loggers = frames_from_text(frame)
    elif template is not None:
        templates = [template]
    elif bundle is not None:
        templates, frames, notes = bundle_evidence(bundle, service)
    result = locate_code(
        repo,
        service=service,
        frames=frames,
        templates=templates,
        log_lines=[log_line] if log_line is not None else [],
        loggers=loggers,
        spans=[span] if span is not None else [],
    )
    if frame is not None and frames:  # a trace: the frames in the order printed, each one's best place
        locations = [q.locations[0] for q in result.of_kind(QueryKind.FRAME) if q.locations]
    else:
        locations = list(result.ranked())
    all_notes = [*notes, *result.notes]
    if result.library_frames:
        all_notes.append(f"set aside {result.library_frames} library/runtime frame(s)")
    if as_json:
        payload = {"locations": [_as_json(loc) for loc in locations], "notes": all_notes}
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not locations:
        out.print("no code location found")
    for n, loc in enumerate(locations, 1):
        where = f"{loc.path}:{loc.line}" + (f"-{loc.end_line}" if loc.end_line and loc.end_line != loc.line else "")
        out.print(f"[bold]{n}. {escape(where)}[/] {escape(loc.function)} (confidence {loc.confidence:.2f})")
        out.print(f"   {escape(loc.why)}", highlight=False)
        if loc.snippet:
            out.print(escape(loc.snippet), highlight=False)
    for note in all_notes:
        out.print(f"[dim]note: {escape(note)}[/]", highlight=False)
