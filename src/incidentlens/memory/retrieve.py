"""Retrieval for a new investigation: which past incidents count as "seen before", and how the brief says so.

A past incident is "seen before" only when its symptoms are at least `SEEN_BEFORE` similar (cosine of
the TF-IDF vectors, see `index.py`) and it shares at least `MIN_SHARED` observed symptoms: near misses
stay out of the brief rather than suggest a false lead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from incidentlens.memory.fingerprint import Family, Feature, Symptoms
from incidentlens.memory.index import Match, MemoryIndex
from incidentlens.model import Hypothesis
from incidentlens.report.brief import SeenBefore

SEEN_BEFORE = 0.5  # half the weighted symptoms in common: below that a match is a resemblance, not a recurrence
MIN_SHARED = 2  # observed symptoms in common (the diagnosis not counted): one shared symptom is a coincidence
MAX_SHOWN = 3
MAX_MATCHED_SHOWN = 5

_SHOWN_ORDER = (
    Family.SIGNATURE,
    Family.TEMPLATE,
    Family.ERROR,
    Family.EXCEPTION,
    Family.LOCUS,
    Family.LATENCY,
    Family.METRIC,
    Family.SILENCE,
    Family.CHANGE,
    Family.DIAGNOSIS,
)

Recall = Callable[[Symptoms], Sequence[Match]]


def recaller(index: MemoryIndex, *, exclude: str = "", threshold: float = SEEN_BEFORE) -> Recall:
    """A function the pipeline calls with an investigation's symptoms: the past incidents seen before."""

    def _recall(symptoms: Symptoms) -> list[Match]:
        return [m for m in index.search(symptoms, limit=MAX_SHOWN, exclude=exclude) if is_seen_before(m, threshold)]

    return _recall


def is_seen_before(match: Match, threshold: float = SEEN_BEFORE) -> bool:
    shared = sum(1 for f in match.matched if f.family is not Family.DIAGNOSIS)
    return match.similarity >= threshold and shared >= MIN_SHARED


def seen_before(matches: Sequence[Match], hypotheses: Sequence[Hypothesis]) -> tuple[SeenBefore, ...]:
    """The brief's "Seen before" entries, each naming the current hypothesis with the same cause, if any."""
    out: list[SeenBefore] = []
    for m in matches:
        fp, cause = m.fingerprint, m.fingerprint.cause
        same = 0
        if cause is not None:
            same = next((i + 1 for i, h in enumerate(hypotheses) if cause.matches(h.service, h.fault)), 0)
        out.append(
            SeenBefore(
                incident_id=fp.incident_id,
                title=fp.title,
                similarity=m.similarity,
                service=cause.service if cause else "",
                fault=cause.fault.value if cause else "",
                component=cause.component if cause else "",
                confirmed=bool(cause and cause.confirmed),
                fix=fp.fix,
                fix_source=fp.fix_source,
                owners=fp.owners,
                matched=tuple(f.describe() for f in strongest(m.matched)[:MAX_MATCHED_SHOWN]),
                same_as_rank=same,
            )
        )
    return tuple(out)


def strongest(features: Sequence[Feature]) -> list[Feature]:
    """Matched features, most telling first (signatures and templates before metrics and changes); the
    diagnosis last, since it is not an observation."""
    return sorted(features, key=lambda f: (_SHOWN_ORDER.index(f.family), f.service, f.text))
