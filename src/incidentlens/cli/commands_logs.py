"""`incidentlens logs templates` and `incidentlens logs diff`: template mining and window comparison on files."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from incidentlens.analyze.logdiff import TemplateShift
from incidentlens.analyze.logs import TemplateGroup, concentration, mine_groups, service_shifts
from incidentlens.cli.app import app, err, out
from incidentlens.errors import InputError
from incidentlens.ingest.runner import ingest_paths
from incidentlens.model import TimeRange
from incidentlens.telemetry.logqueries import log_message_groups, log_span
from incidentlens.telemetry.rows import LogMessageGroup
from incidentlens.telemetry.store import TelemetryStore

logs_app = typer.Typer(
    name="logs",
    help="Log templates of files, and what changed between a normal and an incident set of files.",
    no_args_is_help=True,
)
app.add_typer(logs_app, name="logs")

EXAMPLE_CHARS = 300
FORMAT_HELP = "Force a reader (e.g. textlogs for any plain-text log) instead of detecting."


@dataclass(frozen=True, slots=True)
class LogSet:
    """The distinct messages of one set of files, all counted as `incident_count`, and its time span."""

    groups: list[LogMessageGroup]
    lines: int
    seconds: float


def load_log_set(paths: Sequence[Path], forced_format: str | None = None) -> LogSet:
    """Ingest `paths` into a throwaway in-memory store and group their log lines by distinct message."""
    with TelemetryStore() as store:
        report = ingest_paths(paths, store, forced_format=forced_format)
        for f in report.files:
            for p in f.problems[:3]:
                err.print(f"[yellow]warning:[/] {escape(str(p))}", highlight=False)
            if f.problem_count > 3:
                err.print(f"[yellow]warning:[/] {escape(f.path)}: {f.problem_count - 3} more problems", highlight=False)
        span = log_span(store)
        if span is None:
            names = ", ".join(str(p) for p in paths)
            raise InputError(f"no log lines in {names}")
        groups = log_message_groups(store, TimeRange(span.start_ns, span.start_ns), span)
    return LogSet(groups, sum(g.incident_count for g in groups), span.seconds)


def as_baseline(g: LogMessageGroup) -> LogMessageGroup:
    """The same message counted in the normal period instead of the incident."""
    return dataclasses.replace(
        g,
        baseline_count=g.incident_count,
        incident_count=0,
        baseline_traces=g.incident_traces,
        incident_traces=0,
        first_ns=0,
    )


def pool_services(log_set: LogSet) -> LogSet:
    """The same set with every line attributed to no service, so two sets can be compared as a whole."""
    merged: dict[tuple[str, str], LogMessageGroup] = {}
    for g in log_set.groups:
        key = (g.level, g.message)
        prev = merged.get(key)
        if prev is None:
            merged[key] = dataclasses.replace(g, service="")
            continue
        first = prev if prev.incident_count and (prev.first_ns <= g.first_ns or not g.incident_count) else g
        merged[key] = dataclasses.replace(
            first,
            service="",
            incident_count=prev.incident_count + g.incident_count,
            incident_traces=prev.incident_traces + g.incident_traces,
            exception_type=prev.exception_type or g.exception_type,
        )
    return LogSet([merged[k] for k in sorted(merged)], log_set.lines, log_set.seconds)


def merge_sets(baseline: LogSet, incident: LogSet) -> list[LogMessageGroup]:
    """One list of distinct messages with both windows' counts, so both are mined into the same templates."""
    merged: dict[tuple[str, str, str], LogMessageGroup] = {}
    for g in map(as_baseline, baseline.groups):
        merged[(g.service, g.level, g.message)] = g
    for g in incident.groups:
        key = (g.service, g.level, g.message)
        b = merged.get(key)
        merged[key] = (
            g
            if b is None
            else dataclasses.replace(g, baseline_count=b.baseline_count, baseline_traces=b.baseline_traces)
        )
    return [merged[k] for k in sorted(merged)]


def first_line(text: str) -> str:
    return text.split("\n", 1)[0][:EXAMPLE_CHARS]


def template_dict(t: TemplateGroup) -> dict[str, object]:
    return {
        "service": t.service,
        "level": t.level,
        "template": t.template,
        "count": t.incident_count,
        "traces": t.incident_traces,
        "messages": len(t.messages),
        "example": first_line(t.example),
        "example_source": t.example_source,
        "exception_type": t.exception_type,
    }


def shift_dict(s: TemplateShift[TemplateGroup]) -> dict[str, object]:
    t = s.key
    conc = concentration(t) if s.test.z > 0 else None
    return {
        "shift": s.shift.value,
        "service": t.service,
        "level": t.level,
        "template": t.template,
        "baseline_count": s.baseline_count,
        "incident_count": s.incident_count,
        "z": round(s.test.z, 3),
        "log10_p": round(s.test.log_p / math.log(10), 3),
        "rate_ratio": round(s.test.ratio, 4) if math.isfinite(s.test.ratio) else None,
        "traces": t.incident_traces,
        "example": first_line(t.example),
        "example_source": t.example_source,
        "example_trace": t.example_trace,
        "concentration": dataclasses.asdict(conc) if conc is not None else None,
    }


@logs_app.command("templates")
def templates_command(
    files: list[Path] = typer.Argument(..., help="Log files or folders (any supported log format)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Show at most this many templates."),
    format: str | None = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the templates as JSON."),
) -> None:
    """Mine log templates and show them with counts and an example line, most frequent first."""
    log_set = load_log_set(files, format)
    mined = sorted(mine_groups(log_set.groups), key=lambda t: (-t.incident_count, t.service, t.level, t.template))
    if as_json:
        body = {"lines": log_set.lines, "templates": [template_dict(t) for t in mined[:limit]], "total": len(mined)}
        out.print_json(orjson.dumps(body).decode())
        return
    table = Table("count", "service", "level", "template", "example", title="log templates", title_justify="left")
    for t in mined[:limit]:
        table.add_row(
            str(t.incident_count), escape(t.service), t.level, escape(t.template), escape(first_line(t.example))
        )
    out.print(table)
    out.print(
        f"{len(mined)} templates over {log_set.lines} lines" + (f" (showing {limit})" if len(mined) > limit else "")
    )


@logs_app.command("diff")
def diff_command(
    baseline: list[Path] = typer.Option(..., "--baseline", "-b", help="Files of the normal period (repeatable)."),
    incident: list[Path] = typer.Option(..., "--incident", "-i", help="Files of the incident (repeatable)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Show at most this many changes."),
    format: str | None = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Templates that are new, gone, up or down in the incident files against the normal files.

    Rates are compared per second over each set's time span (a conditional binomial test); when either set
    has no usable timestamps, they are compared as shares of all lines instead.
    """
    base_set, inc_set = load_log_set(baseline, format), load_log_set(incident, format)
    pooled = not ({g.service for g in base_set.groups} & {g.service for g in inc_set.groups})
    if pooled:  # services named after files (app-1.log, app-2.log) would make every template look new
        base_set, inc_set = pool_services(base_set), pool_services(inc_set)
    timed = base_set.seconds >= 1.0 and inc_set.seconds >= 1.0
    base_exposure = base_set.seconds if timed else float(base_set.lines)
    inc_exposure = inc_set.seconds if timed else float(inc_set.lines)
    shifts = [
        s
        for scored in service_shifts(
            mine_groups(merge_sets(base_set, inc_set)), baseline_seconds=base_exposure, incident_seconds=inc_exposure
        ).values()
        for _, s in scored
    ]
    shifts.sort(key=lambda s: (-abs(s.test.z), s.key.service, s.key.level, s.key.template))
    exposure = "seconds" if timed else "lines"
    if as_json:
        body = {
            "exposure": exposure,
            "per_service": not pooled,
            "baseline": {"lines": base_set.lines, "seconds": round(base_set.seconds, 3)},
            "incident": {"lines": inc_set.lines, "seconds": round(inc_set.seconds, 3)},
            "shifts": [shift_dict(s) for s in shifts[:limit]],
            "total": len(shifts),
        }
        out.print_json(orjson.dumps(body).decode())
        return
    table = Table("change", "service", "level", "normal", "incident", "z", "template", title_justify="left")
    table.title = "log template changes"
    for s in shifts[:limit]:
        conc = concentration(s.key) if s.test.z > 0 else None
        note = f" [dim]({conc.share:.0%} {escape(conc.name)}={escape(conc.value)})[/]" if conc else ""
        table.add_row(
            s.shift.value,
            escape(s.key.service) or "(all)",
            s.key.level,
            str(s.baseline_count),
            str(s.incident_count),
            f"{s.test.z:+.1f}",
            escape(s.key.template) + note,
        )
    out.print(table)
    basis = "rates per second" if timed else "shares of all lines (no usable timestamps)"
    scope = "all services pooled (no service in both sets)" if pooled else "per service"
    out.print(
        f"{len(shifts)} significant changes; normal {base_set.lines} lines, incident {inc_set.lines} lines; "
        f"compared {scope}, as {basis}"
    )
