"""Zipkin v2 JSON: a list of spans (or a list of traces, each a list of spans) -> span rows.

Client and server halves of one RPC may share a span id (`"shared": true`); both rows are kept,
told apart by kind and service.
"""

from __future__ import annotations

import json
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
    record_id,
)
from incidentlens.ingest.sink import RowSink

_KINDS = {"SERVER", "CLIENT", "PRODUCER", "CONSUMER"}
_V2_KEYS = ("timestamp", "localEndpoint", "kind", "duration", "remoteEndpoint")


def _first_element(head: str) -> Any:
    """The first span of a (possibly truncated) JSON list, descending into a list of traces."""
    decoder = json.JSONDecoder()
    text = head.lstrip()
    pos = 0
    for _ in range(2):  # [span, ...] or [[span, ...], ...]
        if not text.startswith("[", pos):
            return None
        pos += 1
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith("{", pos):
            try:
                return decoder.raw_decode(text, pos)[0]
            except (json.JSONDecodeError, RecursionError):  # the standard decoder recurses per nesting level
                return None
    return None


def looks_like_span(obj: Any) -> bool:
    """A Zipkin v2 span: traceId and id, plus a v2 field; v1 spans (binaryAnnotations) are not read here."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("traceId"), str)
        and isinstance(obj.get("id"), str)
        and "binaryAnnotations" not in obj
        and any(k in obj for k in _V2_KEYS)
    )


def _micros(span: dict[str, Any], key: str, *, required: bool) -> int:
    raw = span.get(key)
    if raw is None and not required:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise RecordError(f"missing {key}" if raw is None else f"{key} {str(raw)[:40]!r} is not a number")
    value = int(raw) * 1_000
    if not 0 <= value <= MAX_NS:
        raise RecordError(f"{key} {raw} is out of range")
    return value


def _service(endpoint: Any) -> str:
    name = endpoint.get("serviceName") if isinstance(endpoint, dict) else None
    return name if isinstance(name, str) else ""


def convert_span(span: Any) -> dict[str, Any]:
    """Span row columns (without `source`) of one Zipkin v2 span; raises RecordError when unusable."""
    if not isinstance(span, dict):
        raise RecordError("span is not an object")
    trace_id = record_id(span, "traceId", TRACE_ID_WIDTH, required=True)
    span_id = record_id(span, "id", SPAN_ID_WIDTH, required=True)
    parent = record_id(span, "parentId", SPAN_ID_WIDTH, required=False)
    start = _micros(span, "timestamp", required=True)
    # An absent duration marks an incomplete span (only one side was reported): it keeps zero length.
    duration = _micros(span, "duration", required=False)
    if start + duration > MAX_NS:
        raise RecordError(f"timestamp + duration {start + duration} ns is out of range")
    raw_tags = span.get("tags")
    attrs = {str(k): v for k, v in raw_tags.items()} if isinstance(raw_tags, dict) else {}
    peer = _service(span.get("remoteEndpoint"))
    if peer:
        attrs.setdefault("peer.service", peer)
    # In Zipkin the presence of the "error" tag marks a failed span; its value (maybe empty) is the message.
    if "error" in attrs or str(attrs.get("otel.status_code", "")).upper() == "ERROR":
        status, message = "ERROR", str(attrs.get("error", attrs.get("otel.status_description", "")))
    else:
        status, message = ("OK" if str(attrs.get("otel.status_code", "")).upper() == "OK" else "UNSET"), ""
    kind = str(span.get("kind", "")).upper()
    name = span.get("name")
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "service": _service(span.get("localEndpoint")),
        "name": name if isinstance(name, str) else "",
        "kind": kind if kind in _KINDS else "UNSPECIFIED",
        "start_ns": start,
        "end_ns": start + duration,
        "status": status,
        "status_message": message,
        "attributes": dumps(attrs),
        "links": "[]",
    }


@dataclass(slots=True)  # not frozen: FormatReader declares plain (settable) attributes
class ZipkinReader:
    name: str = "zipkin"
    signals: tuple[str, ...] = ("traces",)

    def sniff(self, head: str, path: Path) -> bool:
        """A JSON list whose first element is a Zipkin v2 span (not just any list of objects)."""
        return looks_like_span(_first_element(head))

    def read(self, path: Path, sink: RowSink) -> None:
        document = load_json_document(path)
        if not isinstance(document, list):
            raise FormatError(str(path), "not Zipkin v2 JSON: expected a list of spans")
        where = Position(str(path))
        spans: list[Any] = []
        for item in document:
            spans.extend(item if isinstance(item, list) else [item])
        for span in spans:
            index = where.next_index("span")
            try:
                row = convert_span(span)
            except RecordError as exc:
                where.problem(sink, f"span #{index}: {exc}")
                continue
            sink.spans.add(**row, source=where.source(index))


READER = ZipkinReader()
