"""A Tempo query frontend for tests: the real HTTP paths, parameters, answers and plain-text errors.

- `GET /api/search?q=<TraceQL>&start=&end=&limit=&spss=`: a TraceQL subset (`{ }` spanset filters of
  `status`, `resource.service.name` and `name` with `=`/`!=`, `&&`, `||`, parentheses); traces overlapping
  [start, end] (seconds), listed in trace-id order (Tempo lists the first it finds, not the newest), at most
  `limit` (default 20); trace ids without leading zeros, as Tempo writes them.
- `GET /api/traces/<id>`: `{"batches": [...]}` with base64 ids and enum names (Tempo's legacy JSON);
  `Accept: application/protobuf` gets protobuf bytes. `GET /api/v2/traces/<id>`: `{"trace":
  {"resourceSpans": [...]}}` with hex ids, `"status": "PARTIAL"` for ids in `partial`.
- `GET /api/search/tag/service.name/values`, `GET /api/v2/search/tag/resource.service.name/values`.
Errors are plain text, as Tempo writes them: 400 for a bad query, 404 `trace not found`, 401 without auth.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from tests.sources.trace_data import NS, Trace, is_error
from tests.sources.trace_stub import Answer, StubServer, json_answer, text_answer

Span = tuple[str, dict[str, Any]]
Predicate = Callable[[Span], bool]
_TOKEN = re.compile(r'\s*(\{|\}|\(|\)|&&|\|\||!=|=|"(?:[^"\\]|\\.)*"|[A-Za-z_.][A-Za-z0-9_.:]*)')
_KIND_NAMES = tuple(f"SPAN_KIND_{k}" for k in ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"))
_STATUS_NAMES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}


class TraceQLError(ValueError):
    pass


def parse_traceql(text: str) -> Predicate:
    """A predicate over (service, span) for one spanset filter."""
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise TraceQLError(f"parse error at line 1, col {pos + 1}: syntax error: unexpected character")
        tokens.append(match.group(1))
        pos = match.end()
    if len(tokens) < 2 or tokens[0] != "{" or tokens[-1] != "}":
        raise TraceQLError("parse error at line 1, col 1: syntax error: expected a spanset filter { ... }")
    body = tokens[1:-1]
    if not body:
        return lambda span: True
    predicate, rest = _or(body)
    if rest:
        raise TraceQLError(f"parse error at line 1: syntax error: unexpected {rest[0]}")
    return predicate


def _or(tokens: list[str]) -> tuple[Predicate, list[str]]:
    left, rest = _and(tokens)
    while rest and rest[0] == "||":
        right, rest = _and(rest[1:])
        left = (lambda a, b: lambda s: a(s) or b(s))(left, right)
    return left, rest


def _and(tokens: list[str]) -> tuple[Predicate, list[str]]:
    left, rest = _term(tokens)
    while rest and rest[0] == "&&":
        right, rest = _term(rest[1:])
        left = (lambda a, b: lambda s: a(s) and b(s))(left, right)
    return left, rest


def _term(tokens: list[str]) -> tuple[Predicate, list[str]]:
    if tokens and tokens[0] == "(":
        inner, rest = _or(tokens[1:])
        if not rest or rest[0] != ")":
            raise TraceQLError("parse error at line 1: syntax error: missing )")
        return inner, rest[1:]
    if len(tokens) < 3 or tokens[1] not in ("=", "!="):
        raise TraceQLError(f"parse error at line 1: syntax error: unexpected {' '.join(tokens[:3])}")
    field, op, raw = tokens[:3]
    value = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\") if raw.startswith('"') else raw
    get = _field(field)
    if op == "=":
        return (lambda s: get(s) == value), tokens[3:]
    return (lambda s: get(s) != value), tokens[3:]


def _field(name: str) -> Callable[[Span], str]:
    if name == "status":
        return lambda s: "error" if is_error(s[1]) else "ok" if s[1].get("status", {}).get("code") == 1 else "unset"
    if name in ("resource.service.name", ".service.name"):
        return lambda s: s[0]
    if name == "name":
        return lambda s: str(s[1].get("name", ""))
    raise TraceQLError(f"this test server does not know the attribute {name}")


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode() if hex_id else ""


def legacy_span(span: dict[str, Any]) -> dict[str, Any]:
    """A span as Tempo's legacy JSON writes it: base64 ids, enum names."""
    out = {**span, "traceId": _b64(span["traceId"]), "spanId": _b64(span["spanId"])}
    out["parentSpanId"] = _b64(span.get("parentSpanId", ""))
    out["kind"] = _KIND_NAMES[span.get("kind", 0)]
    code = span.get("status", {}).get("code", 0)
    out["status"] = {**span.get("status", {}), "code": _STATUS_NAMES[code]}
    return out


class TempoServer(StubServer):
    def __init__(self, traces: list[Trace], *, scope_key: str = "scopeSpans") -> None:
        super().__init__()
        self.traces = {t.trace_id: t for t in traces}
        self.scope_key = scope_key  # Tempo 1.x wrote "instrumentationLibrarySpans"
        self.partial: set[str] = set()
        self.missing: set[str] = set()  # ids a search lists but fetching answers 404 (expired meanwhile)

    def services(self) -> list[str]:
        return sorted({svc for t in self.traces.values() for svc, _ in t.spans()})

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Answer:
        if path == "/api/search":
            return self.search(params)
        if path.startswith(("/api/traces/", "/api/v2/traces/")):
            return self.trace(path.rsplit("/", 1)[1], v2=path.startswith("/api/v2/"), accept=headers.get("accept", ""))
        if path == "/api/search/tag/service.name/values":
            return json_answer(200, {"tagValues": self.services(), "metrics": {"inspectedBytes": "1024"}})
        if path == "/api/v2/search/tag/resource.service.name/values":
            values = [{"type": "string", "value": s} for s in self.services()]
            return json_answer(200, {"tagValues": values, "metrics": {"inspectedBytes": "1024"}})
        if path.startswith(("/api/search/tag/", "/api/v2/search/tag/")):
            return json_answer(200, {"metrics": {}})
        return text_answer(404, "404 page not found\n")

    def search(self, params: dict[str, str]) -> Answer:
        try:
            predicate = parse_traceql(params.get("q", "{}") or "{}")
        except TraceQLError as exc:
            return text_answer(400, f"invalid TraceQL query: {exc}")
        try:
            start, end = int(params.get("start", "0")), int(params.get("end", "0"))
            limit, spss = int(params.get("limit", "20")), int(params.get("spss", "3"))
        except ValueError as exc:
            return text_answer(400, f"invalid parameter: strconv.ParseInt: {exc}")
        if end and start > end:
            return text_answer(400, "http parameter start must be before end")
        found = []
        for trace_id in sorted(self.traces):
            trace = self.traces[trace_id]
            if end and not (trace.start_ns <= end * NS and trace.end_ns >= start * NS):
                continue
            matched = [s for s in trace.spans() if predicate(s)]
            if matched:
                found.append(self._summary(trace, matched, spss))
            if len(found) >= limit:
                break
        body: dict[str, Any] = {"metrics": {"inspectedTraces": len(self.traces), "totalBlocks": 1}}
        if found:  # proto3 JSON leaves an empty list out
            body["traces"] = found
        return json_answer(200, body)

    def _summary(self, trace: Trace, matched: list[Span], spss: int) -> dict[str, Any]:
        root_service, root = trace.root()
        spans = [
            {
                "spanID": s["spanId"],
                "startTimeUnixNano": s["startTimeUnixNano"],
                "durationNanos": str(int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])),
            }
            for _, s in matched[:spss]
        ]
        span_set = {"spans": spans, "matched": len(matched)}
        return {
            "traceID": trace.trace_id.lstrip("0"),
            "rootServiceName": root_service,
            "rootTraceName": root.get("name", ""),
            "startTimeUnixNano": str(trace.start_ns),
            "durationMs": (trace.end_ns - trace.start_ns) // 1_000_000,
            "spanSet": span_set,
            "spanSets": [span_set],
        }

    def trace(self, raw_id: str, *, v2: bool, accept: str) -> Answer:
        if not re.fullmatch(r"[0-9a-fA-F]{1,32}", raw_id):
            return text_answer(400, f"invalid trace id: {raw_id}")
        trace_id = raw_id.lower().rjust(32, "0")
        trace = self.traces.get(trace_id)
        if trace is None or trace_id in self.missing:
            return text_answer(404, "trace not found")
        if "application/protobuf" in accept:
            return 200, "application/protobuf", b"\x0a\x02\x08\x01"
        if v2:
            body: dict[str, Any] = {"trace": {"resourceSpans": trace.resources}}
            if trace_id in self.partial:
                body |= {"status": "PARTIAL", "message": "response exceeds max size"}
            return json_answer(200, body)
        batches = [
            {
                "resource": r["resource"],
                self.scope_key: [
                    {"scope": s.get("scope", {}), "spans": [legacy_span(span) for span in s["spans"]]}
                    for s in r["scopeSpans"]
                ],
            }
            for r in trace.resources
        ]
        return json_answer(200, {"batches": batches})
