"""`incidentlens serve`: the web console, REST API and webhooks (the `web` extra); `incidentlens users token`."""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from incidentlens.cli.actors import config_option
from incidentlens.cli.app import app, err, out
from incidentlens.cli.app import settings as cli_settings
from incidentlens.errors import ConfigError
from incidentlens.model.enums import Role
from incidentlens.sources.config import SourceConfig
from incidentlens.workflow.identity import Identity

WEB_HINT = "pip install 'incidentlens[web]'"

users_app = typer.Typer(name="users", help="Users of the web server: make login/API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _web() -> Any:
    """The web package, or a ConfigError with the install hint when the extra is missing."""
    try:
        import uvicorn

        from incidentlens.web import app as web_app
        from incidentlens.web import settings as web_settings
    except ImportError as exc:
        raise ConfigError(f"the web server needs the web extra ({exc.name} is missing): {WEB_HINT}") from None
    return uvicorn, web_app, web_settings


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@users_app.command("token")
def token_cmd(user: str = typer.Argument(..., help="The user name in the settings file.")) -> None:
    """Make a random token for USER: give the token to them, put its sha256 in the settings file."""
    token = secrets.token_urlsafe(32)
    out.print(f"token for {escape(user)} (shown once; give it to them): {token}")
    out.print("add to the settings file under users:")
    out.print(f"  {escape(user)}: {{roles: [...], token_sha256: {_token_hash(token)}}}")


DEMO_MINUTES = 40  # the simulation's normal period and incident (30 + 10 minutes)


def _demo(workspace: Path) -> Path:
    """Simulate the demo bundle into the workspace and record its investigation, as `investigate` would."""
    from incidentlens.cli.commands_investigate import record
    from incidentlens.investigation import InvestigationRequest, run
    from incidentlens.simulate import DEFAULT_FAULT, simulate

    bundle = workspace / "demo-bundle"
    if bundle.exists():  # our own generated folder: a fresh one keeps the demo's times near now
        shutil.rmtree(bundle)
    err.print(f"simulating the demo incident into {bundle}")
    # The incident ends now, so MTTA, MTTR and the error budget measure minutes, not the weeks between the
    # simulation's fixed date and today.
    minute = 60 * 1_000_000_000
    start = (time.time_ns() // minute - DEMO_MINUTES) * minute
    simulate(DEFAULT_FAULT, seed=7, out=bundle, start_ns=start)
    result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
    incident = record(result, workspace)
    err.print(f"demo investigation recorded as {incident}")
    return bundle


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Workflow database URL (default: the global option, else the workspace)."
    ),
    workspace: Path | None = typer.Option(None, "--workspace", help="Workspace folder (default: the global option)."),
    config: Path | None = config_option(),
    demo: bool = typer.Option(False, "--demo", help="Simulate and record the demo incident first."),
) -> None:
    """Serve the web console, the REST API (/api/v1) and the alert webhooks."""
    uvicorn, web_app, web_settings = _web()
    ws = workspace if workspace is not None else cli_settings.workspace
    url = database_url if database_url is not None else cli_settings.database_url
    cli_settings.workspace, cli_settings.database_url = ws, url
    settings = web_settings.load_web_settings(config=config, workspace=ws, database_url=url)
    if demo:
        bundle = _demo(ws)
        demo_files = SourceConfig(name="demo", kind="files", paths=(bundle,))
        settings = dataclasses.replace(settings, sources=settings.sources or (demo_files,))
        if not settings.token_hashes:
            settings = _demo_user(settings)
    application = web_app.create_app(settings)
    out.print(f"IncidentLens on http://{host}:{port}/ (API: /api/v1, OpenAPI: /api/v1/openapi.json)")
    uvicorn.run(application, host=host, port=port, log_level="info")


def _demo_user(settings: Any) -> Any:
    """A one-off admin for the demo when the settings give no token: printed once, valid while the server runs."""
    token = secrets.token_urlsafe(24)
    identity = Identity(name="demo", roles=frozenset(Role))
    workflow = dataclasses.replace(settings.workflow, users={**settings.workflow.users, "demo": identity})
    out.print(f"demo login: user 'demo', token {token}")
    return dataclasses.replace(settings, workflow=workflow, token_hashes={_token_hash(token): "demo"})
