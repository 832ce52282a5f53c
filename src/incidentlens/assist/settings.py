"""The `llm:` section of the settings file: which model, how far it may be trusted, what it may cost.

Absent (the default) means no model is ever called. Errors name the file and the key at fault.

```yaml
llm:
  provider: openai            # openai (any OpenAI-compatible URL: Ollama, vLLM, llama.cpp, LM Studio) | anthropic
  base_url: http://127.0.0.1:11434/v1
  model: llama3.1
  api_key_env: OPENAI_API_KEY # the key is read from this variable, never from the file
  timeout_seconds: 30
  retries: 2
  max_output_tokens: 800
  budget: {tokens: 20000, cost: 0.50}            # per investigation (incident); cost needs prices
  prices: {input_per_million: 3.0, output_per_million: 15.0}
  trusted: false              # only a localhost URL may be trusted; then `redact` may be false
  redact: true
  names: [acme-corp, db-prod-eu1]                # customers, hosts: pseudonymised like secrets
  detectors: [patterns, detect_secrets]          # presidio too when the `llm-presidio` extra is installed
  brief: false                # true: `investigate` adds the model's narrative by default
```
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from incidentlens.errors import ConfigError
from incidentlens.workflow.config import Settings

__all__ = ["LLM_KEY", "AssistSettings", "Detector", "ProviderKind", "assist_settings"]

LLM_KEY = "llm"
_E = TypeVar("_E", bound=StrEnum)
DEFAULT_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
_KEYS = frozenset(
    {
        "enabled",
        "provider",
        "base_url",
        "model",
        "api_key_env",
        "timeout_seconds",
        "retries",
        "max_output_tokens",
        "budget",
        "prices",
        "trusted",
        "redact",
        "names",
        "detectors",
        "brief",
        "max_evidence",
    }
)


class ProviderKind(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class Detector(StrEnum):
    """Who finds what to pseudonymise: our ordered rules, detect-secrets plugins, presidio recognisers."""

    PATTERNS = "patterns"
    DETECT_SECRETS = "detect_secrets"
    PRESIDIO = "presidio"


@dataclass(frozen=True, slots=True)
class AssistSettings:
    provider: ProviderKind
    base_url: str
    model: str
    api_key_env: str = ""
    timeout_seconds: float = 30.0
    retries: int = 2
    max_output_tokens: int = 800
    budget_tokens: int = 20_000
    budget_cost: float | None = None
    input_price_per_million: float | None = None
    output_price_per_million: float | None = None
    trusted: bool = False
    redact: bool = True
    names: tuple[str, ...] = ()
    detectors: tuple[Detector, ...] = (Detector.PATTERNS, Detector.DETECT_SECRETS)
    brief: bool = False
    max_evidence: int = 40

    @property
    def host(self) -> str:
        """Where calls go, without credentials or path: what the egress record names."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        if self.input_price_per_million is None or self.output_price_per_million is None:
            return None
        return (input_tokens * self.input_price_per_million + output_tokens * self.output_price_per_million) / 1e6


def assist_settings(settings: Settings) -> AssistSettings | None:
    """The model configuration, or None when the settings have no enabled `llm:` section (the default)."""
    where = str(settings.path) if settings.path is not None else "settings"
    section = settings.section(LLM_KEY)
    if not section:
        return None
    unknown = sorted(set(map(str, section)) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: '{LLM_KEY}' has unknown key(s) {', '.join(unknown)}")
    if not _bool(section, "enabled", True, where):
        return None
    kind = _choice(section.get("provider"), ProviderKind, "provider", where)
    base_url = _text(section, "base_url", DEFAULT_URLS[kind.value], where)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: '{LLM_KEY}.base_url' must be an http(s) URL, not {base_url!r}")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: '{LLM_KEY}.base_url' must not hold credentials: use api_key_env")
    model = _text(section, "model", "", where)
    if not model:
        raise ConfigError(f"{where}: '{LLM_KEY}.model' is required (the model name the endpoint serves)")
    trusted = _bool(section, "trusted", False, where)
    if trusted and not is_local(parts.hostname):
        raise ConfigError(
            f"{where}: '{LLM_KEY}.trusted' is allowed only for a model on this machine (localhost), "
            f"not {parts.hostname}"
        )
    redact = _bool(section, "redact", True, where)
    if not redact and not trusted:
        raise ConfigError(f"{where}: '{LLM_KEY}.redact: false' needs 'trusted: true' (a local model)")
    budget = _mapping(section, "budget", where)
    prices = _mapping(section, "prices", where)
    names = section.get("names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ConfigError(f"{where}: '{LLM_KEY}.names' must be a list of names (customers, hosts)")
    detectors = section.get("detectors", [d.value for d in (Detector.PATTERNS, Detector.DETECT_SECRETS)])
    if not isinstance(detectors, list) or not detectors:
        raise ConfigError(f"{where}: '{LLM_KEY}.detectors' must be a non-empty list")
    chosen = tuple(_choice(d, Detector, "detectors", where) for d in detectors)
    if Detector.PATTERNS not in chosen:
        raise ConfigError(f"{where}: '{LLM_KEY}.detectors' must include 'patterns' (the rules every install has)")
    return AssistSettings(
        provider=kind,
        base_url=base_url.rstrip("/"),
        model=model,
        api_key_env=_text(section, "api_key_env", "", where),
        timeout_seconds=_number(section, "timeout_seconds", 30.0, where, low=0.1),
        retries=int(_number(section, "retries", 2, where, low=0)),
        max_output_tokens=int(_number(section, "max_output_tokens", 800, where, low=1)),
        budget_tokens=int(_number(budget, "tokens", 20_000, where, low=1, key_prefix="budget.")),
        budget_cost=_optional_number(budget, "cost", where, "budget."),
        input_price_per_million=_optional_number(prices, "input_per_million", where, "prices."),
        output_price_per_million=_optional_number(prices, "output_per_million", where, "prices."),
        trusted=trusted,
        redact=redact,
        names=tuple(n.strip() for n in names),
        detectors=chosen,
        brief=_bool(section, "brief", False, where),
        max_evidence=int(_number(section, "max_evidence", 40, where, low=1)),
    )


def is_local(host: str) -> bool:
    """localhost or a loopback address: the only endpoints that may be marked trusted."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _mapping(section: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = section.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: '{LLM_KEY}.{key}' must be a mapping")
    return value


def _text(section: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{LLM_KEY}.{key}' must be text, not {value!r}")
    return value.strip()


def _bool(section: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: '{LLM_KEY}.{key}' must be true or false, not {value!r}")
    return value


def _number(
    section: Mapping[str, Any], key: str, default: float, where: str, *, low: float, key_prefix: str = ""
) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ConfigError(f"{where}: '{LLM_KEY}.{key_prefix}{key}' must be a number of at least {low}, not {value!r}")
    return float(value)


def _optional_number(section: Mapping[str, Any], key: str, where: str, key_prefix: str) -> float | None:
    if section.get(key) is None:
        return None
    return _number(section, key, 0.0, where, low=0.0, key_prefix=key_prefix)


def _choice(value: Any, enum: type[_E], key: str, where: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ConfigError(f"{where}: '{LLM_KEY}.{key}' has {value!r}; allowed: {allowed}") from None
