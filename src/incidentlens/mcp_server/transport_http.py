"""Streamable HTTP: loopback by default; a bearer token of a configured user whenever any user has one.

Tokens are the web server's (`users.NAME.token_sha256`, made with `incidentlens users token NAME`), so one
token serves the console, the REST API and the MCP endpoint, and the token's user is who acts.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

import orjson
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from incidentlens.errors import ConfigError
from incidentlens.mcp_server.settings import McpSettings
from incidentlens.web.settings import hash_token

__all__ = ["MCP_PATH", "TokenGate", "http_app", "is_loopback", "serve_http"]

MCP_PATH = "/mcp"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def user_for_token(token_hashes: Mapping[str, str], token: str) -> str | None:
    """The user whose configured hash matches `token`, every hash compared in constant time."""
    digest = hash_token(token)
    found: str | None = None
    for known, name in token_hashes.items():
        if hmac.compare_digest(known, digest):
            found = name
    return found


class TokenGate:
    """ASGI middleware in front of the MCP endpoint: 401 without a configured user's bearer token.

    The user becomes the SDK's authenticated user (so a session stays bound to who opened it) and is what the
    tools read as the caller.
    """

    def __init__(self, app: ASGIApp, token_hashes: Mapping[str, str]) -> None:
        self.app = AuthContextMiddleware(app)
        self.token_hashes = dict(token_hashes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        user = (
            user_for_token(self.token_hashes, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        )
        if user is None:
            await _unauthorized(
                send, "missing or unknown bearer token" if scheme else "an Authorization: Bearer token is required"
            )
            return
        scope["user"] = AuthenticatedUser(AccessToken(token="configured", client_id=user, scopes=[]))
        await self.app(scope, receive, send)


async def _unauthorized(send: Send, reason: str) -> None:
    body = orjson.dumps({"error": "unauthorized", "detail": f"{reason} (incidentlens users token NAME makes one)"})
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="incidentlens"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def check_binding(settings: McpSettings, host: str) -> None:
    """Beyond loopback only with tokens: otherwise anyone on the network could read every incident."""
    if not is_loopback(host) and not settings.tokens_required:
        raise ConfigError(
            f"--host {host} is reachable from other machines, and no user has a token: configure one "
            "(incidentlens users token NAME, then users.NAME.token_sha256 in the settings) or bind to 127.0.0.1"
        )


def http_app(server: MCPServer[Any], settings: McpSettings, *, host: str) -> Any:
    """The Starlette app of the streamable HTTP endpoint at /mcp, behind the token gate when tokens exist."""
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    return TokenGate(app, settings.web.token_hashes) if settings.tokens_required else app


def serve_http(server: MCPServer[Any], settings: McpSettings, *, host: str, port: int) -> None:
    import uvicorn

    check_binding(settings, host)
    uvicorn.run(http_app(server, settings, host=host), host=host, port=port, log_level="warning")
