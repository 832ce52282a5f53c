"""Trace analysis: where errors start (deepest failing span), self-time shifts, calls that stopped."""

from __future__ import annotations

import math
import re

from incidentlens.analyze.evidence_ids import evidence_id, excerpt, strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.logdiff import rate_test
from incidentlens.model import AnalyzerKind, Evidence, EvidenceKind, FaultKind, Finding, TimeRange
from incidentlens.telemetry.rows import ErrorOrigin, SelfTimeShift, ServiceVolume

MIN_ERRORS = 3
MIN_BASELINE_CALLS = 5
MIN_INCIDENT_CALLS = 10  # a median of fewer calls moves by chance
MIN_EXPECTED_REQUESTS = 10
# A failure the normal period already had (the same place, and no new exception type in at least
# `MIN_ERRORS` of the incident's failures) is a known, recurring one: more of it is a fault only beyond
# chance. Its normal count is a sample too (one error in 26 minutes says little about the normal rate, and nine
# in the next ten minutes can be luck, the more so as the onset is placed where errors cluster), so the rise
# must pass the conditional binomial test of the two counts (`logdiff.rate_test`) at this z. A failure the
# normal period never showed keeps the Poisson excess alone: with a normal period of a few minutes no test can
# tell its rate, and a new failure mode is what a defect looks like. Chosen leave one source out
# (benchmarks/fit_calibration.py over benchmarks/calibration_data.py --grid 3 4 5 6): with the shipped
# confidence mapping every fold chooses 4 (4, 5 and 6 give the same answers; 3 lets nine healthy "not found"
# errors after one in the normal period name a service at 0.95).
MIN_RISE_Z = 4.0


def poisson_excess_z(observed: float, expected: float) -> float:
    """How many standard deviations `observed` lies above a Poisson expectation (with a small prior)."""
    expected = max(expected, 0.5)
    return (observed - expected) / math.sqrt(expected)


def services_named(text: str, services: set[str]) -> list[str]:
    """The services a message names as whole words."""
    return sorted(s for s in services if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text))


def error_origin_findings(
    origins: list[ErrorOrigin], *, known_services: set[str], baseline: TimeRange, incident: TimeRange
) -> Analysis:
    """Group failing spans by the service where the failure starts.

    A client span that failed with no child span at all points at its callee when the callee is one of
    our instrumented services: the callee never answered (unreachable, crashed, dropped the call).
    """
    out = Analysis()
    scale = incident.seconds / max(baseline.seconds, 1.0)
    for o in origins:
        if o.count < MIN_ERRORS:
            continue
        # How far above the normal rate (its strength); a known failure must also rise beyond chance.
        z = poisson_excess_z(o.count, o.baseline_count * scale)
        if z < 3:
            continue
        known = o.baseline_count > 0 and o.new_kind_count < MIN_ERRORS
        if known and _rise_z(o.count, o.baseline_count, baseline=baseline, incident=incident) < MIN_RISE_Z:
            continue
        unanswered = o.kind in ("CLIENT", "PRODUCER") and not o.has_children and o.peer in known_services
        service = o.peer if unanswered else o.service
        fault = FaultKind.DEPENDENCY if unanswered else FaultKind.CODE
        what = (
            f"{o.count} calls from {o.service} `{o.operation}` to {o.peer} failed with no answer from {o.peer}"
            if unanswered
            else f"{o.count} traces fail first in {o.service} `{o.operation}`"
        )
        detail = o.exception_type or o.message
        # "No instances available for cart", "connection refused: cart:7070": the failure is a dependency's,
        # reported by this service; its own code is not what broke.
        names_other = not unanswered and bool(services_named(o.message, known_services - {o.service}))
        ev = Evidence(
            id=evidence_id(EvidenceKind.TRACE_ERROR, o.service, o.operation, o.kind, o.peer),
            kind=EvidenceKind.TRACE_ERROR,
            service=service,
            summary=f"{what} (baseline {o.baseline_count} in a {baseline.seconds / 60:.0f} min normal period)",
            excerpt=excerpt(
                f"{o.service} {o.kind} {o.operation}: {detail}" if detail else f"{o.service} {o.operation}"
            ),
            time_range=TimeRange(o.first_ns, incident.end_ns) if o.first_ns else incident,
            source_ref=f"trace:{o.example_trace}",
            score=round(z, 2),
            attributes={
                "count": o.count,
                "baseline_count": o.baseline_count,
                "operation": o.operation,
                "exception_type": o.exception_type,
                "emitting_service": o.service,
            },
        )
        analyzer = AnalyzerKind.DEPENDENCY_ERRORS if names_other else AnalyzerKind.TRACE_ERRORS
        fault = FaultKind.DEPENDENCY if names_other else fault
        out.add(ev, Finding(analyzer, service, fault, strength(z, 8.0), (ev.id,), o.first_ns or None, detail))
    return out


def _rise_z(count: int, baseline_count: int, *, baseline: TimeRange, incident: TimeRange) -> float:
    inc, base = max(incident.seconds, 1.0), max(baseline.seconds, 1.0)
    return rate_test(count, baseline_count, incident_exposure=inc, baseline_exposure=base).z


def latency_findings(shifts: list[SelfTimeShift], *, known_services: set[str], incident: TimeRange) -> Analysis:
    """Operations whose own time (duration minus children) grew against the normal period.

    Client time not covered by a server child is network or an uninstrumented dependency: it is
    charged to the callee when the callee is ours (its network path), else to the caller (its database,
    its cache).
    """
    out = Analysis()
    for s in shifts:
        if s.baseline_count < MIN_BASELINE_CALLS or s.incident_count < MIN_INCIDENT_CALLS:
            continue
        spread = max(s.baseline_p90_ms - s.baseline_p50_ms, 0.25 * s.baseline_p50_ms, 0.5)
        z = (s.incident_p50_ms - s.baseline_p50_ms) / spread
        if z < 3 or s.incident_p50_ms < s.baseline_p50_ms + 1.0:
            continue
        calls = s.kind in ("CLIENT", "PRODUCER", "UNSPECIFIED", "")
        to_peer = calls and s.has_server_child and s.peer in known_services
        service = s.peer if to_peer else s.service
        fault = FaultKind.NETWORK if to_peer else FaultKind.SATURATION
        ev = Evidence(
            id=evidence_id(EvidenceKind.TRACE_LATENCY, s.service, s.operation, s.kind, s.peer),
            kind=EvidenceKind.TRACE_LATENCY,
            service=service,
            summary=(
                f"own time of {s.service} `{s.operation}`"
                + (f" (calls to {s.peer})" if s.peer else "")
                + f" rose from p50 {s.baseline_p50_ms:.1f} ms to {s.incident_p50_ms:.1f} ms"
                + f" (p90 {s.baseline_p90_ms:.1f} -> {s.incident_p90_ms:.1f} ms, {s.incident_count} spans)"
            ),
            excerpt=(
                f"{s.service} {s.kind} {s.operation} self-time p50 {s.baseline_p50_ms:.1f}->{s.incident_p50_ms:.1f} ms"
            ),
            time_range=incident,
            source_ref=f"trace:{s.example_trace}",
            score=round(z, 2),
            attributes={
                "operation": s.operation,
                "peer": s.peer,
                "emitting_service": s.service,
                "baseline_p50_ms": round(s.baseline_p50_ms, 3),
                "incident_p50_ms": round(s.incident_p50_ms, 3),
            },
        )
        out.add(ev, Finding(AnalyzerKind.TRACE_LATENCY, service, fault, strength(z, 10.0), (ev.id,), None, ev.summary))
    return out


def silence_findings(volumes: list[ServiceVolume], *, baseline: TimeRange, incident: TimeRange) -> Analysis:
    """Services that stopped emitting: a crashed or unreachable process leaves only silence.

    Silence is decisive only when callers kept calling (the calls went unanswered) or nobody calls the
    service (it stopped on its own). A service that simply stopped being called is a downstream
    consequence of a failure upstream, and weighs little.
    """
    out = Analysis()
    scale = incident.seconds / max(baseline.seconds, 1.0)
    for v in volumes:
        expected = (v.baseline_spans + v.baseline_logs) * scale
        observed = v.incident_spans + v.incident_logs
        if expected < 20 or observed > 0.2 * expected:
            continue
        # One request writes many spans and lines: with trace ids, count requests, the independent unit.
        if v.baseline_traces and v.baseline_traces * scale < MIN_EXPECTED_REQUESTS:
            continue
        drop = 1.0 - observed / expected
        expected_calls = v.baseline_calls_in * scale
        if expected_calls < 5:
            weight, why = 0.6, "nobody calls it, so the silence is its own"
        elif v.incident_calls_in >= 0.2 * expected_calls:
            weight, why = 1.0, f"callers kept calling it ({v.incident_calls_in} calls) and got no answer"
        else:
            weight, why = 0.1, f"callers stopped calling it too ({v.incident_calls_in} of ~{expected_calls:.0f} calls)"
        ev = Evidence(
            id=evidence_id(EvidenceKind.MISSING_CALLS, v.service),
            kind=EvidenceKind.MISSING_CALLS,
            service=v.service,
            summary=(
                f"{v.service} went quiet: {observed} spans and logs in the incident window where about "
                f"{expected:.0f} were expected ({drop:.0%} drop); {why}"
            ),
            excerpt=(
                f"{v.service}: spans {v.baseline_spans}->{v.incident_spans}, logs {v.baseline_logs}->"
                f"{v.incident_logs}, metric points {v.baseline_metrics}->{v.incident_metrics}, calls to it "
                f"{v.baseline_calls_in}->{v.incident_calls_in}"
            ),
            time_range=incident,
            source_ref=f"service:{v.service}",
            score=round(drop * weight, 3),
        )
        out.add(
            ev, Finding(AnalyzerKind.SILENCE, v.service, FaultKind.DEPENDENCY, 0.9 * drop * weight, (ev.id,), None, why)
        )
    return out
