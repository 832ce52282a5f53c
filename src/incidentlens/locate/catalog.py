"""The service catalog `incidentlens.yaml` at a repository root: which folder, team and people own a service.

    services:
      payment: {path: services/payment, team: payments, owner: "@shop/payments", oncall: "@dana",
                tier: production}

Pure code over the file's text; every problem is a ConfigError naming the file and the key. Keys we do not
use (a service's `language`, a top-level `dependencies:` block, anything a simulator or another tool adds)
are kept in `extra` and ignored, so one file can serve several tools; only a key that looks like a
misspelling of one we read (`owners` for `owner`) is an error, because ignoring it would lose ownership.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incidentlens.errors import ConfigError, FormatError
from incidentlens.yamlsafe import load_yaml

CATALOG_FILE = "incidentlens.yaml"
_FIELDS = ("path", "team", "owner", "oncall", "tier", "language")
_TOP_LEVEL = ("services", "dependencies")


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    name: str
    path: str
    team: str = ""
    owner: str = ""
    oncall: str = ""
    tier: str = ""
    language: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Catalog:
    source: str
    services: tuple[ServiceEntry, ...] = ()
    dependencies: Any = None  # kept as written: other tools (the simulator) describe the call graph here
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

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
        data: Any = load_yaml(text, source)[1]  # bounded: the catalog comes with the repository
    except FormatError as exc:
        where = f"{source}:{exc.line}" if exc.line is not None else source
        raise ConfigError(f"{where}: not valid YAML: {exc.reason.removeprefix('invalid YAML: ')}") from exc
    if data is None:
        return Catalog(source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping with a `services` key")
    for key in data:
        _reject_misspelling(source, str(key), str(key), _TOP_LEVEL)
    services = data.get("services") or {}
    if not isinstance(services, dict):
        raise ConfigError(f"{source}: `services` must be a mapping of service name to settings")
    entries = tuple(_entry(source, name, body) for name, body in services.items())
    extra = {str(k): v for k, v in data.items() if k not in _TOP_LEVEL}
    return Catalog(source=source, services=entries, dependencies=data.get("dependencies"), extra=extra)


def _reject_misspelling(source: str, key: str, shown: str, known: tuple[str, ...]) -> None:
    """Unknown keys are fine; one a letter or two away from a known key is almost surely a typo."""
    if key in known:
        return
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
    if close:
        raise ConfigError(f"{source}: unknown key `{shown}` (did you mean `{close[0]}`?)")


def _entry(source: str, name: Any, body: Any) -> ServiceEntry:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{source}: services: service names must be non-empty strings, got {name!r}")
    key = f"services.{name}"
    if not isinstance(body, dict):
        raise ConfigError(f"{source}: `{key}` must be a mapping with at least `path`")
    for name_ in body:
        _reject_misspelling(source, str(name_), f"{key}.{name_}", _FIELDS)
    values: dict[str, str] = {}
    for name_ in _FIELDS:
        value = body.get(name_, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ConfigError(f"{source}: `{key}.{name_}` must be a string, got {type(value).__name__}")
        values[name_] = value.strip()
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
        language=values["language"],
        extra={str(k): v for k, v in body.items() if k not in _FIELDS},
    )
