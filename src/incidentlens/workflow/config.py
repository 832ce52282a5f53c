"""The settings file (YAML): users and their roles here; other top-level sections belong to their features.

Path: `--config PATH`, else the INCIDENTLENS_CONFIG environment variable, else `<workspace>/config.yaml`.
A missing default file means empty settings; a missing explicit file is an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from incidentlens.errors import ConfigError
from incidentlens.model.enums import Role
from incidentlens.workflow.identity import Identity

__all__ = ["CONFIG_ENV", "CONFIG_FILE", "Settings", "load_settings", "parse_settings"]

CONFIG_FILE = "config.yaml"
CONFIG_ENV = "INCIDENTLENS_CONFIG"
_USER_KEYS = frozenset({"roles", "token_sha256"})  # token_sha256: the web server's bearer/login token hash


@dataclass(frozen=True)
class Settings:
    """Parsed settings; `raw` keeps every top-level section for the features that own them."""

    users: Mapping[str, Identity] = field(default_factory=dict)
    default_user: str | None = None
    path: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level section as a mapping (empty when absent); anything else is a ConfigError."""
        value = self.raw.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self._where()}: '{name}' must be a mapping, not {type(value).__name__}")
        return value

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "settings"


def load_settings(path: Path | None, *, workspace: Path) -> Settings:
    """Read the settings file: `path`, else $INCIDENTLENS_CONFIG, else `<workspace>/config.yaml` if present."""
    explicit = path if path is not None else (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    chosen = explicit if explicit is not None else workspace / CONFIG_FILE
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit is None:
            return Settings()
        raise ConfigError(f"settings file {chosen} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read settings file {chosen}: {reason}") from None
    return parse_settings(text, path=chosen)


def parse_settings(text: str, *, path: Path | None = None) -> Settings:
    """Validate settings YAML; errors name the file and the key at fault."""
    where = str(path) if path is not None else "settings"
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of sections, not {type(raw).__name__}")
    users = _users(raw.get("users"), where)
    default_user = raw.get("default_user")
    if default_user is not None:
        if not isinstance(default_user, str) or not default_user:
            raise ConfigError(f"{where}: 'default_user' must be a user name")
        if default_user not in users:
            raise ConfigError(f"{where}: 'default_user' {default_user!r} is not one of the configured users")
    return Settings(users=users, default_user=default_user, path=path, raw=raw)


def _users(value: Any, where: str) -> dict[str, Identity]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'users' must be a mapping of user name to {{roles: [...]}}")
    users: dict[str, Identity] = {}
    for name, entry in value.items():
        key = f"users.{name}"
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: user names must be non-empty strings, got {name!r}")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: '{key}' must be a mapping like {{roles: [responder]}}")
        unknown = sorted(set(map(str, entry)) - _USER_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}: '{key}' has unknown key(s) {', '.join(unknown)} (allowed: roles, token_sha256)"
            )
        roles = entry.get("roles", [])
        if not isinstance(roles, list):
            raise ConfigError(f"{where}: '{key}.roles' must be a list of roles")
        users[name] = Identity(name=name, roles=frozenset(_role(r, f"{key}.roles", where) for r in roles))
    return users


def _role(value: Any, key: str, where: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise ConfigError(f"{where}: '{key}' has unknown role {value!r} (allowed: {allowed})") from None
