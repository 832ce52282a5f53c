"""The Typer application, shared options, and the one place errors become exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from incidentlens import __version__
from incidentlens.errors import IncidentLensError


class ErrorMappingGroup(TyperGroup):
    """The one place the exception tree becomes messages and exit codes: no traceback for user mistakes."""

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except IncidentLensError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    name="incidentlens",
    help="Evidence-backed incident investigation: logs, traces, metrics, changes, code and owners.\n\n"
    "Every diagnosis is a hypothesis with evidence; every fix is a suggestion that needs human approval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=ErrorMappingGroup,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEFAULT_WORKSPACE = Path(".incidentlens")


@dataclass
class Settings:
    workspace: Path = DEFAULT_WORKSPACE
    database_url: str | None = None


settings = Settings()


def _version(value: bool) -> None:
    if value:
        out.print(f"incidentlens {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    workspace: Path = typer.Option(
        DEFAULT_WORKSPACE,
        "--workspace",
        "-w",
        envvar="INCIDENTLENS_WORKSPACE",
        help="Folder for the telemetry store and the workflow database.",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="INCIDENTLENS_DATABASE_URL",
        help="Workflow database URL (default: SQLite in the workspace).",
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    settings.workspace = workspace
    settings.database_url = database_url
