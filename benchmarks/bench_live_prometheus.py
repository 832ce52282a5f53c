"""Live investigation from a real Prometheus: 50 services, 40 minutes at 15 s, one of them CPU-saturated.

Writes the raw exporter series (Prometheus client `http_requests_total` + `http_request_duration_seconds`
histograms, cAdvisor CPU and memory, kube-state-metrics restarts) as OpenMetrics, backfills them with
promtool into a temporary Prometheus on 127.0.0.1, then runs one live investigation as a user would:
`incidentlens investigate --source prom --alert alert.json` in a fresh process (the window comes from the
alert; no services named). Prints its wall time (target: under 10 s on 2 cores), the peak RSS of that process
and the rows the source loaded (bounded by `max_rows`).

Usage: python benchmarks/bench_live_prometheus.py [--services 50] [--minutes 40] [--json]
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "sources"))

import prometheus_servers as servers  # noqa: E402 - the tests' helpers for real servers

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
START_S = 1_794_000_000  # 2026-11-05 UTC, a month before "now" in the test machines' clock
STEP_S = 15


def _service(i: int) -> str:
    return f"svc-{i:02d}"


def generate(n_services: int, minutes: int, faulty: int, seed: int = 5) -> tuple[str, dict[str, int]]:
    """OpenMetrics text and the incident's times (onset, alert). Calls form a tree (i is called by (i-1)//3):
    the faulty service's latency reaches its ancestors, halved at each level."""
    rng = np.random.default_rng(seed)
    times = [START_S + STEP_S * (k + 1) for k in range(minutes * 60 // STEP_S)]
    onset = START_S + (minutes - 10) * 60 + 20
    ancestors = {faulty: 1.0}
    node, share = faulty, 1.0
    while node:
        node, share = (node - 1) // 3, share / 2
        ancestors[node] = share
    lines: dict[str, list[str]] = {"req": [], "hist": [], "cpu": [], "mem": [], "restarts": []}
    for i in range(n_services):
        svc = _service(i)
        pod = f"{svc}-7d9f8c6b5-x{i:02d}qz"
        app = f'service="{svc}",namespace="bench",pod="{pod}",job="kubernetes-pods"'
        kube = f'namespace="bench",pod="{pod}",container="{svc}"'
        rps = float(rng.uniform(5, 40))
        median_s = float(rng.uniform(0.004, 0.04))
        base_cpu = float(rng.uniform(0.05, 0.4))
        memory = float(rng.uniform(100, 600)) * 2**20
        ok = errors = 0
        cumulative = np.zeros(len(BOUNDS) + 1, dtype=np.int64)
        seconds = cpu = 0.0
        for t in times:
            level = 0.0 if t < onset else min(1.0, (t - onset) / 60 + 0.05)
            slow = 1.0 + 7.0 * level * ancestors.get(i, 0.0)
            n = int(rng.poisson(rps * STEP_S))
            latencies = rng.lognormal(math.log(median_s * slow), 0.5, n)
            cumulative += np.bincount(np.searchsorted(BOUNDS, latencies), minlength=len(BOUNDS) + 1)
            seconds += float(latencies.sum())
            failed = int(rng.binomial(n, 0.002))
            ok, errors = ok + n - failed, errors + failed
            lines["req"].append(f'http_requests_total{{{app},code="200"}} {ok} {t}')
            lines["req"].append(f'http_requests_total{{{app},code="500"}} {errors} {t}')
            below = 0
            for le, count in zip((*BOUNDS, "+Inf"), cumulative, strict=True):
                below += int(count)
                lines["hist"].append(f'http_request_duration_seconds_bucket{{{app},le="{le}"}} {below} {t}')
            lines["hist"].append(f"http_request_duration_seconds_count{{{app}}} {below} {t}")
            lines["hist"].append(f"http_request_duration_seconds_sum{{{app}}} {seconds:.6f} {t}")
            usage = base_cpu * (1 + rng.normal(0, 0.05))
            if i == faulty:
                usage += (0.98 - usage) * level
            cpu += max(0.001, usage) * STEP_S
            lines["cpu"].append(f'container_cpu_usage_seconds_total{{{kube},job="kubelet"}} {cpu:.6f} {t}')
            mem = memory * (1 + rng.normal(0, 0.01))
            lines["mem"].append(f'container_memory_working_set_bytes{{{kube},job="kubelet"}} {mem:.0f} {t}')
            restarts = f'kube_pod_container_status_restarts_total{{{kube},job="kube-state-metrics"}} 0 {t}'
            lines["restarts"].append(restarts)
    text = "\n".join(
        [
            "# TYPE http_requests counter",
            *lines["req"],
            "# TYPE http_request_duration_seconds histogram",
            *lines["hist"],
            "# TYPE container_cpu_usage_seconds counter",
            *lines["cpu"],
            "# TYPE container_memory_working_set_bytes gauge",
            *lines["mem"],
            "# TYPE kube_pod_container_status_restarts counter",
            *lines["restarts"],
            "# EOF",
        ]
    )
    return text + "\n", {"onset": onset, "alert": onset + 135, "start": START_S, "end": times[-1]}


def alert(service: str, at_s: int) -> dict[str, object]:
    labels = {"alertname": "LatencyHigh", "service": service, "severity": "page", "namespace": "bench"}
    starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_s))
    item = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"{service} p95 latency above 150ms for 2m"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "b3c1d2e4f5a60718",
    }
    return {"version": "4", "status": "firing", "receiver": "incidentlens", "commonLabels": labels, "alerts": [item]}


def investigate_live(url: str, alert_path: str, workspace: str) -> dict[str, Any]:
    """One live investigation exactly as a user runs it, `incidentlens investigate --source prom --alert FILE`,
    in a fresh process; prints the wall time, the peak RSS of that process and what the brief says as JSON."""
    config = Path(workspace) / "config.yaml"
    config.write_text(f"sources:\n  prom: {{kind: prometheus, url: '{url}'}}\n", encoding="utf-8")
    argv = [sys.executable, "-m", "incidentlens", "--workspace", workspace, "investigate", "--config", str(config)]
    argv += ["--source", "prom", "--alert", alert_path, "--no-record", "--no-memory", "--json"]
    started = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True)
    wall = time.perf_counter() - started
    brief = orjson.loads(done.stdout)
    prom = next(s for s in brief["sources"] if s["name"] == "prom")
    top = brief["hypotheses"][0] if brief["hypotheses"] else None
    figures = {
        "live_investigation_s": wall,
        "source_load_s": prom["seconds"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "rows": prom["rows"],
        "requests": prom["requests"],
        "errors": prom["errors"],
        "truncated": prom["truncated"],
        "top": [top["service"], top["fault"], round(top["confidence"], 3)] if top else None,
    }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=40)
    parser.add_argument("--faulty", type=int, default=17, help="index of the CPU-saturated service")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incidentlens-bench-prom-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        text, times = generate(args.services, args.minutes, args.faulty)
        (root / "series.om").write_text(text, encoding="utf-8")
        (root / "alert.json").write_bytes(orjson.dumps(alert(_service(0), times["alert"])))
        t1 = time.perf_counter()
        servers.backfill(root / "series.om", root / "data")
        t2 = time.perf_counter()
        prometheus = servers.start_prometheus(root / "data")
        try:
            figures = investigate_live(prometheus.url, str(root / "alert.json"), str(root))
        finally:
            prometheus.stop()
        figures |= {
            "samples_backfilled": text.count("\n") - 6,
            "generate_s": t1 - t0,
            "backfill_s": t2 - t1,
            "expected_top": [_service(args.faulty), "cpu"],
        }
    if args.json:
        print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
        return 0
    ok = figures["top"] is not None and figures["top"][:2] == figures["expected_top"]
    print(f"series: {args.services} services x {args.minutes} min at 15 s, {figures['samples_backfilled']} samples")
    print(f"generate {figures['generate_s']:.1f} s, promtool backfill {figures['backfill_s']:.1f} s (not timed below)")
    print(
        f"incidentlens investigate --source prom --alert FILE: {figures['live_investigation_s']:.2f} s wall "
        f"(source load {figures['source_load_s']:.2f} s), peak RSS {figures['peak_rss_mb']:.0f} MB"
    )
    print(
        f"rows {figures['rows']}, {figures['requests']} requests, "
        f"errors {len(figures['errors'])}, truncated {figures['truncated'] or 'none'}"
    )
    print(f"top hypothesis {figures['top']} (expected {figures['expected_top']}): {'OK' if ok else 'MISMATCH'}")
    return 0 if ok and figures["live_investigation_s"] < 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
