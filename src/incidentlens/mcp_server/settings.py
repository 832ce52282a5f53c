"""The `mcp:` section of the settings file, plus what the MCP server shares with the web server.

```yaml
users:
  agent: {roles: [responder], token_sha256: ...}   # token: required over HTTP once any user has one
mcp:
  allow_changes: false   # true registers acknowledge / confirm / refute / propose-fixes (never approve or execute)
  identity: agent        # who the agent acts as over stdio (default: default_user)
```
Sources (`sources:`) and tokens (`users.*.token_sha256`) are the web server's: read by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from incidentlens.errors import ConfigError
from incidentlens.web.settings import WebSettings, load_web_settings
from incidentlens.workflow.config import Settings
from incidentlens.workflow.identity import Identity, resolve_actor

__all__ = ["McpSettings", "load_mcp_settings", "mcp_settings_from"]

_MCP_KEYS = frozenset({"allow_changes", "identity"})


@dataclass(frozen=True)
class McpSettings:
    """What the server needs: the shared settings, whether changes are allowed, and who acts by default."""

    web: WebSettings = field(default_factory=WebSettings)
    allow_changes: bool = False
    identity: Identity | None = None  # the stdio (or token-less HTTP) actor; None when changes are off

    @property
    def workflow(self) -> Settings:
        return self.web.workflow

    @property
    def tokens_required(self) -> bool:
        """Over HTTP, a bearer token is required as soon as any user has a token configured."""
        return bool(self.web.token_hashes)


def load_mcp_settings(*, config: Path | None, workspace: Path, database_url: str | None) -> McpSettings:
    """Read the settings file (same lookup as the CLI and the web server) and its `mcp:` section."""
    return mcp_settings_from(load_web_settings(config=config, workspace=workspace, database_url=database_url))


def mcp_settings_from(web: WebSettings) -> McpSettings:
    """Validate the `mcp:` section; with changes allowed, the acting identity must exist now, not at 3 a.m."""
    settings = web.workflow
    where = str(settings.path) if settings.path is not None else "settings"
    section = settings.section("mcp")
    unknown = sorted(set(map(str, section)) - _MCP_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_MCP_KEYS))
        raise ConfigError(f"{where}: 'mcp' has unknown key(s) {', '.join(unknown)} (allowed: {allowed})")
    allow = section.get("allow_changes", False)
    if not isinstance(allow, bool):
        raise ConfigError(f"{where}: 'mcp.allow_changes' must be true or false")
    name = section.get("identity")
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigError(f"{where}: 'mcp.identity' must be the name of a configured user")
    if name is not None and name not in settings.users:
        known = ", ".join(sorted(settings.users)) or "none"
        raise ConfigError(f"{where}: 'mcp.identity' {name!r} is not a configured user (configured: {known})")
    identity = None
    if allow:
        try:
            identity = resolve_actor(settings, name)
        except ConfigError as exc:
            raise ConfigError(f"'mcp.allow_changes' is on, so the agent needs an identity: {exc}") from None
    return McpSettings(web=web, allow_changes=allow, identity=identity)
