"""Leave-one-out figures of the RCA defaults: a held-out fold is scored with what the other folds chose."""

from __future__ import annotations

from incidentlens.analyze import call_edges
from incidentlens.bench.cases import BenchCase, Loaded, Truth
from incidentlens.bench.loo_rca import Default, leave_one_out, loo_table
from incidentlens.bench.scoring import CaseScore
from incidentlens.ingest.sink import RowSink
from incidentlens.telemetry.store import TelemetryStore

Z = Default("incidentlens.analyze.call_edges", "Z_DEGRADED", (5.0, 3.0))


def _never(store: TelemetryStore, sink: RowSink) -> Loaded:
    raise AssertionError("the fake runner never loads")


def _cases() -> list[BenchCase]:
    out = []
    for system in ("alpha", "beta"):
        for fault in ("cpu", "delay"):
            out += [BenchCase(f"{system}-{fault}-{i}", system, Truth("cart", fault), _never) for i in range(3)]
    return out


def _runner(cases: list[BenchCase]) -> list[CaseScore]:
    """Right on every case with the shipped value; with 3.0 right only on `alpha` (a value that fits one system)."""
    z = call_edges.Z_DEGRADED
    out = []
    for c in cases:
        right = z == 5.0 or (z == 3.0 and c.system == "alpha")
        top = "cart" if right else "ad"
        out.append(CaseScore(c.case_id, c.system, c.truth.fault_type, "cart", (top,), 0.9, 0.0))
    return out


def test_held_out_folds_use_the_other_folds_choice_and_the_value_is_restored() -> None:
    cases = _cases()
    shipped = _runner(cases)
    folds, pooled = leave_one_out(cases, shipped, _runner, defaults=(Z,))
    names = [f.fold for f in folds]
    assert names == ["dataset alpha", "dataset beta", "fault cpu", "fault delay"]
    assert all(f.chosen == {"call_edges.Z_DEGRADED": 5.0} for f in folds)
    assert all(f.held_out[0] == 1.0 and f.in_sample[0] == 1.0 for f in folds)
    assert pooled["dataset"][0] == 1.0 and pooled["fault-type"][0] == 1.0
    assert call_edges.Z_DEGRADED == 5.0
    text = loo_table(folds, pooled, shipped)
    assert "pooled, leave-one-dataset-out" in text and "folds that chose another value: none" in text


def test_a_value_that_only_wins_in_sample_is_scored_on_the_fold_it_did_not_see() -> None:
    def runner(cases: list[BenchCase]) -> list[CaseScore]:
        # the shipped value misses on `beta`; 3.0 is right everywhere except on `alpha` cpu cases
        z = call_edges.Z_DEGRADED
        out = []
        for c in cases:
            right = (c.system == "alpha") if z == 5.0 else not (c.system == "alpha" and c.truth.fault_type == "cpu")
            out.append(CaseScore(c.case_id, c.system, c.truth.fault_type, "cart", ("cart" if right else "ad",), 0.5, 0))
        return out

    cases = _cases()
    folds, _ = leave_one_out(cases, runner(cases), runner, defaults=(Z,))
    by_name = {f.fold: f for f in folds}
    # leaving beta out, alpha alone prefers the shipped 5.0, which misses every beta case
    assert by_name["dataset beta"].chosen["call_edges.Z_DEGRADED"] == 5.0
    assert by_name["dataset beta"].held_out[0] == 0.0 and by_name["dataset beta"].in_sample[0] == 0.0
    # leaving alpha out, beta prefers 3.0, which misses alpha's cpu cases
    assert by_name["dataset alpha"].chosen["call_edges.Z_DEGRADED"] == 3.0
    assert by_name["dataset alpha"].held_out[0] == 0.5
