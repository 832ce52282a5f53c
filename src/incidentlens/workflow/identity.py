"""Who is acting and what they may do: identities from the settings file, role checks before every change.

Identity on the command line is asserted (`--as` or `default_user`), not authenticated: it records who
acted and stops honest mistakes. A shared server must authenticate users before calling `resolve_actor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from incidentlens.errors import ConfigError, PermissionDeniedError
from incidentlens.model.enums import Role

if TYPE_CHECKING:
    from incidentlens.workflow.config import Settings

__all__ = ["CONFIGURE_HINT", "Identity", "require_role", "resolve_actor"]

CONFIGURE_HINT = (
    "configure users in the settings file (default <workspace>/config.yaml, or --config / INCIDENTLENS_CONFIG), "
    "e.g.\n  users: {alice: {roles: [responder, approver]}}\n  default_user: alice"
)


@dataclass(frozen=True, slots=True)
class Identity:
    """A configured user and the roles configuration gives them (no role implies another)."""

    name: str
    roles: frozenset[Role]

    def has_any(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)


def resolve_actor(settings: Settings, as_user: str | None) -> Identity:
    """The acting user: `as_user` (from --as) if given, else the settings' default_user; must be configured."""
    name = as_user if as_user else settings.default_user
    where = f" ({settings.path})" if settings.path is not None else ""
    if not settings.users:
        raise ConfigError(f"no users are configured{where}: {CONFIGURE_HINT}")
    if not name:
        raise ConfigError(f"no acting user: pass --as USER or set default_user{where}; {CONFIGURE_HINT}")
    identity = settings.users.get(name)
    if identity is None:
        known = ", ".join(sorted(settings.users))
        raise ConfigError(f"unknown user {name!r}{where}: configured users are {known}")
    return identity


def require_role(identity: Identity, *roles: Role) -> None:
    """Pass if the identity holds any of `roles`; otherwise PermissionDeniedError naming what is missing."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    if identity.has_any(*roles):
        return
    needed = " or ".join(role.value for role in roles)
    held = ", ".join(sorted(role.value for role in identity.roles)) or "no roles"
    raise PermissionDeniedError(f"user {identity.name!r} needs the role {needed} (has {held})")
