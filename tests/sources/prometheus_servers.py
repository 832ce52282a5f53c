"""Real Prometheus and VictoriaMetrics on 127.0.0.1 for the Prometheus source's tests and benchmark.

Prometheus is backfilled with `promtool tsdb create-blocks-from openmetrics` into a temporary data folder and
started on an ephemeral port with a 100-year retention; VictoriaMetrics takes the same series through
`/api/v1/import/prometheus` (millisecond timestamps). `shared_servers()` loads, once per test process, the
simulated `cpu_saturation` incident (raw exporter series written by the simulator) and a small synthetic
service-mesh data set; both servers stop when the process exits. `RecordingProxy` sits in front of a server
to record headers and inject failures (a status, a stall) into chosen requests.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx

from incidentlens.model import TimeRange
from incidentlens.simulate import Truth, simulate

FAULT, SEED = "cpu_saturation", 3
MESH_START_S = 1_795_000_000  # 2026-11-18, far from the simulated incident's window
MESH_MINUTES = 20


class MissingBinary(RuntimeError):
    """A server binary is not installed (CI installs them through .ci/run)."""


def require(*binaries: str) -> None:
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        raise MissingBinary(f"{', '.join(missing)} not installed (apt-get install prometheus victoria-metrics)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _start(name: str, argv: list[str], url: str, ready_path: str, log: Path) -> Server:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, url, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + ready_path, timeout=1).status_code == 200:
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} not ready after 30 s: {log.read_text(errors='replace')[-2000:]}")


def backfill(openmetrics: Path, data_dir: Path) -> None:
    """Write TSDB blocks from an OpenMetrics file (samples older than the head are fine for backfilling)."""
    require("promtool")
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(data_dir)],
        check=True,
        capture_output=True,
        timeout=300,
    )


def start_prometheus(data_dir: Path, *, lookback: str = "1m") -> Server:
    """Prometheus over a backfilled data folder; no scrape targets, so the data stays what was loaded."""
    require("prometheus")
    config = data_dir.parent / f"{data_dir.name}.yml"
    config.write_text("global: {}\n", encoding="utf-8")
    port = free_port()
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=100y",
        f"--query.lookback-delta={lookback}",
        "--log.level=warn",
    ]
    return _start("prometheus", argv, f"http://127.0.0.1:{port}", "/-/ready", data_dir.parent / "prometheus.log")


def start_victoria(data_dir: Path) -> Server:
    require("victoria-metrics")
    port = free_port()
    argv = [
        "victoria-metrics",
        f"-storageDataPath={data_dir}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",
        "-search.disableCache",
        "-loggerLevel=ERROR",
    ]
    return _start("victoria-metrics", argv, f"http://127.0.0.1:{port}", "/health", data_dir.parent / "victoria.log")


def import_victoria(server: Server, openmetrics: Path) -> None:
    """Send OpenMetrics samples to VictoriaMetrics' Prometheus-text import (timestamps in milliseconds)."""
    lines = []
    for line in openmetrics.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            head, value, stamp = line.rsplit(" ", 2)
            lines.append(f"{head} {value} {round(float(stamp) * 1000)}")
    for start in range(0, len(lines), 200_000):  # batches well under the default 32 MB request limit
        body = "\n".join(lines[start : start + 200_000]) + "\n"
        httpx.post(server.url + "/api/v1/import/prometheus", content=body.encode(), timeout=120).raise_for_status()
    httpx.get(server.url + "/internal/force_flush", timeout=30).raise_for_status()


def mesh_openmetrics(start_s: int = MESH_START_S, minutes: int = MESH_MINUTES) -> str:
    """Edges web -> api -> db as Istio, Linkerd and the service graph expose them, plus two raw series of
    `api` (a gauge and a counter). Rates are constant so tests can check values: web -> api 10 requests/s
    with 1 failing, api -> db 20 requests/s; every request takes 40 ms; queue depth 7; 3 jobs/s."""
    edges = {("web", "api"): (10, 1), ("api", "db"): (20, 0)}
    out: list[str] = []
    times = [start_s + 15 * (i + 1) for i in range(minutes * 4)]

    def counter(name: str, labels: str, per_s: float) -> None:
        out.extend(f"{name}{{{labels}}} {per_s * (t - start_s):g} {t}" for t in times)

    def histogram(name: str, labels: str, per_s: float, bounds: tuple[str, ...], inside: str) -> None:
        for t in times:
            n = per_s * (t - start_s)
            for le in bounds:
                out.append(f'{name}_bucket{{{labels},le="{le}"}} {n if float(le) >= float(inside) else 0:g} {t}')
            out.append(f"{name}_count{{{labels}}} {n:g} {t}")
            out.append(f"{name}_sum{{{labels}}} {n * 0.04:g} {t}")

    ms, seconds = ("10", "50", "100", "+Inf"), ("0.01", "0.05", "0.1", "+Inf")
    out.append("# TYPE istio_requests counter")
    for (src, dst), (rate, failing) in edges.items():
        for reporter in ("source", "destination"):
            base = f'namespace="mesh",reporter="{reporter}",source_workload="{src}",destination_workload="{dst}"'
            counter("istio_requests_total", f'{base},response_code="200"', rate - failing)
            if failing:
                counter("istio_requests_total", f'{base},response_code="503"', failing)
    out.append("# TYPE istio_request_duration_milliseconds histogram")
    for (src, dst), (rate, _) in edges.items():
        for reporter in ("source", "destination"):
            base = f'namespace="mesh",reporter="{reporter}",source_workload="{src}",destination_workload="{dst}"'
            histogram("istio_request_duration_milliseconds", base, rate, ms, "50")
    out.append("# TYPE response counter")
    for (src, dst), (rate, failing) in edges.items():
        inbound = f'namespace="mesh",direction="inbound",deployment="{dst}"'
        outbound = f'namespace="mesh",direction="outbound",deployment="{src}",dst_deployment="{dst}"'
        for labels in (inbound, outbound):
            counter("response_total", f'{labels},classification="success"', rate - failing)
            if failing:
                counter("response_total", f'{labels},classification="failure"', failing)
    out.append("# TYPE response_latency_ms histogram")
    for (src, dst), (rate, _) in edges.items():
        histogram("response_latency_ms", f'namespace="mesh",direction="inbound",deployment="{dst}"', rate, ms, "50")
        outbound = f'namespace="mesh",direction="outbound",deployment="{src}",dst_deployment="{dst}"'
        histogram("response_latency_ms", outbound, rate, ms, "50")
    out.append("# TYPE traces_service_graph_request counter")
    for (src, dst), (rate, _) in edges.items():
        counter("traces_service_graph_request_total", f'client="{src}",server="{dst}"', rate)
    out.append("# TYPE traces_service_graph_request_failed counter")
    for (src, dst), (_, failing) in edges.items():
        if failing:
            counter("traces_service_graph_request_failed_total", f'client="{src}",server="{dst}"', failing)
    for side in ("server", "client"):
        out.append(f"# TYPE traces_service_graph_request_{side}_seconds histogram")
        for (src, dst), (rate, _) in edges.items():
            name = f"traces_service_graph_request_{side}_seconds"
            histogram(name, f'client="{src}",server="{dst}"', rate, seconds, "0.05")
    out.append("# TYPE queue_depth gauge")
    out.extend(f'queue_depth{{job="api",service="api",queue="jobs"}} 7 {t}' for t in times)
    out.append("# TYPE jobs_processed counter")
    counter("jobs_processed_total", 'job="api",service="api"', 3)
    out.append("# EOF")
    return "\n".join(out) + "\n"


def mesh_window() -> TimeRange:
    start, end = MESH_START_S * 10**9, (MESH_START_S + MESH_MINUTES * 60) * 10**9
    return TimeRange(start, end)


@dataclass
class Shared:
    """The servers of one test process, loaded with the simulated incident and the mesh data set."""

    root: Path
    bundle: Path
    truth: Truth
    prometheus: Server
    victoria: Server | None
    servers: list[Server] = field(default_factory=list)


_SHARED: dict[str, Shared] = {}
_LOCK = threading.Lock()


def shared_servers() -> Shared:
    """Start (once per process) Prometheus and, when installed, VictoriaMetrics with both data sets."""
    with _LOCK:
        if "servers" in _SHARED:
            return _SHARED["servers"]
        require("prometheus", "promtool")
        root = Path(tempfile.mkdtemp(prefix="incidentlens-prom-"))
        atexit.register(shutil.rmtree, root, True)
        bundle = root / "bundle"
        truth = simulate(FAULT, seed=SEED, out=bundle, with_repo=False, openmetrics=True)
        mesh = root / "mesh.om"
        mesh.write_text(mesh_openmetrics(), encoding="utf-8")
        incident = bundle / "openmetrics" / "metrics.om"
        for data in (incident, mesh):
            backfill(data, root / "prometheus-data")
        prometheus = start_prometheus(root / "prometheus-data")
        atexit.register(prometheus.stop)
        victoria = None
        if shutil.which("victoria-metrics"):
            victoria = start_victoria(root / "victoria-data")
            atexit.register(victoria.stop)
            for data in (incident, mesh):
                import_victoria(victoria, data)
        _SHARED["servers"] = Shared(root, bundle, truth, prometheus, victoria)
        return _SHARED["servers"]


# What the proxy does with one request: None forwards it, (status, body) answers instead, "stall" never answers.
Behaviour = Callable[[str, dict[str, list[str]]], "tuple[int, str] | str | None"]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 in front of a real server: records every request, strips `strip_prefix`
    (as Mimir serves the API under /prometheus) and lets `behaviour` answer or stall chosen requests."""

    def __init__(self, upstream: str, *, strip_prefix: str = "", behaviour: Behaviour | None = None) -> None:
        self.upstream = upstream
        self.client = httpx.Client(timeout=30)  # one client: building one per request costs ~30 ms (TLS setup)
        self.requests: list[Recorded] = []
        self._stop = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                form = parse_qs(query) | parse_qs(body.decode("utf-8", "replace"))
                proxy.requests.append(Recorded(self.command, path, dict(self.headers.items()), form))
                action = behaviour(path, form) if behaviour else None
                if action == "stall":
                    proxy._stop.wait(30)
                    return
                if isinstance(action, tuple):
                    self._send(action[0], action[1].encode(), "application/json")
                    return
                upstream_path = path.removeprefix(strip_prefix) if strip_prefix else path
                headers = {"Content-Type": self.headers.get("Content-Type", "application/x-www-form-urlencoded")}
                answer = proxy.client.request(
                    self.command,
                    proxy.upstream + upstream_path + (f"?{query}" if query else ""),
                    content=body,
                    headers=headers,
                )
                self._send(answer.status_code, answer.content, answer.headers.get("Content-Type", "text/plain"))

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self.client.close()


class SilentServer:
    """Accepts connections and never answers: what a hung backend looks like to a client."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()
