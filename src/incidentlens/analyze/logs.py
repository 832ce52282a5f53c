"""Log evidence: templates that are new, rose, fell or disappeared in the incident window, per service.

Distinct messages (already counted per window by the query layer) are mined once into templates; counts,
traces and examples are then summed per (service, level, template) over the distinct set only. Each
significant shift (`logdiff.diff_counts`) becomes an Evidence record with its test statistic, a real
example line, the distinct traces involved (an example trace in `source_ref`) and, when one parameter
value dominates the template's incident lines, that value and its share.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from incidentlens.analyze.evidence_ids import evidence_id, excerpt, strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.logdiff import Shift, TemplateShift, diff_counts
from incidentlens.analyze.templates import WILDCARD, TemplateMiner
from incidentlens.analyze.templates.render import extract_parameters
from incidentlens.model import AnalyzerKind, Evidence, EvidenceKind, FaultKind, Finding, TimeRange
from incidentlens.telemetry.rows import LogMessageGroup

MIN_COUNT = 3
MAX_EVIDENCE_PER_SERVICE = 3
SCORE_SCALE = 10.0  # as the other analysers: strength(z, 10) saturates smoothly
LEVEL_WEIGHT = {"FATAL": 1.0, "ERROR": 1.0, "WARN": 0.6, "WARNING": 0.6}
OTHER_LEVEL_WEIGHT = 0.3
FALL_WEIGHT = 0.3  # a code path that stopped running is evidence, but rarely the first thing to read
MIN_PARAM_LINES = 20
CONCENTRATED = 0.8
BASELINE_MARGIN = 0.25  # a value is only remarkable if it was clearly less common in the normal period
_KEY_BEFORE = re.compile(r"([A-Za-z_][\w.\-]*)\s*[=:]\s*[\"'(\[]?$")


@dataclass(frozen=True, slots=True)
class TemplateGroup:
    """All lines of one service and level under one mined template, counted per window."""

    service: str
    level: str
    template: str
    baseline_count: int
    incident_count: int
    baseline_traces: int
    incident_traces: int
    exception_type: str
    example: str
    example_source: str
    example_trace: str
    first_ns: int
    messages: tuple[LogMessageGroup, ...]


@dataclass(frozen=True, slots=True)
class Concentration:
    """One parameter value that most incident lines of a template carry."""

    name: str
    value: str
    share: float
    lines: int
    baseline_share: float


def mine_groups(groups: Sequence[LogMessageGroup], miner: TemplateMiner | None = None) -> list[TemplateGroup]:
    """Mine each distinct message once and sum its window counts into its (service, level, template)."""
    miner = miner or TemplateMiner()
    ids = miner.add_many([g.message for g in groups])
    members: dict[tuple[str, str, int], list[LogMessageGroup]] = defaultdict(list)
    for g, template_id in zip(groups, ids, strict=True):
        members[(g.service, g.level, miner.resolve(template_id))].append(g)
    out = [_aggregate(service, level, miner.template(tid).text, ms) for (service, level, tid), ms in members.items()]
    out.sort(key=lambda t: (t.service, t.level, t.template))
    return out


def _aggregate(service: str, level: str, template: str, ms: list[LogMessageGroup]) -> TemplateGroup:
    in_incident = [m for m in ms if m.incident_count]
    first = min(in_incident or ms, key=lambda m: (m.first_ns if m.incident_count else 0, m.message))
    traced = [m for m in (in_incident or ms) if m.example_trace]
    return TemplateGroup(
        service=service,
        level=level,
        template=template,
        baseline_count=sum(m.baseline_count for m in ms),
        incident_count=sum(m.incident_count for m in ms),
        baseline_traces=sum(m.baseline_traces for m in ms),
        incident_traces=sum(m.incident_traces for m in ms),
        exception_type=next((m.exception_type for m in ms if m.exception_type), ""),
        example=first.example,
        example_source=first.example_source,
        example_trace=min(traced, key=lambda m: m.first_ns).example_trace if traced else "",
        first_ns=min((m.first_ns for m in in_incident), default=0),
        messages=tuple(ms),
    )


def concentration(group: TemplateGroup) -> Concentration | None:
    """The parameter value carried by at least `CONCENTRATED` of the incident lines, if any.

    Only for templates with `MIN_PARAM_LINES` incident lines whose parameters could be read; a value as
    common in the normal period (within `BASELINE_MARGIN`) is a constant of the code path, not a clue.
    """
    if group.incident_count < MIN_PARAM_LINES or WILDCARD not in group.template:
        return None
    width = group.template.count(WILDCARD)
    inc: list[Counter[str]] = [Counter() for _ in range(width)]
    base: list[Counter[str]] = [Counter() for _ in range(width)]
    # A folded row's lines carry unknown values: they count against every share, for no value.
    unknown_inc = sum(m.incident_count for m in group.messages if m.folded)
    unknown_base = sum(m.baseline_count for m in group.messages if m.folded)
    for m in group.messages:
        params = () if m.folded else extract_parameters(group.template, m.message)
        if len(params) != width:
            continue
        for i, value in enumerate(params):
            inc[i][value] += m.incident_count
            base[i][value] += m.baseline_count
    best: Concentration | None = None
    names = _parameter_names(group.template)
    for i in range(width):
        if not inc[i]:
            continue
        lines = sum(inc[i].values()) + unknown_inc
        if lines < MIN_PARAM_LINES:
            continue
        value, n = inc[i].most_common(1)[0]
        share = n / lines
        base_lines = sum(base[i].values()) + unknown_base
        base_share = (base[i][value] + unknown_base) / base_lines if base_lines else 0.0  # at most this common
        if not value.strip() or share < CONCENTRATED:
            continue
        if base_lines >= MIN_PARAM_LINES and base_share > share - BASELINE_MARGIN:
            continue
        if best is None or share - base_share > best.share - best.baseline_share:
            best = Concentration(names[i], value, round(share, 3), lines, round(base_share, 3))
    return best


def _parameter_names(template: str) -> list[str]:
    """A name per `<*>`: the key written before it (`product_id=<*>` -> product_id), else `#n` (1-based)."""
    parts = template.split(WILDCARD)
    names = []
    for i, before in enumerate(parts[:-1]):
        m = _KEY_BEFORE.search(before)
        names.append(m.group(1) if m else f"#{i + 1}")
    return names


def _weight(level: str, shift: Shift) -> float:
    if shift in (Shift.GONE, Shift.DOWN):
        return FALL_WEIGHT
    return LEVEL_WEIGHT.get(level, OTHER_LEVEL_WEIGHT)


def service_shifts(
    templates: Sequence[TemplateGroup], *, baseline_seconds: float, incident_seconds: float
) -> dict[str, list[tuple[float, TemplateShift[TemplateGroup]]]]:
    """Per service, its significant template shifts with their weighted statistic, strongest first.

    The exposures are the window lengths in seconds (or line totals for sources without timestamps).
    """
    by_service: dict[str, list[TemplateGroup]] = defaultdict(list)
    for t in templates:
        by_service[t.service].append(t)
    out: dict[str, list[tuple[float, TemplateShift[TemplateGroup]]]] = {}
    for service, ts in by_service.items():
        index = {(t.level, t.template): t for t in ts}
        shifts = diff_counts(
            {k: t.baseline_count for k, t in index.items() if t.baseline_count},
            {k: t.incident_count for k, t in index.items() if t.incident_count},
            baseline_seconds=baseline_seconds,
            incident_seconds=incident_seconds,
        )
        scored = [
            (abs(s.test.z) * _weight(s.key[0], s.shift), _with_group(s, index[s.key]))
            for s in shifts
            if s.shift in (Shift.GONE, Shift.DOWN) or s.incident_count >= MIN_COUNT
        ]
        if scored:
            scored.sort(key=lambda p: (-p[0], p[1].key.level, p[1].key.template))
            out[service] = scored
    return out


def _with_group(s: TemplateShift[tuple[str, str]], group: TemplateGroup) -> TemplateShift[TemplateGroup]:
    return TemplateShift(group, s.shift, s.baseline_count, s.incident_count, s.test)


def log_findings(groups: Sequence[LogMessageGroup], *, baseline: TimeRange, incident: TimeRange) -> Analysis:
    """One finding per service with log shifts, backed by its strongest few template evidence records."""
    out = Analysis()
    shifts = service_shifts(
        mine_groups(groups), baseline_seconds=max(baseline.seconds, 1.0), incident_seconds=max(incident.seconds, 1.0)
    )
    for service, scored in sorted(shifts.items()):
        if not service:  # a finding must name a service; unattributed lines stay out of the ranking
            continue
        ids: list[str] = []
        for weighted, s in scored[:MAX_EVIDENCE_PER_SERVICE]:
            ev = template_evidence(s, weighted, incident=incident)
            out.add(ev)
            ids.append(ev.id)
        best_z, best = scored[0]
        rising = [s.key.first_ns for _, s in scored[:MAX_EVIDENCE_PER_SERVICE] if s.key.first_ns and s.test.z > 0]
        out.findings.append(
            Finding(
                AnalyzerKind.LOG_TEMPLATES,
                service,
                FaultKind.CODE if best.key.exception_type and best.test.z > 0 else FaultKind.UNKNOWN,
                strength(best_z, SCORE_SCALE),
                tuple(ids),
                min(rising, default=None),
                best.key.template,
            )
        )
    return out


def template_evidence(s: TemplateShift[TemplateGroup], weighted: float, *, incident: TimeRange) -> Evidence:
    """The Evidence record of one template shift: what changed, how surely, an example, traces, a concentrated value."""
    t = s.key
    conc = concentration(t) if s.test.z > 0 else None
    summary = (
        f'{t.level or "unleveled"} template "{_short(t.template)}" on {t.service} {_describe(s)} (z={s.test.z:.1f})'
    )
    attributes: dict[str, str | float | int] = {
        "template": t.template,
        "level": t.level,
        "shift": s.shift.value,
        "count": t.incident_count,
        "baseline_count": t.baseline_count,
        "z": round(s.test.z, 2),
        "exception_type": t.exception_type,
        "traces": t.incident_traces,
        "baseline_traces": t.baseline_traces,
        "example_source": t.example_source,
    }
    if t.incident_traces:
        summary += f"; in {t.incident_traces} traces"
    if conc is not None:
        summary += f"; {conc.share:.0%} carry {conc.name}={conc.value}"
        attributes |= {
            "param_name": conc.name,
            "param_value": conc.value,
            "param_share": conc.share,
            "param_lines": conc.lines,
            "param_baseline_share": conc.baseline_share,
        }
    return Evidence(
        id=evidence_id(EvidenceKind.LOG_TEMPLATE, t.service, t.level, t.template, s.shift.value),
        kind=EvidenceKind.LOG_TEMPLATE,
        service=t.service,
        summary=summary,
        excerpt=excerpt(t.example),
        time_range=TimeRange(t.first_ns, incident.end_ns) if t.first_ns else incident,
        source_ref=f"trace:{t.example_trace}" if t.example_trace else t.example_source,
        score=round(weighted, 2),
        attributes=attributes,
    )


def _short(template: str, limit: int = 120) -> str:
    return template if len(template) <= limit else template[: limit - 1] + "…"


def _describe(s: TemplateShift[TemplateGroup]) -> str:
    b, i = s.baseline_count, s.incident_count
    if s.shift is Shift.NEW:
        return f"is new: {i} lines, none in the normal period"
    if s.shift is Shift.GONE:
        return f"disappeared: none in the incident, {b} lines in the normal period"
    if s.shift is Shift.UP:
        return f"rose {s.test.ratio:.1f}x in rate: {i} lines against {b} in the normal period"
    return f"fell to {s.test.ratio:.2f}x of its share of lines: {i} lines against {b} in the normal period"
