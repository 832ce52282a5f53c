"""Model providers over plain HTTP (`httpx`, a core dependency): OpenAI-compatible chat completions and
Anthropic's Messages API.

No vendor SDK: both wire protocols are one JSON POST each, and talking HTTP ourselves keeps one place where
timeouts, retries and the bytes that leave are decided (the egress record counts exactly the body sent).
Errors are `ModelError`s that name the endpoint, never the key.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from incidentlens.assist.settings import AssistSettings, ProviderKind
from incidentlens.errors import ModelError

__all__ = ["AnthropicMessages", "Completion", "OpenAICompatible", "Prompt", "Provider", "provider_for"]

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
MAX_BACKOFF_SECONDS = 8.0
ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True, slots=True)
class Prompt:
    """What one call sends: fixed instructions (ours) and the user turn (the delimited, redacted evidence)."""

    system: str
    user: str
    max_tokens: int


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    bytes_sent: int
    refused: bool = False
    stop_reason: str = ""


class Provider(Protocol):
    """One method: send a prompt, get a completion (or a ModelError)."""

    name: str
    model: str

    def complete(self, prompt: Prompt) -> Completion: ...


class _HttpProvider:
    name = "http"

    def __init__(self, settings: AssistSettings, *, backoff_seconds: float = 0.5) -> None:
        self.settings = settings
        self.model = settings.model
        self.backoff_seconds = backoff_seconds
        self._key = os.environ.get(settings.api_key_env, "") if settings.api_key_env else ""
        if settings.api_key_env and not self._key:
            raise ModelError(f"llm.api_key_env names {settings.api_key_env}, which is not set in the environment")

    def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[dict[str, Any], int]:
        """POST with retries and backoff on time-outs, refused connections, 429 and 5xx; the parsed answer and
        the bytes of the body sent once."""
        url = f"{self.settings.base_url}{path}"
        content = orjson.dumps(body)
        timeout = httpx.Timeout(self.settings.timeout_seconds, connect=min(self.settings.timeout_seconds, 10.0))
        last = ""
        for attempt in range(self.settings.retries + 1):
            wait = min(self.backoff_seconds * 2**attempt, MAX_BACKOFF_SECONDS)
            try:
                with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                    sent = {"content-type": "application/json", **headers}
                    response = client.post(url, content=content, headers=sent)
            except httpx.TimeoutException:
                last = f"timed out after {self.settings.timeout_seconds:g} s"
            except httpx.TransportError as exc:
                last = f"could not connect ({type(exc).__name__})"
            else:
                if response.status_code < 300:
                    try:
                        parsed = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        raise ModelError(f"{self.settings.host}: the answer is not JSON") from None
                    if not isinstance(parsed, dict):
                        raise ModelError(f"{self.settings.host}: the answer is not a JSON object")
                    return parsed, len(content)
                last = f"HTTP {response.status_code}: {_reason(response)}"
                if response.status_code not in RETRY_STATUSES:
                    break
                wait = max(wait, min(_retry_after(response), MAX_BACKOFF_SECONDS))
            if attempt < self.settings.retries:
                time.sleep(wait)
        raise ModelError(f"{self.name} model at {self.settings.host} failed: {last}")


class OpenAICompatible(_HttpProvider):
    """POST {base_url}/chat/completions: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio and the like."""

    name = "openai"

    def complete(self, prompt: Prompt) -> Completion:
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            "max_tokens": prompt.max_tokens,
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }
        headers = {"authorization": f"Bearer {self._key}"} if self._key else {}
        data, sent = self._post("/chat/completions", body, headers)
        try:
            choice = data["choices"][0]
            message = choice["message"]
            usage = data.get("usage") or {}
            refusal = message.get("refusal")
            return Completion(
                text=str(message.get("content") or refusal or ""),
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
                bytes_sent=sent,
                refused=bool(refusal) or choice.get("finish_reason") == "content_filter",
                stop_reason=str(choice.get("finish_reason") or ""),
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise ModelError(f"openai model at {self.settings.host}: answer lacks choices[0].message") from None


class AnthropicMessages(_HttpProvider):
    """POST {base_url}/v1/messages: Anthropic's Messages API."""

    name = "anthropic"

    def complete(self, prompt: Prompt) -> Completion:
        body = {
            "model": self.model,
            "system": prompt.system,
            "messages": [{"role": "user", "content": prompt.user}],
            "max_tokens": prompt.max_tokens,
            "temperature": 0,
        }
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if self._key:
            headers["x-api-key"] = self._key
        data, sent = self._post("/v1/messages", body, headers)
        try:
            text = "".join(str(b.get("text", "")) for b in data["content"] if b.get("type") == "text")
            usage = data.get("usage") or {}
            stop = str(data.get("stop_reason") or "")
            return Completion(
                text=text,
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                bytes_sent=sent,
                refused=stop == "refusal",
                stop_reason=stop,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ModelError(f"anthropic model at {self.settings.host}: answer lacks content blocks") from None


def provider_for(settings: AssistSettings, *, backoff_seconds: float = 0.5) -> Provider:
    if settings.provider is ProviderKind.ANTHROPIC:
        return AnthropicMessages(settings, backoff_seconds=backoff_seconds)
    return OpenAICompatible(settings, backoff_seconds=backoff_seconds)


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or response.reason_phrase or "error")[:200]


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("retry-after", "0"))
    except ValueError:
        return 0.0
