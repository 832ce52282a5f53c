"""Log evidence: error and warning templates that are new or whose rate rose against the normal period."""

from __future__ import annotations

from collections import defaultdict

from incidentlens.analyze.evidence_ids import evidence_id, excerpt, strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.traces import poisson_excess_z
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Finding, TimeRange
from incidentlens.telemetry.queries import LogTemplateStat

MIN_COUNT = 3
MAX_EVIDENCE_PER_SERVICE = 3


def log_findings(stats: list[LogTemplateStat], *, baseline: TimeRange, incident: TimeRange) -> Analysis:
    """One finding per service, built from its strongest error/warning templates."""
    out = Analysis()
    scale = incident.seconds / max(baseline.seconds, 1.0)
    per_service: dict[str, list[tuple[float, LogTemplateStat]]] = defaultdict(list)
    for st in stats:
        if st.incident_count < MIN_COUNT or not st.service:
            continue
        z = poisson_excess_z(st.incident_count, st.baseline_count * scale)
        if z < 3:
            continue
        weight = 1.0 if st.level in ("ERROR", "FATAL") else 0.5
        per_service[st.service].append((z * weight, st))
    for service, scored in per_service.items():
        scored.sort(key=lambda pair: (-pair[0], pair[1].template))
        ids: list[str] = []
        for z, st in scored[:MAX_EVIDENCE_PER_SERVICE]:
            status = "new" if st.baseline_count == 0 else f"up from {st.baseline_count} in the normal period"
            ev = Evidence(
                id=evidence_id(EvidenceKind.LOG_TEMPLATE, service, st.level, st.template),
                kind=EvidenceKind.LOG_TEMPLATE,
                service=service,
                summary=f"{st.level} template on {service}: {st.incident_count} lines, {status}",
                excerpt=excerpt(st.example),
                time_range=TimeRange(st.first_ns, incident.end_ns) if st.first_ns else incident,
                source_ref=st.example_source,
                score=round(z, 2),
                attributes={
                    "template": st.template,
                    "count": st.incident_count,
                    "baseline_count": st.baseline_count,
                    "exception_type": st.exception_type,
                },
            )
            out.add(ev)
            ids.append(ev.id)
        best_z, best = scored[0]
        onset = min((st.first_ns for _, st in scored if st.first_ns), default=None)
        out.findings.append(
            Finding(
                "log_templates",
                service,
                FaultKind.CODE if best.exception_type else FaultKind.UNKNOWN,
                strength(best_z, 10.0),
                tuple(ids),
                onset,
                best.template,
            )
        )
    return out
