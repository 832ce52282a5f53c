"""Bundle files other than telemetry: the Alertmanager webhook, the change log and truth.json."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import orjson

from incidentlens.simulate.clock import rfc3339
from incidentlens.simulate.faults import Plan
from incidentlens.simulate.history import AUTHORS, DAY, MIN, History
from incidentlens.simulate.metrics import STEP_S, Stats

# fault -> (alert name, symptom service, signal) ; signal is "errors", "latency" or "lag"
_ALERTS = {
    "payment_attribute_failure": ("CheckoutHighErrorRate", "checkout", "errors"),
    "config_timeout": ("FrontendHighErrorRate", "frontend", "errors"),
    "queue_consumer_lag": ("KafkaConsumerLagHigh", "kafka", "lag"),
}
_LATENCY_FAULTS = {"cache_failure_memory", "cpu_saturation", "memory_leak", "slow_db_query", "network_delay"}


def _dump(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


def alert_rule(plan: Plan) -> tuple[str, str, str]:
    if plan.fault in _ALERTS:
        return _ALERTS[plan.fault]
    if plan.fault == "dependency_unreachable" and plan.service == "payment":
        return ("CheckoutHighErrorRate", "checkout", "errors")
    if plan.fault == "memory_leak" and plan.service == "email":
        return ("CheckoutLatencyHigh", "checkout", "latency")
    if plan.fault in _LATENCY_FAULTS or plan.fault == "none":
        return ("FrontendLatencyHigh", "frontend", "latency")
    return ("FrontendHighErrorRate", "frontend", "errors")


def _observed(stats: Stats, service: str, signal: str, t_ns: int) -> str:
    """The value the rule saw at firing time, for the alert description (max over the last minute)."""
    i = min(stats.n - 1, max(0, (t_ns - stats.start_ns) // (STEP_S * 1_000_000_000)))
    window = range(max(0, i - 3), i + 1)
    if signal == "lag":
        lag = sum(stats.produced_n[: i + 1]) - sum(stats.consumed_n[: i + 1])
        return f"consumer group accounting is {max(0, lag)} messages behind on topic orders"
    if signal == "errors":
        req = sum(stats.count[service][j] for j in window)
        err = sum(stats.errors[service][j] for j in window)
        return f"{service} error ratio is {100.0 * err / max(1, req):.1f}% over the last minute"
    p95 = max((stats.p95(service, j) or 0.0) for j in window)
    return f"{service} p95 latency is {p95 * 1000:.0f} ms"


def write_alert(path: Path, plan: Plan, stats: Stats, alert_ns: int) -> None:
    name, service, signal = alert_rule(plan)
    severity = "warning" if plan.fault == "none" else "page"
    labels = {"alertname": name, "service": service, "severity": severity, "namespace": "shop"}
    if signal == "lag":
        labels.update({"topic": "orders", "consumergroup": "accounting"})
    # The healthy bundle's alert is a noisy one: its latency threshold sits just under normal p95.
    threshold = "75ms" if plan.fault == "none" else "500ms" if service == "frontend" else "150ms"
    summary = {
        "errors": f"{service} error ratio above 5% for 2m",
        "latency": f"{service} p95 latency above {threshold} for 2m",
        "lag": "kafka consumer lag above 20 messages for 2m",
    }[signal]
    annotations = {
        "summary": summary,
        "description": _observed(stats, service, signal, alert_ns),
        "runbook_url": f"https://runbooks.shop.example/{name}",
    }
    fingerprint = hashlib.sha256(orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(alert_ns),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus.shop.example:9090/graph?g0.expr={name}",
        "fingerprint": fingerprint,
    }
    doc = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "incidentlens",
        "groupLabels": {"alertname": name},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.shop.example:9093",
        "alerts": [alert],
    }
    _dump(path, doc)


def write_changes(path: Path, plan: Plan, history: History, shas: dict[str, str], rng: random.Random) -> None:
    messages = {c.key: c.message for c in history.commits}
    changes: list[dict[str, Any]] = []
    for d in history.deploys:
        changes.append(
            {
                "kind": "deploy",
                "service": d.service,
                "timestamp": rfc3339(d.time_ns, 0),
                "description": f"deploy {d.service} {d.current}: {messages[d.commit_key]}",
                "author": AUTHORS[d.author].email,
                "commit": shas[d.commit_key],
                "previous": d.previous,
                "current": d.current,
            }
        )
    onset = plan.onset_ns
    routine = [
        ("feature_flag", "frontend", onset - 3 * DAY + 5 * 3600 * 10**9, "flag loadGeneratorVUs: 5 -> 10", "5", "10"),
        (
            "config",
            "checkout",
            onset - 9 * DAY + 2 * 3600 * 10**9,
            "checkout config currency_timeout_ms: 1500 -> 1000",
            "1500",
            "1000",
        ),
        (
            "feature_flag",
            "recommendation",
            onset - int(rng.uniform(20, 30) * 3600e9),
            "flag recommendationCacheFailure: targeting rule removed",
            "off",
            "off",
        ),
    ]
    if plan.config:
        key, prev, cur = plan.config["key"], plan.config["previous"], plan.config["current"]
        routine.append(("config", plan.service, onset, f"checkout config {key}: {prev} -> {cur}", prev, cur))
    for kind, service, t, desc, prev, cur in routine:
        changes.append(
            {
                "kind": kind,
                "service": service,
                "timestamp": rfc3339(t, 0),
                "description": desc,
                "author": AUTHORS["@maria-costa" if kind == "feature_flag" else "@jonas-weber"].email,
                "commit": "",
                "previous": prev,
                "current": cur,
            }
        )
    changes.sort(key=lambda c: (c["timestamp"], c["service"]))
    _dump(path, {"changes": changes})


def alert_time(plan: Plan, rng: random.Random, start_ns: int, end_ns: int) -> int:
    """~2 minutes after onset, on a 15 s rule-evaluation boundary; anywhere late in a healthy window."""
    if plan.fault == "none":
        t = start_ns + int((end_ns - start_ns) * rng.uniform(0.6, 0.9))
    else:
        t = plan.onset_ns + int(rng.uniform(110, 150) * 1e9)
        t = min(t, end_ns - MIN // 4)
    step = STEP_S * 1_000_000_000
    return t - (t - start_ns) % step + step


def dump_json(path: Path, doc: Any) -> None:
    _dump(path, doc)
