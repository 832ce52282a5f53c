"""`incidentlens bench ...`: evaluation harnesses on real datasets (each command in its own module)."""

from __future__ import annotations

import typer

from incidentlens.cli.app import app

bench_app = typer.Typer(
    help="Measure IncidentLens on real benchmark data (log parsing, root-cause analysis).",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")
