"""Entry point: registers every command on the application (errors are mapped in `app.ErrorMappingGroup`)."""

from __future__ import annotations

from incidentlens.cli import (  # noqa: F401 - importing a command module registers its commands
    bench_logparse,
    bench_rca,
    commands_ask,
    commands_audit,
    commands_bench,
    commands_fix,
    commands_incident,
    commands_ingest,
    commands_investigate,
    commands_locate,
    commands_logs,
    commands_mcp,
    commands_memory,
    commands_metrics,
    commands_postmortem,
    commands_serve,
    commands_simulate,
    commands_verify,
)
from incidentlens.cli.app import app


def main() -> None:
    app()
