"""Shared options of the workflow commands: the acting user (`--as`), the settings file, the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from incidentlens.cli.app import settings as cli_settings
from incidentlens.model.enums import Role
from incidentlens.store.database import Database, open_database
from incidentlens.workflow.config import CONFIG_ENV, Settings, load_settings
from incidentlens.workflow.identity import Identity, require_role, resolve_actor

# Roles allowed to move an incident or decide on a hypothesis.
RESPONDERS = (Role.RESPONDER, Role.ADMIN)


def as_option() -> Any:
    return typer.Option(
        None, "--as", metavar="USER", help="Act as this configured user (default: default_user in the settings)."
    )


def config_option() -> Any:
    return typer.Option(
        None,
        "--config",
        envvar=CONFIG_ENV,
        help="Settings file with users and roles (default: <workspace>/config.yaml).",
    )


def load(config: Path | None) -> Settings:
    return load_settings(config, workspace=cli_settings.workspace)


def acting_user(as_user: str | None, config: Path | None, *roles: Role) -> Identity:
    """Resolve the acting user from the settings and check they hold one of `roles`."""
    identity = resolve_actor(load(config), as_user)
    require_role(identity, *roles)
    return identity


@contextmanager
def workflow_db() -> Iterator[Database]:
    """The workflow database named by --database-url or the workspace, closed afterwards."""
    db = open_database(cli_settings.database_url, workspace=cli_settings.workspace)
    try:
        yield db
    finally:
        db.dispose()


def duration(value: timedelta | float | None) -> str:
    """A short human duration (`1h 05m`, `3m 20s`, `45s`), or `-` when not reached."""
    if value is None:
        return "-"
    seconds = round(value.total_seconds() if isinstance(value, timedelta) else value)
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"
