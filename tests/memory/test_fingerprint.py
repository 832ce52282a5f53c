"""Fingerprints: normalisation that survives new ids and seeds, signatures without messages, round trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from incidentlens.memory.fingerprint import (
    FAMILY_WEIGHT,
    WORD_WEIGHT,
    Family,
    Feature,
    Fingerprint,
    RootCause,
    Symptoms,
    dependency_path,
    exception_signature,
    normalise_template,
    terms,
)
from incidentlens.memory.observe import evidence_features
from incidentlens.model import Evidence, EvidenceKind, FaultKind


def test_templates_with_other_ids_numbers_and_times_normalise_to_the_same_text() -> None:
    a = normalise_template(
        "Charge failed for order 8f3a9c2e-1b2d-4c5e-9f00-123456789abc after 2034 ms at 2026-01-02T03:04:05Z"
    )
    b = normalise_template("charge failed for order <*> after <*> ms at <*>")
    c = normalise_template(
        "Charge failed for order 0a1b2c3d-0000-4000-8000-000000000001 after 17 ms at 2025-12-31T23:59:59Z"
    )
    assert a == b == c == "charge failed for order <*> after <*> ms at <*>"


def test_runs_of_wildcards_merge_so_one_or_two_parameters_match() -> None:
    assert normalise_template("user <*> <*> not found") == normalise_template("user <*> not found")
    assert normalise_template("host 10.0.0.1:5432 <*>") == "host <*>"


@given(st.integers(min_value=0, max_value=10**12), st.uuids())
def test_any_numeric_id_or_uuid_is_masked(number: int, uid: object) -> None:
    assert normalise_template(f"cart {uid} has {number} items") == "cart <*> has <*> items"


def test_signature_is_type_and_top_app_frames_innermost_first_without_message() -> None:
    python = [  # frames column order for Python: outermost first
        {"file": "/app/server.py", "function": "Charge", "line": 10, "library": False},
        {"file": "/usr/lib/python3.12/json/decoder.py", "function": "decode", "line": 5, "library": True},
        {"file": "/app/charge.py", "function": "charge", "line": 40, "library": False},
        {"file": "/app/charge.py", "function": "processing_fee", "line": 51, "library": False},
    ]
    assert (
        exception_signature("KeyError", python)
        == "KeyError at charge.py:processing_fee < charge.py:charge < server.py:Charge"
    )
    java = [
        {"file": "AdCatalog.java", "function": "byCategory", "line": 3, "library": False},
        {"file": "AdService.java", "function": "getAds", "line": 9, "library": False},
        {"file": "Thread.java", "function": "run", "line": 1, "library": True},
    ]
    assert exception_signature("java.lang.IllegalStateException", java) == (
        "java.lang.IllegalStateException at AdCatalog.java:byCategory < AdService.java:getAds"
    )
    shifted = [dict(f, line=int(str(f["line"])) + 7) for f in java]  # an unrelated edit moves every line
    assert exception_signature("java.lang.IllegalStateException", shifted) == exception_signature(
        "java.lang.IllegalStateException", java
    )
    assert exception_signature("", []) == "exception"


def test_terms_weight_families_and_add_template_words() -> None:
    out = terms(
        [Feature(Family.TEMPLATE, "cart", "redis timeout reading <*>"), Feature(Family.CHANGE, "cart", "deploy")]
    )
    assert out["template|cart|redis timeout reading <*>"] == FAMILY_WEIGHT[Family.TEMPLATE]
    assert out["change|cart|deploy"] == FAMILY_WEIGHT[Family.CHANGE]
    assert out["word|cart|redis"] == out["word|cart|timeout"] == WORD_WEIGHT
    assert "word|cart|<*>" not in out


def test_evidence_features_keep_rising_templates_and_drop_falling_ones() -> None:
    def template(shift: str) -> Evidence:
        return Evidence(
            id=f"ev-{shift}",
            kind=EvidenceKind.LOG_TEMPLATE,
            service="payment",
            summary="",
            excerpt="",
            attributes={"template": "charge failed for card <*>", "shift": shift, "exception_type": "KeyError"},
        )

    assert evidence_features(template("new")) == [
        Feature(Family.TEMPLATE, "payment", "charge failed for card <*>"),
        Feature(Family.EXCEPTION, "payment", "KeyError"),
    ]
    assert evidence_features(template("gone")) == []
    metric = Evidence(
        "ev-m", EvidenceKind.METRIC_ANOMALY, "cart", "", "", attributes={"metric": "cpu", "robust_z": -6.0}
    )
    assert evidence_features(metric) == [Feature(Family.METRIC, "cart", "cpu down")]


def test_fingerprint_round_trips_through_plain_data() -> None:
    fp = Fingerprint(
        incident_id="INC-0007",
        title="checkout errors",
        symptoms=Symptoms(
            (Feature(Family.SIGNATURE, "payment", "KeyError at charge.py:fee"),),
            ("checkout", "payment"),
            (("checkout", "payment"),),
        ),
        cause=RootCause("payment", FaultKind.CODE, "charge.py", "a code defect", confirmed=True),
        refuted=(("checkout", FaultKind.CONFIG),),
        fix="revert abc123",
        fix_source="resolution note",
        owners=("@shop/payments",),
        path=("frontend", "checkout", "payment"),
        resolved_at="2026-01-01T00:00:00Z",
    )
    assert Fingerprint.from_dict(fp.to_dict()) == fp
    data = fp.to_dict()
    data["symptoms"]["features"].append({"family": "from-a-newer-release", "service": "x", "text": "y"})
    assert Fingerprint.from_dict(data) == fp


def test_dependency_path_runs_from_an_entry_service_to_the_cause() -> None:
    edges = [("frontend", "checkout"), ("checkout", "payment"), ("frontend", "cart"), ("checkout", "cart")]
    assert dependency_path(edges, "payment") == ("frontend", "checkout", "payment")
    assert dependency_path(edges, "cart") == ("frontend", "cart")
    assert dependency_path(edges, "unknown") == ("unknown",)
    assert dependency_path([], "payment") == ("payment",)
