"""Turn ranked service scores into Hypothesis records: a claim, evidence for and against, predictions."""

from __future__ import annotations

from incidentlens.diagnose.analyzers import Role, spec
from incidentlens.diagnose.calibration import ABSTAIN_CONFIDENCE
from incidentlens.diagnose.rank import (
    MAX_HYPOTHESES,
    ServiceScore,
    confidence_of,
    supporting_and_contradicting,
)
from incidentlens.model import AnalyzerKind, Evidence, EvidenceKind, FaultKind, Hypothesis, Prediction

_CLAIMS = {
    FaultKind.CODE: "a code defect in {s} makes requests fail",
    FaultKind.DEPENDENCY: "{s} is unavailable: calls to it get no answer and it stopped emitting telemetry",
    FaultKind.CPU: "{s} is CPU-saturated and slows the requests it serves",
    FaultKind.MEMORY: "{s} is under memory pressure (growth, leak or lost cache) and degrades",
    FaultKind.NETWORK: "network delay on the path to {s} slows its callers",
    FaultKind.DISK: "{s} is limited by disk I/O",
    FaultKind.CONFIG: "a configuration change in {s} makes requests fail or time out",
    FaultKind.SATURATION: "{s} is saturated (a connection pool, queue or slow dependency of its own)",
    FaultKind.UNKNOWN: "the anomaly starts in {s}",
}


def _change_evidence(candidate: ServiceScore, evidence: dict[str, Evidence]) -> Evidence | None:
    changes = [
        evidence[eid]
        for f in candidate.findings
        if spec(f.analyzer).role is Role.CHANGE
        for eid in f.evidence_ids
        if eid in evidence
    ]
    return max(changes, key=lambda e: e.score, default=None)


def _rollout_evidence(candidate: ServiceScore, evidence: dict[str, Evidence]) -> Evidence | None:
    """The deploy-aware evidence of the candidate's own rollout, when one departs (`analyze/deploys.py`)."""
    found = [
        evidence[eid]
        for f in candidate.findings
        if f.analyzer is AnalyzerKind.DEPLOY_PODS
        for eid in f.evidence_ids
        if eid in evidence
    ]
    return max(found, key=lambda e: e.score, default=None)


def _rollout_clause(rollout: Evidence) -> str:
    """ ", after the rollout of S v1 -> v2 (pods a, b)": the change, the version and the pods, by name."""
    a = rollout.attributes
    version = f"{a.get('previous') or '?'} -> {a.get('version') or '?'}"
    pods = str(a.get("pods", ""))
    return f", after the rollout of {rollout.service} {version}" + (f" (new pods {pods})" if pods else "")


def _predictions(candidate: ServiceScore, evidence: dict[str, Evidence]) -> tuple[Prediction, ...]:
    s = candidate.service
    change = _change_evidence(candidate, evidence)
    preds: list[Prediction] = []
    if change is not None and change.score > 0.3:
        preds.append(
            Prediction(
                statement=f"undoing the change ({change.summary}) removes the anomaly in {s}",
                confirms_if=f"the anomalous signals of {s} return to normal within 10 minutes of the rollback",
                refutes_if=f"the anomaly in {s} persists after the rollback, or it began before the change",
            )
        )
    top = max(candidate.findings, key=lambda f: f.score)
    preds.append(
        Prediction(
            statement=f"{s} is where the anomaly starts, not a victim of another service",
            confirms_if=f"{s}'s own signals ({top.analyzer.replace('_', ' ')}) changed no later than its callers'",
            refutes_if=f"a service that {s} depends on shows the same anomaly earlier",
        )
    )
    return tuple(preds)


def build_hypotheses(scores: list[ServiceScore], evidence: dict[str, Evidence]) -> tuple[list[Hypothesis], bool]:
    """The top candidates as hypotheses, and whether the evidence is too weak to point anywhere."""
    hypotheses: list[Hypothesis] = []
    for index, candidate in enumerate(scores[:MAX_HYPOTHESES]):
        supporting, contradicting = supporting_and_contradicting(
            candidate, [s for s in scores if s is not candidate], evidence
        )
        if not supporting:
            continue  # a claim without evidence is dropped, not shown
        claim = _CLAIMS[candidate.fault].format(s=candidate.service)
        change = _change_evidence(candidate, evidence)
        rollout = _rollout_evidence(candidate, evidence)
        if rollout is not None and rollout.score > 0.3:
            claim += _rollout_clause(rollout)
            supporting = (rollout.id, *(e for e in supporting if e != rollout.id))  # what the claim rests on
        elif change is not None and change.score > 0.3:
            claim += f", after {change.summary}"
        component = next(
            (
                str(evidence[eid].attributes.get("operation", ""))
                for f in candidate.findings
                for eid in f.evidence_ids
                if eid in evidence and evidence[eid].kind in (EvidenceKind.TRACE_ERROR, EvidenceKind.TRACE_LATENCY)
            ),
            "",
        )
        hypotheses.append(
            Hypothesis(
                id=f"hyp-{index + 1}-{candidate.service}",
                claim=claim,
                service=candidate.service,
                fault=candidate.fault,
                confidence=confidence_of(scores, index),
                supporting=supporting,
                contradicting=contradicting,
                predictions=_predictions(candidate, evidence),
                component=component,
            )
        )
    # One number decides: the confidence shown is the one that decides abstention. A coin flip (a near tie is
    # capped there) is not evidence, so the threshold itself abstains.
    abstain = not hypotheses or hypotheses[0].confidence <= ABSTAIN_CONFIDENCE
    return hypotheses, abstain
