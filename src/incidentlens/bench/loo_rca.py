"""Leave-one-out figures for the RCA defaults: each held-out dataset or fault type scored with the values the
*other* cases chose, beside the in-sample figure.

Why: a default that scores well on the cases that chose it says little about a system it has not seen.

Protocol:
- `DEFAULTS` lists the root-cause defaults chosen on benchmark data, each with its grid (the shipped value
  first). Each is searched on its own, the others at their shipped values (coordinate-wise; a full product
  grid would multiply the runs).
- Objective on a set of cases: AC@1, then AC@3; ties keep the earlier grid value (the shipped one).
- Folds: leave-one-dataset-out (a system such as Train Ticket or Online Boutique, or the whole dataset when it
  has one system) and leave-one-fault-type-out. For a fold, every default takes the value the other cases
  chose, and the held-out cases are investigated again with those values together.
- Reported per fold: in-sample AC@1 / AC@3 / ECE (shipped defaults) and leave-one-out AC@1 / AC@3 / ECE, plus
  the pooled leave-one-out figure (every case scored in the fold that held it out).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from incidentlens.bench.cases import BenchCase
from incidentlens.bench.scoring import CaseScore, expected_calibration_error, service_rank, summarise


@dataclass(frozen=True, slots=True)
class Default:
    """One module-level default of the analysis and the values the search may give it (shipped first)."""

    module: str
    name: str
    grid: tuple[float, ...]

    @property
    def label(self) -> str:
        return f"{self.module.rsplit('.', 1)[-1]}.{self.name}"


DEFAULTS: tuple[Default, ...] = (
    Default("incidentlens.analyze.call_edges", "Z_DEGRADED", (5.0, 3.0, 8.0)),
    Default("incidentlens.analyze.call_edges", "MIN_CALLER_SHARE", (1.0, 0.5)),
    Default("incidentlens.analyze.metrics", "NEAR_LIMIT_SHARE", (0.8, 0.9, 0.7)),
    Default("incidentlens.analyze.metrics", "FAR_OUTSIDE", (2.0, 1.0, 3.0)),
)

Setting = dict[Default, float]
Runner = Callable[[list[BenchCase]], list[CaseScore]]


@contextlib.contextmanager
def applied(setting: Setting) -> Iterator[None]:
    """The analysis with these defaults for the duration of the block (restored after, even on error)."""
    saved: list[tuple[object, str, object]] = []
    try:
        for default, value in setting.items():
            module = importlib.import_module(default.module)
            saved.append((module, default.name, getattr(module, default.name)))
            setattr(module, default.name, type(getattr(module, default.name))(value))
        yield
    finally:
        for owner, name, old in reversed(saved):
            setattr(owner, name, old)


def _objective(scores: Sequence[CaseScore]) -> tuple[float, float]:
    ranks = [service_rank(s.truth, s.predicted) for s in scores]
    n = max(len(ranks), 1)
    return (
        sum(1 for r in ranks if r == 1) / n,
        sum(1 for r in ranks if r is not None and r <= 3) / n,
    )


def _ece(scores: Sequence[CaseScore]) -> float:
    return expected_calibration_error(
        [s.confidence for s in scores], [service_rank(s.truth, s.predicted) == 1 for s in scores]
    )


@dataclass(frozen=True, slots=True)
class FoldResult:
    fold: str
    cases: int
    in_sample: tuple[float, float, float]  # AC@1, AC@3, ECE with the shipped defaults
    held_out: tuple[float, float, float]  # the same with the values the other cases chose
    chosen: dict[str, float]


def leave_one_out(
    cases: list[BenchCase],
    shipped: list[CaseScore],
    run_cases: Runner,
    *,
    defaults: Sequence[Default] = DEFAULTS,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[FoldResult], dict[str, tuple[float, float, float]]]:
    """Per-fold and pooled leave-one-out figures; `shipped` are the cases' scores with the shipped defaults."""
    by_case = {s.case_id: s for s in shipped}
    # scores[(default, value)][case_id]: every case with one default moved off its shipped value
    scores: dict[tuple[Default, float], dict[str, CaseScore]] = {}
    for default in defaults:
        scores[(default, default.grid[0])] = by_case
        for value in default.grid[1:]:
            if progress is not None:
                progress(f"{default.label} = {value:g}")
            with applied({default: value}):
                scores[(default, value)] = {s.case_id: s for s in run_cases(cases)}
    folds: list[tuple[str, list[BenchCase]]] = []
    systems = sorted({c.system for c in cases})
    folds += [(f"dataset {s}", [c for c in cases if c.system == s]) for s in systems] if len(systems) > 1 else []
    faults = sorted({c.truth.fault_type for c in cases})
    folds += [(f"fault {f}", [c for c in cases if c.truth.fault_type == f]) for f in faults] if len(faults) > 1 else []
    results: list[FoldResult] = []
    pooled: dict[str, dict[str, CaseScore]] = {"dataset": {}, "fault-type": {}}
    for name, held in folds:
        held_ids = {c.case_id for c in held}
        setting: Setting = {}
        for default in defaults:
            best = max(
                default.grid,
                key=lambda v: (
                    _objective([s for cid, s in scores[(default, v)].items() if cid not in held_ids]),
                    -default.grid.index(v),
                ),
            )
            setting[default] = best
        moved = {d: v for d, v in setting.items() if v != d.grid[0]}
        if not moved:
            held_scores = [by_case[c.case_id] for c in held]
        elif len(moved) == 1:
            ((d, v),) = moved.items()
            held_scores = [scores[(d, v)][c.case_id] for c in held]
        else:
            if progress is not None:
                progress(f"{name}: held-out cases with {', '.join(f'{d.label}={v:g}' for d, v in moved.items())}")
            with applied(moved):
                held_scores = run_cases(held)
        base = [by_case[c.case_id] for c in held]
        results.append(
            FoldResult(
                name,
                len(held),
                (*_objective(base), _ece(base)),
                (*_objective(held_scores), _ece(held_scores)),
                {d.label: v for d, v in setting.items()},
            )
        )
        pooled["dataset" if name.startswith("dataset") else "fault-type"].update({s.case_id: s for s in held_scores})
    return results, {
        kind: (*_objective(list(pool.values())), _ece(list(pool.values()))) for kind, pool in pooled.items() if pool
    }


def loo_table(
    results: list[FoldResult], pooled: dict[str, tuple[float, float, float]], shipped: list[CaseScore]
) -> str:
    head = f"{'leave-one-out fold':34s} {'cases':>5s}   in-sample AC@1 AC@3  ECE    left-out AC@1 AC@3  ECE"
    lines = ["", head]
    for r in results:
        a, b = r.in_sample, r.held_out
        lines.append(
            f"{r.fold:34s} {r.cases:5d}   {a[0]:14.2f} {a[1]:4.2f} {a[2]:5.3f}   {b[0]:13.2f} {b[1]:4.2f} {b[2]:5.3f}"
        )
    whole = summarise(shipped, with_inner=False)
    for kind, p in pooled.items():
        lines.append(
            f"{'pooled, leave-one-' + kind + '-out':34s} {len(shipped):5d}   {float(whole['AC@1']):14.2f}"
            f" {float(whole['AC@3']):4.2f} {_ece(shipped):5.3f}   {p[0]:13.2f} {p[1]:4.2f} {p[2]:5.3f}"
        )
    changed = [f"{r.fold}: {k}={v:g}" for r in results for k, v in r.chosen.items() if v != _shipped(k)]
    lines.append(
        "defaults searched (shipped first): "
        + "; ".join(f"{d.label} {'/'.join(f'{v:g}' for v in d.grid)}" for d in DEFAULTS)
    )
    lines.append("folds that chose another value: " + ("; ".join(changed) if changed else "none"))
    return "\n".join(lines)


def _shipped(label: str) -> float:
    return next(d.grid[0] for d in DEFAULTS if d.label == label)
