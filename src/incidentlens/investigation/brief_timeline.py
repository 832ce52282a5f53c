"""The brief's timeline: one line per service's first anomalies, each evidence record once, at most a screen.

A reader at 3 a.m. needs the order of events, not every finding: alerts, the onset and changes keep their own
lines; a service's first anomalies fold into one line led by its strongest, the others named by id. Times are
given relative to the onset, with the date when the timeline crosses days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from incidentlens.diagnose.analyzers import Role, spec
from incidentlens.model import Evidence, Finding
from incidentlens.report.brief import TimelineEntry, relative, stamp

MAX_LINES = 12
NEGLIGIBLE_CHANGE = 0.05
_KEEP_FIRST = ("alert", "onset")  # never cut: they anchor the rest


@dataclass(frozen=True, slots=True)
class Timeline:
    entries: tuple[TimelineEntry, ...]
    left_out: int


def build_timeline(
    *,
    findings: list[Finding] | tuple[Finding, ...],
    evidence: dict[str, Evidence],
    alerts: list[tuple[int, str, str]],
    onset_ns: int,
    onset_reason: str,
    max_lines: int = MAX_LINES,
) -> Timeline:
    entries: list[TimelineEntry] = [TimelineEntry(ts, "alert", svc, name) for ts, name, svc in alerts if ts]
    entries.append(TimelineEntry(onset_ns, "onset", "", onset_reason))
    entries.extend(_changes(findings, evidence))
    entries.extend(_anomalies(findings, evidence))
    entries = _dedupe(entries)
    kept = [e for e in entries if e.kind in _KEEP_FIRST]
    rest = sorted((e for e in entries if e.kind not in _KEEP_FIRST), key=lambda e: (e.ts_ns, e.service))
    room = max(max_lines - len(kept), 0)
    chosen = sorted([*kept, *rest[:room]], key=lambda e: (e.ts_ns, _order(e.kind), e.service))
    with_date = bool(chosen) and _crosses_days(chosen)
    dated = tuple(
        replace(e, when=f"{stamp(e.ts_ns, with_date=with_date)} ({relative(e.ts_ns, onset_ns)})") for e in chosen
    )
    return Timeline(dated, len(rest) - len(rest[:room]))


def _changes(findings: list[Finding] | tuple[Finding, ...], evidence: dict[str, Evidence]) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []
    for f in findings:
        if spec(f.analyzer).role is not Role.CHANGE or f.score < NEGLIGIBLE_CHANGE or f.onset_ns is None:
            continue
        eid = f.evidence_ids[0] if f.evidence_ids else ""
        ev = evidence.get(eid)
        out.append(TimelineEntry(f.onset_ns, "change", f.service, ev.summary if ev else f.detail, eid))
    return out


def _anomalies(findings: list[Finding] | tuple[Finding, ...], evidence: dict[str, Evidence]) -> list[TimelineEntry]:
    """One line per service: its first anomaly's time, its strongest finding's words, the other ids."""
    by_service: dict[str, list[Finding]] = {}
    for f in findings:
        if spec(f.analyzer).role is Role.CHANGE or f.onset_ns is None:
            continue
        by_service.setdefault(f.service, []).append(f)
    out: list[TimelineEntry] = []
    for service, group in by_service.items():
        first = min(f.onset_ns for f in group if f.onset_ns is not None)
        strongest = max(group, key=lambda f: f.score)
        lead = strongest.evidence_ids[0] if strongest.evidence_ids else ""
        ids = list(dict.fromkeys(e for f in group for e in f.evidence_ids[:1] if e))
        others = tuple(e for e in ids if e != lead)
        ev = evidence.get(lead)
        text = ev.summary if ev else strongest.detail
        if others:
            text += f" (and {len(others)} more signal{'s' if len(others) > 1 else ''})"
        out.append(TimelineEntry(first, "first anomaly", service, text, lead, more=others))
    return out


def _dedupe(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Each evidence record once (the same id can come from two findings), and each identical line once."""
    seen_ids: set[str] = set()
    seen_lines: set[tuple[int, str, str, str]] = set()
    out: list[TimelineEntry] = []
    for e in entries:
        key = (e.ts_ns, e.kind, e.service, e.text)
        if (e.evidence_id and e.evidence_id in seen_ids) or key in seen_lines:
            continue
        seen_lines.add(key)
        if e.evidence_id:
            seen_ids.add(e.evidence_id)
        out.append(replace(e, more=tuple(m for m in e.more if m not in seen_ids)))
        seen_ids.update(e.more)
    return out


def _order(kind: str) -> int:
    return {"change": 0, "onset": 1, "first anomaly": 2, "alert": 3}.get(kind, 4)


def _crosses_days(entries: list[TimelineEntry]) -> bool:
    days = {stamp(e.ts_ns, with_date=True)[:10] for e in entries}
    return len(days) > 1
