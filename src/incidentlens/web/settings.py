"""Server settings: the workflow settings file plus its `web:` and `telemetry:` sections.

```yaml
users:
  alice: {roles: [responder, approver], token_sha256: <sha256 hex of alice's token>}
web:
  public_base_url: https://incidents.example.com   # links in notifications
  secret_key: ...            # signs session cookies; absent: generated once and kept in the database
  webhook_secrets: {alertmanager: ..., pagerduty: ...}
  slack_webhook_url: https://hooks.slack.com/services/...
  queue_size: 100            # investigations waiting at most (coalesced per incident beyond that)
sources:                     # every source here is queried by background investigations (see docs/sources.md)
  prom: {kind: prometheus, url: http://prometheus:9090}
  shop-files: {kind: files, paths: [/var/log/shop]}
```
The older `telemetry: {paths: [...]}` still works: it becomes a `files` source named `telemetry`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentlens.errors import ConfigError
from incidentlens.sources.config import SourceConfig, parse_sources
from incidentlens.sources.registry import build_source
from incidentlens.workflow.config import Settings, load_settings

__all__ = ["WEBHOOK_SOURCES", "WebSettings", "hash_token", "load_web_settings", "web_settings_from"]

WEBHOOK_SOURCES = ("alertmanager", "pagerduty")
_WEB_KEYS = frozenset(
    {"public_base_url", "secret_key", "webhook_secrets", "slack_webhook_url", "queue_size", "database_url"}
)
_HEX = frozenset("0123456789abcdef")


def hash_token(token: str) -> str:
    """The sha256 hex digest stored in `users.NAME.token_sha256` (the settings never hold the token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WebSettings:
    """Everything the server needs; build with `load_web_settings` or `web_settings_from`."""

    workflow: Settings = field(default_factory=Settings)
    workspace: Path = Path(".incidentlens")
    database_url: str | None = None
    secret_key: str | None = None
    token_hashes: Mapping[str, str] = field(default_factory=dict)  # sha256 hex -> user name
    webhook_secrets: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[SourceConfig, ...] = ()  # what background investigations query, in this order
    slack_webhook_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    queue_size: int = 100

    def token_hash_of(self, user: str) -> str | None:
        """The user's configured token hash (None without one): sessions are bound to it."""
        return next((digest for digest, name in self.token_hashes.items() if name == user), None)

    def __repr__(self) -> str:  # never print secrets
        return (
            f"WebSettings(workspace={self.workspace!s}, database_url={'set' if self.database_url else None}, "
            f"users={sorted(self.workflow.users)}, public_base_url={self.public_base_url!r})"
        )


def load_web_settings(*, config: Path | None, workspace: Path, database_url: str | None) -> WebSettings:
    """Read the settings file (same lookup as the CLI) and its web sections."""
    return web_settings_from(load_settings(config, workspace=workspace), workspace=workspace, database_url=database_url)


def web_settings_from(settings: Settings, *, workspace: Path, database_url: str | None) -> WebSettings:
    """Validate the `web:`, `telemetry:` sections and the users' token hashes of parsed settings."""
    where = str(settings.path) if settings.path is not None else "settings"
    web = settings.section("web")
    unknown = sorted(set(map(str, web)) - _WEB_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: 'web' has unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_WEB_KEYS))})"
        )
    secrets = web.get("webhook_secrets") or {}
    if not isinstance(secrets, Mapping) or not all(
        k in WEBHOOK_SOURCES and isinstance(v, str) and v for k, v in secrets.items()
    ):
        raise ConfigError(f"{where}: 'web.webhook_secrets' maps {' or '.join(WEBHOOK_SOURCES)} to a non-empty secret")
    queue_size = web.get("queue_size", 100)
    if not isinstance(queue_size, int) or isinstance(queue_size, bool) or not 1 <= queue_size <= 100_000:
        raise ConfigError(f"{where}: 'web.queue_size' must be a whole number from 1 to 100000")
    # --database-url / INCIDENTLENS_DATABASE_URL first, then the file (replicas share one PostgreSQL URL).
    database_url = database_url or _optional_str(web, "database_url", where)
    if database_url is not None and not database_url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise ConfigError(
            f"{where}: 'web.database_url' must be a sqlite:/// or postgresql+psycopg:// URL, "
            f"not {database_url.split(':', 1)[0]!r}"
        )
    base = _optional_str(web, "public_base_url", where) or "http://127.0.0.1:8000"
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: 'web.public_base_url' must start with http:// or https://")
    return WebSettings(
        workflow=settings,
        workspace=workspace,
        database_url=database_url,
        secret_key=_optional_str(web, "secret_key", where),
        token_hashes=_token_hashes(settings, where),
        webhook_secrets=dict(secrets),
        sources=_sources(settings, where),
        slack_webhook_url=_optional_str(web, "slack_webhook_url", where),
        public_base_url=base.rstrip("/"),
        queue_size=queue_size,
    )


def _optional_str(section: Mapping[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: 'web.{key}' must be a non-empty string")
    return value


def _token_hashes(settings: Settings, where: str) -> dict[str, str]:
    users = settings.raw.get("users") or {}
    hashes: dict[str, str] = {}
    for name, entry in users.items():
        value = entry.get("token_sha256") if isinstance(entry, Mapping) else None
        if value is None:
            continue
        if not isinstance(value, str) or len(value) != 64 or not set(value.lower()) <= _HEX:
            raise ConfigError(
                f"{where}: 'users.{name}.token_sha256' must be a sha256 hex digest "
                "(make one with: incidentlens users token USER)"
            )
        if value.lower() in hashes:
            raise ConfigError(f"{where}: users {hashes[value.lower()]!r} and {name!r} have the same token")
        hashes[value.lower()] = str(name)
    return hashes


def _sources(settings: Settings, where: str) -> tuple[SourceConfig, ...]:
    """The `sources:` section, plus the older `telemetry.paths` as a `files` source named `telemetry`."""
    base = settings.path.parent if settings.path is not None else None
    configured = parse_sources(settings.raw.get("sources"), where=where, base=base)
    telemetry = settings.section("telemetry")
    unknown = sorted(set(map(str, telemetry)) - {"paths"})
    if unknown:
        raise ConfigError(
            f"{where}: 'telemetry' has unknown key(s) {', '.join(unknown)}: configure sources under 'sources:' "
            "(see docs/sources.md)"
        )
    paths = telemetry.get("paths")
    if paths:
        if "telemetry" in configured:
            raise ConfigError(f"{where}: 'telemetry.paths' and a source named 'telemetry' both exist: keep one")
        entry = {"kind": "files", "paths": paths}
        configured["telemetry"] = parse_sources({"telemetry": entry}, where=where, base=base)["telemetry"]
    for config in configured.values():
        build_source(config)  # an unknown kind or option fails at start-up, not at 3 a.m. with the first alert
    return tuple(configured.values())
