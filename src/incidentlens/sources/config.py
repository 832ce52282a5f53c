"""The `sources:` section of the settings file: one entry per backend, validated before anything is queried.

```yaml
sources:
  prom:  {kind: prometheus, url: http://prometheus:9090}
  loki:  {kind: loki, url: http://loki:3100, headers: {X-Scope-OrgID: team-a}}
  tempo: {kind: tempo, url: http://tempo:3200, bearer_token_env: TEMPO_TOKEN}
  files: {kind: files, paths: [/var/log/shop]}
```

Common keys are listed in `COMMON_KEYS`; every other key is an option of that kind of source, which the
source checks itself (an unknown option is an error, not ignored). Secrets come from the environment
(`bearer_token_env`, `password_env`, or `${VAR}` inside a header value) so the file can be shared.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentlens.errors import ConfigError

DEFAULT_TIMEOUT_SECONDS = 15.0
DEFAULT_RETRIES = 3
DEFAULT_MAX_ROWS = 500_000
COMMON_KEYS = frozenset(
    {
        "kind",
        "url",
        "paths",
        "headers",
        "bearer_token",
        "bearer_token_env",
        "username",
        "password",
        "password_env",
        "tls_verify",
        "ca_file",
        "cert_file",
        "key_file",
        "timeout_seconds",
        "retries",
        "retry_backoff_seconds",
        "max_rows",
    }
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class SourceConfig:
    """One configured source. `options` holds the kind-specific keys, checked by the source itself."""

    name: str
    kind: str
    url: str = ""
    paths: tuple[Path, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    bearer_token: str | None = None
    username: str | None = None
    password: str | None = None
    tls_verify: bool | str = True  # False, True, or a CA bundle path
    client_cert: tuple[str, str] | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retries: int = DEFAULT_RETRIES
    retry_backoff_seconds: float = 0.5
    max_rows: int = DEFAULT_MAX_ROWS
    options: Mapping[str, Any] = field(default_factory=dict)
    where: str = "settings"  # the settings file, for error messages

    def __repr__(self) -> str:  # never print credentials
        return f"SourceConfig(name={self.name!r}, kind={self.kind!r}, url={self.url!r})"

    def option_error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: sources.{self.name}: {message}")

    def check_options(self, allowed: frozenset[str]) -> None:
        """Refuse options this kind of source does not know (a typo must not be silently ignored)."""
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed)) or "none"
            raise self.option_error(
                f"unknown key(s) {', '.join(unknown)} for kind {self.kind!r} (its options: {known})"
            )


def parse_sources(section: Any, *, where: str = "settings", base: Path | None = None) -> dict[str, SourceConfig]:
    """Validate a `sources:` mapping (name -> entry). `base` resolves relative `paths` (the settings folder)."""
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: 'sources' must map a name to a source (kind, url, ...)")
    return {str(name): parse_source(str(name), entry, where=where, base=base) for name, entry in section.items()}


def parse_source(name: str, entry: Any, *, where: str = "settings", base: Path | None = None) -> SourceConfig:
    here = f"{where}: sources.{name}"
    if not _NAME.match(name):
        raise ConfigError(f"{here}: a source name is letters, digits, '_', '-' or '.' (at most 64)")
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{here}: must be a mapping with at least 'kind'")
    kind = entry.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{here}: 'kind' is required (for example prometheus, loki, tempo, jaeger, files)")
    url = _string(entry, "url", here) or ""
    if url and not url.startswith(("http://", "https://", "chdb:")):
        raise ConfigError(f"{here}: 'url' must start with http:// or https:// (or chdb: for a clickhouse source)")
    password = _secret(entry, "password", here)
    ca_file, cert_file, key_file = (_string(entry, k, here) for k in ("ca_file", "cert_file", "key_file"))
    verify = entry.get("tls_verify", True)
    if not isinstance(verify, bool):
        raise ConfigError(f"{here}: 'tls_verify' must be true or false (use 'ca_file' for a private CA)")
    if (cert_file is None) != (key_file is None):
        raise ConfigError(f"{here}: 'cert_file' and 'key_file' go together")
    return SourceConfig(
        name=name,
        kind=kind,
        url=url.rstrip("/"),
        paths=_paths(entry.get("paths"), here, base),
        headers=_headers(entry.get("headers"), here),
        bearer_token=_secret(entry, "bearer_token", here),
        username=_string(entry, "username", here),
        password=password,
        tls_verify=ca_file if (verify and ca_file) else verify,
        client_cert=(cert_file, key_file) if cert_file and key_file else None,
        timeout_seconds=_number(entry, "timeout_seconds", here, DEFAULT_TIMEOUT_SECONDS, 0.1, 600),
        retries=int(_number(entry, "retries", here, DEFAULT_RETRIES, 0, 10)),
        retry_backoff_seconds=_number(entry, "retry_backoff_seconds", here, 0.5, 0, 60),
        max_rows=int(_number(entry, "max_rows", here, DEFAULT_MAX_ROWS, 1, 100_000_000)),
        options={str(k): v for k, v in entry.items() if k not in COMMON_KEYS},
        where=where,
    )


def _string(entry: Mapping[str, Any], key: str, here: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{here}: '{key}' must be a non-empty string")
    return value


def _secret(entry: Mapping[str, Any], key: str, here: str) -> str | None:
    """`key` given inline or `key_env` naming an environment variable (which must be set)."""
    inline = _string(entry, key, here)
    env_name = _string(entry, f"{key}_env", here)
    if inline and env_name:
        raise ConfigError(f"{here}: give '{key}' or '{key}_env', not both")
    if env_name is None:
        return _expand(inline, f"{here}: '{key}'") if inline else None
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError(f"{here}: '{key}_env' names {env_name}, which is not set in the environment")
    return value


def _expand(value: str, what: str) -> str:
    """Replace `${VAR}` with the environment's value; an unset variable is an error, not an empty string."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{what} uses ${{{name}}}, which is not set in the environment")
        return os.environ[name]

    return _ENV_REF.sub(one, value)


def _headers(value: Any, here: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{here}: 'headers' must map header names to strings")
    return {k: _expand(v, f"{here}: header {k}") for k, v in value.items()}


def _paths(value: Any, here: str, base: Path | None) -> tuple[Path, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ConfigError(f"{here}: 'paths' must be a list of files or folders")
    resolved = (Path(p).expanduser() for p in value)
    return tuple(p if p.is_absolute() or base is None else base / p for p in resolved)


def _number(entry: Mapping[str, Any], key: str, here: str, default: float, lo: float, hi: float) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"{here}: '{key}' must be a number from {lo:g} to {hi:g}")
    return float(value)
