"""A Jaeger query service for tests: the real HTTP paths, parameters, envelopes and error bodies.

API v1 (what the Jaeger UI uses):
- `GET /api/services` -> `{"data": [names], "total", "limit", "offset", "errors"}`
- `GET /api/traces?service=&start=&end=&limit=&tags=` (microseconds; `service` required; `tags` a JSON map
  matched on one span of that service): whole traces in Jaeger JSON, newest first, at most `limit` (100).
- `GET /api/traces/<id>`; errors as `{"data": null, ..., "errors": [{"code": 400, "msg": ...}]}`.
API v3 (Jaeger 2.x HTTP gateway):
- `GET /api/v3/services` -> `{"services": [...]}`
- `GET /api/v3/traces?query.service_name=&query.start_time_min=&query.start_time_max=&query.num_traces=
  &query.attributes=` -> `{"result": {"resourceSpans": [...]}}` (every trace merged), `stream=True` for the
  older gateway's newline-separated chunks, 404 `{"error": {"httpCode": 404, "message": "No traces found"}}`.
`v1_only=True` answers 404 on api/v3 like a Jaeger without it; `v3_attributes=False` ignores
`query.attributes` as early api/v3 gateways did.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from tests.sources.trace_data import Trace, is_error, service_of
from tests.sources.trace_stub import Answer, StubServer, json_answer, text_answer

_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


def jaeger_id(hex_id: str) -> str:
    """Jaeger's trace id text: `%x%016x` of the high and low halves, 16 digits when the high half is 0."""
    high, low = int(hex_id[:16], 16), int(hex_id[16:], 16)
    return f"{high:x}{low:016x}" if high else f"{low:016x}"


def _tag(kv: dict[str, Any]) -> dict[str, Any]:
    value = kv.get("value", {})
    if "boolValue" in value:
        return {"key": kv["key"], "type": "bool", "value": bool(value["boolValue"])}
    if "intValue" in value:
        return {"key": kv["key"], "type": "int64", "value": int(value["intValue"])}
    if "doubleValue" in value:
        return {"key": kv["key"], "type": "float64", "value": float(value["doubleValue"])}
    return {"key": kv["key"], "type": "string", "value": str(value.get("stringValue", ""))}


def _jaeger_span(span: dict[str, Any], trace_id: str, process_id: str) -> dict[str, Any]:
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    tags = [_tag(kv) for kv in span.get("attributes", [])]
    tags.append({"key": "span.kind", "type": "string", "value": _KINDS[span.get("kind", 0)]})
    if is_error(span):
        tags += [
            {"key": "error", "type": "bool", "value": True},
            {"key": "otel.status_code", "type": "string", "value": "ERROR"},
            {"key": "otel.status_description", "type": "string", "value": span["status"].get("message", "")},
        ]
    logs = [
        {
            "timestamp": int(event["timeUnixNano"]) // 1_000,
            "fields": [{"key": "event", "type": "string", "value": event["name"]}]
            + [_tag(kv) for kv in event.get("attributes", [])],
        }
        for event in span.get("events", [])
    ]
    parent = span.get("parentSpanId", "")
    return {
        "traceID": trace_id,
        "spanID": span["spanId"],
        "flags": 1,
        "operationName": span["name"],
        "references": [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent}] if parent else [],
        "startTime": start // 1_000,
        "duration": (end - start) // 1_000,
        "tags": tags,
        "logs": logs,
        "processID": process_id,
        "warnings": None,
    }


def to_jaeger(trace: Trace) -> dict[str, Any]:
    """The trace as the v1 API writes it: spans with tags and logs, one process per resource."""
    trace_id = jaeger_id(trace.trace_id)
    spans, processes = [], {}
    for i, resource in enumerate(trace.resources):
        process_id = f"p{i + 1}"
        attrs = resource.get("resource", {}).get("attributes", [])
        processes[process_id] = {
            "serviceName": service_of(resource),
            "tags": [_tag(kv) for kv in attrs if kv["key"] != "service.name"],
        }
        for scope in resource["scopeSpans"]:
            spans += [_jaeger_span(span, trace_id, process_id) for span in scope["spans"]]
    return {"traceID": trace_id, "spans": spans, "processes": processes, "warnings": None}


def envelope(data: Any, errors: list[dict[str, Any]] | None = None, status: int = 200) -> Answer:
    total = len(data) if isinstance(data, list) else 0
    return json_answer(status, {"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors})


def v1_error(status: int, message: str) -> Answer:
    return envelope(None, [{"code": status, "msg": message}], status)


def v3_error(status: int, message: str) -> Answer:
    # the gateway writes its JSON error with http.Error: text/plain and a trailing newline
    return text_answer(status, orjson.dumps({"error": {"httpCode": status, "message": message}}).decode() + "\n")


def _rfc3339_ns(text: str) -> int:
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f'parsing time "{text}" as RFC3339Nano: cannot parse')
    whole = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(whole.timestamp()) * 1_000_000_000 + int((match.group(2) or "0").ljust(9, "0"))


class JaegerServer(StubServer):
    def __init__(
        self, traces: list[Trace], *, v1_only: bool = False, v3_attributes: bool = True, stream: bool = False
    ) -> None:
        super().__init__()
        self.traces = {t.trace_id: t for t in traces}
        self.v1_only, self.v3_attributes, self.stream = v1_only, v3_attributes, stream
        self.partial_errors: list[dict[str, Any]] = []  # listed beside the data of every v1 search

    def services(self) -> list[str]:
        return sorted({svc for t in self.traces.values() for svc, _ in t.spans()})

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Answer:
        if path.startswith("/api/v3/"):
            if self.v1_only:
                return text_answer(404, "404 page not found\n")
            if path == "/api/v3/services":
                return json_answer(200, {"services": self.services()})
            if path == "/api/v3/traces":
                return self.search_v3(params)
            return v3_error(404, "not found")
        if path == "/api/services":
            return envelope(self.services())
        if path == "/api/traces":
            return self.search_v1(params)
        if path.startswith("/api/traces/"):
            trace = self.traces.get(path.rsplit("/", 1)[1].lower().rjust(32, "0"))
            return envelope([to_jaeger(trace)]) if trace else v1_error(404, "trace not found")
        return text_answer(404, "404 page not found\n")

    def matches(self, service: str, start_ns: int, end_ns: int, tags: dict[str, str]) -> list[Trace]:
        """Traces with one span of `service` that starts in [start, end] and carries every tag; newest first."""

        def fits(svc: str, span: dict[str, Any]) -> bool:
            if svc != service or not start_ns <= int(span["startTimeUnixNano"]) <= end_ns:
                return False
            flat = {t["key"]: str(t["value"]).lower() for t in _jaeger_span(span, "", "")["tags"]}
            return all(flat.get(k) == str(v).lower() for k, v in tags.items())

        found = [t for t in self.traces.values() if any(fits(svc, s) for svc, s in t.spans())]
        return sorted(found, key=lambda t: -t.start_ns)

    def search_v1(self, params: dict[str, str]) -> Answer:
        if not params.get("service"):
            return v1_error(400, "parameter 'service' is required")
        try:
            start = int(params.get("start", "0")) * 1_000
            end = int(params.get("end", str(2**62 // 1_000))) * 1_000
            limit = int(params.get("limit", "100"))
        except ValueError as exc:
            return v1_error(400, f"unable to parse param: strconv.ParseInt: {exc}")
        try:
            tags = orjson.loads(params.get("tags", "{}"))
        except orjson.JSONDecodeError as exc:
            return v1_error(400, f"malformed 'tags' parameter: {exc}")
        found = self.matches(params["service"], start, end, tags)[:limit]
        return envelope([to_jaeger(t) for t in found], self.partial_errors or None)

    def search_v3(self, params: dict[str, str]) -> Answer:
        low, high = params.get("query.start_time_min", ""), params.get("query.start_time_max", "")
        if not low or not high:
            return v3_error(400, "query.start_time_min and query.start_time_max are required")
        try:
            start, end = _rfc3339_ns(low), _rfc3339_ns(high)
            limit = int(params.get("query.num_traces", "0") or 0) or 20
        except ValueError as exc:
            return v3_error(400, f"malformed parameter: {exc}")
        attributes = orjson.loads(params.get("query.attributes", "{}")) if self.v3_attributes else {}
        found = self.matches(params.get("query.service_name", ""), start, end, attributes)[:limit]
        if not found:
            return v3_error(404, "No traces found")
        if self.stream:
            lines = [orjson.dumps({"result": {"resourceSpans": t.resources}}) for t in found]
            return 200, "application/json", b"\n".join(lines) + b"\n"
        return json_answer(200, {"result": {"resourceSpans": [r for t in found for r in t.resources]}})
