"""RCA scores on hand-made cases: service ranks, inner-cause matching, calibration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentlens.bench.rcd import split_columns
from incidentlens.bench.scoring import (
    CaseScore,
    CodeRegion,
    Prediction,
    ac_at,
    avg_at_5,
    expected_calibration_error,
    inner_hits,
    inner_match,
    label_fault,
    parse_region,
    service_rank,
    summarise,
)
from incidentlens.model import FaultKind


def test_service_rank_counts_distinct_services() -> None:
    assert service_rank("b", ["a", "a", "b"]) == 2
    assert service_rank("c", ["a", "b"]) is None
    assert service_rank("a", []) is None


def test_ac_and_avg_at_5() -> None:
    ranks = [1, 2, None, 5]
    assert ac_at(ranks, 1) == 0.25
    assert ac_at(ranks, 3) == 0.5
    assert ac_at(ranks, 5) == 0.75
    assert avg_at_5(ranks) == pytest.approx((0.25 + 0.5 + 0.5 + 0.5 + 0.75) / 5)
    assert ac_at([], 1) == 0.0


def test_code_region_overlap_with_abbreviated_logger() -> None:
    label = "t.s.TravelServiceImpl#451_t.s.TravelServiceImpl#457"
    assert inner_match(label, Prediction("x", "code", "travel.service.TravelServiceImpl#455"))
    assert inner_match(label, Prediction("x", "code", "t.s.TravelServiceImpl#440-452"))
    assert inner_match(label, Prediction("x", "code", "a.b.Other#1 | t.s.TravelServiceImpl#457"))
    assert not inner_match(label, Prediction("x", "code", "t.s.TravelServiceImpl#458-470"))
    assert not inner_match(label, Prediction("x", "code", "t.s.RouteServiceImpl#455"))
    assert not inner_match(label, Prediction("x", "code", "q.s.TravelServiceImpl#455"))
    assert not inner_match(label, Prediction("x", "cpu", ""))


def test_template_labels_match_either_bound() -> None:
    label = "Placing order started_Order placed complete"
    assert inner_match(label, Prediction("x", "code", "Order placed complete"))
    assert inner_match(label, Prediction("x", "code", "[placeOrder] Placing order started <*>"))
    assert not inner_match(label, Prediction("x", "code", "Charge successfully"))
    mixed = "PriceController.query start_p.c.PriceController#46"
    assert inner_match(mixed, Prediction("x", "code", "price.controller.PriceController#40-50"))
    assert inner_match(mixed, Prediction("x", "code", "PriceController.query start"))
    assert not inner_match(mixed, Prediction("x", "code", "p.c.PriceController#60"))


def test_metric_labels_match_the_resource_kind() -> None:
    assert label_fault("CpuUsageRate(%)") is FaultKind.CPU
    assert label_fault("NetworkP90(ms)") is FaultKind.NETWORK
    assert label_fault("MemoryUsage(Mi)") is FaultKind.MEMORY
    assert label_fault("c.s.ContactsServiceImpl#31_c.s.ContactsServiceImpl#34") is None
    assert inner_match("CpuUsageRate(%)", Prediction("x", "cpu"))
    assert not inner_match("CpuUsageRate(%)", Prediction("x", "network"))
    assert inner_match("NetworkP90(ms)", Prediction("x", "network"))


def test_inner_hits_need_the_true_service() -> None:
    ranked = [Prediction("a", "cpu"), Prediction("b", "memory"), Prediction("b", "cpu")]
    assert inner_hits("b", "CpuUsageRate(%)", ranked) == (False, False, True)
    assert inner_hits("a", "CpuUsageRate(%)", ranked) == (True, True, True)
    assert inner_hits("c", "CpuUsageRate(%)", ranked) == (False, False, False)


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([1.0, 1.0], [False, False]) == 1.0
    # one bin at 0.75 with 3 of 4 right: calibrated; one bin at 0.15 with 1 of 1 right: off by 0.85
    ece = expected_calibration_error([0.75] * 4 + [0.15], [True, True, True, False, True])
    assert ece == pytest.approx(0.85 / 5)
    assert expected_calibration_error([], []) == 0.0


def test_summarise_per_group() -> None:
    cases = [
        CaseScore("1", "s", "cpu", "a", ("a", "b"), 0.9, 1.0, (True, True, True)),
        CaseScore("2", "s", "cpu", "b", ("a", "b"), 0.4, 1.0, (False, False, False)),
    ]
    out = summarise(cases, with_inner=True)
    assert out == {"AC@1": 0.5, "AC@3": 1.0, "Avg@5": 0.9, "AIS@1": 0.5, "AIS@3": 0.5, "cases": 2}
    assert "AIS@1" not in summarise(cases, with_inner=False)


_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}(\.[A-Za-z][A-Za-z0-9]{0,8}){0,3}", fullmatch=True)


@given(_names, st.integers(0, 10**5), st.integers(0, 10**5))
def test_parse_region_roundtrip(cls: str, a: int, b: int) -> None:
    assert parse_region(f"{cls}#{a}_{cls}#{b}") == CodeRegion(cls, min(a, b), max(a, b))
    assert parse_region(f"{cls}#{a}-{b}") == CodeRegion(cls, min(a, b), max(a, b))
    assert parse_region(f"{cls}#{a}") == CodeRegion(cls, a, a)
    assert parse_region(f"{cls} started") is None


@given(st.lists(st.integers(1, 7).map(lambda r: r if r <= 5 else None), min_size=1))
def test_accuracy_is_monotone_in_k(ranks: list[int | None]) -> None:
    values = [ac_at(ranks, k) for k in range(1, 6)]
    assert values == sorted(values)
    # a mean of equal floats may differ from them in the last bit
    assert values[0] - 1e-12 <= avg_at_5(ranks) <= values[-1] + 1e-12


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1))
def test_ece_is_bounded(pairs: list[tuple[float, bool]]) -> None:
    ece = expected_calibration_error([p[0] for p in pairs], [p[1] for p in pairs])
    assert 0.0 <= ece <= 1.0


_container = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
_metric = st.from_regex(r"[a-z]{1,4}(_[0-9]{1,2})?", fullmatch=True)


@given(st.dictionaries(_container, st.sets(_metric, min_size=2, max_size=5), min_size=1, max_size=6))
def test_split_columns_recovers_container_and_metric(layout: dict[str, set[str]]) -> None:
    names = [f"{c}_{m}" for c, ms in layout.items() for m in sorted(ms)]
    split = split_columns(names)
    assert {split[f"{c}_{m}"] for c, ms in layout.items() for m in ms} == {
        (c, m) for c, ms in layout.items() for m in ms
    }


def test_split_columns_on_a_sock_shop_header() -> None:
    names = ["carts_cpu", "carts-db_cpu", "carts_mem", "carts-db_mem", "carts_lat_50", "carts_lat_90", "lonely"]
    split = split_columns(names)
    assert split["carts_lat_90"] == ("carts", "lat_90")
    assert split["carts-db_mem"] == ("carts-db", "mem")
    assert split["lonely"] == ("", "lonely")
