"""The brief for a terminal: rich renderables (colour, wrapping to the terminal width), no Markdown syntax.

`brief_renderables` is what the CLI prints to a terminal; `render_text` is the same as plain text for a
pipe or a file (no colour codes, wrapped to `width`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from incidentlens.report.brief import CONFIDENCE_MEANING, Brief, RankedHypothesis, capitalize_first, clock, iso

_TICKS = re.compile(r"`([^`\n]+)`")


def words(text: str, style: str = "") -> Text:
    """Plain text with Markdown `code` spans shown as styled text, never as backticks."""
    out = Text(style=style)
    last = 0
    for m in _TICKS.finditer(text):
        out.append(text[last : m.start()])
        out.append(m.group(1), style="cyan")
        last = m.end()
    out.append(text[last:])
    return out


def _section(title: str) -> Rule:
    return Rule(Text(title, style="bold"), align="left", style="dim")


def _bullets(lines: Sequence[Text | str], indent: int = 0) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for line in lines:
        table.add_row(" " * indent + "-", line if isinstance(line, Text) else words(line))
    return table


def _head(b: Brief) -> list[RenderableType]:
    if b.head is None:
        return []
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    styles = {"What broke": "red", "Leading hypothesis": "yellow"}
    for label, text in b.head.lines():
        grid.add_row(Text(label, style=f"bold {styles.get(label, '')}".strip()), words(text))
    for link in b.head.links:
        grid.add_row(link.label, Text(link.url, style="underline"))
    if b.head.description:
        grid.add_row("Alert says", words(b.head.description))
    return [grid]


def _impact(b: Brief) -> list[Text | str]:
    lines: list[Text | str] = [capitalize_first(d) for d in b.impact.degradations]
    if not b.impact.degradations:
        lines.append(
            "No degradation of requests measured at the entry points"
            if b.impact.spans_seen
            else "No spans: request errors and latency were not measured"
        )
    if b.impact.affected_services:
        lines.append(f"Services showing the anomaly: {', '.join(b.impact.affected_services)}")
    lines.extend(f"Alert: {a}" for a in b.impact.alerts)
    lines.append(f"Onset: {iso(b.onset_ns)} ({b.onset_reason})")
    return lines


def _timeline(b: Brief) -> Table:
    table = Table(box=None, show_header=True, header_style="dim", pad_edge=False)
    table.add_column("when", no_wrap=True)
    table.add_column("what", no_wrap=True)
    table.add_column("service", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for t in b.timeline:
        detail = words(t.text)
        if t.evidence_id:
            detail.append(f" [{t.evidence_id}]", style="dim")
        table.add_row(t.when or clock(t.ts_ns), t.kind, t.service, detail)
    if b.timeline_more:
        table.add_row("", "", "", Text(f"and {b.timeline_more} more (see the hypotheses' evidence)", style="dim"))
    return table


def _leader(rh: RankedHypothesis) -> list[RenderableType]:
    h = rh.hypothesis
    title = Text("1. ", style="bold")
    title.append("HYPOTHESIS: ", style="bold yellow")
    title.append_text(words(rh.statement or h.claim, "bold"))
    meta = f"service {h.service}" + (f" ({h.component})" if h.component else "")
    meta += f" · fault {h.fault.value} · confidence {h.confidence:.2f} · {h.status.value}"
    parts: list[RenderableType] = [title, Text(meta, style="dim")]
    parts.extend(words(f"Memory: {n}") for n in rh.memory_notes)
    parts.append(Text("Evidence for", style="bold"))
    evidence = []
    for e in rh.evidence_for:
        line = Text(e.id, style="cyan")
        line.append(" ")
        line.append_text(words(e.summary))
        excerpt = e.excerpt.splitlines()[0] if e.excerpt else ""
        if excerpt:
            line.append(f"\n  {excerpt[:160]}", style="dim")
        evidence.append(line)
    parts.append(_bullets(evidence, 1))
    if rh.evidence_against:
        parts.append(Text("Evidence against", style="bold"))
        parts.append(_bullets([words(f"{e.id} {e.summary}") for e in rh.evidence_against], 1))
    if h.predictions:
        parts.append(Text("What would confirm or refute it", style="bold"))
        parts.append(
            _bullets(
                [f"{p.statement}: confirmed if {p.confirms_if}; refuted if {p.refutes_if}" for p in h.predictions], 1
            )
        )
    if h.locations:
        parts.append(Text("Suspect code", style="bold"))
        for loc in h.locations:
            where = f"{loc.path}:{loc.line}" + (f" in {loc.function}" if loc.function else "")
            parts.append(_bullets([words(f"{where} — {loc.why}")], 1))
            if loc.snippet:
                parts.append(Padding(Text(loc.snippet, style="dim"), (0, 0, 0, 4)))
    if h.suspect_commits:
        parts.append(Text("Suspect commits", style="bold"))
        parts.append(_bullets([f"{c.sha[:12]} {c.subject} ({c.author}) — {c.why}" for c in h.suspect_commits], 1))
    if h.owners:
        owners = [
            f"{o.name}"
            + (f" (on call {o.contact})" if o.contact and o.source.value == "catalog" else "")
            + f" ({o.source.value}: {o.why})"
            for o in h.owners
        ]
        parts.append(Text("Owners", style="bold"))
        parts.append(_bullets(owners, 1))
    for f in rh.fixes:
        line = Text("SUGGESTION ", style="bold blue")
        line.append_text(words(f"({f.kind.value}, risk {f.risk.value}): {f.title}. {f.rationale}."))
        if f.prediction:
            line.append(f" Expect: {f.prediction.confirms_if}.")
        line.append(" Needs approval before any change.")
        parts.append(line)
    return parts


def _alternatives(b: Brief) -> list[Text]:
    lines = []
    for rh in b.hypotheses[1:]:
        h = rh.hypothesis
        line = Text(f"{rh.rank}. {h.service} ", style="bold")
        if rh.victim_of:
            line.append(f"VICTIM of {rh.victim_of}", style="magenta")
        else:
            line.append("HYPOTHESIS ", style="yellow")
            line.append_text(words(rh.statement or h.claim))
        line.append(": ")
        line.append(rh.why_lower)
        if h.owners:
            line.append(f"; owner {h.owners[0].name}")
        lines.append(line)
    return lines


def brief_renderables(b: Brief) -> Group:
    parts: list[RenderableType] = [Text(b.title, style="bold underline"), *_head(b)]
    parts.extend(Text(f"Warning: {w}", style="bold red") for w in b.warnings)
    parts.append(
        Text(
            f"Generated {b.generated_at} by IncidentLens. Every diagnosis is a HYPOTHESIS; every fix is a "
            "SUGGESTION. Humans decide.",
            style="dim",
        )
    )
    parts += [_section("Summary"), words(b.summary)]
    if b.assistance is not None:
        a = b.assistance
        parts.append(_section("Narrative (MODEL-DRAFTED: phrased by a language model; it decides nothing)"))
        lines: list[Text | str] = [f"{c.text} [{', '.join(c.evidence)}]" for c in a.claims]
        if a.unanswerable:
            lines.append(f"No answer in the evidence: {a.unanswerable}")
        lines += [Text(n, style="yellow") for n in a.notes()]
        lines += [Text(f"Egress: {e.describe()}", style="dim") for e in a.egress]
        parts.append(_bullets(lines))
    if b.seen_before:
        parts.append(_section("Seen before"))
        parts.append(
            _bullets(
                [
                    f'{s.incident_id} "{s.title}" (similarity {s.similarity:.2f}): {s.service}, {s.fault}'
                    + (f"; fixed by {s.fix}" if s.fix else "")
                    for s in b.seen_before
                ]
            )
        )
    parts += [_section("Impact"), _bullets(_impact(b))]
    parts += [_section("Timeline (UTC, T = onset)"), _timeline(b)]
    parts.append(_section("Dependency graph (involved services)"))
    edges = [
        f"{e.caller} -> {e.callee} ({e.calls} calls" + (f", {e.errors} errors" if e.errors else "") + ")"
        for e in b.graph
    ]
    parts.append(_bullets(edges or ["no calls between services observed"]))
    parts.append(_section("Hypotheses"))
    if b.hypotheses:
        parts.append(Text(CONFIDENCE_MEANING, style="dim"))
        if b.abstained:
            parts.append(Text("Not enough evidence to name a root cause with confidence.", style="bold red"))
        parts.extend(_leader(b.hypotheses[0]))
        if len(b.hypotheses) > 1:
            parts.append(Text("Alternatives (ranked lower)", style="bold"))
            parts.append(_bullets(_alternatives(b)))
    else:
        parts.append(Text("No hypothesis: no anomaly stood out against the normal period."))
    parts += [_section("Next steps"), _bullets(list(b.next_steps))]
    if b.sources or b.coverage_gaps:
        parts.append(_section("Sources"))
        lines = []
        for s in b.sources:
            rows = ", ".join(f"{k} {v}" for k, v in s.rows.items()) or "no rows"
            lines.append(f"{s.name} ({s.kind}): {'FAILED' if s.failed else rows}")
            lines.extend(f"  {x}" for x in (*s.truncated, *s.errors, *s.notes))
        lines.extend(f"Not covered: {g}" for g in b.coverage_gaps)
        parts.append(_bullets(lines))
    parts.append(_section("Inputs"))
    parts.append(_bullets([f"{k}: {v}" for k, v in b.inputs.items()] + [f"note: {n}" for n in b.notes]))
    return Group(*parts)


def render_text(b: Brief, *, width: int = 100) -> str:
    """Plain text (no colour codes, no Markdown syntax), wrapped to `width` columns."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, force_terminal=False, highlight=False, emoji=False)
    console.print(brief_renderables(b))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
