"""Network delay from the gaps around cross-service calls, attributed to the service all slow edges share.

When a service's network is slow, calls into it (or out of it) take longer around the work itself: the gap
between a caller's span and its child span in the other service grows on each of those edges, while a
neighbour sees only the one edge it shares with it. So each service is scored by the larger of two shares:
its incoming edges that slowed, and its outgoing edges that slowed.
"""

from __future__ import annotations

from collections import defaultdict

from incidentlens.analyze.evidence_ids import evidence_id, strength
from incidentlens.analyze.findings import Analysis
from incidentlens.model import AnalyzerKind, Evidence, EvidenceKind, FaultKind, Finding, TimeRange
from incidentlens.telemetry.rows import EdgeGap

MIN_BASELINE_CALLS = 3
MIN_INCIDENT_CALLS = 2
Z_SLOW = 5.0
MIN_EXTRA_MS = 5.0


def edge_z(edge: EdgeGap) -> float:
    spread = max(edge.baseline_p90_ms - edge.baseline_p50_ms, 0.25 * edge.baseline_p50_ms, 0.5)
    return (edge.incident_p50_ms - edge.baseline_p50_ms) / spread


def edge_latency_findings(edges: list[EdgeGap], *, incident: TimeRange) -> Analysis:
    out = Analysis()
    usable = [e for e in edges if e.baseline_count >= MIN_BASELINE_CALLS and e.incident_count >= MIN_INCIDENT_CALLS]
    slow = [
        (e, edge_z(e)) for e in usable if edge_z(e) >= Z_SLOW and e.incident_p50_ms - e.baseline_p50_ms >= MIN_EXTRA_MS
    ]
    if not slow:
        return out
    edges_in: dict[str, int] = defaultdict(int)
    edges_out: dict[str, int] = defaultdict(int)
    for e in usable:
        edges_out[e.caller] += 1
        edges_in[e.callee] += 1
    slow_in: dict[str, list[tuple[EdgeGap, float]]] = defaultdict(list)
    slow_out: dict[str, list[tuple[EdgeGap, float]]] = defaultdict(list)
    for e, z in slow:
        slow_out[e.caller].append((e, z))
        slow_in[e.callee].append((e, z))
    for service in sorted(set(slow_in) | set(slow_out)):
        share_in = len(slow_in[service]) / edges_in[service] if edges_in[service] else 0.0
        share_out = len(slow_out[service]) / edges_out[service] if edges_out[service] else 0.0
        share = max(share_in, share_out)
        items = sorted(slow_in[service] if share_in >= share_out else slow_out[service], key=lambda pair: -pair[1])
        direction = "into" if share_in >= share_out else "out of"
        total = edges_in[service] if share_in >= share_out else edges_out[service]
        top, z = items[0]
        ev = Evidence(
            id=evidence_id(EvidenceKind.TRACE_LATENCY, "edges", service),
            kind=EvidenceKind.TRACE_LATENCY,
            service=service,
            summary=(
                f"{len(items)} of the {total} call edges {direction} {service} slowed around the calls: "
                f"{top.caller} -> {top.callee} gap p50 {top.baseline_p50_ms:.1f} -> {top.incident_p50_ms:.1f} ms"
            ),
            excerpt="; ".join(
                f"{e.caller}->{e.callee} {e.baseline_p50_ms:.1f}->{e.incident_p50_ms:.1f} ms" for e, _ in items[:4]
            ),
            time_range=incident,
            source_ref=f"trace:{top.example_trace}",
            score=round(z, 2),
            attributes={"slow_edges": len(items), "edges": total, "share": round(share, 3), "direction": direction},
        )
        # Only a service most of whose edges slowed is a candidate; a neighbour sharing one edge is not.
        score = strength(z, 10.0) * share if share >= 0.5 else 0.0
        out.add(ev, Finding(AnalyzerKind.EDGE_LATENCY, service, FaultKind.NETWORK, score, (ev.id,), None, ev.summary))
    return out
