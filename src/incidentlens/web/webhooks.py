"""Alert webhooks: Alertmanager (v4) and PagerDuty (v3) open or update incidents and queue investigations.

Authentication, any of: the header `X-IncidentLens-Webhook-Secret: <secret>`; `Authorization: Bearer <secret>`
(Alertmanager's `http_config.authorization`); PagerDuty's `X-PagerDuty-Signature: v1=<hmac-sha256 of the body>`;
or a user's bearer token with the responder or admin role. Secrets are compared with hmac.compare_digest.
Everything but PagerDuty's signature is checked from the headers before a byte of the body is read; the
body must be JSON by its Content-Type (else 415), is refused from its Content-Length when over the limit
(413) and otherwise read as a stream that stops at the limit. Failed secrets are throttled per address.
Answers 202 with what happened to each alert; 503 + Retry-After only when nothing could be queued; 413 for a
payload of more than `MAX_ALERTS` alerts (Alertmanager's `max_alerts` in the webhook config keeps under it).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
from fastapi import APIRouter, Request

from incidentlens.errors import InputError
from incidentlens.web.api.deps import RESPONDERS
from incidentlens.web.auth import bearer_identity, check_throttle, record_failure
from incidentlens.web.errors import AuthenticationError, PayloadTooLargeError, UnsupportedMediaError
from incidentlens.web.intake import parse_payload
from incidentlens.web.intake_batch import IntakeWriter
from incidentlens.web.settings import WebSettings
from incidentlens.web.worker import Worker

__all__ = ["MAX_ALERTS", "MAX_BODY_BYTES", "SECRET_HEADER", "router", "signature"]

SECRET_HEADER = "X-IncidentLens-Webhook-Secret"
PAGERDUTY_SIGNATURE = "X-PagerDuty-Signature"
MAX_BODY_BYTES = 1_000_000
# Alerts in one payload: all are written in one transaction, which must stay short (it holds the SQLite
# write lock, and PostgreSQL fingerprint locks) so the worker and other senders are not held up.
MAX_ALERTS = 1000
MAX_DEPTH = 32  # alert payloads are a few levels deep; hundreds of levels only serve to exhaust the stack

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}


def signature(secret: str, body: bytes) -> str:
    """PagerDuty's v3 signature header value for `body`."""
    return "v1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _refused(source: str) -> AuthenticationError:
    return AuthenticationError(
        f"the {source} webhook needs its shared secret ({SECRET_HEADER} or Authorization: Bearer) "
        "or a responder's bearer token"
    )


def _from_headers(request: Request, settings: WebSettings, source: str) -> bool:
    """True when the headers alone authenticate; False when only a PagerDuty signature (over the body) can."""
    secret = settings.webhook_secrets.get(source)
    header = request.headers.get(SECRET_HEADER)
    auth = request.headers.get("authorization", "")
    scheme, _, bearer = auth.partition(" ")
    bearer = bearer.strip() if scheme.lower() == "bearer" else ""
    if secret is not None:
        if header is not None and hmac.compare_digest(header.encode(), secret.encode()):
            return True
        if bearer and hmac.compare_digest(bearer.encode(), secret.encode()):
            return True
    identity = bearer_identity(settings, bearer) if bearer else None
    if identity is not None and identity.has_any(*RESPONDERS):
        return True
    if source == "pagerduty" and secret is not None and request.headers.get(PAGERDUTY_SIGNATURE, "").strip():
        return False
    record_failure(request)
    raise _refused(source)


def _signed(request: Request, settings: WebSettings, source: str, body: bytes) -> None:
    expected = signature(settings.webhook_secrets[source], body).encode()
    sent = request.headers.get(PAGERDUTY_SIGNATURE, "")
    if not any(hmac.compare_digest(part.strip().encode(), expected) for part in sent.split(",") if part.strip()):
        record_failure(request)
        raise _refused(source)


def _json_content_type(request: Request, source: str) -> None:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaError(
            f"the {source} webhook reads JSON: send Content-Type: application/json, not {media or 'none'!r}"
        )


async def _read_capped(request: Request, source: str) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the {source} payload is {declared} bytes; at most {MAX_BODY_BYTES} are accepted")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"the {source} payload exceeds {MAX_BODY_BYTES} bytes; reading stopped there")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_deep(value: Any) -> str | None:
    """Where `value` nests deeper than MAX_DEPTH (iteratively: the check itself must not recurse)."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "$")]
    while stack:
        item, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            return where
        if isinstance(item, dict):
            stack.extend((v, depth + 1, f"{where}.{str(k)[:40]}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(item))
    return None


async def _receive(request: Request, source: str) -> dict[str, Any]:
    settings: WebSettings = request.app.state.settings
    worker: Worker = request.app.state.worker
    check_throttle(request)
    headers_suffice = _from_headers(request, settings, source)
    _json_content_type(request, source)
    body = await _read_capped(request, source)
    if not headers_suffice:
        _signed(request, settings, source, body)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the {source} payload is not JSON: {exc}") from None
    deep = _too_deep(payload)
    if deep is not None:
        raise InputError(f"the {source} payload nests deeper than {MAX_DEPTH} levels at {deep[:200]}")
    count = len(payload["alerts"]) if isinstance(payload, dict) and isinstance(payload.get("alerts"), list) else 1
    if count > MAX_ALERTS:
        raise PayloadTooLargeError(
            f"the {source} payload has {count} alerts; at most {MAX_ALERTS} are accepted per payload, nothing was "
            f"recorded (split it, e.g. Alertmanager's webhook_config max_alerts: {MAX_ALERTS})"
        )
    alerts, problems = parse_payload(source, payload)
    if not alerts and problems:
        raise InputError(f"no usable alert in the {source} payload: " + "; ".join(problems[:5]))

    intake: IntakeWriter = request.app.state.intake
    outcomes = await intake.accept(alerts)
    if any(o.job_id is not None for o in outcomes):
        worker.wake()
    return {
        "accepted": len(outcomes),
        "alerts": [
            {
                "fingerprint": o.fingerprint,
                "status": o.status,
                "incident": o.incident_id,
                "action": o.action,
                "job": o.job_id,
                "coalesced": o.coalesced,
            }
            for o in outcomes
        ],
        "problems": problems,
    }


@router.post("/alertmanager", status_code=202, summary="Alertmanager webhook (v4)", openapi_extra=_BODY)
async def alertmanager(request: Request) -> dict[str, Any]:
    return await _receive(request, "alertmanager")


@router.post("/pagerduty", status_code=202, summary="PagerDuty webhook (v3)", openapi_extra=_BODY)
async def pagerduty(request: Request) -> dict[str, Any]:
    return await _receive(request, "pagerduty")
