"""Traces the Jaeger and Tempo test servers serve: OTLP/JSON resource spans grouped per trace, either
generated here (a small shop with error traces in the incident) or read from a simulated bundle."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from incidentlens.model import TimeRange
from incidentlens.sources.protocol import SourceQuery

NS = 1_000_000_000
START_NS = 1_762_592_400 * NS  # 2025-11-08T09:00:00Z
WINDOW = TimeRange(START_NS, START_NS + 40 * 60 * NS)
INCIDENT = TimeRange(START_NS + 30 * 60 * NS, WINDOW.end_ns)
QUERY = SourceQuery(window=WINDOW, incident=INCIDENT)
SERVER, CLIENT = 2, 3
STATUS_ERROR = 2


@dataclass
class Trace:
    """One trace as OTLP resource spans (each entry holds spans of this trace only)."""

    trace_id: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    _spans: list[tuple[str, dict[str, Any]]] | None = field(default=None, repr=False)

    def spans(self) -> list[tuple[str, dict[str, Any]]]:
        """(service, span) pairs (computed once: the trace is complete before it is served)."""
        if self._spans is None:
            self._spans = []
            for resource in self.resources:
                service = service_of(resource)
                for scope in resource.get("scopeSpans", []):
                    self._spans += [(service, span) for span in scope.get("spans", [])]
        return self._spans

    @cached_property
    def start_ns(self) -> int:
        return min(int(s["startTimeUnixNano"]) for _, s in self.spans())

    @cached_property
    def end_ns(self) -> int:
        return max(int(s["endTimeUnixNano"]) for _, s in self.spans())

    def root(self) -> tuple[str, dict[str, Any]]:
        spans = self.spans()
        return next(((svc, s) for svc, s in spans if not s.get("parentSpanId")), spans[0])


def service_of(resource: dict[str, Any]) -> str:
    for kv in resource.get("resource", {}).get("attributes", []):
        if kv.get("key") == "service.name":
            return str(kv["value"].get("stringValue", ""))
    return ""


def is_error(span: dict[str, Any]) -> bool:
    return span.get("status", {}).get("code") in (STATUS_ERROR, "STATUS_CODE_ERROR")


def _resource(service: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    attrs = [
        {"key": "service.name", "value": {"stringValue": service}},
        {"key": "k8s.pod.name", "value": {"stringValue": f"{service}-7d4b9c-x1"}},
    ]
    scope = {"scope": {"name": "io.opentelemetry.grpc-1.6", "version": "2.9.0"}, "spans": spans}
    return {"resource": {"attributes": attrs}, "scopeSpans": [scope]}


def _span(
    trace_id: str, span_id: str, parent: str, name: str, kind: int, start: int, end: int, error: str = ""
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [{"key": "rpc.system", "value": {"stringValue": "grpc"}}],
        "status": {},
    }
    if error:
        span["status"] = {"code": STATUS_ERROR, "message": error}
        span["events"] = [
            {
                "timeUnixNano": str(end),
                "name": "exception",
                "attributes": [
                    {"key": "exception.type", "value": {"stringValue": "RedisTimeoutError"}},
                    {"key": "exception.message", "value": {"stringValue": error}},
                ],
            }
        ]
    return span


def shop_trace(rng: random.Random, start: int, *, error: bool, callee: str = "cart") -> Trace:
    """frontend (server, client) -> callee (server); an error trace fails in the callee and the frontend."""
    trace_id = f"{rng.getrandbits(128) | 1 << 124:032x}"
    ids = [f"{rng.getrandbits(64) | 1 << 60:016x}" for _ in range(3)]
    duration = (400 if error else 40) * 1_000_000
    why = "redis: i/o timeout" if error else ""
    front = [
        _span(trace_id, ids[0], "", "GET /cart", SERVER, start, start + duration, "upstream failed" if error else ""),
        _span(trace_id, ids[1], ids[0], f"{callee}/Get", CLIENT, start + 1_000_000, start + duration - 1_000_000),
    ]
    back = [_span(trace_id, ids[2], ids[1], "Get", SERVER, start + 2_000_000, start + duration - 2_000_000, why)]
    return Trace(trace_id, [_resource("frontend", front), _resource(callee, back)])


def shop(*, normal: int = 40, incident_ok: int = 20, errors: int = 30, seed: int = 1) -> list[Trace]:
    """`normal` traces over the normal period, `incident_ok` and `errors` over the incident, evenly spread."""
    rng = random.Random(seed)
    normal_span = INCIDENT.start_ns - WINDOW.start_ns
    incident_span = WINDOW.end_ns - INCIDENT.start_ns - 5 * NS
    traces = [
        shop_trace(rng, WINDOW.start_ns + normal_span * i // normal, error=False, callee=("cart", "currency")[i % 2])
        for i in range(normal)
    ]
    for count, error in ((incident_ok, False), (errors, True)):
        step = incident_span // max(count, 1)
        traces += [shop_trace(rng, INCIDENT.start_ns + step * i + error, error=error) for i in range(count)]
    return traces


def burst(count: int, at_ns: int, *, seed: int = 2) -> list[Trace]:
    """`count` error traces starting within the same millisecond (no time slicing can separate them)."""
    rng = random.Random(seed)
    return [shop_trace(rng, at_ns + i, error=True) for i in range(count)]


def from_otlp_lines(path: Path) -> list[Trace]:
    """The traces of a collector file-exporter JSON-lines file (a simulated bundle's traces)."""
    traces: dict[str, Trace] = {}
    with path.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            for resource in orjson.loads(line).get("resourceSpans", []):
                for scope in resource.get("scopeSpans", []):
                    by_trace: dict[str, list[dict[str, Any]]] = {}
                    for span in scope.get("spans", []):
                        by_trace.setdefault(span["traceId"], []).append(span)
                    for trace_id, spans in by_trace.items():
                        piece = {"resource": resource.get("resource", {}), "scopeSpans": [{**scope, "spans": spans}]}
                        traces.setdefault(trace_id, Trace(trace_id)).resources.append(piece)
    return list(traces.values())
