"""Deploy-aware analysis: new pods against old pods and the normal period, edges by version, growth by step."""

from __future__ import annotations

import random
import re

import numpy as np

from incidentlens.analyze.deploy_pods import Rollout, edge_contrasts, pod_contrasts
from incidentlens.analyze.deploys import deploy_findings, describe, rollouts
from incidentlens.analyze.rollout_steps import step_growth, symptom_index
from incidentlens.model import AnalyzerKind, Change, ChangeKind, TimeRange
from incidentlens.telemetry.rows import LabelledSeries, MetricPoints

S = 1_000_000_000
STEP = 15 * S
T0 = 1_800_000_000 * S
END = T0 + 40 * 60 * S
CHANGE = T0 + 20 * 60 * S
STEP_GAP = 60 * S


def _pod(service: str, pod: str, version: str, name: str, start: int, end: int, level: object) -> LabelledSeries:
    """A pod's series from `start` to `end`; `level(t)` gives the value (noise added by the caller's level)."""
    times = tuple(range(start, end, STEP))
    labels = (("namespace", "shop"), ("pod", pod), ("service", service), ("version", version))
    return LabelledSeries(service, name, labels, times, tuple(float(level(t)) for t in times))  # type: ignore[operator]


def _noisy(base: float, rng: random.Random, rel: float = 0.05) -> object:
    return lambda t: base * (1 + rng.gauss(0, rel))


def _rollout_series(
    service: str, *, bad: bool, name: str = "http_server_error_ratio", start: int = CHANGE, common: object = None
) -> tuple[list[LabelledSeries], list[Change]]:
    """Three old pods replaced one a minute by three new ones; the new ones fail 20 % when `bad`."""
    rng = random.Random(service)
    out: list[LabelledSeries] = []
    changes: list[Change] = []
    lift = common or (lambda t: 0.0)
    for r in range(3):
        step = start + r * STEP_GAP
        old_level, new_level = 0.01, 0.2 if bad else 0.01
        out.append(
            _pod(
                service,
                f"{service}-old-{r}",
                "v1",
                name,
                T0,
                step,
                lambda t, b=old_level: b * (1 + rng.gauss(0, 0.05)) + lift(t),
            )  # type: ignore[misc, operator]
        )
        out.append(
            _pod(
                service,
                f"{service}-new-{r}",
                "v2",
                name,
                step,
                END,
                lambda t, b=new_level: b * (1 + rng.gauss(0, 0.05)) + lift(t),
            )  # type: ignore[misc, operator]
        )
        changes.append(
            Change(
                ChangeKind.DEPLOY, step, service, f"step {r + 1}", previous="v1", current="v2", pod=f"{service}-new-{r}"
            )
        )
    return out, changes


def test_new_pods_that_fail_depart_and_are_named() -> None:
    series, changes = _rollout_series("cart", bad=True)
    (rollout,) = rollouts(changes)
    assert rollout.pods == ("cart-new-0", "cart-new-1", "cart-new-2") and rollout.version == "v2"
    (c,) = pod_contrasts(rollout, series)
    assert c.departed == rollout.pods and c.share == 1.0 and c.z > 10
    assert 0.18 < c.new_level < 0.22 and c.normal_level < 0.012


def test_a_cause_below_raises_old_and_new_pods_alike_and_refutes_the_deploy() -> None:
    # Everything in the service gets worse from the first step on: a dependency, not the new version.
    series, changes = _rollout_series("checkout", bad=False, common=lambda t: 0.15 if t >= CHANGE else 0.0)
    (c,) = pod_contrasts(rollouts(changes)[0], series)
    assert not c.departed
    assert c.refuted  # worse than normal, but no worse than the old pods at the same moments


def test_a_starting_pods_cpu_burst_is_not_a_departure() -> None:
    rng = random.Random(1)
    series: list[LabelledSeries] = []
    changes: list[Change] = []
    for r in range(2):
        step = CHANGE + r * 90 * S
        series.append(_pod("ad", f"ad-old-{r}", "v1", "container_cpu_usage_ratio", T0, step, _noisy(0.05, rng)))
        series.append(
            _pod("ad", f"ad-new-{r}", "v2", "container_cpu_usage_ratio", step, END,
                 lambda t, s=step: (0.4 if t - s < 60 * S else 0.05) * (1 + rng.gauss(0, 0.05)))  # type: ignore[misc]
        )  # fmt: skip
        changes.append(Change(ChangeKind.DEPLOY, step, "ad", current="v2", previous="v1", pod=f"ad-new-{r}"))
    (c,) = pod_contrasts(rollouts(changes)[0], series)
    assert not c.departed


def test_callers_edges_into_the_new_version_see_what_its_pods_do_not() -> None:
    rng = random.Random(2)
    rollout = Rollout("payment", "v2", "v1", (CHANGE, CHANGE + STEP_GAP), ("payment-new-0", "payment-new-1"), "")
    series = []
    for caller in ("checkout", "frontend"):
        for version, start, end, level in (("v1", T0, CHANGE + STEP_GAP * 3, 0.01), ("v2", CHANGE, END, 0.25)):
            times = tuple(range(start, end, STEP))
            labels = (
                ("destination_version", version),
                ("destination_workload", "payment"),
                ("reporter", "source"),
                ("source_workload", caller),
            )
            values = tuple(level * (1 + rng.gauss(0, 0.05)) for _ in times)
            series.append(LabelledSeries("payment", "istio_request_error_ratio", labels, times, values))
    assert pod_contrasts(rollout, series) == []  # no pod series at all
    (c,) = edge_contrasts(rollout, series)
    assert c.signal == "edges" and set(c.departed) == {"checkout -> payment", "frontend -> payment"}


def test_the_symptom_that_grows_with_each_step_is_that_rollouts() -> None:
    times = tuple(range(T0, END, STEP))
    steps = tuple(CHANGE + r * STEP_GAP for r in range(3))
    rng = random.Random(3)

    def level(t: int) -> float:  # one more failing pod per step
        return 0.01 + 0.05 * sum(1 for s in steps if t > s) + rng.gauss(0, 0.0005)

    symptom = MetricPoints("frontend", "http_server_error_ratio", times, tuple(level(t) for t in times))
    t, index, spread = symptom_index([symptom], normal_end_ns=CHANGE)
    growth = step_growth(steps, t, index, spread)
    assert growth is not None and growth.rises == 3 and growth.total_rise > 0
    later = tuple(END - 8 * 60 * S + r * STEP_GAP for r in range(3))  # a healthy rollout after it: flat, high
    flat = step_growth(later, t, index, spread)
    assert flat is not None and flat.rises == 0


def test_ranked_by_evidence_not_recency_and_the_text_agrees_with_its_numbers() -> None:
    bad_series, bad_changes = _rollout_series("cart", bad=True, start=CHANGE)
    # A healthy rollout after it: its pods share the propagated errors with its old pods.
    ok_series, ok_changes = _rollout_series(
        "frontend", bad=False, start=CHANGE + 5 * 60 * S, common=lambda t: 0.1 if t >= CHANGE else 0.0
    )
    analysis = deploy_findings(
        [*bad_changes, *ok_changes],
        [*bad_series, *ok_series],
        [],
        normal_end_ns=CHANGE - 30 * S,
        incident=TimeRange(CHANGE, END),
    )
    scores = {f.service: f.score for f in analysis.findings if f.analyzer is AnalyzerKind.DEPLOY_PODS}
    assert scores["cart"] > 0.8 and scores.get("frontend", 0.0) < 0.1
    ev = next(e for e in analysis.evidence.values() if e.service == "cart")
    assert ev.attributes["pods"] == "cart-new-0, cart-new-1, cart-new-2" and ev.attributes["version"] == "v2"
    (c,) = pod_contrasts(rollouts(bad_changes)[0], bad_series)
    text = describe(c)
    numbers = [float(x) for x in re.findall(r"at (\d+\.?\d*(?:e[-+]?\d+)?)", text)]
    assert numbers and abs(numbers[0] - c.new_level) <= 1e-3 * max(1.0, c.new_level)
    assert f"{len(c.departed)} of its {len(c.units)} new pods" in text
    assert c.new_level > c.normal_max >= c.normal_level  # "departs" means above the normal range, as the text says


def test_no_deploys_no_findings_and_unlabelled_series_are_ignored() -> None:
    assert not deploy_findings([], [], [], normal_end_ns=CHANGE, incident=TimeRange(CHANGE, END)).findings
    config = Change(ChangeKind.CONFIG, CHANGE, "cart", "timeout: 1 -> 2")
    assert rollouts([config]) == []
    lone = LabelledSeries("cart", "http_server_error_ratio", (), (T0,), (0.1,))
    assert pod_contrasts(Rollout("cart", "v2", "v1", (CHANGE,), (), ""), [lone]) == []
    assert np.isfinite(symptom_index([], normal_end_ns=CHANGE)[2])
