"""Entry point: registers the commands and maps the exception tree to exit codes, in one place."""

from __future__ import annotations

import sys

from rich.markup import escape

from incidentlens.cli import commands_ingest, commands_investigate, commands_simulate  # noqa: F401 - register
from incidentlens.cli.app import app, err
from incidentlens.errors import IncidentLensError


def main() -> None:
    try:
        app(standalone_mode=True)
    except IncidentLensError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
