"""Entry point: registers every command on the application (errors are mapped in `app.ErrorMappingGroup`)."""

from __future__ import annotations

from incidentlens.cli import commands_ingest, commands_investigate, commands_simulate  # noqa: F401 - register
from incidentlens.cli.app import app


def main() -> None:
    app()
