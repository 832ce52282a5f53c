"""`simulate()`: one fault, one seed -> one incident bundle on disk plus its ground truth.

At scale 1 the default 40-minute window holds ~2,900 user requests: ~30k spans, ~15k log lines,
~25 MB, generated in well under a second. Everything streams to disk in batches (memory stays under
~100 MB at any scale), so `BENCHMARK_SCALE` (72) yields >= 1M log lines and ~2M spans (~1.8 GB, ~40 s);
with `BENCHMARK_TRACE_SAMPLE` head sampling it keeps ~100k spans, as a sampled production system would.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from incidentlens.errors import ConfigError
from incidentlens.simulate import codefaults, metrics, repo
from incidentlens.simulate import history as hist
from incidentlens.simulate import openmetrics as om
from incidentlens.simulate.clock import base_time_ns, rfc3339
from incidentlens.simulate.faults import FAULTS, resolve
from incidentlens.simulate.fleet import Fleet
from incidentlens.simulate.logs import LogWriter
from incidentlens.simulate.spans import SpanWriter
from incidentlens.simulate.topology import SERVICES
from incidentlens.simulate.traffic import Traffic
from incidentlens.simulate.writer import alert_time, dump_json, write_alert, write_changes

BASE_RATE = 1.2  # user requests per second at scale 1
BENCHMARK_SCALE = 72.0
BENCHMARK_TRACE_SAMPLE = 0.05  # >= 1M log lines and >= 100k spans
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Truth:
    """Ground truth of a generated incident; also written as truth.json."""

    scenario: str
    fault: str
    service: str
    fault_kind: str
    commit: str
    file: str
    lines: tuple[int, ...]
    owner: str
    onset: str
    onset_ns: int
    alert_time: str
    alert_ns: int
    seed: int
    description: str
    red_herring: str
    window_start: str
    window_end: str
    scale: float
    details: Mapping[str, str] = field(default_factory=dict)


def _check(fault: str, out: Path, scale: float, normal_minutes: int, incident_minutes: int) -> None:
    if fault not in FAULTS:
        raise ConfigError(f"unknown fault {fault!r}; choose one of: {', '.join(FAULTS)}")
    if not scale > 0:
        raise ConfigError(f"scale must be positive, got {scale}")
    if normal_minutes < 5 or incident_minutes < 3:
        raise ConfigError("need at least 5 normal minutes and 3 incident minutes")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: output directory exists and is not empty")


def simulate(
    fault: str,
    *,
    seed: int = 7,
    out: Path,
    scale: float = 1.0,
    normal_minutes: int = 30,
    incident_minutes: int = 10,
    with_repo: bool = True,
    trace_sample: float = 1.0,
    openmetrics: bool = False,
    start_ns: int | None = None,
) -> Truth:
    """Generate the bundle for `fault` into `out` (must be absent or empty); same seed, same bytes.

    `trace_sample` keeps that share of traces (head sampling by trace id), as production tracing does;
    logs keep the trace ids of unsampled traces, like real services. `openmetrics` also writes the raw
    exporter series behind the metrics file (`openmetrics/metrics.om`) for backfilling a real Prometheus.
    `start_ns` moves the whole window (default: a fixed November 2026 date from the seed), e.g. to end now.
    """
    out = Path(out)
    _check(fault, out, scale, normal_minutes, incident_minutes)
    if not 0.0 < trace_sample <= 1.0:
        raise ConfigError(f"trace sample ratio must be in (0, 1], got {trace_sample}")
    rng = random.Random(f"incidentlens:{seed}:{fault}")
    start = base_time_ns(seed) if start_ns is None else start_ns
    onset = start + normal_minutes * 60 * _NS + rng.randrange(5, 55) * _NS + rng.randrange(_NS)
    end = start + (normal_minutes + incident_minutes) * 60 * _NS
    plan = resolve(fault, random.Random(rng.getrandbits(64)), onset)
    history = hist.plan_history(plan, random.Random(rng.getrandbits(64)), start, onset)
    fleet = Fleet(hist.rollouts(history, start), seed)

    out.mkdir(parents=True, exist_ok=True)
    spans = SpanWriter(out / "traces" / "traces.otlp.jsonl", sample_ratio=trace_sample)
    logs = LogWriter(out / "logs", list(SERVICES))
    stats = metrics.Stats(start, end)
    traffic = Traffic(
        plan=plan,
        rng=random.Random(rng.getrandbits(64)),
        fleet=fleet,
        spans=spans,
        logs=logs,
        stats=stats,
        files=history.head,
        start_ns=start,
        end_ns=end,
        rate=BASE_RATE * scale,
    )
    try:
        traffic.run()
    finally:
        spans.close()
        logs.close()
    points = metrics.series(stats, plan, fleet, random.Random(rng.getrandbits(64)), end)
    metrics.write(out / "metrics" / "metrics.prom.json", metrics.build(points))
    if openmetrics:
        om.write(out / "openmetrics" / "metrics.om", om.exposition(stats, points))
    alert_ns = alert_time(plan, rng, start, end)
    write_alert(out / "alerts" / "alertmanager.json", plan, stats, alert_ns)
    shas = repo.write_repo(history, out / "repo") if with_repo else repo.synthetic_shas(history, seed)
    write_changes(out / "changes" / "changes.json", plan, history, shas, rng)

    change = plan.change
    path, lines = "", tuple[int, ...]()
    if change is not None:
        path = change.path
        lines = tuple(codefaults.changed_lines(change, history.head[path]))
    truth = Truth(
        scenario=f"{fault}-seed{seed}",
        fault=fault,
        service=plan.service,
        fault_kind=plan.kind.value if plan.kind else "",
        commit=shas[history.fault_key] if history.fault_key else "",
        file=path,
        lines=lines,
        owner=_owner(plan.service, path),
        onset=rfc3339(onset, 3) if plan.service else "",
        onset_ns=onset if plan.service else 0,
        alert_time=rfc3339(alert_ns),
        alert_ns=alert_ns,
        seed=seed,
        description=plan.description,
        red_herring=history.red_herring,
        window_start=rfc3339(start),
        window_end=rfc3339(end),
        scale=scale,
        details={
            k: v
            for k, v in (
                ("attribute", plan.attr_key),
                ("value", plan.attr_value),
                ("timeout_target", plan.timeout_target),
            )
            if v
        }
        | dict(plan.config),
    )
    dump_json(out / "truth.json", asdict(truth))
    return truth


def _owner(service: str, path: str) -> str:
    """CODEOWNERS owner of the faulty file (first listed), else the catalog owner of the service."""
    if path:
        from incidentlens.simulate.repofiles import CODEOWNERS

        owner = ""
        for line in CODEOWNERS.splitlines():
            parts = line.split()
            if parts and not line.startswith("#") and _matches(parts[0], path):
                owner = parts[1]
        return owner
    return SERVICES[service].owner if service else ""


def _matches(pattern: str, path: str) -> bool:
    """Enough of GitHub's CODEOWNERS matching for the patterns we write."""
    if pattern == "*":
        return True
    if pattern.startswith("**/"):
        return path.endswith("/" + pattern[3:]) or path == pattern[3:]
    anchored = pattern.lstrip("/")
    if anchored.endswith("/"):
        return path.startswith(anchored)
    return path == anchored
