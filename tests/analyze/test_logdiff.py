"""The two-rate test, template diffs, and the log evidence built on them (pure code, no store)."""

from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentlens.analyze.logdiff import EXACT_LIMIT, MAX_Z, Shift, diff_counts, rate_test
from incidentlens.analyze.logs import concentration, log_findings, mine_groups
from incidentlens.model import EvidenceKind, TimeRange
from incidentlens.telemetry.rows import LogMessageGroup

S = 1_000_000_000
BASE = TimeRange(0, 1200 * S)  # 20 minutes of normal period
INC = TimeRange(1260 * S, 1860 * S)  # 10 minutes of incident


def _tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


def test_exact_tail_matches_the_binomial_sum() -> None:
    t = rate_test(12, 4, incident_exposure=600, baseline_exposure=1200)
    expected_p = _tail(12, 16, 1 / 3)
    assert math.exp(t.log_p) == pytest.approx(expected_p, rel=1e-9)
    assert t.z == pytest.approx(-NormalDist().inv_cdf(expected_p), rel=1e-9)
    assert t.ratio == pytest.approx((12 / 600) / (4 / 1200))


def test_same_rate_in_windows_of_different_length_is_no_shift() -> None:
    t = rate_test(100, 200, incident_exposure=600, baseline_exposure=1200)
    assert abs(t.z) < 0.5 and t.ratio == pytest.approx(1.0)


def test_exact_and_normal_approximation_agree_at_the_switch() -> None:
    n = EXACT_LIMIT
    exact = rate_test(n // 2 + 80, n // 2 - 80, incident_exposure=1, baseline_exposure=1)
    approx = rate_test(n // 2 + 81, n // 2 - 80, incident_exposure=1, baseline_exposure=1)
    assert exact.z == pytest.approx(approx.z, abs=0.1)


def test_huge_counts_stay_finite() -> None:
    t = rate_test(10_000_000, 0, incident_exposure=1, baseline_exposure=1)
    assert t.z == MAX_Z and math.isfinite(t.log_p) and t.ratio == math.inf
    gone = rate_test(0, 1500, incident_exposure=1, baseline_exposure=1)
    assert gone.z < -30 and math.isfinite(gone.log_p)


def test_bad_exposures_and_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="exposures"):
        rate_test(1, 1, incident_exposure=0, baseline_exposure=1)
    with pytest.raises(ValueError, match="counts"):
        rate_test(-1, 1, incident_exposure=1, baseline_exposure=1)


counts = st.integers(min_value=0, max_value=5000)
exposures = st.floats(min_value=1.0, max_value=1e5, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(counts, counts, exposures, exposures)
def test_swapping_the_windows_negates_the_statistic(i: int, b: int, ei: float, eb: float) -> None:
    fwd = rate_test(i, b, incident_exposure=ei, baseline_exposure=eb)
    back = rate_test(b, i, incident_exposure=eb, baseline_exposure=ei)
    assert fwd.log_p <= 0.0 and abs(fwd.z) <= MAX_Z
    assert fwd.z == pytest.approx(-back.z, abs=1e-6) or (fwd.z == 0 or back.z == 0)


@settings(max_examples=100, deadline=None)
@given(counts, st.integers(min_value=0, max_value=3000), exposures, exposures)
def test_more_incident_lines_never_weaken_a_rise(i: int, b: int, ei: float, eb: float) -> None:
    lo = rate_test(i, b, incident_exposure=ei, baseline_exposure=eb)
    hi = rate_test(i + 1, b, incident_exposure=ei, baseline_exposure=eb)
    assert hi.z >= lo.z - 1e-9


def test_diff_finds_new_gone_up_down_and_ignores_a_traffic_drop() -> None:
    baseline = {"steady": 1000, "errors": 20, "vanished": 300, "shrinking": 600, "quiet": 2}
    incident = {"steady": 500, "errors": 150, "new": 40, "shrinking": 60, "quiet": 1}
    shifts = {s.key: s for s in diff_counts(baseline, incident, baseline_seconds=1200, incident_seconds=600)}
    assert shifts["new"].shift is Shift.NEW and shifts["new"].test.z > 3
    assert shifts["errors"].shift is Shift.UP
    assert shifts["vanished"].shift is Shift.GONE and shifts["vanished"].test.z < -3
    assert shifts["shrinking"].shift is Shift.DOWN
    assert "steady" not in shifts and "quiet" not in shifts


def test_a_uniform_traffic_drop_is_not_a_code_path_that_stopped() -> None:
    baseline = {"a": 1000, "b": 400, "c": 200}
    incident = {"a": 100, "b": 40, "c": 20}
    assert diff_counts(baseline, incident, baseline_seconds=600, incident_seconds=600) == []


def _group(
    service: str,
    level: str,
    message: str,
    *,
    base: int = 0,
    inc: int = 0,
    trace: str = "",
    first_ns: int = 0,
    exc: str = "",
) -> LogMessageGroup:
    return LogMessageGroup(
        service=service,
        level=level,
        message=message,
        baseline_count=base,
        incident_count=inc,
        baseline_traces=base if trace else 0,
        incident_traces=inc if trace else 0,
        exception_type=exc,
        example=message + ("\nTraceback (most recent call last):" if exc else ""),
        example_source=f"cart.jsonl:{len(message)}",
        example_trace=trace,
        first_ns=first_ns if inc else 0,
    )


def _cart_incident() -> list[LogMessageGroup]:
    groups = [
        _group("cart", "INFO", f"GetCart called for user_id=u{i:04d}", base=20, inc=10, trace="aa") for i in range(30)
    ]
    groups += [_group("cart", "INFO", f"cache warmed in {i} ms", base=30) for i in range(10)]
    groups.append(
        _group(
            "cart",
            "ERROR",
            "charge failed for product_id=OLJCESPC7Z",
            inc=57,
            trace="4bf92f3577b34da6a3ce929d0e0e4736",
            first_ns=INC.start_ns + 5 * S,
            exc="TypeError",
        )
    )
    groups.append(
        _group(
            "cart",
            "ERROR",
            "charge failed for product_id=66VCHSJNUP",
            inc=3,
            trace="bb",
            first_ns=INC.start_ns + 50 * S,
        )
    )
    groups.append(_group("frontend", "INFO", "request complete", base=2000, inc=1000, trace="cc"))
    return groups


def test_log_findings_report_new_errors_with_traces_and_a_concentrated_value() -> None:
    analysis = log_findings(_cart_incident(), baseline=BASE, incident=INC)
    assert [f.service for f in analysis.findings] == ["cart"]
    finding = analysis.findings[0]
    assert finding.analyzer == "log_templates" and 0.5 < finding.score < 1.0
    assert finding.fault.value == "code" and finding.onset_ns == INC.start_ns + 5 * S
    top = analysis.evidence[finding.evidence_ids[0]]
    assert top.kind is EvidenceKind.LOG_TEMPLATE
    assert top.attributes["template"] == "charge failed for product_id=<*>"
    assert top.attributes["shift"] == "new" and top.attributes["count"] == 60
    assert top.attributes["param_name"] == "product_id" and top.attributes["param_value"] == "OLJCESPC7Z"
    assert top.attributes["param_share"] == pytest.approx(0.95)
    assert top.source_ref == "trace:4bf92f3577b34da6a3ce929d0e0e4736"
    assert top.excerpt.startswith("charge failed for product_id=OLJCESPC7Z")
    assert "95% carry product_id=OLJCESPC7Z" in top.summary and "60 traces" in top.summary
    gone = [analysis.evidence[e] for e in finding.evidence_ids if analysis.evidence[e].attributes["shift"] == "gone"]
    assert gone and gone[0].attributes["template"] == "cache warmed in <*> ms"


def test_log_evidence_ids_are_stable_and_evidence_is_compact() -> None:
    first = log_findings(_cart_incident(), baseline=BASE, incident=INC)
    again = log_findings(list(reversed(_cart_incident())), baseline=BASE, incident=INC)
    assert sorted(first.evidence) == sorted(again.evidence)
    assert len(first.evidence) <= 3


def test_errors_outweigh_info_lines_of_the_same_shape() -> None:
    def score(level: str) -> float:
        groups = [_group("svc", level, "disk slow on /dev/sda", base=5, inc=80), _group("svc", "INFO", "ok", base=99)]
        return log_findings(groups, baseline=BASE, incident=INC).findings[0].score

    assert score("ERROR") > score("WARN") > score("INFO") > 0


def test_a_value_as_common_in_the_normal_period_is_not_a_clue() -> None:
    groups = [_group("svc", "WARN", f"retry for region=eu-west-1 attempt={i}", base=30, inc=60) for i in range(2)]
    groups += [_group("svc", "WARN", "retry for region=us-east-1 attempt=9", base=1)]
    (template,) = mine_groups(groups)
    assert template.template == "retry for region=<*> attempt=<*>"
    assert concentration(template) is None


def test_a_folded_shape_names_no_value_and_dilutes_the_share_of_the_others() -> None:
    """A folded row's message is one example of many: its lines carry values nobody has read."""
    example = _group("cart", "ERROR", "charge failed for product_id=OLJCESPC7Z", inc=200, trace="aa")
    (alone,) = mine_groups([dataclasses.replace(example, folded=True)])
    assert concentration(alone) is None
    groups = [_group("cart", "ERROR", "charge failed for product_id=OLJCESPC7Z", inc=57, trace="aa")]
    other = _group("cart", "ERROR", "charge failed for product_id=AAAAAAAAAA", inc=43)
    groups.append(dataclasses.replace(other, folded=True))
    (diluted,) = mine_groups(groups)
    assert concentration(diluted) is None  # 57 of 100 incident lines is under the 80 % bar
    groups[1] = dataclasses.replace(groups[1], incident_count=3)
    (clear,) = mine_groups(groups)
    found = concentration(clear)
    assert found is not None and found.value == "OLJCESPC7Z" and found.share == pytest.approx(0.95)
