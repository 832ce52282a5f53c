"""Opsgenie webhook notifications -> alert rows (best effort: the schema is only loosely documented).

Accepted: one `{"action": ..., "alert": {...}}` payload, a JSON list of them, or JSON lines of them.
Mapping from `alert`: name = message (Opsgenie's alert title); fingerprint = alias (Opsgenie's
de-duplication key), else alertId; service = entity, else the `service:<name>` tag; severity = priority
(P1..P5) through `normalize_severity`; summary = description, else message; starts_ns = createdAt
(epoch ms, or any unit `parse_time_ns` recognises); status = resolved for the Close/Delete actions,
else firing; ends_ns = updatedAt of a resolved alert, else 0. labels JSON keeps action, alertId,
tinyId, alias, tags, source, username, integrationName and priority.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from incidentlens.ingest.alertmanager import normalize_severity
from incidentlens.ingest.common import dumps, parse_time_ns
from incidentlens.ingest.prometheus import iter_json_documents
from incidentlens.ingest.sink import RowSink

_RESOLVING_ACTIONS = {"close", "delete"}
_ACTION_RE = re.compile(r'"action"\s*:\s*"')
_ALERT_RE = re.compile(r'"alert"\s*:\s*\{')
_MARKER_RE = re.compile(r'"(alertId|integrationName|integrationType)"\s*:')


def _service(alert: dict[str, Any]) -> str:
    entity = alert.get("entity")
    if isinstance(entity, str) and entity:
        return entity
    for tag in alert.get("tags") or []:
        if isinstance(tag, str) and tag.startswith("service:"):
            return tag.removeprefix("service:")
    return ""


def add_notification(payload: Any, where: str, sink: RowSink) -> bool:
    """The alert row of one webhook payload; reports and skips anything without an alert."""
    alert = payload.get("alert") if isinstance(payload, dict) else None
    if not isinstance(alert, dict):
        sink.problem(where, "not an Opsgenie webhook payload (no 'alert' object)")
        return False
    starts_ns = parse_time_ns(alert.get("createdAt"))
    if not starts_ns:
        sink.problem(where, f"alert createdAt {alert.get('createdAt')!r} is not a time")
        return False
    action = str(payload.get("action") or "")
    resolved = action.lower() in _RESOLVING_ACTIONS
    source = payload.get("source")
    details = {
        "action": action,
        "alertId": alert.get("alertId", ""),
        "tinyId": alert.get("tinyId", ""),
        "alias": alert.get("alias", ""),
        "tags": alert.get("tags") or [],
        "source": alert.get("source", ""),
        "username": alert.get("username", ""),
        "integrationName": payload.get("integrationName", ""),
        "sender": source if isinstance(source, dict) else {},
        "priority": alert.get("priority", ""),
    }
    message = str(alert.get("message") or "")
    sink.alerts.add(
        starts_ns=starts_ns,
        ends_ns=(parse_time_ns(alert.get("updatedAt")) or 0) if resolved else 0,
        name=message,
        service=_service(alert),
        severity=normalize_severity(alert.get("priority")),
        status="resolved" if resolved else "firing",
        fingerprint=str(alert.get("alias") or alert.get("alertId") or ""),
        summary=str(alert.get("description") or message),
        labels=dumps(details),
        source=where,
    )
    return True


class _OpsgenieReader:
    name = "opsgenie"
    signals = ("alerts",)

    def sniff(self, head: str, path: Path) -> bool:
        if not head.lstrip().startswith(("{", "[")):
            return False
        return bool(_ACTION_RE.search(head) and _ALERT_RE.search(head) and _MARKER_RE.search(head))

    def read(self, path: Path, sink: RowSink) -> None:
        for position, payload in iter_json_documents(path, sink):
            add_notification(payload, f"{path}{position}", sink)


READER = _OpsgenieReader()
