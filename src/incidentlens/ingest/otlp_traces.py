"""OTLP/JSON spans (`resourceSpans`) -> span rows; the span conversion Tempo's legacy export reuses."""

from __future__ import annotations

from typing import Any

from incidentlens.ingest.common import dumps
from incidentlens.ingest.otlp_common import (
    SPAN_ID_WIDTH,
    TRACE_ID_WIDTH,
    OtlpReader,
    Position,
    RecordError,
    attributes,
    record_id,
    resource_info,
    scopes,
    unix_nano,
)
from incidentlens.ingest.sink import RowSink

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUSES = ("UNSET", "OK", "ERROR")
_EXCEPTION_KEYS = ("exception.type", "exception.message", "exception.stacktrace")


def _enum(value: Any, names: tuple[str, ...], prefix: str) -> str:
    """An OTLP enum given as its number or its name (with or without prefix, any case).

    Unknown values fall back to the first (zero) name, as proto3 readers treat unknown enum values.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return names[value] if 0 <= value < len(names) else names[0]
    if isinstance(value, str):
        text = value.strip().upper()
        if text.isdecimal():
            return _enum(int(text), names, prefix)
        text = text.removeprefix(prefix)
        return text if text in names else names[0]
    return names[0]


def span_kind(value: Any) -> str:
    """SERVER, CLIENT, ... from `2` or `"SPAN_KIND_SERVER"`."""
    return _enum(value, KINDS, "SPAN_KIND_")


def status_code(value: Any) -> str:
    """UNSET, OK or ERROR from `2` or `"STATUS_CODE_ERROR"`."""
    return _enum(value, STATUSES, "STATUS_CODE_")


def _exception_attributes(events: Any) -> dict[str, Any]:
    """exception.* of the first "exception" event: the span's recorded error, where analysis looks for it."""
    if not isinstance(events, list):
        return {}
    for event in events:
        if isinstance(event, dict) and event.get("name") == "exception":
            attrs = attributes(event.get("attributes"))
            return {k: attrs[k] for k in _EXCEPTION_KEYS if attrs.get(k) is not None}
    return {}


def _links(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RecordError("links is not a list")
    links = []
    for i, link in enumerate(raw):
        if not isinstance(link, dict):
            raise RecordError(f"link #{i} is not an object")
        try:
            trace_id = record_id(link, "traceId", TRACE_ID_WIDTH, required=True)
            span_id = record_id(link, "spanId", SPAN_ID_WIDTH, required=True)
        except RecordError as exc:
            raise RecordError(f"link #{i}: {exc}") from None
        links.append({"trace_id": trace_id, "span_id": span_id})
    return links


def convert_span(span: Any, service: str, resource_attrs: dict[str, Any]) -> dict[str, Any]:
    """Span row columns (without `source`) of one OTLP span; raises RecordError when unusable."""
    if not isinstance(span, dict):
        raise RecordError("span is not an object")
    trace_id = record_id(span, "traceId", TRACE_ID_WIDTH, required=True)
    span_id = record_id(span, "spanId", SPAN_ID_WIDTH, required=True)
    parent_id = record_id(span, "parentSpanId", SPAN_ID_WIDTH, required=False)
    start = unix_nano(span, "startTimeUnixNano")
    end = unix_nano(span, "endTimeUnixNano")
    if end < start:
        raise RecordError(f"endTimeUnixNano {end} is before startTimeUnixNano {start}")
    status = span.get("status")
    status = status if isinstance(status, dict) else {}
    attrs = {
        **resource_attrs,
        **_exception_attributes(span.get("events")),
        **attributes(span.get("attributes")),
    }
    name = span.get("name")
    message = status.get("message")
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_id,
        "service": service,
        "name": name if isinstance(name, str) else "" if name is None else str(name),
        "kind": span_kind(span.get("kind")),
        "start_ns": start,
        "end_ns": end,
        "status": status_code(status.get("code")),
        "status_message": message if isinstance(message, str) else "",
        "attributes": dumps(attrs),
        "links": dumps(_links(span.get("links"))),
    }


def add_resource_spans(resources: list[Any], sink: RowSink, where: Position) -> None:
    """Append every span of a `resourceSpans` list (or Tempo `batches`); bad spans become problems."""
    for resource in resources:
        if not isinstance(resource, dict):
            where.problem(sink, "resource entry is not an object")
            continue
        service, resource_attrs = resource_info(resource)
        for scope in scopes(resource, "scopeSpans"):
            spans = scope.get("spans")
            if not isinstance(spans, list):
                continue
            for span in spans:
                index = where.next_index("span")
                try:
                    row = convert_span(span, service, resource_attrs)
                except RecordError as exc:
                    where.problem(sink, f"span #{index}: {exc}")
                    continue
                sink.spans.add(**row, source=where.source(index))


READER = OtlpReader(name="otlp-traces", signals=("traces",), key="resourceSpans")
