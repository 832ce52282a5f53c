"""Alertmanager notifications -> alert rows.

Accepted: a webhook v4 payload (`{"version": "4", "alerts": [...]}`), a bare list of alerts as
`GET /api/v2/alerts` returns them, a JSON list of payloads, or JSON lines of payloads.
Per alert: `name` = labels.alertname; `service` = `prometheus.service_from_labels(labels)`;
`severity` = `normalize_severity(labels.severity or labels.priority)`; `summary` =
annotations.summary, else annotations.description; `labels` JSON = {labels, annotations, generatorURL,
groupKey} (plus `state` for v2 API alerts). A firing alert gets `ends_ns` 0: webhooks send the zero time
"0001-01-01T00:00:00Z" and the v2 API sends a provisional future end, neither of which is a real end.
v2 API alerts have a `status` object (`state` active/suppressed/unprocessed); the API lists only
unresolved alerts, so they are `firing`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from incidentlens.ingest.common import dumps, parse_time_ns
from incidentlens.ingest.prometheus import iter_json_documents, service_from_labels
from incidentlens.ingest.sink import RowSink

_SEVERITIES = {
    "critical": "critical",
    "page": "critical",
    "p1": "critical",
    "high": "high",
    "error": "high",
    "p2": "high",
    "warning": "warning",
    "warn": "warning",
    "p3": "warning",
    "info": "info",
    "p4": "info",
    "p5": "info",
}
_V4_RE = re.compile(r'"version"\s*:\s*"4"')
_ALERTS_RE = re.compile(r'"alerts"\s*:\s*\[')
_V2_KEYS = ('"startsAt"', '"fingerprint"', '"labels"')
_V2_EXTRA_RE = re.compile(r'"(receivers|generatorURL|updatedAt)"\s*:')


def normalize_severity(value: Any) -> str:
    """critical|page|p1 -> critical, high|error|p2 -> high, warning|warn|p3 -> warning,
    info|p4|p5 -> info (any case), anything else -> unknown."""
    if not isinstance(value, str):
        return "unknown"
    return _SEVERITIES.get(value.strip().lower(), "unknown")


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else dumps(v) for k, v in value.items()}


def add_alert(alert: Any, where: str, sink: RowSink, *, group_key: str = "") -> bool:
    """One alert row; a malformed alert is reported at `where` and skipped (returns False)."""
    if not isinstance(alert, dict):
        sink.problem(where, "alert is not an object")
        return False
    if not isinstance(alert.get("labels"), dict):
        sink.problem(where, "alert has no 'labels' object")
        return False
    labels = _str_map(alert["labels"])
    annotations = _str_map(alert.get("annotations"))
    name = labels.get("alertname", "")
    starts_ns = parse_time_ns(alert.get("startsAt"))
    if not starts_ns:
        sink.problem(where, f"alert {name!r}: startsAt {alert.get('startsAt')!r} is not a time")
        return False
    raw_status = alert.get("status")
    extra: dict[str, Any] = {}
    if isinstance(raw_status, dict):  # /api/v2/alerts
        extra["state"] = raw_status.get("state", "")
        status = "firing"
    elif raw_status in ("firing", "resolved"):
        status = raw_status
    else:
        sink.problem(where, f"alert {name!r}: unknown status {raw_status!r}")
        return False
    ends_ns = 0
    if status == "resolved":
        ends_ns = parse_time_ns(alert.get("endsAt")) or 0
    details = {
        "labels": labels,
        "annotations": annotations,
        "generatorURL": alert.get("generatorURL", ""),
        "groupKey": group_key,
        **extra,
    }
    sink.alerts.add(
        starts_ns=starts_ns,
        ends_ns=ends_ns,
        name=name,
        service=service_from_labels(labels),
        severity=normalize_severity(labels.get("severity") or labels.get("priority")),
        status=status,
        fingerprint=str(alert.get("fingerprint") or ""),
        summary=annotations.get("summary") or annotations.get("description") or "",
        labels=dumps(details),
        source=where,
    )
    return True


def _add_value(value: Any, where: str, sink: RowSink) -> int:
    """A webhook payload (all its alerts) or a single v2 alert; returns alerts added."""
    if isinstance(value, dict) and isinstance(value.get("alerts"), list):
        group_key = str(value.get("groupKey") or "")
        return sum(
            add_alert(alert, f"{where} alerts[{i}]", sink, group_key=group_key)
            for i, alert in enumerate(value["alerts"])
        )
    if isinstance(value, dict) and ("labels" in value or "startsAt" in value):
        return int(add_alert(value, where, sink))
    sink.problem(where, "neither an Alertmanager webhook payload nor an alert")
    return 0


class _AlertmanagerReader:
    name = "alertmanager"
    signals = ("alerts",)

    def sniff(self, head: str, path: Path) -> bool:
        text = head.lstrip()
        if text.startswith("{"):
            return bool(_V4_RE.search(head) and _ALERTS_RE.search(head))
        if text.startswith("["):
            return all(key in head for key in _V2_KEYS) and bool(_V2_EXTRA_RE.search(head))
        return False

    def read(self, path: Path, sink: RowSink) -> None:
        for position, value in iter_json_documents(path, sink):
            _add_value(value, f"{path}{position}", sink)


READER = _AlertmanagerReader()
