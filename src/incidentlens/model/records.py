"""Frozen records that cross stage boundaries. Bulk telemetry never becomes these: it stays columnar."""

from __future__ import annotations

from dataclasses import dataclass, field

from incidentlens.model.enums import (
    AnalyzerKind,
    ChangeKind,
    EvidenceKind,
    FaultKind,
    FixKind,
    HypothesisStatus,
    IncidentStatus,
    OwnerSource,
    RiskLevel,
    Severity,
)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open interval in Unix nanoseconds."""

    start_ns: int
    end_ns: int

    def __post_init__(self) -> None:
        if self.end_ns < self.start_ns:
            raise ValueError(f"time range ends before it starts: {self.start_ns} > {self.end_ns}")

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as the store keeps it; `ends_ns` is 0 while it fires."""

    name: str
    starts_ns: int
    service: str | None = None
    severity: Severity = Severity.UNKNOWN
    summary: str = ""
    fingerprint: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    source: str = ""
    ends_ns: int = 0
    status: str = "firing"


@dataclass(frozen=True, slots=True)
class Change:
    """A deploy, configuration change or feature-flag flip."""

    kind: ChangeKind
    ts_ns: int
    service: str
    description: str = ""
    author: str = ""
    commit: str = ""
    previous: str = ""
    current: str = ""
    source: str = ""
    pod: str = ""  # the pod one step of a rolling update started, when the change names it


@dataclass(frozen=True, slots=True)
class Evidence:
    """An addressable piece of evidence whose excerpt outlives telemetry retention."""

    id: str
    kind: EvidenceKind
    service: str | None
    summary: str
    excerpt: str
    time_range: TimeRange | None = None
    source_ref: str = ""
    score: float = 0.0
    attributes: dict[str, str | float | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    """What one analyser concluded about one service, pointing at its evidence."""

    analyzer: AnalyzerKind
    service: str
    fault: FaultKind
    score: float
    evidence_ids: tuple[str, ...]
    onset_ns: int | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        # An unregistered analyser is an error here, not a silent default weight in the ranking.
        object.__setattr__(self, "analyzer", AnalyzerKind(self.analyzer))


@dataclass(frozen=True, slots=True)
class Prediction:
    """A falsifiable statement: what we expect to observe if the hypothesis (or fix) is right."""

    statement: str
    confirms_if: str
    refutes_if: str


@dataclass(frozen=True, slots=True)
class CodeLocation:
    path: str
    line: int
    end_line: int | None = None
    function: str = ""
    snippet: str = ""
    commit: str = ""
    why: str = ""
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    source: OwnerSource
    why: str = ""
    contact: str = ""


@dataclass(frozen=True, slots=True)
class SuspectCommit:
    sha: str
    author: str
    ts_ns: int
    subject: str
    files: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """A ranked, evidence-backed claim about the root cause. Always a hypothesis, never a verdict."""

    id: str
    claim: str
    service: str
    fault: FaultKind
    confidence: float
    supporting: tuple[str, ...]
    contradicting: tuple[str, ...] = ()
    predictions: tuple[Prediction, ...] = ()
    component: str = ""
    status: HypothesisStatus = HypothesisStatus.PROPOSED
    locations: tuple[CodeLocation, ...] = ()
    suspect_commits: tuple[SuspectCommit, ...] = ()
    owners: tuple[Owner, ...] = ()


@dataclass(frozen=True, slots=True)
class FixProposal:
    """A suggestion only: executing it requires an Approval from the gate."""

    id: str
    hypothesis_id: str
    kind: FixKind
    title: str
    rationale: str
    risk: RiskLevel
    evidence_ids: tuple[str, ...]
    diff: str = ""
    action: dict[str, str] = field(default_factory=dict)
    prediction: Prediction | None = None
    service: str = ""
    # Who proposed it: the tool, or a user; an author never approves their own proposal.
    author: str = "incidentlens"
    # The commit the diff applies to: validation and the branch executor start from it.
    base_commit: str = ""
    # The machine-checkable part of the prediction (signal, service, template, rates): what verify-fix checks.
    expectation: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    status: IncidentStatus
    detected_ns: int
    service: str | None = None
    severity: Severity = Severity.UNKNOWN
    alert_fingerprint: str = ""
