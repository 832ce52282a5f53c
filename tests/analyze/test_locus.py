"""Inner-service locus from log statements with line numbers."""

from __future__ import annotations

from incidentlens.analyze.locus import find_loci
from incidentlens.model import TimeRange
from incidentlens.telemetry.rows import LoggerCount


def test_region_where_the_later_statement_falls_behind() -> None:
    counts = [
        LoggerCount("t.s.OrderServiceImpl#40", "INFO", 100, 120, "checking order"),
        LoggerCount("t.s.OrderServiceImpl#52", "INFO", 100, 40, "order saved"),
        LoggerCount("t.s.OrderServiceImpl#60", "INFO", 100, 40, "order sent"),
        LoggerCount("t.c.OrderController#12", "INFO", 100, 120, "request"),
    ]
    loci = find_loci(counts, service="order", incident=TimeRange(0, 1))
    assert [locus.text for locus in loci] == ["t.s.OrderServiceImpl#40_t.s.OrderServiceImpl#52"]
    evidence = loci[0].evidence
    assert evidence.service == "order" and "between" in evidence.summary and evidence.excerpt


def test_new_error_statement_is_a_locus_and_steady_ratios_are_not() -> None:
    counts = [
        LoggerCount("c.s.PayService#10", "INFO", 50, 60, "pay"),
        LoggerCount("c.s.PayService#20", "INFO", 50, 60, "paid"),
        LoggerCount("c.s.PayService#30", "ERROR", 0, 9, "card rejected"),
    ]
    # the region runs from the last statement that still runs (#20) to the one that began writing errors
    assert [locus.text for locus in find_loci(counts, service="pay", incident=TimeRange(0, 1))] == [
        "c.s.PayService#20_c.s.PayService#30"
    ]


def test_loggers_without_line_numbers_are_ignored() -> None:
    counts = [LoggerCount("payment", "INFO", 100, 0, "x"), LoggerCount("payment.api", "INFO", 100, 0, "y")]
    assert find_loci(counts, service="pay", incident=TimeRange(0, 1)) == []


def test_stopped_share_tells_a_full_stop_from_a_partial_one() -> None:
    counts = [
        LoggerCount("t.s.TravelServiceImpl#10", "INFO", 100, 100, "query"),
        LoggerCount("t.s.TravelServiceImpl#20", "INFO", 100, 0, "left tickets"),
        LoggerCount("s.s.SeatServiceImpl#10", "INFO", 100, 100, "seat"),
        LoggerCount("s.s.SeatServiceImpl#20", "INFO", 100, 60, "seat found"),
    ]
    loci = find_loci(counts, service="x", incident=TimeRange(0, 1))
    shares = {locus.text: round(locus.stopped_share, 2) for locus in loci}
    assert shares == {
        "t.s.TravelServiceImpl#10_t.s.TravelServiceImpl#20": 1.0,
        "s.s.SeatServiceImpl#10_s.s.SeatServiceImpl#20": 0.4,
    }
