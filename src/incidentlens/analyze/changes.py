"""Change correlation: deploys, config changes and flag flips shortly before the onset."""

from __future__ import annotations

import math

from incidentlens.analyze.evidence_ids import evidence_id, excerpt
from incidentlens.analyze.findings import Analysis
from incidentlens.model import AnalyzerKind, Change, ChangeKind, Evidence, EvidenceKind, FaultKind, Finding, TimeRange

LOOKBACK_NS = 2 * 60 * 60 * 1_000_000_000
AFTER_ONSET_NS = 2 * 60 * 1_000_000_000
HALF_LIFE_MINUTES = 15.0
# The onset is known to one 30 s bin: a change inside that bin may still have started the incident. One
# later than that cannot have: it stays visible as evidence (a rollback, a side effect) but weighs nothing.
ONSET_TOLERANCE_NS = 30 * 1_000_000_000


def change_window(onset_ns: int) -> TimeRange:
    return TimeRange(onset_ns - LOOKBACK_NS, onset_ns + AFTER_ONSET_NS)


def change_findings(changes: list[Change], *, onset_ns: int, onset_tolerance_ns: int = ONSET_TOLERANCE_NS) -> Analysis:
    """Every change in the look-back window is evidence; closeness to onset sets its weight.

    `onset_tolerance_ns`: how precisely the onset is known (a change within it may still have started it).

    Whether a change matters also depends on whether its service shows anomalies; the ranking
    weighs that, not this analyser.
    """
    out = Analysis()
    for ch in changes:
        minutes_before = (onset_ns - ch.ts_ns) / 60e9
        too_late = ch.ts_ns > onset_ns + max(onset_tolerance_ns, ONSET_TOLERANCE_NS)
        proximity = 0.0 if too_late else math.exp(-max(minutes_before, 0.0) / HALF_LIFE_MINUTES * math.log(2))
        kind = ch.kind.value
        fault = FaultKind.CONFIG if ch.kind in (ChangeKind.CONFIG, ChangeKind.FEATURE_FLAG) else FaultKind.CODE
        when = f"{abs(minutes_before):.1f} min {'before' if minutes_before >= 0 else 'after'} onset"
        if too_late:
            when += " (too late to have started it)"
        what = ch.description or (f"{ch.previous} -> {ch.current}" if ch.current else kind)
        ev = Evidence(
            id=evidence_id(EvidenceKind.CHANGE, ch.service, ch.ts_ns, kind, ch.commit, ch.description),
            kind=EvidenceKind.CHANGE,
            service=ch.service,
            summary=f"{kind} of {ch.service} {when}: {what}",
            excerpt=excerpt(
                f"{kind} {ch.service} {ch.previous or '?'} -> {ch.current or '?'}"
                + (f" commit {ch.commit[:12]}" if ch.commit else "")
                + (f" by {ch.author}" if ch.author else "")
            ),
            time_range=TimeRange(ch.ts_ns, ch.ts_ns),
            source_ref=ch.source,
            score=round(proximity, 3),
            attributes={
                "kind": kind,
                "commit": ch.commit,
                "author": ch.author,
                "minutes_before_onset": round(minutes_before, 2),
                "previous": ch.previous,
                "current": ch.current,
            },
        )
        out.add(ev, Finding(AnalyzerKind.CHANGES, ch.service, fault, proximity, (ev.id,), ch.ts_ns, what))
    return out
