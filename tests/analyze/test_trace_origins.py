"""Where failures start: error origins become findings for the service that broke."""

from __future__ import annotations

from incidentlens.analyze.traces import error_origin_findings, services_named
from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import ErrorOrigin

BASE = TimeRange(0, 60_000_000_000)
INC = TimeRange(60_000_000_000, 120_000_000_000)
KNOWN = {"ts-travel-service", "ts-travel2-service", "ts-seat-service", "cart"}


def _origin(service: str, message: str, *, kind: str = "SERVER", peer: str = "") -> ErrorOrigin:
    return ErrorOrigin(service, "GET /x", kind, peer, True, 20, 0, message, "", "trace-1", 70_000_000_000)


def test_services_named_are_whole_words_only() -> None:
    text = "No instances available for ts-travel2-service"
    assert services_named(text, KNOWN) == ["ts-travel2-service"]
    assert services_named("cart-db timed out", KNOWN) == []


def test_own_failure_is_a_trace_error_of_the_emitter() -> None:
    found = error_origin_findings(
        [_origin("ts-seat-service", "NullPointerException at SeatServiceImpl")],
        known_services=KNOWN,
        baseline=BASE,
        incident=INC,
    )
    assert [(f.analyzer, f.service, f.fault.value) for f in found.findings] == [
        ("trace_errors", "ts-seat-service", "code")
    ]


def test_error_naming_a_dependency_is_a_weaker_dependency_finding() -> None:
    message = "nested exception is IllegalStateException: No instances available for ts-seat-service"
    found = error_origin_findings(
        [_origin("ts-travel-service", message)], known_services=KNOWN, baseline=BASE, incident=INC
    )
    assert [(f.analyzer, f.service, f.fault.value) for f in found.findings] == [
        ("dependency_errors", "ts-travel-service", "dependency")
    ]


def test_unanswered_client_call_points_at_the_callee() -> None:
    origin = ErrorOrigin("ts-travel-service", "GET", "CLIENT", "cart", False, 20, 0, "timeout", "", "t", 70_000_000_000)
    found = error_origin_findings([origin], known_services=KNOWN, baseline=BASE, incident=INC)
    assert [(f.analyzer, f.service) for f in found.findings] == [("trace_errors", "cart")]


def _counted(
    count: int, baseline_count: int, *, base_minutes: float, inc_minutes: float, new_kind: int = 0
) -> list[str]:
    base = TimeRange(0, int(base_minutes * 60e9))
    inc = TimeRange(base.end_ns + 30_000_000_000, base.end_ns + 30_000_000_000 + int(inc_minutes * 60e9))
    origin = ErrorOrigin(
        "cart", "GetCart", "SERVER", "", True, count, baseline_count, "no such cart", "", "t", 1, new_kind
    )
    return [
        f.service for f in error_origin_findings([origin], known_services=KNOWN, baseline=base, incident=inc).findings
    ]


def test_a_known_failure_rising_within_chance_is_no_finding() -> None:
    # Six in 13 minutes after two in 26: five standard deviations above a normal rate taken as known, but that
    # rate rests on two failures, and the pair of counts is within its luck (one-sided p 0.02).
    assert _counted(6, 2, base_minutes=26, inc_minutes=13) == []
    # The same failure rising far beyond its normal rate is.
    assert _counted(60, 4, base_minutes=26, inc_minutes=13) == ["cart"]


def test_a_failure_the_normal_period_never_showed_needs_no_long_normal_period() -> None:
    # Eight new failures after a normal period of three minutes: no rate test can tell, a new failure mode is.
    assert _counted(8, 0, base_minutes=2.8, inc_minutes=4.5) == ["cart"]


def test_a_new_exception_type_where_a_known_failure_lives_is_a_new_failure() -> None:
    # Same place, same counts as the known failure above, but five of the six raise a type never seen before.
    assert _counted(6, 2, base_minutes=26, inc_minutes=13, new_kind=5) == ["cart"]
