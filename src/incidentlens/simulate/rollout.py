"""`simulate_rollout()`: one rolling update, one seed -> a metrics-only bundle on disk plus its ground truth.

The bundle holds what a Kubernetes shop with a service mesh keeps: per-pod and per-call-edge metrics
(`metrics/metrics.prom.json`), one deploy event per rollout step naming service, version and pod
(`changes/changes.json`), one SLO alert on the entry service (`alerts/alertmanager.json`) and `truth.json`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from incidentlens.errors import ConfigError
from incidentlens.simulate.clock import base_time_ns, rfc3339
from incidentlens.simulate.history import AUTHORS
from incidentlens.simulate.rollout_metrics import query_range, series
from incidentlens.simulate.rollout_plan import ENTRY, ROLLOUT_FAULTS, RolloutPlan, plan_rollout
from incidentlens.simulate.topology import SERVICES
from incidentlens.simulate.writer import dump_json


@dataclass(frozen=True, slots=True)
class RolloutTruth:
    """Ground truth of a simulated rollout; also written as truth.json. Empty `service`: nothing defective."""

    scenario: str
    fault: str
    service: str
    version: str
    pods: tuple[str, ...]
    change_ns: int
    onset: str
    alert_time: str
    alert_ns: int
    rolled: tuple[str, ...]
    latest_change_service: str  # the service deployed last before the alert (the recency baseline's answer)
    magnitude: float
    seed: int
    window_start: str
    window_end: str


def simulate_rollout(fault: str, *, seed: int = 7, out: Path, services: int | None = None) -> RolloutTruth:
    """Write the bundle of a rolling update with `fault` into `out` (absent or empty); same seed, same bytes."""
    if fault not in ROLLOUT_FAULTS:
        raise ConfigError(f"unknown rollout fault {fault!r}; choose one of: {', '.join(ROLLOUT_FAULTS)}")
    if services is not None and not 1 <= services <= 6:
        raise ConfigError(f"a rollout covers 1 to 6 services, got {services}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: output directory exists and is not empty")
    plan = plan_rollout(fault, seed=seed, start_ns=base_time_ns(seed), services=services)
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics" / "metrics.prom.json"
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_bytes(orjson.dumps(query_range(series(plan))))
    dump_json(out / "changes" / "changes.json", {"changes": change_events(plan)})
    dump_json(out / "alerts" / "alertmanager.json", alert(plan))
    before_alert = [s for s in plan.steps if s.ts_ns <= plan.alert_ns]
    truth = RolloutTruth(
        scenario=f"{fault}-seed{seed}",
        fault=fault,
        service=plan.defective,
        version=plan.bad_version,
        pods=tuple(p for p in plan.bad_pods if _started(plan, p) <= plan.alert_ns),
        change_ns=plan.onset_ns,
        onset=rfc3339(plan.onset_ns, 3) if plan.defective else "",
        alert_time=rfc3339(plan.alert_ns),
        alert_ns=plan.alert_ns,
        rolled=plan.rolled,
        latest_change_service=before_alert[-1].service if before_alert else "",
        magnitude=round(plan.magnitude, 4),
        seed=seed,
        window_start=rfc3339(plan.start_ns),
        window_end=rfc3339(plan.end_ns),
    )
    dump_json(out / "truth.json", asdict(truth))
    return truth


def _started(plan: RolloutPlan, pod: str) -> int:
    return next(p.start_ns for p in plan.pods if p.name == pod)


def change_events(plan: RolloutPlan) -> list[dict[str, Any]]:
    """One deploy event per rollout step, in the documented change format (docs/formats/changes.md)."""
    return [
        {
            "kind": "deploy",
            "service": s.service,
            "timestamp": rfc3339(s.ts_ns, 3),
            "version": s.version,
            "previous": s.previous,
            "pod": s.new_pod,
            "replaced_pod": s.old_pod,
            "step": f"{s.index}/{s.replicas}",
            "description": f"rolling update of {s.service} to {s.version}: pod {s.new_pod} replaces {s.old_pod}"
            f" (step {s.index} of {s.replicas})",
            "author": AUTHORS[SERVICES[s.service].oncall].email,
        }
        for s in plan.steps
    ]


def alert(plan: RolloutPlan) -> dict[str, Any]:
    """The entry service's SLO alert as an Alertmanager webhook (a noisy one when nothing is defective)."""
    signal = ROLLOUT_FAULTS[plan.fault].signal
    name = "FrontendHighErrorRate" if signal == "errors" else "FrontendLatencyHigh"
    labels = {"alertname": name, "service": ENTRY, "severity": "page", "namespace": "shop"}
    summary = f"{ENTRY} error ratio above 2% for 2m" if signal == "errors" else f"{ENTRY} p95 latency above SLO"
    annotations = {"summary": summary, "runbook_url": f"https://runbooks.shop.example/{name}"}
    fingerprint = hashlib.sha256(orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    firing = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(plan.alert_ns),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus.shop.example:9090/graph?g0.expr={name}",
        "fingerprint": fingerprint,
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "status": "firing",
        "receiver": "incidentlens",
        "groupLabels": {"alertname": name},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.shop.example:9093",
        "alerts": [firing],
    }
