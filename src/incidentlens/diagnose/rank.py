"""Rank root-cause hypotheses per service from the findings of every analyser.

Per service, findings combine by noisy-OR with a weight per analyser (`analyzers.py`): decisive local signals (where
failures start in traces, a service gone silent, its own resource metrics) weigh most; symptoms that
propagate to callers (error logs, latency and error-rate metrics) weigh less, and less again when a
service downstream of it shows its own decisive anomaly. A resource anomaly with no effect on the
service's own requests weighs less. A change weighs only when its service is anomalous. Confidence is
a calibrated function of the top score, its margin over the runner-up and how many services are anomalous
(`calibration.py`);
below an even chance we abstain.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from incidentlens.analyze.topology import downstream
from incidentlens.diagnose.analyzers import Role, spec
from incidentlens.diagnose.calibration import calibrated_confidence
from incidentlens.model import AnalyzerKind, Evidence, FaultKind, Finding

# A resource anomaly hurts this incident through the service's own requests: slower to serve, failing,
# or gone. Without any such sign of its own, it may be a batch job or a neighbour's load: it counts less.
UNFELT_RESOURCE_DISCOUNT = 0.5
DOWNSTREAM_DISCOUNT = 0.4
# Slowness is what a saturated CPU or memory causes; when both are as strong, the resource names the fault.
LATENCY_AS_KIND = 0.9
MAX_HYPOTHESES = 5


@dataclass(frozen=True, slots=True)
class ServiceScore:
    service: str
    score: float
    fault: FaultKind
    findings: tuple[Finding, ...]
    onset_ns: int | None


def _noisy_or(values: list[float]) -> float:
    p = 1.0
    for v in values:
        p *= 1.0 - max(0.0, min(v, 0.999))
    return 1.0 - p


def _fault_of(findings: list[Finding]) -> FaultKind:
    """The fault kind of the strongest local finding; a near change refines code vs config."""
    ranked = sorted(
        (f for f in findings if spec(f.analyzer).role is not Role.CHANGE),
        key=lambda f: -(spec(f.analyzer).weight * f.score * (LATENCY_AS_KIND if spec(f.analyzer).latency else 1.0)),
    )
    fault = next((f.fault for f in ranked if f.fault is not FaultKind.UNKNOWN), FaultKind.UNKNOWN)
    changes = [f for f in findings if spec(f.analyzer).role is Role.CHANGE and f.score > 0.5]
    if changes and fault in (FaultKind.CODE, FaultKind.SATURATION, FaultKind.UNKNOWN, FaultKind.NETWORK):
        return max(changes, key=lambda f: f.score).fault
    return fault


def score_services(findings: list[Finding], graph: nx.DiGraph) -> list[ServiceScore]:
    by_service: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_service[f.service].append(f)
    decisive_strength = {
        s: max((spec(f.analyzer).weight * f.score for f in fs if spec(f.analyzer).role is Role.DECISIVE), default=0.0)
        for s, fs in by_service.items()
    }
    scores: list[ServiceScore] = []
    for service, fs in by_service.items():
        anomalous = [f for f in fs if spec(f.analyzer).role is not Role.CHANGE]
        if not anomalous:
            continue
        felt = any(spec(f.analyzer).felt for f in anomalous)
        below = downstream(graph, service)
        explained_below = max((decisive_strength.get(d, 0.0) for d in below), default=0.0)
        parts: list[float] = []
        for f in anomalous:
            w = spec(f.analyzer).weight
            downstream_explains = f.analyzer is AnalyzerKind.TRACE_LATENCY and explained_below > 0
            if spec(f.analyzer).role is Role.SYMPTOM or downstream_explains:
                w *= 1.0 - DOWNSTREAM_DISCOUNT * min(1.0, explained_below / 0.5)
            if f.analyzer is AnalyzerKind.METRIC_RESOURCE and not felt:
                w *= UNFELT_RESOURCE_DISCOUNT
            parts.append(w * f.score)
        base = _noisy_or(parts)
        change_parts = [spec(f.analyzer).weight * f.score for f in fs if spec(f.analyzer).role is Role.CHANGE]
        score = _noisy_or([base, *(base * c for c in change_parts)])
        onset = min((f.onset_ns for f in anomalous if f.onset_ns), default=None)
        scores.append(ServiceScore(service, score, _fault_of(fs), tuple(fs), onset))
    scores.sort(key=lambda s: (-s.score, s.service))
    return scores


def confidence_of(scores: list[ServiceScore], index: int) -> float:
    """Calibrated probability that this candidate is the root-cause service (see `calibration.py`).

    Lower-ranked candidates are scored against the candidate ranked first, so they never exceed it.
    """
    own = scores[index].score
    rival = scores[1].score if index == 0 and len(scores) > 1 else scores[0].score if index > 0 else 0.0
    return calibrated_confidence(own, rival if index == 0 else max(rival, own), len(scores))


def supporting_and_contradicting(
    candidate: ServiceScore, others: list[ServiceScore], evidence: dict[str, Evidence]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Supporting: the candidate's own evidence. Contradicting: decisive anomalies elsewhere that began earlier."""
    supporting = tuple(dict.fromkeys(eid for f in candidate.findings for eid in f.evidence_ids))
    contradicting: list[str] = []
    if candidate.onset_ns is not None:
        for other in others:
            for f in other.findings:
                earlier = f.onset_ns is not None and f.onset_ns < candidate.onset_ns - 30_000_000_000
                if spec(f.analyzer).role is Role.DECISIVE and f.onset_ns and earlier:
                    contradicting.extend(eid for eid in f.evidence_ids if eid in evidence)
    return supporting, tuple(dict.fromkeys(contradicting))[:5]
