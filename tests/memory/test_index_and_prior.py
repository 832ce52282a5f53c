"""The similarity index and the memory prior, on hand-made fingerprints."""

from __future__ import annotations

import random
import time

import pytest

from incidentlens.memory.fingerprint import FAMILY_WEIGHT, Family, Feature, Fingerprint, RootCause, Symptoms
from incidentlens.memory.index import Match, MemoryIndex
from incidentlens.memory.prior import MAX_SHIFT, apply_prior
from incidentlens.memory.retrieve import (
    _SHOWN_ORDER,
    MIN_SHARED,
    SEEN_BEFORE,
    is_seen_before,
    recaller,
    seen_before,
    strongest,
)
from incidentlens.model import FaultKind, Hypothesis

NOISE = Feature(Family.TEMPLATE, "frontend", "request error")  # shows up in nearly every incident


def _fp(incident_id: str, service: str, fault: FaultKind, *features: Feature, confirmed: bool = True) -> Fingerprint:
    return Fingerprint(
        incident_id,
        f"{service} {fault.value}",
        Symptoms((*features, NOISE)),
        RootCause(service, fault, confirmed=confirmed),
        fix=f"fix {incident_id}",
        fix_source="resolution note",
        owners=(f"@{service}",),
    )


PAYMENT = (
    Feature(Family.SIGNATURE, "payment", "KeyError at charge.py:processing_fee < charge.py:charge"),
    Feature(Family.TEMPLATE, "payment", "charge failed for card <*>"),
    Feature(Family.ERROR, "payment", "oteldemo.PaymentService/Charge KeyError"),
    Feature(Family.DIAGNOSIS, "payment", "code"),
)
CART = (
    Feature(Family.TEMPLATE, "cart", "redis unavailable, using in-process cache"),
    Feature(Family.METRIC, "cart", "cache_hit_ratio down"),
    Feature(Family.LATENCY, "cart", "GET"),
    Feature(Family.DIAGNOSIS, "cart", "dependency"),
)
CPU = (
    Feature(Family.METRIC, "currency", "container_cpu_usage_ratio up"),
    Feature(Family.LATENCY, "currency", "Convert"),
    Feature(Family.DIAGNOSIS, "currency", "cpu"),
)


@pytest.fixture
def index() -> MemoryIndex:
    return MemoryIndex(
        [
            _fp("INC-0001", "payment", FaultKind.CODE, *PAYMENT),
            _fp("INC-0002", "cart", FaultKind.DEPENDENCY, *CART),
            _fp("INC-0003", "currency", FaultKind.CPU, *CPU),
            _fp("INC-0004", "cart", FaultKind.DEPENDENCY, *CART[:3], confirmed=False),
        ]
    )


def test_a_recurrence_with_most_symptoms_is_found_first_with_what_matched(index: MemoryIndex) -> None:
    query = Symptoms((*PAYMENT[:2], PAYMENT[3], NOISE, Feature(Family.CHANGE, "payment", "deploy")))
    matches = index.search(query)
    assert matches[0].fingerprint.incident_id == "INC-0001"
    assert matches[0].similarity > SEEN_BEFORE
    assert set(matches[0].matched) == {*PAYMENT[:2], PAYMENT[3], NOISE}
    assert is_seen_before(matches[0])
    assert all(not is_seen_before(m) for m in matches[1:])


def test_a_novel_incident_sharing_only_routine_noise_is_not_seen_before(index: MemoryIndex) -> None:
    novel = Symptoms(
        (
            NOISE,
            Feature(Family.SILENCE, "shipping", "went quiet"),
            Feature(Family.ERROR, "checkout", "oteldemo.ShippingService/GetQuote"),
            Feature(Family.DIAGNOSIS, "shipping", "dependency"),
        )
    )
    assert recaller(index)(novel) == []
    assert all(m.similarity < SEEN_BEFORE for m in index.search(novel))


def test_the_diagnosis_alone_never_makes_a_recurrence(index: MemoryIndex) -> None:
    query = Symptoms((CPU[2], CPU[0]))
    best = index.search(query)[0]
    assert best.fingerprint.incident_id == "INC-0003"
    assert len([f for f in best.matched if f.family is not Family.DIAGNOSIS]) < MIN_SHARED
    assert not is_seen_before(best)


def test_rare_symptoms_weigh_more_than_common_ones(index: MemoryIndex) -> None:
    rare = index.search(Symptoms((CART[1], Feature(Family.TEMPLATE, "x", "other"))), limit=1)[0].similarity
    common = index.search(Symptoms((NOISE, Feature(Family.TEMPLATE, "x", "other"))), limit=1)[0].similarity
    assert rare > common


def test_every_family_has_a_weight_and_a_place_in_the_brief() -> None:
    assert set(_SHOWN_ORDER) == set(Family) == set(FAMILY_WEIGHT)
    assert [f.family for f in strongest([CART[3], CART[1], PAYMENT[1], PAYMENT[0]])] == [
        Family.SIGNATURE,
        Family.TEMPLATE,
        Family.METRIC,
        Family.DIAGNOSIS,
    ]


def test_exclude_and_empty_inputs(index: MemoryIndex) -> None:
    query = Symptoms(PAYMENT)
    assert all(m.fingerprint.incident_id != "INC-0001" for m in index.search(query, exclude="INC-0001"))
    assert index.search(Symptoms(())) == []
    assert MemoryIndex([]).search(query) == []
    assert len(index.search(query, limit=1)) == 1


def test_seen_before_names_the_current_hypothesis_with_the_same_cause(index: MemoryIndex) -> None:
    matches = recaller(index)(Symptoms(PAYMENT))
    hypotheses = [_h("h-cart", "cart", FaultKind.DEPENDENCY, 0.3), _h("h-pay", "payment", FaultKind.CODE, 0.6)]
    (entry,) = seen_before(matches, hypotheses)
    assert (entry.incident_id, entry.service, entry.fault, entry.same_as_rank) == ("INC-0001", "payment", "code", 2)
    assert entry.fix == "fix INC-0001" and entry.owners == ("@payment",) and entry.confirmed
    assert entry.matched[0].startswith("exception KeyError at charge.py")


def _h(hid: str, service: str, fault: FaultKind, confidence: float) -> Hypothesis:
    return Hypothesis(hid, f"{service} {fault.value}", service, fault, confidence, ("ev-1",))


def _match(fp: Fingerprint, similarity: float) -> Match:
    return Match(fp, similarity, ())


def test_prior_raises_a_confirmed_cause_lowers_a_refuted_one_and_says_why() -> None:
    confirmed = _fp("INC-0009", "payment", FaultKind.CODE)
    refuting = Fingerprint("INC-0010", "", Symptoms(()), None, refuted=(("checkout", FaultKind.CONFIG),))
    hypotheses = [
        _h("h-pay", "payment", FaultKind.CODE, 0.5),
        _h("h-co", "checkout", FaultKind.CONFIG, 0.5),
        _h("h-ad", "ad", FaultKind.CPU, 0.5),
    ]
    out, notes = apply_prior(hypotheses, [_match(confirmed, 0.8), _match(refuting, 0.6)])
    pay, co, ad = out
    assert 0.5 < pay.confidence < 0.6 and 0.4 < co.confidence < 0.5 and ad == hypotheses[2]
    assert "INC-0009" in notes["h-pay"][0] and "+0.0" in notes["h-pay"][0] and "confirmed" in notes["h-pay"][0]
    assert (
        "INC-0010" in notes["h-co"][0]
        and "refuted" in notes["h-co"][0]
        and notes["h-co"][0].startswith("memory prior -")
    )
    assert "h-ad" not in notes


def test_prior_is_bounded_and_weaker_for_unconfirmed_or_other_fault_causes() -> None:
    h = [_h("h", "payment", FaultKind.CODE, 0.5)]
    full = apply_prior(h, [_match(_fp("A", "payment", FaultKind.CODE), 1.0)])[0][0].confidence
    unconfirmed = apply_prior(h, [_match(_fp("B", "payment", FaultKind.CODE, confirmed=False), 1.0)])[0][0].confidence
    other_fault = apply_prior(h, [_match(_fp("C", "payment", FaultKind.CPU), 1.0)])[0][0].confidence
    bound = 1 / (1 + pow(2.718281828, -MAX_SHIFT))
    assert full == pytest.approx(bound, abs=1e-3)
    assert 0.5 < unconfirmed < full and 0.5 < other_fault < full
    assert apply_prior(h, []) == (h, {})
    weak = apply_prior([_h("w", "payment", FaultKind.CODE, 0.05)], [_match(_fp("A", "payment", FaultKind.CODE), 1.0)])
    assert weak[0][0].confidence < 0.08  # memory cannot make a weak hypothesis strong


def test_search_over_ten_thousand_incidents_is_fast() -> None:
    rng = random.Random(3)
    bases = [PAYMENT, CART, CPU]
    fps = [
        _fp(
            f"SYN-{i:05d}",
            "svc",
            FaultKind.CODE,
            *[f for f in rng.choice(bases) if rng.random() < 0.8],
            Feature(Family.TEMPLATE, f"s{rng.randrange(50)}", f"noise {rng.randrange(3000)}"),
        )
        for i in range(10_000)
    ]
    index = MemoryIndex(fps)
    started = time.perf_counter()
    for _ in range(10):
        matches = index.search(Symptoms(PAYMENT))
    assert (time.perf_counter() - started) / 10 < 0.2
    assert matches and matches[0].similarity > SEEN_BEFORE
