"""Slack incoming-webhook notifications: the brief's summary, the top hypothesis and a link to the incident.

Telemetry is untrusted: every text goes into Slack's `plain_text` or escaped `mrkdwn` (no mentions, no links
smuggled in by an alert), and the message is JSON built by a serialiser, never by string formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from incidentlens.errors import StoreError

__all__ = ["NotificationError", "SlackMessage", "post_slack", "slack_blocks"]

TIMEOUT = httpx.Timeout(connect=3.0, read=5.0, write=5.0, pool=3.0)
_MAX_TEXT = 2900  # Slack rejects section texts above 3000 characters


class NotificationError(StoreError):
    """The chat webhook refused or did not answer; the investigation itself is recorded."""


@dataclass(frozen=True, slots=True)
class SlackMessage:
    incident_id: str
    title: str
    summary: str
    hypothesis: str | None
    confidence: float | None
    link: str


def _escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) escaped, so alert text cannot form links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:_MAX_TEXT]


def slack_blocks(message: SlackMessage) -> dict[str, Any]:
    """The webhook body: a fallback `text` and Block Kit blocks (header, summary, hypothesis, button)."""
    if message.hypothesis is not None and message.confidence is not None:
        top = f"*Top hypothesis* (confidence {message.confidence:.2f}): {_escape(message.hypothesis)}"
    else:
        top = "*Top hypothesis:* not enough evidence yet"
    return {
        "text": f"{message.incident_id}: {message.title}"[:_MAX_TEXT],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"{message.incident_id}: {message.title}"[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _escape(message.summary) or "(no summary)"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": top}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the incident"},
                        "url": message.link,
                    }
                ],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "Hypotheses need a human decision; fixes need an approval."}],
            },
        ],
    }


def post_slack(url: str, message: SlackMessage, *, client: httpx.Client | None = None) -> None:
    """POST the message to a Slack incoming webhook (explicit timeouts); NotificationError on any failure."""
    body = slack_blocks(message)
    try:
        if client is not None:
            response = client.post(url, json=body, timeout=TIMEOUT)
        else:
            with httpx.Client(timeout=TIMEOUT) as own:
                response = own.post(url, json=body)
    except httpx.HTTPError as exc:
        raise NotificationError(f"Slack notification for {message.incident_id} failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        # The webhook URL is a secret: name the status and Slack's short reason, never the URL.
        reason = response.text[:100].strip()
        raise NotificationError(
            f"Slack notification for {message.incident_id} refused: HTTP {response.status_code} {reason}"
        )


def message_from_brief(brief: Any, *, incident_id: str, base_url: str) -> SlackMessage:
    """The message for a recorded brief (JSON as stored): summary, top hypothesis unless abstained, link."""
    data = brief if isinstance(brief, dict) else {}
    hypotheses = data.get("hypotheses") or []
    top = hypotheses[0] if hypotheses and not data.get("abstained") else None
    return SlackMessage(
        incident_id=incident_id,
        title=str(data.get("title") or incident_id),
        summary=str(data.get("summary") or ""),
        hypothesis=str(top.get("claim") or top.get("service")) if top else None,
        confidence=float(top["confidence"]) if top and isinstance(top.get("confidence"), int | float) else None,
        link=f"{base_url.rstrip('/')}/incidents/{incident_id}",
    )
