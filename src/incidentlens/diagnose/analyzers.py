"""The registry of analysers: each kind's weight in the ranking and the role it plays.

Roles decide how a finding combines with the others (see `rank.py`):
- decisive: a local anomaly of the service itself (where failures start in traces, silence, its own
  resources, its own latency); it also discounts the symptoms of the services calling it;
- symptom: a signal that propagates to callers (error logs, error-rate or traffic metrics); it weighs less
  when a service downstream shows a decisive anomaly of its own;
- supporting: evidence that points at the service without being decisive (code paths, weak shifts);
- change: a deploy, config change or flag flip; it weighs only when its service is anomalous.
`felt` marks analysers that show the service's own requests suffering (a resource anomaly without one counts
less); `latency` marks slowness, which a saturated resource causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from incidentlens.model import AnalyzerKind


class Role(StrEnum):
    DECISIVE = "decisive"
    SYMPTOM = "symptom"
    SUPPORTING = "supporting"
    CHANGE = "change"


@dataclass(frozen=True, slots=True)
class AnalyzerSpec:
    weight: float
    role: Role
    felt: bool = False  # the service's own requests show it (slower, failing, gone)
    latency: bool = False


ANALYZERS: dict[AnalyzerKind, AnalyzerSpec] = {
    AnalyzerKind.TRACE_ERRORS: AnalyzerSpec(0.9, Role.DECISIVE, felt=True),
    AnalyzerKind.SILENCE: AnalyzerSpec(0.9, Role.DECISIVE, felt=True),
    AnalyzerKind.METRIC_RESOURCE: AnalyzerSpec(0.75, Role.DECISIVE),
    AnalyzerKind.TRACE_LATENCY: AnalyzerSpec(0.7, Role.DECISIVE, felt=True, latency=True),
    AnalyzerKind.EDGE_LATENCY: AnalyzerSpec(0.75, Role.DECISIVE, felt=True, latency=True),
    AnalyzerKind.CALL_EDGES: AnalyzerSpec(0.8, Role.DECISIVE, felt=True, latency=True),
    AnalyzerKind.METRIC_LOCAL_LATENCY: AnalyzerSpec(0.3, Role.DECISIVE, felt=True, latency=True),
    # A changed service's new pods departing from its old ones at the same moments (`analyze/deploys.py`).
    AnalyzerKind.DEPLOY_PODS: AnalyzerSpec(0.9, Role.DECISIVE, felt=True),
    AnalyzerKind.CODE_PATH: AnalyzerSpec(0.7, Role.SUPPORTING),
    AnalyzerKind.DEPENDENCY_ERRORS: AnalyzerSpec(0.3, Role.SUPPORTING),
    AnalyzerKind.METRIC_WEAK: AnalyzerSpec(0.1, Role.SUPPORTING),
    AnalyzerKind.LOG_TEMPLATES: AnalyzerSpec(0.5, Role.SYMPTOM),
    AnalyzerKind.METRIC_SYMPTOM: AnalyzerSpec(0.3, Role.SYMPTOM),
    AnalyzerKind.CHANGES: AnalyzerSpec(0.45, Role.CHANGE),
}


def spec(kind: AnalyzerKind) -> AnalyzerSpec:
    """The registered spec; a kind without one is a programming error, never a silent default weight."""
    try:
        return ANALYZERS[kind]
    except KeyError:
        raise KeyError(f"analyser {kind!r} is not registered in diagnose/analyzers.py") from None
