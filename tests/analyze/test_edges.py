"""Network delay attributed to the service whose call edges all slowed, not to a neighbour sharing one."""

from __future__ import annotations

from incidentlens.analyze.edges import edge_latency_findings
from incidentlens.model import FaultKind, TimeRange
from incidentlens.telemetry.rows import EdgeGap


def _edge(caller: str, callee: str, before: float, during: float) -> EdgeGap:
    return EdgeGap(caller, callee, before, before * 1.2, during, 50, 40, "t1")


def test_the_callee_all_of_whose_incoming_edges_slowed_is_blamed() -> None:
    edges = [
        _edge("gateway", "travel", 4.0, 2000.0),
        _edge("food", "travel", 4.0, 1900.0),
        _edge("food", "station", 3.0, 3.1),
        _edge("food", "route", 3.0, 3.2),
        _edge("gateway", "auth", 3.0, 3.1),
        _edge("gateway", "order", 3.0, 3.0),
    ]
    analysis = edge_latency_findings(edges, incident=TimeRange(0, 1))
    best = max(analysis.findings, key=lambda f: f.score)
    assert best.service == "travel" and best.fault is FaultKind.NETWORK and best.score > 0.5
    assert all(f.score < 0.5 for f in analysis.findings if f.service in ("gateway", "food"))


def test_no_slow_edges_no_findings() -> None:
    assert edge_latency_findings([_edge("a", "b", 3.0, 3.2)], incident=TimeRange(0, 1)).findings == []
