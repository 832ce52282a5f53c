"""The direction-word checker itself: it accepts consistent sentences and names contradicting ones."""

from __future__ import annotations

from tests.text_consistency import contradictions


def test_consistent_sentences_pass() -> None:
    good = [
        "CpuUsage(m) on cart up: highest 20.16 against a normal range of 0.5476..2.258; median 1.291 -> 19.77"
        " (robust z +59.6, cpu)",
        "x on cart down: lowest 2.068 against a normal range of 2.727..5.052; median 4.84 -> 2.408"
        " (robust z -7.7, cpu)",
        "x on cart up: highest 9 against a normal range of 1..5; median 3 -> 2 (most points did not follow)"
        " (robust z +2.0, latency)",
        "frontend -> cart p50 as the caller measures it rose from a median of 0.005 (usual range 0.004..0.007)"
        " to 0.175 or more on 2 of 3 points (robust z +100.0)",
        "requests slowed from 120 ms to 543 ms p95 at the entry points",
        "2 of the 3 call edges into db slowed around the calls: a -> db gap p50 1.0 -> 40.0 ms",
    ]
    assert [contradictions(g) for g in good] == [[]] * len(good)


def test_contradicting_sentences_are_named() -> None:
    bad = [
        # the deploy dataset's two examples from issue 13
        "latency on cart up: highest 9.33 against a normal range of 1..12; median 9.33 -> 5.04 (robust z +3.0, x)",
        "errors rose from a median of 0.1 (usual range 0.073..0.157) to 0.069 or more on 2 of 3 points (robust z +4)",
        "x on cart down: highest 3 against a normal range of 1..5; median 3 -> 2 (robust z -2.0, cpu)",
        "requests slowed from 543 ms to 120 ms p95 at the entry points",
        "peak 0.1 (normal range 0.073..0.157)",
    ]
    assert all(contradictions(b) for b in bad), [b for b in bad if not contradictions(b)]
