"""Webhook load: a real `incidentlens serve` on loopback takes Alertmanager alerts at a fixed rate.

Many fingerprints recur (each alert is one of `--fingerprints`), as a flapping fleet sends them. Checks:
- no alert lost: every alert sent is answered 202 and accounted (incident opened or updated), or refused
  with 503 + Retry-After (counted and reported, never silent);
- no duplicate incident per fingerprint: one open incident per fingerprint, each opened exactly once.
Prints the achieved rate, p50/p99 latency, incidents and jobs.

Usage: python benchmarks/bench_webhooks.py [--rate 200] [--seconds 60] [--fingerprints 50] [--investigate] [--json]
       [--replicas 2 --postgres | --database-url postgresql+psycopg://...]
`--investigate` gives the server the demo bundle as telemetry, so queued investigations really run meanwhile.
`--replicas N` starts N servers (separate processes and workspaces) on one database and sends alert n to
replica n % N, so every fingerprint reaches every replica; `--postgres` starts a private PostgreSQL cluster
(Debian's `postgresql`, as the tests do) for them. Also checks then that no job ran twice (attempts).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

SECRET_HEADER = "X-IncidentLens-Webhook-Secret"


@dataclass
class Tally:
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    opened: dict[str, list[str]] = field(default_factory=dict)  # fingerprint -> incidents opened for it
    incident_of: dict[str, set[str]] = field(default_factory=dict)  # fingerprint -> incidents answered
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _payload(fingerprint: str, n: int) -> bytes:
    alert = {
        "status": "firing",
        "labels": {
            "alertname": f"HighErrorRate-{fingerprint}",
            "service": f"svc-{fingerprint}",
            "severity": "critical",
        },
        "annotations": {"summary": f"error rate above 5% (notification {n})"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    }
    body = {"version": "4", "groupKey": f"{{}}:{{alertname={fingerprint}}}", "status": "firing", "alerts": [alert]}
    return orjson.dumps(body)


def start_server(
    workspace: Path,
    *,
    investigate: bool,
    database_url: str | None = None,
    credentials: tuple[str, str] | None = None,
    bundle: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start `incidentlens serve` on a free port; returns the process, base URL and the webhook secret."""
    secret, token = credentials or (secrets.token_urlsafe(16), secrets.token_urlsafe(16))
    workspace.mkdir(parents=True, exist_ok=True)
    telemetry = ""
    if investigate:
        if bundle is None:
            from incidentlens.simulate import DEFAULT_FAULT, simulate

            bundle = workspace / "bundle"
            simulate(DEFAULT_FAULT, seed=7, out=bundle)
        telemetry = f"telemetry: {{paths: ['{bundle}']}}\n"
    (workspace / "config.yaml").write_text(
        f"users:\n  bench: {{roles: [admin], token_sha256: {hashlib.sha256(token.encode()).hexdigest()}}}\n"
        f"web: {{webhook_secrets: {{alertmanager: {secret}}}, queue_size: 10000}}\n{telemetry}",
        encoding="utf-8",
    )
    port = _free_port()
    cmd = [sys.executable, "-m", "incidentlens", "--workspace", str(workspace)]
    cmd += ["--database-url", database_url] if database_url else []
    cmd += ["serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                return proc, base, f"{secret}\n{token}"
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


def _send(client: httpx.Client, url: str, secret: str, fingerprint: str, n: int, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        response = client.post(
            url, content=_payload(fingerprint, n), headers={SECRET_HEADER: secret, "content-type": "application/json"}
        )
    except httpx.HTTPError as exc:
        with tally.lock:
            tally.errors.append(f"{fingerprint}#{n}: {type(exc).__name__}")
        return
    elapsed = time.perf_counter() - started
    with tally.lock:
        tally.latencies.append(elapsed)
        if response.status_code == 503 and response.headers.get("retry-after"):
            tally.refused += 1
            return
        if response.status_code != 202:
            tally.errors.append(f"{fingerprint}#{n}: HTTP {response.status_code} {response.text[:200]}")
            return
        for item in response.json()["alerts"]:
            if item["action"] not in ("opened", "updated") or not item["incident"]:
                tally.errors.append(f"{fingerprint}#{n}: not accounted: {item}")
                continue
            tally.accepted += 1
            tally.incident_of.setdefault(item["fingerprint"], set()).add(item["incident"])
            if item["action"] == "opened":
                tally.opened.setdefault(item["fingerprint"], []).append(item["incident"])


def run_load(
    bases: list[str], secret: str, *, rate: float, seconds: float, fingerprints: int, threads: int = 32
) -> Tally:
    """Send `rate` alerts/s for `seconds` (open loop: a slow answer does not slow the schedule), alert n to
    replica n % len(bases)."""
    tally = Tally()
    urls = [f"{base}/api/v1/webhooks/alertmanager" for base in bases]
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))
        return local.client  # type: ignore[no-any-return]

    total = int(rate * seconds)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            fingerprint = f"fp{n % fingerprints:04d}"
            tally.sent += 1
            url = urls[n % len(urls)]
            pool.submit(lambda f=fingerprint, i=n, u=url: _send(client(), u, secret, f, i, tally))
        tally.send_seconds = time.perf_counter() - start  # type: ignore[attr-defined]
    tally.latencies.sort()
    tally.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
    return tally


def summarise(base: str, token: str, tally: Tally, *, fingerprints: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    incidents = httpx.get(f"{base}/api/v1/incidents", headers=headers, timeout=30).json()
    listed = httpx.get(f"{base}/api/v1/jobs?limit=1000", headers=headers, timeout=30).json()
    jobs = listed["counts"]
    attempts = [int(j["attempts"]) for j in listed["jobs"] if j["status"] in ("done", "failed")]
    by_fp: dict[str, int] = {}
    for inc in incidents:
        by_fp[inc["alert_fingerprint"]] = by_fp.get(inc["alert_fingerprint"], 0) + 1
    lat = tally.latencies or [0.0]
    return {
        "sent": tally.sent,
        "accepted": tally.accepted,
        "refused_503": tally.refused,
        "lost": tally.sent - tally.accepted - tally.refused,
        "errors": tally.errors[:10],
        "offered_rate": round(tally.sent / tally.send_seconds, 1),  # type: ignore[attr-defined]
        "achieved_rate": round((tally.accepted + tally.refused) / tally.elapsed, 1),  # type: ignore[attr-defined]
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2),
        "incidents": len(incidents),
        "fingerprints": fingerprints,
        "duplicate_incidents": sum(n - 1 for n in by_fp.values() if n > 1),
        "opened_more_than_once": sorted(fp for fp, ids in tally.opened.items() if len(ids) > 1),
        "fingerprints_on_several_incidents": sorted(fp for fp, ids in tally.incident_of.items() if len(ids) > 1),
        "jobs": jobs,
        "finished_jobs_run_more_than_once": sum(1 for a in attempts if a > 1),
    }


def bench(
    *,
    rate: float,
    seconds: float,
    fingerprints: int,
    investigate: bool,
    replicas: int = 1,
    database_url: str | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="incidentlens-bench-webhooks-") as tmp:
        credentials = (secrets.token_urlsafe(16), secrets.token_urlsafe(16))
        bundle = None
        if investigate and replicas > 1:
            from incidentlens.simulate import DEFAULT_FAULT, simulate

            bundle = Path(tmp) / "bundle"  # telemetry files every replica reads; state is only in the database
            simulate(DEFAULT_FAULT, seed=7, out=bundle)
        started: list[subprocess.Popen[bytes]] = []
        try:
            bases = []
            for n in range(replicas):
                proc, base, _ = start_server(
                    Path(tmp) / f"replica{n + 1}",
                    investigate=investigate,
                    database_url=database_url,
                    credentials=credentials,
                    bundle=bundle,
                )
                started.append(proc)
                bases.append(base)
            secret, token = credentials
            tally = run_load(bases, secret, rate=rate, seconds=seconds, fingerprints=fingerprints)
            result = summarise(bases[0], token, tally, fingerprints=fingerprints)
            result["replicas"] = replicas
            result["database"] = (database_url or "sqlite").split(":", 1)[0]
            return result
        finally:
            for proc in started:
                proc.terminate()
            for proc in started:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def ok(result: dict[str, Any]) -> bool:
    """No alert lost and no duplicate incident per fingerprint."""
    return (
        result["lost"] == 0
        and not result["errors"]
        and result["duplicate_incidents"] == 0
        and not result["opened_more_than_once"]
        and not result["fingerprints_on_several_incidents"]
        and result["finished_jobs_run_more_than_once"] == 0
        and result["incidents"] == min(result["fingerprints"], result["sent"])
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fingerprints", type=int, default=50)
    parser.add_argument("--investigate", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--replicas", type=int, default=1, help="servers sharing one database (default 1)")
    parser.add_argument("--database-url", default=None, help="a shared database, e.g. postgresql+psycopg://...")
    parser.add_argument("--postgres", action="store_true", help="start a private PostgreSQL cluster for the run")
    args = parser.parse_args()
    if args.replicas > 1 and not (args.database_url or args.postgres):
        parser.error("--replicas above 1 needs a shared server database: --postgres or --database-url")
    run = functools.partial(
        bench,
        rate=args.rate,
        seconds=args.seconds,
        fingerprints=args.fingerprints,
        investigate=args.investigate,
        replicas=args.replicas,
    )
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pg_cluster import PG_BIN_GLOB, create_database, pg_bin, postgres_cluster

        bin_dir = pg_bin()
        if bin_dir is None:
            parser.error(f"--postgres: PostgreSQL is not installed (no initdb under {PG_BIN_GLOB})")
        with postgres_cluster(bin_dir) as server:
            result = run(database_url=create_database(server, "bench"))
    else:
        result = run(database_url=args.database_url)
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for key, value in result.items():
            print(f"{key:>34}: {value}")
        print("PASS" if ok(result) else "FAIL")
    return 0 if ok(result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
