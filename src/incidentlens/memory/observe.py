"""The symptoms of one investigation: features from the evidence its hypotheses cite, and the stack traces
that are new or rose in the incident (read from the telemetry store, since evidence keeps no frames)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

from incidentlens.analyze.windows import Windows
from incidentlens.memory.fingerprint import Family, Feature, Symptoms, exception_signature, normalise_template
from incidentlens.model import Evidence, EvidenceKind, Hypothesis
from incidentlens.telemetry.protocol import TelemetryQueries

RISE = 2.0  # a stack trace counts as a symptom when new or at least this many times its normal rate
MAX_TRACES_PER_SERVICE = 5
_RISING_SHIFTS = {"new", "up"}


def evidence_features(item: Evidence) -> list[Feature]:
    """The features one evidence record contributes; evidence of things that fell or vanished gives none
    except a service going quiet, which is itself the symptom."""
    service = str(item.attributes.get("emitting_service") or item.service or "")
    attrs = item.attributes
    exc = str(attrs.get("exception_type") or "")
    out: list[Feature] = []
    if item.kind is EvidenceKind.LOG_TEMPLATE:
        if str(attrs.get("shift", "")) not in _RISING_SHIFTS or "template" not in attrs:
            return []
        out.append(Feature(Family.TEMPLATE, service, normalise_template(str(attrs["template"]))))
    elif item.kind is EvidenceKind.TRACE_ERROR:
        out.append(Feature(Family.ERROR, service, f"{attrs.get('operation', '')} {exc}".strip()))
    elif item.kind is EvidenceKind.TRACE_LATENCY:
        what = str(attrs.get("operation") or f"calls {attrs.get('direction', '')}".strip())
        out.append(Feature(Family.LATENCY, service, what))
    elif item.kind is EvidenceKind.METRIC_ANOMALY and "metric" in attrs:
        z = float(attrs.get("robust_z", 0.0))
        out.append(Feature(Family.METRIC, service, f"{attrs['metric']} {'up' if z >= 0 else 'down'}"))
    elif item.kind is EvidenceKind.MISSING_CALLS:
        out.append(Feature(Family.SILENCE, service, "went quiet"))
    elif item.kind is EvidenceKind.CODE_LOCATION and "locus" in attrs:
        out.append(Feature(Family.LOCUS, service, str(attrs["locus"])))
    elif item.kind is EvidenceKind.CHANGE:
        out.append(Feature(Family.CHANGE, service, str(attrs.get("kind") or "change")))
    if exc:
        out.append(Feature(Family.EXCEPTION, service, exc))
    return out


def symptoms_of(
    *,
    evidence: Mapping[str, Evidence],
    hypotheses: Sequence[Hypothesis],
    edges: Iterable[tuple[str, str]],
    affected: Iterable[str] = (),
    traces: Iterable[Feature] = (),
) -> Symptoms:
    """Symptoms from the evidence the hypotheses cite (not every anomaly in the data: that is mostly noise),
    and the diagnosis: the leading hypothesis as the evidence ranked it (`hypotheses` in that order)."""
    cited = {eid for h in hypotheses for eid in h.supporting if eid in evidence}
    features = {f for eid in sorted(cited) for f in evidence_features(evidence[eid])}
    features.update(traces)
    if hypotheses:
        features.add(Feature(Family.DIAGNOSIS, hypotheses[0].service, hypotheses[0].fault.value))
    services = sorted({*affected, *(h.service for h in hypotheses)})
    return Symptoms(tuple(sorted(features)), tuple(services), tuple(sorted(set(edges))))


def trace_features(queries: TelemetryQueries, services: Iterable[str], windows: Windows) -> list[Feature]:
    """Exception signatures (and types) of stack traces each service logged more in the incident."""
    inc, base = windows.incident, windows.baseline
    ratio = inc.seconds / base.seconds if base.seconds > 0 else 1.0
    out: list[Feature] = []
    for service in sorted(set(services)):
        before = {g.frames: g.count for g in queries.exception_frames(service, base, limit=50)}
        for g in queries.exception_frames(service, inc, limit=MAX_TRACES_PER_SERVICE):
            if g.count < RISE * before.get(g.frames, 0) * ratio:
                continue
            frames = orjson.loads(g.frames)
            if not isinstance(frames, list):
                continue
            out.append(Feature(Family.SIGNATURE, service, exception_signature(g.exception_type, frames)))
            if g.exception_type:
                out.append(Feature(Family.EXCEPTION, service, g.exception_type))
    return out
