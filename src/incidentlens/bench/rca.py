"""The RCA harness: each case through the same `investigate` as the CLI, then scored per system and fault type.

The inner-cause locus is read from each hypothesis' `component` (text: logger#lines or templates) and its
`fault` (the resource kind); see `scoring.inner_match` for the matching rules.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from incidentlens.bench import nezha, rcd
from incidentlens.bench.cases import BenchCase, Loaded
from incidentlens.bench.scoring import (
    CaseScore,
    Prediction,
    expected_calibration_error,
    inner_hits,
    service_rank,
    summarise,
)
from incidentlens.errors import IncidentLensError
from incidentlens.ingest.sink import Problem, RowSink
from incidentlens.investigation import InvestigationRequest, run_on_store
from incidentlens.model import Hypothesis
from incidentlens.report.brief import Brief
from incidentlens.telemetry.store import TelemetryStore

TOP_K = 5


class Dataset(StrEnum):
    NEZHA = "nezha"
    RCD = "rcd"


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    score: CaseScore
    abstained: bool
    problems: int
    notes: tuple[str, ...]
    error: str = ""


@dataclass
class RcaRun:
    dataset: Dataset
    outcomes: list[CaseOutcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fault_free: list[CaseOutcome] = field(default_factory=list)  # windows without a fault: abstaining is right


Progress = Callable[[int, int, CaseOutcome], None]
StoreHook = Callable[[BenchCase, TelemetryStore, Loaded], None]


def discover(
    dataset: Dataset, data_dir: Path, *, system: str | None = None, sink: RowSink | None = None
) -> list[BenchCase]:
    """The cases of one dataset folder (any folder of the same layout)."""
    if dataset is Dataset.NEZHA:
        return nezha.discover(data_dir, system=system, sink=sink)
    return rcd.discover(data_dir, system=system)


def fault_free_cases(dataset: Dataset, data_dir: Path, *, system: str | None = None) -> list[BenchCase]:
    """Windows of the dataset known to hold no fault (Nezha: the normal reference minutes)."""
    return nezha.fault_free_cases(data_dir, system=system) if dataset is Dataset.NEZHA else []


def predictions_of(hypotheses: tuple[Hypothesis, ...]) -> list[Prediction]:
    """What the scorer reads of each hypothesis: service, fault kind and locus text."""
    return [Prediction(h.service, h.fault.value, h.component) for h in hypotheses]


def score_case(case: BenchCase, ranked: list[Prediction], confidence: float, seconds: float) -> CaseScore:
    hits = inner_hits(case.truth.service, case.truth.inner_label, ranked) if case.truth.inner_label else ()
    services: list[str] = []
    for p in ranked:
        if p.service not in services:
            services.append(p.service)
    return CaseScore(
        case_id=case.case_id,
        system=case.system,
        fault_type=case.truth.fault_type,
        truth=case.truth.service,
        predicted=tuple(services[:TOP_K]),
        confidence=confidence,
        seconds=seconds,
        inner_hits=hits,
    )


def run_case(case: BenchCase, *, hook: StoreHook | None = None) -> CaseOutcome:
    """Load one case into a fresh in-memory store and investigate it; errors become an empty prediction."""
    started = time.perf_counter()
    sink = RowSink()
    try:
        with TelemetryStore() as store:
            loaded = case.load(store, sink)
            request = InvestigationRequest(
                sources=(), title=case.case_id, windows=loaded.windows, metric_baseline=loaded.metric_baseline
            )
            result = run_on_store(store, request)
            seconds = time.perf_counter() - started
            if hook is not None:
                hook(case, store, loaded)
    except IncidentLensError as exc:
        empty = score_case(case, [], 0.0, time.perf_counter() - started)
        return CaseOutcome(empty, True, sink.problem_count, (), error=str(exc))
    ranked = predictions_of(result.hypotheses)
    confidence = result.hypotheses[0].confidence if result.hypotheses else 0.0
    score = score_case(case, ranked, confidence, seconds)
    return CaseOutcome(score, result.brief.abstained, sink.problem_count, loaded.notes)


def case_brief(case: BenchCase) -> Brief:
    """One case's brief, investigated exactly as `run_case` scores it, so a reader sees what a score is made of."""
    sink = RowSink()
    with TelemetryStore() as store:
        loaded = case.load(store, sink)
        request = InvestigationRequest(
            sources=(), title=f"Benchmark case {case.case_id}", windows=loaded.windows,
            metric_baseline=loaded.metric_baseline,
        )  # fmt: skip
        return run_on_store(store, request).brief


def run(
    dataset: Dataset,
    cases: list[BenchCase],
    *,
    progress: Progress | None = None,
    hook: StoreHook | None = None,
    fault_free: list[BenchCase] | None = None,
) -> RcaRun:
    out = RcaRun(dataset)
    everything = [*cases, *(fault_free or [])]
    for i, case in enumerate(everything, start=1):
        outcome = run_case(case, hook=hook)
        (out.outcomes if i <= len(cases) else out.fault_free).append(outcome)
        if progress is not None:
            progress(i, len(everything), outcome)
    return out


def abstention(run: RcaRun) -> dict[str, float | int]:
    """How often the fault-free windows were (rightly) answered with "not enough evidence"."""
    n = len(run.fault_free)
    abstained = sum(1 for o in run.fault_free if o.abstained)
    return {"windows": n, "abstained": abstained, "rate": round(abstained / n, 4) if n else 0.0}


def _correct(score: CaseScore) -> bool:
    return service_rank(score.truth, score.predicted) == 1


def ece(run: RcaRun) -> float:
    scores = [o.score for o in run.outcomes]
    return expected_calibration_error([s.confidence for s in scores], [_correct(s) for s in scores])


def median_seconds(run: RcaRun) -> float:
    return statistics.median(o.score.seconds for o in run.outcomes) if run.outcomes else 0.0


def by_group(run: RcaRun, key: Callable[[CaseScore], str]) -> dict[str, dict[str, float | int]]:
    groups: dict[str, list[CaseScore]] = {}
    for o in run.outcomes:
        groups.setdefault(key(o.score), []).append(o.score)
    with_inner = run.dataset is Dataset.NEZHA
    return {name: summarise(scores, with_inner=with_inner) for name, scores in sorted(groups.items())}


def report_json(run: RcaRun) -> dict[str, Any]:
    """Exactly the shape of issue 4: systems, ece, median_case_seconds, cases."""
    return {
        "systems": by_group(run, lambda s: s.system),
        "ece": round(ece(run), 4),
        "median_case_seconds": round(median_seconds(run), 3),
        "fault_free": abstention(run),
        "cases": [
            {
                "case_id": o.score.case_id,
                "truth": o.score.truth,
                "predicted": list(o.score.predicted),
                "confidence": round(o.score.confidence, 4),
            }
            for o in run.outcomes
        ],
    }


def _row(name: str, s: dict[str, float | int], with_inner: bool) -> str:
    cols = ["AC@1", "AC@3", "Avg@5"] + (["AIS@1", "AIS@3"] if with_inner else [])
    return f"{name:34s} " + " ".join(f"{float(s[c]):6.2f}" for c in cols) + f" {int(s['cases']):6d}"


def report_table(run: RcaRun) -> str:
    """Plain-text tables: per system, per system and fault type, then calibration and runtime."""
    with_inner = run.dataset is Dataset.NEZHA
    head = f"{'':34s} " + " ".join(
        f"{c:>6s}" for c in ["AC@1", "AC@3", "Avg@5"] + (["AIS@1", "AIS@3"] if with_inner else [])
    )
    lines = [head + f" {'cases':>6s}"]
    lines += [_row(name, s, with_inner) for name, s in by_group(run, lambda s: s.system).items()]
    lines.append("")
    lines += [_row(n, s, with_inner) for n, s in by_group(run, lambda s: f"{s.system} / {s.fault_type}").items()]
    abstained = sum(1 for o in run.outcomes if o.abstained)
    errors = [o for o in run.outcomes if o.error]
    problems = sum(o.problems for o in run.outcomes)
    lines.append("")
    lines.append(
        f"ECE (top-1 confidence): {ece(run):.3f}   abstained: {abstained}/{len(run.outcomes)}"
        f"   median seconds per case: {median_seconds(run):.2f}   records skipped: {problems}"
    )
    if run.fault_free:
        free = abstention(run)
        lines.append(
            f"fault-free windows: abstained {free['abstained']}/{free['windows']}"
            + "".join(
                f"\n  {o.score.case_id}: "
                + ("abstained" if o.abstained else f"named {o.score.predicted[0] if o.score.predicted else '-'}")
                + f" ({o.score.confidence:.2f})"
                for o in run.fault_free
            )
        )
    lines += [f"error in {o.score.case_id}: {o.error}" for o in errors]
    lines += [f"note on {o.score.case_id}: {n}" for o in run.outcomes for n in o.notes]
    return "\n".join(lines)
