"""Deploy-aware analysis: which changed service's new version, pod by pod, shows the incident.

Every service deployed in the window is judged by evidence, not by how recently it changed: its new pods
against its old pods and its own normal period (`deploy_pods.py`), the callers' edges into its new version
against those into the old one, and whether the symptom grew with each step of its rollout
(`rollout_steps.py`). The finding names the change, the new version and the pods that depart.
"""

from __future__ import annotations

import math
from collections import defaultdict

from incidentlens.analyze.deploy_pods import Contrast, Rollout, edge_contrasts, pod_contrasts
from incidentlens.analyze.evidence_ids import evidence_id, excerpt, strength
from incidentlens.analyze.findings import Analysis
from incidentlens.analyze.metrics import MetricKind
from incidentlens.analyze.rollout_steps import StepGrowth, step_growth, symptom_index
from incidentlens.model import AnalyzerKind, Change, ChangeKind, Evidence, EvidenceKind, FaultKind, Finding, TimeRange
from incidentlens.telemetry.rows import LabelledSeries, MetricPoints

# Series a deploy comparison reads: errors, latency, CPU and memory (traffic moves with every pod swap).
DEPLOY_SERIES = (
    r"(?i)error|fail|5xx|success|exception|latency|duration|response_time|p50|p9\d|seconds|_ms"
    r"|cpu|mem|heap|rss|working_set"
)
Z_SCALE = 5.0  # departure (robust spreads) at which a contrast is ~63 % of full strength
RISE_SCALE = 10.0
STEP_WEIGHT = 0.5  # growth with the steps supports; alone, it never outweighs a pod-level comparison
_FAULT = {
    MetricKind.CPU: FaultKind.CPU,
    MetricKind.MEMORY: FaultKind.MEMORY,
    MetricKind.ERRORS: FaultKind.CODE,
    MetricKind.LATENCY: FaultKind.CODE,
}


def rollouts(changes: list[Change]) -> list[Rollout]:
    """Deploy events grouped into one rollout per service and version, steps in time order."""
    groups: dict[tuple[str, str], list[Change]] = defaultdict(list)
    for ch in changes:
        if ch.kind is ChangeKind.DEPLOY and ch.service:
            groups[(ch.service, ch.current)].append(ch)
    out = []
    for (service, version), steps in sorted(groups.items(), key=lambda kv: min(c.ts_ns for c in kv[1])):
        steps.sort(key=lambda c: c.ts_ns)
        out.append(
            Rollout(
                service=service,
                version=version,
                previous=next((c.previous for c in steps if c.previous), ""),
                steps=tuple(c.ts_ns for c in steps),
                pods=tuple(dict.fromkeys(c.pod for c in steps if c.pod)),
                description=steps[0].description,
            )
        )
    return out


def contrast_score(c: Contrast) -> float:
    return strength(c.z, Z_SCALE) * c.share


def growth_score(g: StepGrowth | None) -> float:
    return 0.0 if g is None or g.total_rise <= 0 else g.share * strength(g.total_rise, RISE_SCALE)


def deploy_findings(
    changes: list[Change],
    series: list[LabelledSeries],
    symptoms: list[MetricPoints],
    *,
    normal_end_ns: int,
    incident: TimeRange,
) -> Analysis:
    """One finding per changed service whose new version departs from its old one or whose steps grew the
    symptom; its evidence names the change, the version and the departing pods."""
    out = Analysis()
    found = rollouts(changes)
    if not found:
        return out
    times, index, spread = symptom_index(symptoms, normal_end_ns=normal_end_ns)
    for rollout in found:
        contrasts = [*pod_contrasts(rollout, series), *edge_contrasts(rollout, series)]
        best = max(contrasts, key=contrast_score, default=None)
        growth = step_growth(rollout.steps, times, index, spread)
        pod_part = contrast_score(best) if best is not None else 0.0
        step_part = growth_score(growth)
        score = 1.0 - (1.0 - pod_part) * (1.0 - STEP_WEIGHT * step_part)
        if score <= 0.0:
            continue
        ev = _evidence(rollout, best if pod_part > 0 else None, growth, score, incident)
        fault = FaultKind.CODE
        if best is not None and pod_part > 0:
            fault = _FAULT.get(best.kind, FaultKind.CODE)
            if best.signal == "edges" and best.kind is MetricKind.LATENCY:
                fault = FaultKind.NETWORK
        out.add(
            ev, Finding(AnalyzerKind.DEPLOY_PODS, rollout.service, fault, score, (ev.id,), rollout.steps[0], ev.summary)
        )
    return out


def _evidence(
    rollout: Rollout, best: Contrast | None, growth: StepGrowth | None, score: float, incident: TimeRange
) -> Evidence:
    n = len(rollout.steps)
    steps = f"{n} step" if n == 1 else f"{n} steps"
    what = f"rollout of {rollout.service} to {rollout.version or 'a new version'}" + (
        f" (from {rollout.previous}, {steps})" if rollout.previous else f" ({steps})"
    )
    parts = [what]
    if best is not None:
        parts.append(describe(best))
    if growth is not None and growth.rises:
        levels = ", ".join(f"{v:.1f}" for v in growth.levels)
        parts.append(
            f"the symptom index rose beyond its noise at {growth.rises} of its {growth.steps} steps (levels {levels})"
        )
    # The pods to name: every new pod the rollout's steps started (the text says which of them depart), else
    # those that departed when the deploy events name no pods.
    departed = best.departed if best is not None and best.signal == "pods" else ()
    pods = rollout.pods or departed
    return Evidence(
        id=evidence_id(EvidenceKind.CHANGE, "rollout", rollout.service, rollout.version, rollout.steps[0]),
        kind=EvidenceKind.CHANGE,
        service=rollout.service,
        summary="; ".join(parts),
        excerpt=excerpt(
            f"deploy {rollout.service} {rollout.previous or '?'} -> {rollout.version or '?'}; pods "
            + (", ".join(rollout.pods) or "not named")
            + f"; {rollout.description}"
        ),
        time_range=TimeRange(rollout.steps[0], incident.end_ns),
        source_ref=f"change:{rollout.service}:{rollout.version}",
        score=round(score, 3),
        attributes={
            "version": rollout.version,
            "previous": rollout.previous,
            "pods": ", ".join(pods),
            "departed": ", ".join(departed),
            "steps": len(rollout.steps),
            "signal": best.signal if best is not None else "",
            "metric": best.metric if best is not None else "",
            "departure_z": round(best.z, 2) if best is not None else 0.0,
            "step_rises": growth.rises if growth is not None else 0,
        },
    )


def describe(c: Contrast) -> str:
    """The comparison in words that match its numbers: levels are medians, `departed` the units above both."""
    units = "new pods" if c.signal == "pods" else "callers' edges into the new version"
    names = ", ".join(c.departed[:4]) + (f" and {len(c.departed) - 4} more" if len(c.departed) > 4 else "")
    old = (
        f"{_num(c.old_level)} on the old {'pods' if c.signal == 'pods' else 'version'} at the same or the last"
        " earlier moments"
        if not math.isnan(c.old_level)
        else "no old one serving near those moments"
    )
    metric = f"1 - {c.metric}" if "success" in c.metric.lower() else c.metric  # judged as a failure share
    if not c.departed:
        return f"none of its {len(c.units)} {units} departs on {metric} ({_num(c.new_level)}; {old})"
    text = (
        f"{len(c.departed)} of its {len(c.units)} {units} ({names}) show {metric} at {_num(c.new_level)} "
        f"against {old} and {_num(c.normal_level)} before the change (normal up to {_num(c.normal_max)}; "
        f"{c.z:+.1f} robust spreads)"
    )
    if c.refuted:
        text += f"; {len(c.refuted)} more were as high as their old peers or normal at first"
    return text


def _num(v: float) -> str:
    return f"{v:.4g}"
