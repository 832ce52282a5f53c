"""`incidentlens bench logparse DATA_DIR`: GA, PA, FGA, FTA of our template miner on a Loghub-style folder."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.table import Table

from incidentlens.bench.logparse import METRICS, LabelSet, run
from incidentlens.cli.app import err, out
from incidentlens.cli.commands_bench import bench_app


@bench_app.command("logparse")
def logparse(
    data_dir: Path = typer.Argument(..., help="Folder with one sub-folder per system (the layout of loghub-2k)."),
    labels: LabelSet = typer.Option(
        LabelSet.CORRECTED, "--labels", help="Ground truth: corrected (Khan et al. 2022), loghub2 or original."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print {systems: {NAME: {GA, PA, FGA, FTA}}, average}."),
) -> None:
    """Parse every system's raw log with default settings and score it against the labels."""
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
