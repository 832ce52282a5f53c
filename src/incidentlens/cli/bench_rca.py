"""`incidentlens bench rca`: root-cause accuracy, calibration and runtime on real multi-source incidents."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import typer

from incidentlens.bench.cases import BenchCase
from incidentlens.bench.loo_rca import leave_one_out, loo_table
from incidentlens.bench.rca import (
    CaseOutcome,
    Dataset,
    case_brief,
    discover,
    fault_free_cases,
    report_json,
    report_table,
    run,
    run_case,
)
from incidentlens.cli.app import err, out
from incidentlens.cli.commands_bench import bench_app
from incidentlens.cli.commands_investigate import emit
from incidentlens.errors import InputError
from incidentlens.ingest.sink import RowSink
from incidentlens.report.render import OutputFormat


def _progress(i: int, total: int, outcome: CaseOutcome) -> None:
    s = outcome.score
    top = s.predicted[0] if s.predicted else "-"
    mark = ("abstained" if outcome.abstained else "false alarm") if not s.truth else "ok" if top == s.truth else "miss"
    tail = f" error: {outcome.error}" if outcome.error else ""
    err.print(
        f"[{i}/{total}] {s.case_id}: {top} ({s.confidence:.2f}) vs {s.truth} {mark} {s.seconds:.1f} s{tail}",
        highlight=False,
        markup=False,
    )


def _print_case(cases: list[BenchCase], case_id: str, fmt: OutputFormat) -> None:
    chosen = next((c for c in cases if c.case_id == case_id), None)
    if chosen is None:
        near = ", ".join(c.case_id for c in cases if case_id in c.case_id)[:400] or ", ".join(
            c.case_id for c in cases[:5]
        )
        raise InputError(f"no case {case_id!r} in this dataset (cases like: {near})")
    brief = case_brief(chosen)
    truth = chosen.truth
    inner = f", inner cause {truth.inner_label}" if truth.inner_label else ""
    err.print(
        f"case {chosen.case_id}: true root cause {truth.service} ({truth.fault_type}{inner})",
        highlight=False,
        markup=False,
    )
    extra = {"truth": {"service": truth.service, "fault_type": truth.fault_type, "inner": truth.inner_label}}
    emit(brief, fmt, None, extra)


@bench_app.command("rca")
def bench_rca(
    data_dir: Path = typer.Argument(..., help="Dataset folder (the layout of shared/data/nezha or rcd-sockshop)."),
    dataset: Dataset = typer.Option(..., "--dataset", help="Which layout DATA_DIR has."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON (issue 4's shape)."),
    system: str | None = typer.Option(None, "--system", help="Only cases of this system (e.g. a Nezha system)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N cases."),
    quiet: bool = typer.Option(False, "--quiet", help="No per-case progress on stderr."),
    fault_free: bool = typer.Option(
        True, "--fault-free/--no-fault-free", help="Also investigate fault-free windows (Nezha normal minutes)."
    ),
    case_id: str | None = typer.Option(None, "--case", help="Print this case's brief instead of scoring."),
    fmt: OutputFormat = typer.Option(OutputFormat.TEXT, "--format", help="Format of the --case brief."),
    loo: bool = typer.Option(
        False, "--loo", help="Also print leave-one-dataset-out and leave-one-fault-type-out figures of the defaults."
    ),
) -> None:
    """Run every case through the same pipeline as `investigate` and score the ranked services.

    With --case ID, print that one case's brief (and its ground truth on stderr) instead.
    """
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: not a directory")
    sink = RowSink()
    cases = discover(dataset, data_dir, system=system, sink=sink)
    if case_id is not None:
        _print_case(cases, case_id, fmt)
        return
    for problem in sink.problems:
        err.print(f"skipped case: {problem}", highlight=False, markup=False)
    if limit is not None:
        cases = cases[:limit]
    if not cases:
        raise InputError(f"{data_dir}: no {dataset.value} cases" + (f" of system {system}" if system else ""))
    free = fault_free_cases(dataset, data_dir, system=system) if fault_free else []
    result = run(dataset, cases, progress=None if quiet else _progress, fault_free=free)
    if as_json:
        sys.stdout.write(orjson.dumps(report_json(result), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(report_table(result), highlight=False, markup=False)
    if loo:
        shipped = [o.score for o in result.outcomes]
        folds, pooled = leave_one_out(
            cases,
            shipped,
            lambda chosen: [run_case(c).score for c in chosen],
            progress=None if quiet else lambda text: err.print(f"leave-one-out: {text}", highlight=False, markup=False),
        )
        out.print(loo_table(folds, pooled, shipped), highlight=False, markup=False)
