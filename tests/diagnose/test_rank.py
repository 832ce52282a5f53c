"""Ranking: decisive local evidence beats propagated symptoms; weak evidence abstains."""

from __future__ import annotations

import networkx as nx

from incidentlens.diagnose.hypotheses import build_hypotheses
from incidentlens.diagnose.rank import score_services
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Finding


def _ev(eid: str, service: str) -> Evidence:
    return Evidence(eid, EvidenceKind.LOG_TEMPLATE, service, f"summary {eid}", "excerpt")


def test_root_cause_beats_callers_with_louder_symptoms() -> None:
    graph = nx.DiGraph([("frontend", "checkout"), ("checkout", "payment")])
    findings = [
        Finding("log_templates", "frontend", FaultKind.UNKNOWN, 0.95, ("e1",)),
        Finding("log_templates", "checkout", FaultKind.UNKNOWN, 0.95, ("e2",)),
        Finding("metric_symptom", "checkout", FaultKind.UNKNOWN, 0.9, ("e3",)),
        Finding("trace_errors", "payment", FaultKind.CODE, 0.8, ("e4",)),
        Finding("log_templates", "payment", FaultKind.CODE, 0.6, ("e5",)),
    ]
    scores = score_services(findings, graph)
    assert scores[0].service == "payment"
    evidence = {e: _ev(e, "x") for e in ("e1", "e2", "e3", "e4", "e5")}
    hypotheses, abstained = build_hypotheses(scores, evidence)
    assert not abstained
    assert hypotheses[0].service == "payment" and hypotheses[0].fault is FaultKind.CODE
    assert hypotheses[0].supporting == ("e4", "e5")
    assert hypotheses[0].confidence > hypotheses[1].confidence


def test_change_alone_is_not_a_hypothesis() -> None:
    findings = [Finding("changes", "ad", FaultKind.CODE, 0.9, ("c1",))]
    scores = score_services(findings, nx.DiGraph())
    assert scores == []
    hypotheses, abstained = build_hypotheses(scores, {})
    assert hypotheses == [] and abstained


def test_weak_single_signal_abstains_with_capped_confidence() -> None:
    findings = [Finding("metric_symptom", "cart", FaultKind.UNKNOWN, 0.3, ("m1",))]
    scores = score_services(findings, nx.DiGraph())
    hypotheses, abstained = build_hypotheses(scores, {"m1": _ev("m1", "cart")})
    assert abstained
    assert hypotheses[0].confidence <= 0.6
