"""`incidentlens bench logparse DATA_DIR`: GA, PA, FGA, FTA of our template miner on a Loghub-style folder."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.table import Table

from incidentlens.bench.logparse import METRICS, LabelSet, run
from incidentlens.bench.loso import run_loso
from incidentlens.cli.app import err, out
from incidentlens.cli.commands_bench import bench_app


@bench_app.command("logparse")
def logparse(
    data_dir: Path = typer.Argument(..., help="Folder with one sub-folder per system (the layout of loghub-2k)."),
    labels: LabelSet = typer.Option(
        LabelSet.CORRECTED, "--labels", help="Ground truth: corrected (Khan et al. 2022), loghub2 or original."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print {systems: {NAME: {GA, PA, FGA, FTA}}, average}."),
    loso: bool = typer.Option(
        False,
        "--loso",
        help="Also choose the miner settings leave-one-system-out over a small grid and print both tables.",
    ),
) -> None:
    """Parse every system's raw log with default settings and score it against the labels."""
    if loso:
        _loso(data_dir, labels, as_json=as_json)
        return
    result = run(data_dir, labels)
    for name, reason in result.skipped:
        err.print(f"[yellow]warning:[/] skipped {name}: {reason}", highlight=False)
    if not result.systems:
        err.print(f"[bold red]error:[/] no system folder in {data_dir} has {labels.value} labels", highlight=False)
        raise typer.Exit(2)
    if as_json:
        typer.echo(orjson.dumps(result.as_json()).decode())
        return
    table = Table(title=f"Log parsing on {data_dir} ({labels.value} labels)")
    table.add_column("system")
    for metric in METRICS:
        table.add_column(metric, justify="right")
    table.add_column("templates (ours/true)", justify="right")
    for system in result.systems:
        values = system.scores.as_dict()
        table.add_row(
            system.name,
            *(f"{values[m]:.3f}" for m in METRICS),
            f"{system.predicted_templates}/{system.true_templates}",
        )
    average = result.average().as_dict()
    table.add_row("average", *(f"{average[m]:.3f}" for m in METRICS), "", style="bold")
    out.print(table)
    out.print(f"{len(result.systems)} systems in {result.seconds:.2f} s")


def _loso(data_dir: Path, labels: LabelSet, *, as_json: bool) -> None:
    result = run_loso(data_dir, labels)
    if as_json:
        typer.echo(orjson.dumps(result.as_json()).decode())
        return
    table = Table(title=f"Log parsing, in-sample and leave-one-system-out ({labels.value} labels)")
    table.add_column("system")
    for heading in ("GA", "PA", "LOSO GA", "LOSO PA"):
        table.add_column(heading, justify="right")
    table.add_column("chosen without it")
    for fold in result.folds:
        table.add_row(
            fold.system,
            *(f"{v:.3f}" for v in (fold.in_sample.GA, fold.in_sample.PA, fold.loso.GA, fold.loso.PA)),
            "shipped" if fold.chosen == result.shipped else fold.chosen.short(),
        )
    inside, outside = result.average("in_sample"), result.average("loso")
    table.add_row("average", *(f"{v:.3f}" for v in (inside.GA, inside.PA, outside.GA, outside.PA)), "", style="bold")
    out.print(table)
    out.print(f"shipped settings (chosen on all {len(result.folds)} systems): {result.shipped.label()}")
    out.print(
        f"stability: {result.stability:.0%} of folds chose the shipped settings; "
        f"grid of {result.grid_size} points searched in {result.seconds:.1f} s"
    )
