"""Past causes as a prior: a hypothesis a similar past incident confirmed gains a little confidence, one it
refuted loses a little, and the brief says by how much and why.

The shift is applied in log-odds and bounded by `MAX_SHIFT`, so memory can reorder close candidates but
never turn a weak hypothesis into a strong one: the evidence of this incident still decides.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from incidentlens.memory.index import Match
from incidentlens.model import Hypothesis

MAX_SHIFT = 0.4  # log-odds; at confidence 0.5 that is +-0.10, near 0 or 1 much less
SERVICE_ONLY = 0.5  # same service, another kind of fault: half the support
UNCONFIRMED = 0.5  # a past cause nobody confirmed (the top hypothesis when it was resolved) counts half
_EDGE = 1e-4


def apply_prior(
    hypotheses: Sequence[Hypothesis], matches: Sequence[Match]
) -> tuple[list[Hypothesis], dict[str, tuple[str, ...]]]:
    """Hypotheses with memory-adjusted confidence (same order), and per hypothesis id the notes saying why."""
    out: list[Hypothesis] = []
    notes: dict[str, tuple[str, ...]] = {}
    for h in hypotheses:
        support, support_why = _support(h, matches)
        against, against_why = _against(h, matches)
        shift = MAX_SHIFT * (support - against)
        if abs(shift) < 1e-9:
            out.append(h)
            continue
        before = h.confidence
        after = round(_shifted(before, shift), 3)
        out.append(dataclasses.replace(h, confidence=after))
        why = "; ".join(w for w in (support_why, against_why) if w)
        notes[h.id] = (f"memory prior {after - before:+.3f} ({before:.3f} -> {after:.3f}): {why}",)
    return out, notes


def _support(h: Hypothesis, matches: Sequence[Match]) -> tuple[float, str]:
    best, why = 0.0, ""
    for m in matches:
        cause = m.fingerprint.cause
        if cause is None or cause.service != h.service:
            continue
        same_fault = cause.fault is h.fault
        weight = m.similarity * (1.0 if same_fault else SERVICE_ONLY) * (1.0 if cause.confirmed else UNCONFIRMED)
        if weight > best:
            status = "confirmed" if cause.confirmed else "unconfirmed (top hypothesis when resolved)"
            what = (
                f"{cause.service}, {cause.fault.value}"
                if same_fault
                else f"{cause.service}, another fault: {cause.fault.value}"
            )
            best = weight
            why = (
                f"similar past incident {m.fingerprint.incident_id} (similarity {m.similarity:.2f}) "
                f"had a {status} root cause ({what})"
            )
    return best, why


def _against(h: Hypothesis, matches: Sequence[Match]) -> tuple[float, str]:
    best, why = 0.0, ""
    for m in matches:
        if (h.service, h.fault) in m.fingerprint.refuted and m.similarity > best:
            best = m.similarity
            why = (
                f"similar past incident {m.fingerprint.incident_id} (similarity {m.similarity:.2f}) "
                f"refuted the same cause ({h.service}, {h.fault.value})"
            )
    return best, why


def _shifted(p: float, shift: float) -> float:
    p = min(max(p, _EDGE), 1.0 - _EDGE)
    return 1.0 / (1.0 + math.exp(-(math.log(p / (1.0 - p)) + shift)))
