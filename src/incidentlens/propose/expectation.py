"""The falsifiable prediction a fix carries, with a machine-checkable expectation for verify-fix."""

from __future__ import annotations

from collections.abc import Mapping

from incidentlens.model import Evidence, EvidenceKind, Hypothesis, Prediction

WITHIN_MINUTES = 10
_RISING = ("new", "up")


def fix_expectation(
    hypothesis: Hypothesis, evidence: Mapping[str, Evidence], *, baseline_minutes: float
) -> tuple[dict[str, str], Prediction | None]:
    """The strongest failing signal of the hypothesis's service and the rate it should fall back to.

    A rising ERROR/WARN log template is preferred (it is counted the same way after the fix); else the
    service's failing traces. Nothing checkable gives an empty expectation and no prediction.
    """
    s = hypothesis.service
    minutes = max(baseline_minutes, 1.0)
    templates = [
        evidence[e]
        for e in hypothesis.supporting
        if e in evidence
        and evidence[e].kind is EvidenceKind.LOG_TEMPLATE
        and evidence[e].service == s
        and str(evidence[e].attributes.get("shift", "")) in _RISING
        and "template" in evidence[e].attributes
    ]
    if templates:
        best = max(templates, key=lambda e: e.score)
        template = str(best.attributes["template"])
        level = str(best.attributes.get("level", "ERROR"))
        baseline = float(best.attributes.get("baseline_count", 0)) / minutes
        expectation = {
            "signal": "log_template",
            "service": s,
            "level": level,
            "template": template,
            "baseline_per_min": f"{baseline:.4f}",
            "evidence_id": best.id,
            "within_minutes": str(WITHIN_MINUTES),
        }
        what = f'{level} template "{template}" on {s}'
    else:
        traces = [
            evidence[e]
            for e in hypothesis.supporting
            if e in evidence and evidence[e].kind is EvidenceKind.TRACE_ERROR and evidence[e].service == s
        ]
        if not traces:
            return {}, None
        best = max(traces, key=lambda e: e.score)
        baseline = float(best.attributes.get("baseline_count", 0)) / minutes
        expectation = {
            "signal": "error_spans",
            "service": s,
            "operation": str(best.attributes.get("operation", "")),
            "baseline_per_min": f"{baseline:.4f}",
            "evidence_id": best.id,
            "within_minutes": str(WITHIN_MINUTES),
        }
        what = f"failing spans of {s}" + (f" `{expectation['operation']}`" if expectation["operation"] else "")
    prediction = Prediction(
        statement=f"{what} returns to its normal rate ({baseline:.2f}/min) within {WITHIN_MINUTES} minutes of the fix",
        confirms_if=f"post-fix telemetry, from {WITHIN_MINUTES} minutes after the fix, shows {what} at or below "
        "its normal rate (at most one line more)",
        refutes_if=f"{what} continues above its normal rate {WITHIN_MINUTES} minutes after the fix",
    )
    return expectation, prediction
