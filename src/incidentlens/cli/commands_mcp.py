"""`incidentlens mcp`: IncidentLens as an MCP server for agents (stdio or streamable HTTP; the `mcp` extra)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from incidentlens.cli.actors import config_option
from incidentlens.cli.app import app, err
from incidentlens.cli.app import settings as cli_settings
from incidentlens.errors import ConfigError
from incidentlens.mcp_server import MCP_HINT


class Transport(StrEnum):
    STDIO = "stdio"
    HTTP = "http"


def _sdk() -> tuple[Any, Any]:
    """The server modules, or a ConfigError with the install hint when the extra is missing."""
    try:
        from incidentlens.mcp_server import server, transport_http
    except ImportError as exc:
        raise ConfigError(f"the MCP server needs the mcp extra ({exc.name} is missing): {MCP_HINT}") from None
    return server, transport_http


@app.command("mcp")
def mcp_cmd(
    transport: Transport = typer.Option(Transport.STDIO, "--transport", "-t", help="stdio (default) or http."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP: address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="HTTP: port to listen on."),
    config: Path | None = config_option(),
) -> None:
    """Serve IncidentLens's tools to MCP clients (Claude, Cursor, ...): read-only unless `mcp.allow_changes`.

    Over stdio, the client starts this command; over HTTP the endpoint is http://HOST:PORT/mcp and needs a
    bearer token whenever any user has one configured. An agent can never approve or execute a fix.
    """
    server_mod, http_mod = _sdk()
    from incidentlens.mcp_server.context import ToolContext
    from incidentlens.mcp_server.settings import load_mcp_settings
    from incidentlens.store.database import open_database

    settings = load_mcp_settings(
        config=config, workspace=cli_settings.workspace, database_url=cli_settings.database_url
    )
    if transport is Transport.HTTP:
        http_mod.check_binding(settings, host)
    db = open_database(settings.web.database_url, workspace=cli_settings.workspace)
    try:
        server = server_mod.build_server(ToolContext(settings=settings, db=db))
        changes = f"changes allowed as {settings.identity.name}" if settings.identity else "read-only"
        if transport is Transport.STDIO:
            err.print(f"IncidentLens MCP server on stdio ({changes})")
            server.run("stdio")
        else:
            auth = "bearer token required" if settings.tokens_required else "no token (loopback only)"
            err.print(f"IncidentLens MCP server on http://{host}:{port}{http_mod.MCP_PATH} ({changes}; {auth})")
            http_mod.serve_http(server, settings, host=host, port=port)
    finally:
        db.dispose()
