"""The words of the brief that must not mislead: the five-line head, the impact, victims and alternatives.

Everything here is phrasing over what the analysis decided (it never re-ranks): a slowdown is called a
slowdown, a service whose anomaly a callee explains is called a victim, and no line contradicts another.
"""

from __future__ import annotations

import re
from dataclasses import replace

import networkx as nx

from incidentlens.model import Alert, Evidence, EvidenceKind, FaultKind, OwnerSource
from incidentlens.report.brief import Head, Impact, Link, RankedHypothesis, duration_words
from incidentlens.telemetry.rows import EntryStats

ERROR_RISE = 1.5  # the error rate at least this many times its normal level ...
ERROR_RISE_ABS = 0.001  # ... and at least 0.1 percentage point higher
LATENCY_RISE = 1.2  # p95 at least 20 % above normal ...
LATENCY_RISE_MS = 5.0  # ... and at least 5 ms more

_FAULT_WORDS = {
    FaultKind.CODE: "a code defect",
    FaultKind.DEPENDENCY: "the service is unavailable",
    FaultKind.CPU: "CPU saturation",
    FaultKind.MEMORY: "memory pressure",
    FaultKind.NETWORK: "network delay",
    FaultKind.DISK: "disk I/O limits",
    FaultKind.CONFIG: "a configuration change",
    FaultKind.SATURATION: "saturation (a connection pool, queue or slow dependency)",
    FaultKind.UNKNOWN: "an anomaly that starts there",
}
_ERROR_KINDS = {EvidenceKind.TRACE_ERROR, EvidenceKind.STACK_TRACE, EvidenceKind.MISSING_CALLS}
_DECISIVE_KINDS = {*_ERROR_KINDS, EvidenceKind.LOG_TEMPLATE, EvidenceKind.LOG_BURST, EvidenceKind.TRACE_LATENCY}
_LINK_KEYS = (
    ("runbook_url", "Runbook"),
    ("runbook", "Runbook"),
    ("dashboard", "Dashboard"),
    ("dashboard_url", "Dashboard"),
    ("grafana_url", "Dashboard"),
    ("generatorURL", "Alert source"),
)


def degradations(stats: EntryStats, *, spans_seen: bool) -> tuple[str, ...]:
    """Only what got worse, in words that fit it; nothing when there are no spans to measure."""
    if not spans_seen:
        return ()
    out: list[str] = []
    before, during = stats.error_rate_before, stats.error_rate_during
    if during >= before * ERROR_RISE and during - before >= ERROR_RISE_ABS:
        out.append(f"failing requests rose from {before * 100:.2f} % to {during * 100:.2f} % of spans")
    p_before, p_during = stats.p95_before_ms, stats.p95_during_ms
    if p_during >= p_before * LATENCY_RISE and p_during - p_before >= LATENCY_RISE_MS:
        out.append(f"requests slowed from {p_before:.0f} ms to {p_during:.0f} ms p95 at the entry points")
    return tuple(out)


_MEDIAN = re.compile(r"median (\S+) -> (\S+?),")


def metric_degradations(ranked: tuple[RankedHypothesis, ...], *, limit: int = 2) -> tuple[str, ...]:
    """Without spans, what the cited latency and error metrics say got worse (never a drop called impact)."""
    out: list[str] = []
    for rh in ranked[:3]:
        for e in rh.evidence_for:
            kind = str(e.attributes.get("kind", ""))
            z = float(e.attributes.get("robust_z", 0) or 0)
            match = _MEDIAN.search(e.summary)
            if e.kind is not EvidenceKind.METRIC_ANOMALY or kind not in ("latency", "errors") or z <= 0 or not match:
                continue
            metric, service = e.attributes.get("metric", "a metric"), e.service or rh.hypothesis.service
            verb = "slowed" if kind == "latency" else "failed more"
            out.append(f"requests on {service} {verb}: {metric} median {match.group(1)} -> {match.group(2)}")
            if len(out) >= limit:
                return tuple(out)
    return tuple(out)


def effect_words(rh: RankedHypothesis) -> str:
    """What the hypothesis's own evidence says requests suffer: failures, slowness, or both."""
    kinds = {e.kind for e in rh.evidence_for}
    fails = bool(kinds & _ERROR_KINDS) or any(_is_error_log(e) for e in rh.evidence_for)
    slow = EvidenceKind.TRACE_LATENCY in kinds or any(_is_latency_metric(e) for e in rh.evidence_for)
    if fails and slow:
        return "makes requests fail and slow down"
    if fails:
        return "makes requests fail"
    if slow:
        return "slows requests down"
    return "degrades the service"


def statement(rh: RankedHypothesis) -> str:
    """The hypothesis in one sentence whose verb fits its evidence (the ledger keeps the analysis's claim)."""
    h = rh.hypothesis
    cause = _FAULT_WORDS[h.fault]
    after = h.claim.split(", after ", 1)[1] if ", after " in h.claim else ""
    if h.fault is FaultKind.DEPENDENCY:
        text = f"{h.service} is unavailable: calls to it get no answer"
    elif h.fault is FaultKind.NETWORK:
        text = f"network delay on the path to {h.service} {effect_words(rh)}"
    elif h.fault is FaultKind.UNKNOWN:
        text = f"the anomaly starts in {h.service} and {effect_words(rh)}"
    else:
        text = f"{cause} in {h.service} {effect_words(rh)}"
    return f"{text}, after {after}" if after else text


def label_victims(ranked: tuple[RankedHypothesis, ...], graph: nx.DiGraph) -> tuple[RankedHypothesis, ...]:
    """A lower-ranked service that calls (directly or not) a higher-ranked one is that one's victim."""
    out: list[RankedHypothesis] = []
    for i, rh in enumerate(ranked):
        victim_of = ""
        if i > 0 and rh.hypothesis.service in graph:
            for leader in ranked[:i]:
                ls = leader.hypothesis.service
                if leader.victim_of or ls not in graph or ls == rh.hypothesis.service:
                    continue
                if nx.has_path(graph, rh.hypothesis.service, ls):
                    victim_of = ls
                    break
        out.append(replace(rh, victim_of=victim_of, statement=statement(rh)))
    return tuple(_why_lower(out))


def _why_lower(ranked: list[RankedHypothesis]) -> list[RankedHypothesis]:
    if not ranked:
        return ranked
    top = ranked[0]
    out = [top]
    for rh in ranked[1:]:
        h = rh.hypothesis
        reasons = [f"confidence {h.confidence:.2f} against {top.hypothesis.confidence:.2f}"]
        if rh.victim_of:
            reasons.append(f"it calls {rh.victim_of}, whose anomaly explains its own")
        kinds = {e.kind for e in rh.evidence_for}
        if kinds and not kinds & _DECISIVE_KINDS:
            reasons.append("its evidence is symptoms only (metrics), no error or log of its own")
        elif len(rh.evidence_for) < len(top.evidence_for):
            reasons.append(f"{len(rh.evidence_for)} evidence records against {len(top.evidence_for)}")
        if rh.evidence_against:
            reasons.append(f"{len(rh.evidence_against)} record(s) against it")
        out.append(replace(rh, why_lower="; ".join(reasons)))
    return out


def build_head(
    *,
    ranked: tuple[RankedHypothesis, ...],
    abstained: bool,
    impact: Impact,
    alert: Alert | None,
    onset_ns: int,
    alert_ns: int | None,
    now_ns: int,
    next_step: str,
) -> Head:
    return Head(
        what=_what(impact, alert),
        since=_since(onset_ns, alert_ns, now_ns),
        hypothesis=_hypothesis_line(ranked, abstained),
        page=_page(ranked, abstained),
        next_step=next_step,
        links=alert_links(alert),
        description=_annotation(alert, "description"),
    )


def _what(impact: Impact, alert: Alert | None) -> str:
    parts: list[str] = []
    if alert is not None:
        where = f" on {alert.service}" if alert.service else ""
        said = f" ({alert.summary})" if alert.summary else ""
        parts.append(f"alert {alert.name}{where}{said}")
    parts.extend(impact.degradations)
    if not impact.degradations:
        if impact.affected_services:
            parts.append(f"anomalies in {', '.join(impact.affected_services[:4])}")
        elif impact.spans_seen:
            parts.append("no degradation of requests measured at the entry points")
        else:
            parts.append("no spans, so request errors and latency were not measured")
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def _since(onset_ns: int, alert_ns: int | None, now_ns: int) -> str:
    from incidentlens.report.brief import stamp

    ago = f"{duration_words(now_ns - onset_ns)} ago" if now_ns >= onset_ns else "in the future"
    text = f"{stamp(onset_ns, with_date=True)} UTC (onset, {ago})"
    if alert_ns:
        lead = alert_ns - onset_ns
        text += f"; alert {duration_words(lead)} {'after' if lead >= 0 else 'before'} the onset"
    return text


def _hypothesis_line(ranked: tuple[RankedHypothesis, ...], abstained: bool) -> str:
    if not ranked:
        return "none: no service departs from its normal period (not enough evidence)"
    top = ranked[0]
    h = top.hypothesis
    rests = _rests_on(top)
    if abstained:
        return (
            f"not enough evidence for a confident cause; strongest candidate {h.service} "
            f"(confidence {h.confidence:.2f}), {rests}"
        )
    return f"HYPOTHESIS: {_short(top.statement or h.claim)} (confidence {h.confidence:.2f}), {rests}"


def _short(sentence: str) -> str:
    """The head's one sentence: a change it follows by its first clause only ("after deploy of cart 1.5 min
    before onset"), the full wording is in the Hypotheses section."""
    head, sep, after = sentence.partition(", after ")
    return f"{head}, after {after.split(': ', 1)[0]}" if sep else sentence


def _rests_on(rh: RankedHypothesis) -> str:
    if not rh.evidence_for:
        return "with no evidence record"
    lead = rh.evidence_for[0].summary.replace("`", "")
    more = len(rh.evidence_for) - 1
    return f"resting on: {lead}" + (f" (and {more} more record{'s' if more > 1 else ''})" if more else "")


def _page(ranked: tuple[RankedHypothesis, ...], abstained: bool) -> str:
    if not ranked:
        return "nobody yet: no service is implicated"
    h = ranked[0].hypothesis
    if not h.owners:
        return f"owner of {h.service} unknown (give --repo with CODEOWNERS or a service catalog)"
    names = list(dict.fromkeys(o.name for o in h.owners))
    contacts = list(dict.fromkeys(o.contact for o in h.owners if o.contact and o.source is OwnerSource.CATALOG))
    text = f"{names[0]} (owns {h.service})"
    if contacts:
        text += f", on call {contacts[0]}"
    return text + (" — weak evidence: page only if the checks below agree" if abstained else "")


def alert_links(alert: Alert | None) -> tuple[Link, ...]:
    if alert is None:
        return ()
    seen: set[str] = set()
    links: list[Link] = []
    for key, label in _LINK_KEYS:
        url = alert.labels.get(key, "")
        if url and url not in seen and url.startswith(("http://", "https://")):
            seen.add(url)
            links.append(Link(label, url))
    return tuple(links)


def _annotation(alert: Alert | None, key: str) -> str:
    return alert.labels.get(key, "") if alert is not None else ""


def _is_error_log(e: Evidence) -> bool:
    return e.kind in {EvidenceKind.LOG_TEMPLATE, EvidenceKind.LOG_BURST} and (
        "ERROR" in e.summary or "FATAL" in e.summary or "exception" in e.summary.lower()
    )


def _is_latency_metric(e: Evidence) -> bool:
    return e.kind is EvidenceKind.METRIC_ANOMALY and "latency" in e.summary and " up:" in e.summary
