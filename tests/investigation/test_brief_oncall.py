"""The brief an on-call engineer reads at 3 a.m. (issue 15, section 1), on real simulated incidents.

Each test names what it would have caught: a head that does not say what broke, since when, how sure, who
and what next; victims shown as suspects; duplicated timeline lines; "requests fail" for a slowdown;
contradictions; Markdown syntax in the terminal rendering; backticks and no pictures in the HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from incidentlens.investigation import InvestigationRequest, InvestigationResult, run
from incidentlens.investigation.brief_head import degradations, metric_degradations
from incidentlens.investigation.brief_timeline import build_timeline
from incidentlens.model import AnalyzerKind, Evidence, EvidenceKind, FaultKind, Finding
from incidentlens.report.brief import CONFIDENCE_MEANING, relative
from incidentlens.report.render import OutputFormat, render
from incidentlens.simulate import simulate
from incidentlens.telemetry.rows import EntryStats

MIN_NS = 60 * 1_000_000_000


@pytest.fixture(scope="module")
def briefs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, InvestigationResult]]:
    root = tmp_path_factory.mktemp("bundles")
    out: dict[str, InvestigationResult] = {}
    for fault in ("cache_failure_memory", "network_delay", "none"):
        bundle = root / fault
        simulate(fault, seed=3, out=bundle)
        out[fault] = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
    yield out


def test_head_answers_what_since_how_sure_who_next_in_five_lines(briefs: dict[str, InvestigationResult]) -> None:
    for fault, result in briefs.items():
        head = result.brief.head
        assert head is not None, fault
        lines = render(result.brief, OutputFormat.MARKDOWN).splitlines()
        first_five = [line for line in lines[1:8] if line.strip()][:5]
        labels = [re.match(r"\*\*([^*]+):\*\*", line) for line in first_five]
        assert [m.group(1) if m else None for m in labels] == [
            "What broke",
            "Since",
            "Leading hypothesis",
            "Page",
            "Next",
        ], (fault, first_five)
        assert "UTC" in head.since and "ago" in head.since and re.search(r"\d{4}-\d\d-\d\d", head.since)
        if result.hypotheses and not result.brief.abstained:
            assert "confidence" in head.hypothesis and "resting on" in head.hypothesis
            assert result.hypotheses[0].service in head.page


def test_alert_runbook_and_description_are_kept_in_the_head(briefs: dict[str, InvestigationResult]) -> None:
    brief = briefs["cache_failure_memory"].brief
    assert brief.head is not None
    assert [link.label for link in brief.head.links][:1] == ["Runbook"]
    assert brief.head.links[0].url.startswith("https://runbooks.")
    assert brief.head.description
    assert brief.head.links[0].url in render(brief, OutputFormat.MARKDOWN).split("## Summary")[0]


def test_callers_of_the_leader_are_labelled_victims_without_suspect_code(
    briefs: dict[str, InvestigationResult],
) -> None:
    brief = briefs["cache_failure_memory"].brief
    assert brief.hypotheses[0].hypothesis.service == "cart"
    victims = {rh.hypothesis.service: rh.victim_of for rh in brief.hypotheses[1:] if rh.victim_of}
    assert victims and set(victims.values()) == {"cart"}
    md = render(brief, OutputFormat.MARKDOWN)
    alternatives = md.split("### Alternatives (ranked lower)")[1].split("## Next steps")[0]
    for service in victims:
        assert re.search(rf"\*\*{service}\*\* — VICTIM of cart", alternatives)
    assert "Suspect code" not in alternatives and md.count("Suspect code") <= 1
    assert all(rh.why_lower for rh in brief.hypotheses[1:])
    assert md.count(CONFIDENCE_MEANING) == 1


def test_timeline_is_deduplicated_grouped_short_and_relative(briefs: dict[str, InvestigationResult]) -> None:
    for fault, result in briefs.items():
        brief = result.brief
        ids = [t.evidence_id for t in brief.timeline if t.evidence_id]
        ids += [m for t in brief.timeline for m in t.more]
        assert len(ids) == len(set(ids)), fault
        assert len(brief.timeline) <= 12
        anomalies = [t.service for t in brief.timeline if t.kind == "first anomaly"]
        assert len(anomalies) == len(set(anomalies)), fault  # one line per service
        assert all(re.search(r"\(T[+-]", t.when) for t in brief.timeline), fault


def test_timeline_crossing_midnight_shows_dates_and_caps_with_and_more() -> None:
    onset = 1_700_006_400 * 1_000_000_000 - 2 * MIN_NS  # 23:58 UTC
    findings = [
        Finding(AnalyzerKind.METRIC_SYMPTOM, f"svc{i}", FaultKind.UNKNOWN, 0.5, (f"ev-{i}",), onset + i * MIN_NS)
        for i in range(20)
    ]
    evidence = {f"ev-{i}": Evidence(f"ev-{i}", EvidenceKind.METRIC_ANOMALY, f"svc{i}", "x up", "x") for i in range(20)}
    timeline = build_timeline(findings=findings, evidence=evidence, alerts=[], onset_ns=onset, onset_reason="r")
    assert len(timeline.entries) == 12 and timeline.left_out == 9
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(T", t.when) for t in timeline.entries)
    assert relative(onset - 90 * 1_000_000_000, onset) == "T-1.5 min"
    assert relative(onset + 2 * MIN_NS, onset) == "T+2.0 min"


def test_impact_of_a_slowdown_speaks_of_slowness_not_failure(briefs: dict[str, InvestigationResult]) -> None:
    brief = briefs["network_delay"].brief
    assert any("slowed" in d for d in brief.impact.degradations)
    assert not any("fail" in d for d in brief.impact.degradations)
    top = brief.hypotheses[0]
    assert "fail" not in top.statement and "slow" in top.statement
    assert brief.head is not None and "fail" not in brief.head.hypothesis


def test_impact_lists_only_degradations() -> None:
    faster = EntryStats(error_rate_before=0.01, error_rate_during=0.01, p95_before_ms=82, p95_during_ms=40)
    assert degradations(faster, spans_seen=True) == ()
    slower = EntryStats(error_rate_before=0.0, error_rate_during=0.0, p95_before_ms=82, p95_during_ms=410)
    assert degradations(slower, spans_seen=True) == ("requests slowed from 82 ms to 410 ms p95 at the entry points",)
    assert degradations(slower, spans_seen=False) == ()
    assert metric_degradations(()) == ()


def test_no_contradictions_in_a_fault_free_brief(briefs: dict[str, InvestigationResult]) -> None:
    brief = briefs["none"].brief
    md = render(brief, OutputFormat.MARKDOWN)
    if brief.impact.degradations:
        assert "Affected services: none" not in md and "none detected" not in md
    if not brief.hypotheses:
        assert "candidates below are weak" not in md
    assert "0.0 ms -> 0.0 ms" not in md


def test_text_is_a_terminal_rendering_without_markdown(briefs: dict[str, InvestigationResult]) -> None:
    text = render(briefs["cache_failure_memory"].brief, OutputFormat.TEXT, width=100)
    assert text.splitlines()[1].startswith("What broke")
    for syntax in ("**", "`"):
        assert syntax not in text, syntax
    quoted = [line for line in text.splitlines() if re.match(r"\s*(#|> (?!\d+ \|)|```)", line)]
    assert quoted == []  # ("> 39 |" is the snippet's own marker of the suspect line, not a quote)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "VICTIM of cart" in text


def test_html_renders_code_and_draws_the_console_pictures(briefs: dict[str, InvestigationResult]) -> None:
    html = render(briefs["cache_failure_memory"].brief, OutputFormat.HTML)
    body = html.split("<body>")[1]
    assert "`" not in body
    assert "<code>GET</code>" in body
    assert body.count("<svg") >= 3  # graph, waterfall, at least one sparkline
    assert 'aria-label="hypothesis 1"' in body


def test_alert_outside_the_data_is_a_warning(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    simulate("cpu_saturation", seed=3, out=bundle)
    alert = bundle / "alerts" / "alertmanager.json"
    alert.write_text(re.sub(r'"startsAt": "\d{4}', '"startsAt": "2001', alert.read_text()))
    brief = run(InvestigationRequest.for_files([bundle])).brief
    assert brief.warnings and "before the data" in brief.warnings[0]
    assert "**Warning:**" in render(brief, OutputFormat.MARKDOWN)


def test_confidence_meaning_is_said_once_even_without_alternatives(briefs: dict[str, InvestigationResult]) -> None:
    for result in briefs.values():
        md = render(result.brief, OutputFormat.MARKDOWN)
        assert md.count(CONFIDENCE_MEANING) == (1 if result.brief.hypotheses else 0)
