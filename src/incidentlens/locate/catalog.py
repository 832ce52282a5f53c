"""The service catalog `incidentlens.yaml` at a repository root: which folder, team and people own a service.

    services:
      payment: {path: services/payment, team: payments, owner: "@shop/payments", oncall: "@dana",
                tier: production}

Pure code over the file's text; every problem is a ConfigError naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from incidentlens.errors import ConfigError

CATALOG_FILE = "incidentlens.yaml"
_FIELDS = ("path", "team", "owner", "oncall", "tier")


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    name: str
    path: str
    team: str = ""
    owner: str = ""
    oncall: str = ""
    tier: str = ""


@dataclass(frozen=True, slots=True)
class Catalog:
    source: str
    services: tuple[ServiceEntry, ...] = ()

    def get(self, name: str) -> ServiceEntry | None:
        for entry in self.services:
            if entry.name == name:
                return entry
        return None

    def service_for_path(self, path: str) -> ServiceEntry | None:
        """The service whose folder is the longest prefix of `path` (nested services win over parents)."""
        best: ServiceEntry | None = None
        for entry in self.services:
            if (path == entry.path or path.startswith(entry.path + "/")) and (
                best is None or len(entry.path) > len(best.path)
            ):
                best = entry
        return best


def parse_catalog(text: str, *, source: str = CATALOG_FILE) -> Catalog:
    """Validate and load the catalog; an empty file is an empty catalog."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from exc
    if data is None:
        return Catalog(source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping with a `services` key")
    unknown = sorted(str(k) for k in data if k != "services")
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key `{unknown[0]}` (expected `services`)")
    services = data.get("services") or {}
    if not isinstance(services, dict):
        raise ConfigError(f"{source}: `services` must be a mapping of service name to settings")
    entries = tuple(_entry(source, name, body) for name, body in services.items())
    return Catalog(source=source, services=entries)


def _entry(source: str, name: Any, body: Any) -> ServiceEntry:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{source}: services: service names must be non-empty strings, got {name!r}")
    key = f"services.{name}"
    if not isinstance(body, dict):
        raise ConfigError(f"{source}: `{key}` must be a mapping with at least `path`")
    for field in body:
        if field not in _FIELDS:
            raise ConfigError(f"{source}: unknown key `{key}.{field}` (expected one of {', '.join(_FIELDS)})")
    values: dict[str, str] = {}
    for field in _FIELDS:
        value = body.get(field, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ConfigError(f"{source}: `{key}.{field}` must be a string, got {type(value).__name__}")
        values[field] = value.strip()
    path = values["path"].strip("/")
    if not path:
        raise ConfigError(f"{source}: `{key}.path` is required (the service's folder in the repository)")
    if path.startswith("..") or "/../" in f"/{path}/":
        raise ConfigError(f"{source}: `{key}.path` must stay inside the repository, got {values['path']!r}")
    return ServiceEntry(
        name=name,
        path=path.removeprefix("./"),
        team=values["team"],
        owner=values["owner"],
        oncall=values["oncall"],
        tier=values["tier"],
    )
