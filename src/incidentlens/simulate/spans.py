"""OTLP/JSON span encoding and the batch writer in the collector file-exporter form.

Spans are appended per resource (service, version, pod) and written as one `{"resourceSpans": [...]}`
line per batch of traces, so memory stays bounded at any scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5
STATUS_ERROR = 2

_SCOPES = {
    "python": ("opentelemetry.instrumentation.grpc", "0.48b0"),
    "go": ("go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", "0.56.0"),
    "java": ("io.opentelemetry.grpc-1.6", "2.9.0-alpha"),
}


def attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    """OTLP attribute list; int64 as strings per the proto3 JSON mapping."""
    out: list[dict[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, bool):
            out.append({"key": key, "value": {"boolValue": value}})
        elif isinstance(value, int):
            out.append({"key": key, "value": {"intValue": str(value)}})
        elif isinstance(value, float):
            out.append({"key": key, "value": {"doubleValue": value}})
        else:
            out.append({"key": key, "value": {"stringValue": str(value)}})
    return out


def span(
    *,
    trace_id: str,
    span_id: str,
    parent: str,
    name: str,
    kind: int,
    start: int,
    end: int,
    attrs: dict[str, Any],
    error: str = "",
    events: list[dict[str, Any]] | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": parent,
        "flags": 257,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": attributes(attrs),
    }
    if events:
        out["events"] = events
    if links:
        out["links"] = links
    out["status"] = {"code": STATUS_ERROR, "message": error} if error else {}
    return out


def exception_event(t_ns: int, exc_type: str, message: str, stacktrace: str) -> dict[str, Any]:
    attrs = {"exception.type": exc_type, "exception.message": message, "exception.stacktrace": stacktrace}
    return {"timeUnixNano": str(t_ns), "name": "exception", "attributes": attributes(attrs)}


class SpanWriter:
    """Buffers spans by resource and writes one OTLP line per `batch_traces` traces."""

    def __init__(self, path: Path, *, batch_traces: int = 200, sample_ratio: float = 1.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Head sampling as tracing SDKs do it: keep a trace when its id falls under the ratio.
        self._keep_below = int(min(max(sample_ratio, 0.0), 1.0) * 0xFFFFFFFF)
        self._fh: IO[bytes] = path.open("wb")
        self._batch_traces = batch_traces
        self._traces = 0
        self._by_resource: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
        self.count = 0

    def add(self, resource: tuple[str, str, str, str], item: dict[str, Any]) -> None:
        """`resource` is (service, version, pod, language)."""
        if self._keep_below < 0xFFFFFFFF and int(str(item["traceId"])[:8], 16) > self._keep_below:
            return
        self._by_resource.setdefault(resource, []).append(item)
        self.count += 1

    def end_trace(self) -> None:
        self._traces += 1
        if self._traces >= self._batch_traces:
            self.flush()

    def flush(self) -> None:
        if not self._by_resource:
            return
        resource_spans = []
        for (service, version, pod, language), items in self._by_resource.items():
            scope, scope_version = _SCOPES[language]
            resource = {
                "service.name": service,
                "service.namespace": "shop",
                "service.version": version,
                "deployment.environment.name": "production",
                "k8s.namespace.name": "shop",
                "k8s.pod.name": pod,
                "host.name": pod,
                "telemetry.sdk.language": language,
            }
            resource_spans.append(
                {
                    "resource": {"attributes": attributes(resource)},
                    "scopeSpans": [{"scope": {"name": scope, "version": scope_version}, "spans": items}],
                }
            )
        self._fh.write(orjson.dumps({"resourceSpans": resource_spans}) + b"\n")
        self._by_resource = {}
        self._traces = 0

    def close(self) -> None:
        self.flush()
        self._fh.close()
