"""The brief's model: everything a renderer needs, nothing it has to compute."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from incidentlens.analyze.topology import GraphEdge
from incidentlens.model import Evidence, FixProposal, Hypothesis
from incidentlens.report.assistance import Assistance

CONFIDENCE_MEANING = (
    "Each confidence is the chance that this service is where the fault starts; they need not add up to 1."
)

if TYPE_CHECKING:
    from incidentlens.memory.fingerprint import Symptoms


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    ts_ns: int
    kind: str
    service: str
    text: str
    evidence_id: str = ""
    when: str = ""  # clock (full date when the timeline crosses days) and time to onset: "09:30:45 (T+15 s)"
    more: tuple[str, ...] = ()  # further evidence ids this line stands for (same service and kind)


@dataclass(frozen=True, slots=True)
class Impact:
    affected_services: tuple[str, ...]
    error_rate_before: float
    error_rate_during: float
    latency_p95_before_ms: float
    latency_p95_during_ms: float
    alerts: tuple[str, ...]
    degradations: tuple[str, ...] = ()  # only what got worse, in words that fit it ("requests slowed ...")
    spans_seen: bool = True  # False: no spans, so the error rate and latency above mean nothing


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Head:
    """The five lines an on-call engineer reads first: what broke, since when, how sure, who, what next."""

    what: str
    since: str
    hypothesis: str
    page: str
    next_step: str
    links: tuple[Link, ...] = ()  # the alert's runbook, dashboards and source
    description: str = ""  # the alert's description, as its author wrote it

    def lines(self) -> tuple[tuple[str, str], ...]:
        return (
            ("What broke", self.what),
            ("Since", self.since),
            ("Leading hypothesis", self.hypothesis),
            ("Page", self.page),
            ("Next", self.next_step),
        )


@dataclass(frozen=True, slots=True)
class RankedHypothesis:
    rank: int
    hypothesis: Hypothesis
    evidence_for: tuple[Evidence, ...]
    evidence_against: tuple[Evidence, ...]
    fixes: tuple[FixProposal, ...]
    memory_notes: tuple[str, ...] = ()  # how past incidents moved this hypothesis's confidence, and why
    victim_of: str = ""  # a higher-ranked service it calls explains its anomaly: a victim, not a suspect
    why_lower: str = ""  # for alternatives: one line on why it ranks below the leader
    statement: str = ""  # the claim in words that fit its evidence (a slowdown is not "requests fail")


@dataclass(frozen=True, slots=True)
class SeenBefore:
    """A similar past incident: its root cause, the fix that worked and which symptoms matched."""

    incident_id: str
    title: str
    similarity: float
    service: str
    fault: str
    component: str
    confirmed: bool
    fix: str
    fix_source: str
    owners: tuple[str, ...]
    matched: tuple[str, ...]
    same_as_rank: int = 0  # rank of the current hypothesis with the same cause; 0 when none has it


@dataclass(frozen=True, slots=True)
class TraceSpan:
    """One span of an exemplar trace, as the waterfall picture draws it."""

    span_id: str
    parent_span_id: str
    service: str
    name: str
    start_ns: int
    end_ns: int
    error: bool


@dataclass(frozen=True, slots=True)
class ExemplarTrace:
    """A trace the top hypothesis cites, kept with the brief so its picture outlives telemetry retention."""

    trace_id: str
    evidence_id: str
    spans: tuple[TraceSpan, ...]  # capped; `total_spans` says how many the trace had
    total_spans: int


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """A cited metric around the onset (mean of the service's series of that name), for a sparkline."""

    evidence_id: str
    service: str
    metric: str
    points: tuple[tuple[int, float], ...]  # (ts_ns, value), capped


@dataclass(frozen=True, slots=True)
class InputFileLine:
    """A file an investigation read (its detected format, rows, bad records) or skipped (and why)."""

    path: str
    format: str
    rows: int
    problems: int
    skipped: str = ""


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """What one telemetry source returned for this investigation (never credentials: targets are redacted)."""

    name: str
    kind: str
    target: str
    rows: dict[str, int]
    first_ns: int | None = None
    last_ns: int | None = None
    requests: int = 0
    seconds: float = 0.0
    truncated: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    failed: bool = False
    files: tuple[InputFileLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Brief:
    title: str
    generated_at: str
    summary: str
    abstained: bool
    onset_ns: int
    onset_reason: str
    alert_ns: int | None
    baseline: tuple[int, int]
    incident: tuple[int, int]
    impact: Impact
    timeline: tuple[TimelineEntry, ...]
    graph: tuple[GraphEdge, ...]
    hypotheses: tuple[RankedHypothesis, ...]
    next_steps: tuple[str, ...]
    inputs: dict[str, int]
    notes: tuple[str, ...]
    severity: str = "unknown"
    alert_fingerprint: str = ""
    seen_before: tuple[SeenBefore, ...] = ()
    symptoms: Symptoms | None = None  # stored with the brief so the incident can be indexed once resolved
    exemplar_trace: ExemplarTrace | None = None  # for the console's trace waterfall
    metric_series: tuple[MetricSeries, ...] = ()  # for the console's sparklines
    sources: tuple[SourceSummary, ...] = ()  # which sources answered, with what
    coverage_gaps: tuple[str, ...] = ()  # what no source covered ("no traces for payment")
    head: Head | None = None  # the five-line head; None only for briefs stored before it existed
    timeline_more: int = 0  # timeline lines left out ("and N more")
    warnings: tuple[str, ...] = ()  # what the reader must not miss (an alert outside the data, ...)
    assistance: Assistance | None = None  # the optional model narrative with its egress record (assist/)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; `hypotheses` items carry `service`, `confidence` and `evidence` at top level."""
        data: dict[str, Any] = _plain(self)
        data["hypotheses"] = [
            {
                "rank": rh.rank,
                "label": "HYPOTHESIS",
                "id": rh.hypothesis.id,
                "service": rh.hypothesis.service,
                "fault": rh.hypothesis.fault.value,
                "component": rh.hypothesis.component,
                "claim": rh.hypothesis.claim,
                "confidence": rh.hypothesis.confidence,
                "status": rh.hypothesis.status.value,
                "evidence": [_plain(e) for e in rh.evidence_for],
                "evidence_against": [_plain(e) for e in rh.evidence_against],
                "predictions": [_plain(p) for p in rh.hypothesis.predictions],
                "locations": [_plain(loc) for loc in rh.hypothesis.locations],
                "suspect_commits": [_plain(c) for c in rh.hypothesis.suspect_commits],
                "owners": [_plain(o) for o in rh.hypothesis.owners],
                "fixes": [{"label": "SUGGESTION", **_plain(f)} for f in rh.fixes],
                "memory_notes": list(rh.memory_notes),
                "statement": rh.statement,
                "victim_of": rh.victim_of,
                "why_lower": rh.why_lower,
            }
            for rh in self.hypotheses
        ]
        data["onset"] = iso(self.onset_ns)
        data["alert_time"] = iso(self.alert_ns) if self.alert_ns else None
        return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def iso(ts_ns: int | None) -> str:
    if not ts_ns:
        return ""
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock(ts_ns: int | None) -> str:
    if not ts_ns:
        return "--:--:--"
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).strftime("%H:%M:%S")


def duration_words(ns: int) -> str:
    """A duration as a reader says it: "45 s", "1.5 min", "3.2 h", "29 days"."""
    seconds = abs(ns) / 1e9
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"


def relative(ts_ns: int, onset_ns: int) -> str:
    """Time to the onset: "T-1.5 min", "T+15 s", "T+0"."""
    delta = ts_ns - onset_ns
    if abs(delta) < 500_000_000:
        return "T+0"
    return f"T{'-' if delta < 0 else '+'}{duration_words(delta)}"


def stamp(ts_ns: int, *, with_date: bool) -> str:
    """A clock time, with its date when a list crosses days."""
    fmt = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).strftime(fmt)


def capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]
