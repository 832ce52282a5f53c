"""The HTTP client every live source uses: auth, TLS, a time-out per request, retries with backoff on
transient failures (connection errors, time-outs, 429 and 5xx, honouring `Retry-After`), and errors that
name the source and a redacted URL, never a credential."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import orjson

from incidentlens import __version__
from incidentlens.errors import ConfigError, SourceError
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.protocol import SourceReport

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0
MAX_ERROR_BODY = 300
_SECRET_PARAMS = ("token", "key", "secret", "password", "passwd", "auth", "signature", "sig", "credential")


def _tls(config: SourceConfig) -> bool | ssl.SSLContext:
    """Server verification and the client certificate in one context (httpx ignores `cert=` beside a CA path)."""
    if config.tls_verify is False:
        return False
    if config.client_cert is None and config.tls_verify is True:
        return True
    cafile = config.tls_verify if isinstance(config.tls_verify, str) else None
    try:
        context = ssl.create_default_context(cafile=cafile)
        if config.client_cert is not None:
            context.load_cert_chain(*config.client_cert)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{config.where}: sources.{config.name}: cannot load TLS files: {exc}") from None
    return context


def redact_url(url: str) -> str:
    """The URL without user info and with the values of credential-like query parameters replaced."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [(k, "REDACTED" if any(s in k.lower() for s in _SECRET_PARAMS) else v) for k, v in parse_qsl(parts.query)]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class HttpClient:
    """One client per source load; counts requests into the source's report. Use as a context manager."""

    def __init__(self, config: SourceConfig, report: SourceReport, *, sleep: Any = time.sleep) -> None:
        self.config = config
        self.report = report
        self._sleep = sleep
        self._count_lock = threading.Lock()  # sources may fetch from a few threads at once
        headers = {"User-Agent": f"incidentlens/{__version__}", "Accept": "application/json", **config.headers}
        if config.bearer_token:
            headers["Authorization"] = f"Bearer {config.bearer_token}"
        auth = httpx.BasicAuth(config.username, config.password or "") if config.username else None
        self._client = httpx.Client(
            base_url=config.url,
            headers=headers,
            auth=auth,
            verify=_tls(config),
            timeout=httpx.Timeout(config.timeout_seconds),
            follow_redirects=True,
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def get_json(self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        """GET and parse JSON; `params` as a mapping (a list value repeats the parameter) or as pairs."""
        return self._json(self.request("GET", path, params=params))

    def post_json(self, path: str, body: Any, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        return self._json(self.request("POST", path, params=params, content=orjson.dumps(body)))

    def post_form(self, path: str, form: Mapping[str, Any]) -> Any:
        """A form-encoded POST (Prometheus accepts long queries this way); a list value repeats the field."""
        return self._json(self.request("POST", path, data=form))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; a non-2xx answer after the retries is a SourceError naming status and body."""
        if "content" in kwargs:
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            with self._count_lock:
                self.report.requests += 1
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                if attempt <= self.config.retries:
                    self._back_off(attempt, None)
                    continue
                raise self._error(method, path, f"timed out after {self.config.timeout_seconds:g} s") from exc
            except httpx.TransportError as exc:
                if attempt <= self.config.retries:
                    self._back_off(attempt, None)
                    continue
                raise self._error(method, path, f"cannot connect ({type(exc).__name__}: {exc})") from exc
            if response.status_code in TRANSIENT_STATUS and attempt <= self.config.retries:
                self._back_off(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code >= 400:
                body = response.text[:MAX_ERROR_BODY].strip().replace("\n", " ")
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                reason = f"HTTP {response.status_code}{tries}: {body or response.reason_phrase}"
                raise self._error(method, path, reason, response=response)
            return response

    def _back_off(self, attempt: int, retry_after: str | None) -> None:
        delay = self.config.retry_backoff_seconds * (2 ** (attempt - 1))
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep our own backoff
                delay = max(delay, float(retry_after))
        self._sleep(min(delay, MAX_BACKOFF_SECONDS))

    def _json(self, response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            where = redact_url(str(response.request.url))
            raise SourceError(
                f"{self.config.kind} source {self.config.name!r}: {where} answered with invalid JSON ({exc})"
            ) from None

    def _error(self, method: str, path: str, reason: str, *, response: httpx.Response | None = None) -> SourceError:
        url = redact_url(f"{self.config.url}{path}")
        return SourceError(
            f"{self.config.kind} source {self.config.name!r}: {method} {url}: {reason}",
            status=response.status_code if response is not None else None,
            headers={k.lower(): v for k, v in response.headers.items()} if response is not None else None,
        )
