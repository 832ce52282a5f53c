"""Change correlation: closeness to the onset weighs a change; one clearly after the onset cannot be the cause."""

from __future__ import annotations

from incidentlens.analyze.changes import change_findings
from incidentlens.model import Change, ChangeKind

MINUTE = 60_000_000_000
ONSET = 1_800_000_000 * 1_000_000_000


def _score(minutes_before: float, kind: ChangeKind = ChangeKind.DEPLOY) -> tuple[float, str]:
    change = Change(kind=kind, ts_ns=ONSET - int(minutes_before * MINUTE), service="cart", description="v2")
    analysis = change_findings([change], onset_ns=ONSET)
    (finding,) = analysis.findings
    return finding.score, next(iter(analysis.evidence.values())).summary


def test_closer_changes_weigh_more() -> None:
    assert _score(1)[0] > _score(15)[0] > _score(60)[0] > 0
    assert abs(_score(15)[0] - 0.5) < 0.01  # the half-life


def test_a_change_inside_the_onset_bin_may_still_be_the_cause() -> None:
    score, summary = _score(-0.4)
    assert score > 0.9 and "after onset" in summary


def test_a_change_clearly_after_the_onset_weighs_nothing_but_stays_visible() -> None:
    score, summary = _score(-0.7, ChangeKind.CONFIG)
    assert score == 0.0
    assert "0.7 min after onset (too late to have started it)" in summary


def test_an_onset_dated_to_the_minute_keeps_a_change_inside_that_minute() -> None:
    # A per-minute change point dates the onset to the start of the minute that first moved; a deploy 40 s
    # into that minute may have caused it, one two minutes later cannot have.
    inside = Change(kind=ChangeKind.DEPLOY, ts_ns=ONSET + 40_000_000_000, service="cart", description="v2")
    later = Change(kind=ChangeKind.DEPLOY, ts_ns=ONSET + 2 * MINUTE, service="pay", description="v3")
    analysis = change_findings([inside, later], onset_ns=ONSET, onset_tolerance_ns=MINUTE)
    scores = {f.service: f.score for f in analysis.findings}
    assert scores["cart"] > 0.9 and scores["pay"] == 0.0
