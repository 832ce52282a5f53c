"""Jaeger UI / query API v1 JSON: one trace `{"traceID", "spans", "processes"}` or the envelope
`{"data": [traces], "total", "limit", "offset", "errors"}` -> span rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentlens.errors import FormatError
from incidentlens.ingest.common import dumps, load_json_document
from incidentlens.ingest.otlp_common import (
    MAX_NS,
    SPAN_ID_WIDTH,
    TRACE_ID_WIDTH,
    Position,
    RecordError,
    int64_or_text,
    record_id,
)
from incidentlens.ingest.sink import RowSink

_START_RE = re.compile(r'^\s*\{\s*"(traceID|data)"\s*:')
_SPAN_KEYS_RE = (re.compile(r'"spanID"\s*:'), re.compile(r'"operationName"\s*:'))
_KINDS = {"server", "client", "producer", "consumer", "internal"}
# OpenTracing error logs and OTel exception events, both as Jaeger log fields -> exception.* attributes.
_EXCEPTION_FIELDS = {
    "error.kind": "exception.type",
    "error.object": "exception.message",
    "message": "exception.message",
    "stack": "exception.stacktrace",
    "exception.type": "exception.type",
    "exception.message": "exception.message",
    "exception.stacktrace": "exception.stacktrace",
}


def tag_value(tag: dict[str, Any]) -> Any:
    """A Jaeger tag's value by its declared type; int64 may be a string (beyond JavaScript's 2^53)."""
    value, kind = tag.get("value"), tag.get("type")
    if kind == "int64" and isinstance(value, str):
        return int64_or_text(value)
    if kind == "bool" and isinstance(value, str):
        return value.strip().lower() == "true"
    if kind == "float64" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def tags(raw: Any) -> dict[str, Any]:
    """A Jaeger tag (or log field) list as a dict."""
    if not isinstance(raw, list):
        return {}
    return {t["key"]: tag_value(t) for t in raw if isinstance(t, dict) and isinstance(t.get("key"), str)}


def _micros(span: dict[str, Any], key: str) -> int:
    raw = span.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise RecordError(f"missing {key}")
    try:
        value = int(raw) * 1_000
    except (ValueError, OverflowError):
        raise RecordError(f"{key} {str(raw)[:40]!r} is not an integer of microseconds") from None
    if not 0 <= value <= MAX_NS:
        raise RecordError(f"{key} {raw} is out of range")
    return value


def _exception(logs: Any) -> dict[str, Any]:
    """exception.* from the first error/exception log of the span."""
    for log in logs if isinstance(logs, list) else []:
        fields = tags(log.get("fields")) if isinstance(log, dict) else {}
        if fields.get("event") in ("error", "exception") or "exception.type" in fields:
            found: dict[str, Any] = {}
            for key, target in _EXCEPTION_FIELDS.items():
                if fields.get(key) is not None:
                    found.setdefault(target, fields[key])
            return found
    return {}


def _references(span: dict[str, Any], trace_id: str) -> tuple[str, list[dict[str, str]]]:
    """(parent span id, links): the parent is the first CHILD_OF in the same trace, as Jaeger decides;
    every other reference (FOLLOWS_FROM, other traces) becomes a link."""
    parent = ""
    links: list[dict[str, str]] = []
    refs = span.get("references")
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        if not isinstance(ref, dict):
            raise RecordError(f"reference #{i} is not an object")
        try:
            ref_trace = record_id(ref, "traceID", TRACE_ID_WIDTH, required=True)
            ref_span = record_id(ref, "spanID", SPAN_ID_WIDTH, required=True)
        except RecordError as exc:
            raise RecordError(f"reference #{i}: {exc}") from None
        if not parent and ref.get("refType", "CHILD_OF") == "CHILD_OF" and ref_trace == trace_id:
            parent = ref_span
        else:
            links.append({"trace_id": ref_trace, "span_id": ref_span})
    if not parent:  # very old exports carry a bare parentSpanID instead of references
        parent = record_id(span, "parentSpanID", SPAN_ID_WIDTH, required=False)
    return parent, links


def _status(span_tags: dict[str, Any]) -> tuple[str, str]:
    otel = str(span_tags.get("otel.status_code", "")).upper()
    message = span_tags.get("otel.status_description")
    error = span_tags.get("error")
    if otel == "ERROR" or error is True or str(error).lower() == "true":
        return "ERROR", "" if message is None else str(message)
    return ("OK" if otel == "OK" else "UNSET"), "" if message is None else str(message)


def convert_span(span: Any, processes: dict[str, Any]) -> dict[str, Any]:
    """Span row columns (without `source`) of one Jaeger span; raises RecordError when unusable."""
    if not isinstance(span, dict):
        raise RecordError("span is not an object")
    trace_id = record_id(span, "traceID", TRACE_ID_WIDTH, required=True)
    span_id = record_id(span, "spanID", SPAN_ID_WIDTH, required=True)
    start = _micros(span, "startTime")
    duration = _micros(span, "duration") if span.get("duration") is not None else 0
    if start + duration > MAX_NS:
        raise RecordError(f"startTime + duration {start + duration} ns is out of range")
    parent, links = _references(span, trace_id)
    process = span.get("process")
    if not isinstance(process, dict):
        process = processes.get(str(span.get("processID")))
    process = process if isinstance(process, dict) else {}
    service = process.get("serviceName")
    span_tags = tags(span.get("tags"))
    kind = str(span_tags.get("span.kind", "")).lower()
    status, message = _status(span_tags)
    name = span.get("operationName")
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "service": service if isinstance(service, str) else "",
        "name": name if isinstance(name, str) else "",
        "kind": kind.upper() if kind in _KINDS else "UNSPECIFIED",
        "start_ns": start,
        "end_ns": start + duration,
        "status": status,
        "status_message": message,
        "attributes": dumps({**tags(process.get("tags")), **_exception(span.get("logs")), **span_tags}),
        "links": dumps(links),
    }


def add_trace(trace: Any, sink: RowSink, where: Position) -> None:
    """Append the spans of one Jaeger trace object; bad spans become problems."""
    if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
        where.problem(sink, f"trace #{where.next_index('trace')}: not a Jaeger trace object with spans")
        return
    where.next_index("trace")
    processes = trace.get("processes")
    processes = processes if isinstance(processes, dict) else {}
    for span in trace["spans"]:
        index = where.next_index("span")
        try:
            row = convert_span(span, processes)
        except RecordError as exc:
            where.problem(sink, f"span #{index}: {exc}")
            continue
        sink.spans.add(**row, source=where.source(index))


@dataclass(slots=True)  # not frozen: FormatReader declares plain (settable) attributes
class JaegerReader:
    name: str = "jaeger"
    signals: tuple[str, ...] = ("traces",)

    def sniff(self, head: str, path: Path) -> bool:
        """A JSON object starting with `traceID` or `data` and holding Jaeger span keys."""
        return bool(_START_RE.match(head)) and all(r.search(head) for r in _SPAN_KEYS_RE)

    def read(self, path: Path, sink: RowSink) -> None:
        document = load_json_document(path)
        where = Position(str(path))
        if isinstance(document, dict) and isinstance(document.get("data"), list):
            errors = document.get("errors")
            for index, error in enumerate(errors if isinstance(errors, list) else []):
                sink.problem(str(path), f"errors[{index}]: Jaeger reported an error: {dumps(error)[:300]}")
            for trace in document["data"]:
                add_trace(trace, sink, where)
        elif isinstance(document, dict) and "spans" in document:
            add_trace(document, sink, where)
        else:
            raise FormatError(str(path), 'not a Jaeger trace: expected {"traceID", "spans"} or {"data": [...]}')


READER = JaegerReader()
