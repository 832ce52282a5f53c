"""Rule-based fix suggestions per hypothesis, each with the evidence it rests on and a falsifiable prediction."""

from __future__ import annotations

from incidentlens.model import (
    Evidence,
    EvidenceKind,
    FaultKind,
    FixKind,
    FixProposal,
    Hypothesis,
    Prediction,
    RiskLevel,
)

_OPERATIONS: dict[FaultKind, tuple[str, str, RiskLevel]] = {
    FaultKind.DEPENDENCY: ("restart or fail over {s} and check why it stopped answering", "restart", RiskLevel.MEDIUM),
    FaultKind.CPU: ("scale out {s} (more replicas or CPU limit) and find the hot path", "scale", RiskLevel.LOW),
    FaultKind.MEMORY: ("restart {s} to relieve memory, then find what grows", "restart", RiskLevel.MEDIUM),
    FaultKind.SATURATION: ("raise the exhausted pool or consumer capacity of {s}", "scale", RiskLevel.MEDIUM),
    FaultKind.NETWORK: ("move traffic off the slow network path to {s}", "reroute", RiskLevel.MEDIUM),
    FaultKind.DISK: ("free or expand the disk of {s}", "expand-disk", RiskLevel.MEDIUM),
}


def suggest_fixes(hypothesis: Hypothesis, evidence: dict[str, Evidence]) -> list[FixProposal]:
    s = hypothesis.service
    changes = sorted(
        (evidence[e] for e in hypothesis.supporting if e in evidence and evidence[e].kind is EvidenceKind.CHANGE),
        key=lambda e: -e.score,
    )
    symptom_ids = tuple(
        e for e in hypothesis.supporting if e in evidence and evidence[e].kind is not EvidenceKind.CHANGE
    )
    proposals: list[FixProposal] = []
    if changes and changes[0].score > 0.3:
        ch = changes[0]
        kind_attr = str(ch.attributes.get("kind", ""))
        commit = str(ch.attributes.get("commit", ""))
        previous = str(ch.attributes.get("previous", ""))
        is_config = kind_attr in ("config", "feature_flag")
        proposals.append(
            FixProposal(
                id=f"fix-{hypothesis.id}-rollback",
                hypothesis_id=hypothesis.id,
                kind=FixKind.CONFIG_ROLLBACK if is_config else FixKind.REVERT,
                title=(f"restore the previous configuration of {s}" + (f" ({previous})" if previous else ""))
                if is_config
                else (
                    f"roll back {s}"
                    + (f" to {previous}" if previous else "")
                    + (f" (revert {commit[:12]})" if commit else "")
                ),
                rationale=f"the anomaly in {s} began after: {ch.summary}",
                risk=RiskLevel.LOW,
                evidence_ids=(ch.id, *symptom_ids[:3]),
                action={"service": s, "commit": commit, "previous": previous},
                prediction=Prediction(
                    statement=f"after the rollback the failing signals of {s} return to normal",
                    confirms_if=f"the evidence {', '.join(symptom_ids[:2]) or 'anomalies'} clears within 10 minutes",
                    refutes_if="the same anomalies continue 10 minutes after the rollback",
                ),
            )
        )
    op = _OPERATIONS.get(hypothesis.fault)
    if op is not None:
        text, action, risk = op
        proposals.append(
            FixProposal(
                id=f"fix-{hypothesis.id}-{action}",
                hypothesis_id=hypothesis.id,
                kind=FixKind.OPERATION,
                title=text.format(s=s),
                rationale=hypothesis.claim,
                risk=risk,
                evidence_ids=symptom_ids[:4],
                action={"service": s, "action": action},
                prediction=Prediction(
                    statement=f"the mitigation relieves {s}",
                    confirms_if=f"the anomalous metrics and traces of {s} return toward their normal level",
                    refutes_if=f"{s} stays degraded after the mitigation",
                ),
            )
        )
    return proposals
