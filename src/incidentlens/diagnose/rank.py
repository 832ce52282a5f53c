"""Rank root-cause hypotheses per service from the findings of every analyser.

Per service, findings combine by noisy-OR with a weight per analyser: decisive local signals (where
failures start in traces, a service gone silent, its own resource metrics) weigh most; symptoms that
propagate to callers (error logs, latency and error-rate metrics) weigh less, and less again when a
service downstream of it shows its own decisive anomaly. A resource anomaly with no effect on the
service's own requests weighs less. A change weighs only when its service is anomalous. Confidence is
a calibrated function of the top score and its margin over the runner-up (`calibration.py`); below a
floor we abstain.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from incidentlens.analyze.topology import downstream
from incidentlens.diagnose.calibration import calibrated_confidence
from incidentlens.model import Evidence, FaultKind, Finding

ANALYZER_WEIGHT = {
    "trace_errors": 0.9,
    "silence": 0.9,
    "metric_resource": 0.75,
    "trace_latency": 0.7,
    "edge_latency": 0.75,
    "code_path": 0.7,
    "dependency_errors": 0.3,
    "metric_weak": 0.1,
    "metric_local_latency": 0.3,
    "log_templates": 0.5,
    "metric_symptom": 0.3,
    "changes": 0.45,
}
DECISIVE = {"metric_local_latency", "trace_errors", "silence", "metric_resource", "trace_latency", "edge_latency"}
SYMPTOMS = {"log_templates", "metric_symptom"}
# A resource anomaly hurts this incident through the service's own requests: slower to serve, failing,
# or gone. Without any such sign of its own, it may be a batch job or a neighbour's load: it counts less.
IMPACT_OF_ITS_OWN = {"metric_local_latency", "trace_latency", "edge_latency", "trace_errors", "silence"}
UNFELT_RESOURCE_DISCOUNT = 0.5
DOWNSTREAM_DISCOUNT = 0.4
# Slowness is what a saturated CPU or memory causes; when both are as strong, the resource names the fault.
LATENCY = {"trace_latency", "edge_latency", "metric_local_latency"}
LATENCY_AS_KIND = 0.9
ABSTAIN_BELOW = 0.35
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
        (f for f in findings if f.analyzer != "changes"),
        key=lambda f: (
            -(ANALYZER_WEIGHT.get(f.analyzer, 0.3) * f.score * (LATENCY_AS_KIND if f.analyzer in LATENCY else 1.0))
        ),
    )
    fault = next((f.fault for f in ranked if f.fault is not FaultKind.UNKNOWN), FaultKind.UNKNOWN)
    changes = [f for f in findings if f.analyzer == "changes" and f.score > 0.5]
    if changes and fault in (FaultKind.CODE, FaultKind.SATURATION, FaultKind.UNKNOWN, FaultKind.NETWORK):
        return max(changes, key=lambda f: f.score).fault
    return fault


def score_services(findings: list[Finding], graph: nx.DiGraph) -> list[ServiceScore]:
    by_service: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_service[f.service].append(f)
    decisive_strength = {
        s: max((ANALYZER_WEIGHT[f.analyzer] * f.score for f in fs if f.analyzer in DECISIVE), default=0.0)
        for s, fs in by_service.items()
    }
    scores: list[ServiceScore] = []
    for service, fs in by_service.items():
        anomalous = [f for f in fs if f.analyzer != "changes"]
        if not anomalous:
            continue
        felt = any(f.analyzer in IMPACT_OF_ITS_OWN for f in anomalous)
        below = downstream(graph, service)
        explained_below = max((decisive_strength.get(d, 0.0) for d in below), default=0.0)
        parts: list[float] = []
        for f in anomalous:
            w = ANALYZER_WEIGHT.get(f.analyzer, 0.3)
            if f.analyzer in SYMPTOMS or (f.analyzer == "trace_latency" and explained_below > 0):
                w *= 1.0 - DOWNSTREAM_DISCOUNT * min(1.0, explained_below / 0.5)
            if f.analyzer == "metric_resource" and not felt:
                w *= UNFELT_RESOURCE_DISCOUNT
            parts.append(w * f.score)
        base = _noisy_or(parts)
        change_parts = [ANALYZER_WEIGHT["changes"] * f.score for f in fs if f.analyzer == "changes"]
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
    return calibrated_confidence(own, rival if index == 0 else max(rival, own))


def supporting_and_contradicting(
    candidate: ServiceScore, others: list[ServiceScore], evidence: dict[str, Evidence]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Supporting: the candidate's own evidence. Contradicting: decisive anomalies elsewhere that began earlier."""
    supporting = tuple(dict.fromkeys(eid for f in candidate.findings for eid in f.evidence_ids))
    contradicting: list[str] = []
    if candidate.onset_ns is not None:
        for other in others:
            for f in other.findings:
                if f.analyzer in DECISIVE and f.onset_ns and f.onset_ns < candidate.onset_ns - 30_000_000_000:
                    contradicting.extend(eid for eid in f.evidence_ids if eid in evidence)
    return supporting, tuple(dict.fromkeys(contradicting))[:5]
