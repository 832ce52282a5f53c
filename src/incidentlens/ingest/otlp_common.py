"""OTLP/JSON shared by the trace, log and metric readers: AnyValue decoding, resources, file walking.

OTLP/JSON (the protobuf JSON mapping with hex ids) arrives as a whole-file export request, as the
collector file exporter's JSON lines (one export request per line, signals may mix), or wrapped by
query APIs (`{"result": ...}` from Jaeger api/v3, `{"trace": ...}` from Tempo api/v2). Every OTLP
reader reads every signal it meets, so detection only has to pick the file, not each line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from incidentlens.errors import FormatError
from incidentlens.ingest.common import (
    MAX_BATCH_LINE_BYTES,
    iter_json_lines,
    iter_lines,
    load_json_document,
    normalize_id,
)
from incidentlens.ingest.sink import RowSink

TRACE_ID_WIDTH = 32
SPAN_ID_WIDTH = 16
SIGNAL_KEYS = ("resourceSpans", "resourceLogs", "resourceMetrics")
# Query APIs wrap one export request under a single key.
_WRAPPER_KEYS = ("result", "trace")
# Pre-1.0 OTLP called scopes "instrumentation libraries"; old exports and Tempo v1 still use the names.
SCOPE_ALIASES = {
    "scopeSpans": "instrumentationLibrarySpans",
    "scopeLogs": "instrumentationLibraryLogs",
    "scopeMetrics": "instrumentationLibraryMetrics",
}
_MAX_DEPTH = 32
MAX_NS = (1 << 63) - 1  # the store keeps times as BIGINT nanoseconds (until the year 2262)
_KEY_RE = re.compile(r'(?<!\\)"(resourceSpans|resourceLogs|resourceMetrics)"\s*:')


class RecordError(ValueError):
    """One record (span, log record, data point) cannot be used; the message says why."""


@dataclass
class Position:
    """Where the records being converted come from, and how to name each one in `source`."""

    path: str
    line: int | None = None
    counters: dict[str, int] = field(default_factory=dict)

    def next_index(self, kind: str) -> int:
        """Running index of this kind of record within the document (or line)."""
        index = self.counters.get(kind, 0)
        self.counters[kind] = index + 1
        return index

    def source(self, index: int) -> str:
        """`path:line` for JSON lines, `path#index` for whole documents."""
        return f"{self.path}:{self.line}" if self.line is not None else f"{self.path}#{index}"

    def problem(self, sink: RowSink, reason: str) -> None:
        sink.problem(self.path, reason, line=self.line)


def any_value(value: Any, depth: int = 0) -> Any:
    """The plain value of an OTLP AnyValue; int64 arrives as a JSON string per the proto3 mapping."""
    if not isinstance(value, dict) or depth > _MAX_DEPTH:
        return None
    if "stringValue" in value:
        return str(value["stringValue"])
    if "intValue" in value:
        return _int_or_text(value["intValue"])
    if "doubleValue" in value:
        return _double(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        array = value["arrayValue"]
        items = array.get("values") if isinstance(array, dict) else None
        return [any_value(v, depth + 1) for v in items] if isinstance(items, list) else []
    if "kvlistValue" in value:
        kvlist = value["kvlistValue"]
        return attributes(kvlist.get("values") if isinstance(kvlist, dict) else None, depth + 1)
    if "bytesValue" in value:
        return str(value["bytesValue"])  # base64 text: readable in JSON and reversible
    return None


def _int_or_text(raw: Any) -> int | str | None:
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return raw
    return int64_or_text(str(raw))


def int64_or_text(text: str) -> int | str:
    """An int64 as a number; anything else (or beyond 64 bits, which JSON columns cannot hold) as text."""
    try:
        value = int(text.strip())
    except ValueError:
        return text
    return value if -(1 << 63) <= value < (1 << 63) else text


def _double(raw: Any) -> float | str | None:
    # The proto3 JSON mapping writes NaN and infinities as strings; JSON text cannot hold them.
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else str(raw)


def attributes(kvs: Any, depth: int = 0) -> dict[str, Any]:
    """A list of OTLP KeyValue as a dict; entries without a string key are skipped (they cannot be named)."""
    result: dict[str, Any] = {}
    if not isinstance(kvs, list):
        return result
    for kv in kvs:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            result[kv["key"]] = any_value(kv.get("value"), depth)
    return result


def resource_info(container: Any) -> tuple[str, dict[str, Any]]:
    """(service.name, resource attributes) of a ResourceSpans/Logs/Metrics (or Tempo batch)."""
    resource = container.get("resource") if isinstance(container, dict) else None
    attrs = attributes(resource.get("attributes")) if isinstance(resource, dict) else {}
    service = attrs.get("service.name")
    return (service if isinstance(service, str) else "" if service is None else str(service)), attrs


def scopes(container: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The scope entries under `key` or its pre-1.0 alias; non-objects are dropped."""
    value = container.get(key)
    if value is None:
        value = container.get(SCOPE_ALIASES[key])
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def unix_nano(record: dict[str, Any], key: str) -> int:
    """A fixed64 nanosecond field; absent means 0 (proto3 default). Raises RecordError when malformed."""
    raw = record.get(key)
    if raw is None or raw == "":
        return 0
    if isinstance(raw, bool):
        raise RecordError(f"{key} is a boolean")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and math.isfinite(raw):
        value = int(raw)
    elif isinstance(raw, str) and raw.strip().isdecimal():
        value = int(raw.strip())
    else:
        raise RecordError(f"{key} {str(raw)[:40]!r} is not an integer of nanoseconds")
    if value < 0 or value > MAX_NS:
        raise RecordError(f"{key} {value} is out of range for nanoseconds since 1970")
    return value


def record_id(record: dict[str, Any], key: str, width: int, *, required: bool) -> str:
    """A normalised hex id; raises RecordError when required and absent, or when malformed."""
    try:
        value = normalize_id(record.get(key), width=width)
    except ValueError as exc:
        raise RecordError(f"{key}: {exc}") from None
    if required and not value:
        raise RecordError(f"missing {key}")
    return value


# A handler converts the resource list of one signal from one export request.
Handler = Callable[[list[Any], RowSink, Position], None]


def first_signal_key(head: str) -> str | None:
    """The first OTLP signal key in a JSON object text (possibly truncated), or None."""
    if not head.lstrip().startswith("{"):
        return None
    match = _KEY_RE.search(head)
    return match.group(1) if match else None


def _handlers() -> Mapping[str, Handler]:
    # Imported here, not at the top: each signal module imports this one for the shared decoding.
    from incidentlens.ingest import otlp_logs, otlp_metrics, otlp_traces

    return {
        "resourceSpans": otlp_traces.add_resource_spans,
        "resourceLogs": otlp_logs.add_resource_logs,
        "resourceMetrics": otlp_metrics.add_resource_metrics,
    }


def add_request(request: Any, sink: RowSink, where: Position) -> bool:
    """Convert one export request (any signal, possibly wrapped); False when it holds no OTLP data."""
    if not isinstance(request, dict):
        return False
    for wrapper in _WRAPPER_KEYS:
        inner = request.get(wrapper)
        if isinstance(inner, dict) and not any(k in request for k in SIGNAL_KEYS):
            request = inner
            break
    found = False
    for key, handler in _handlers().items():
        resources = request.get(key)
        if resources is None:
            continue
        found = True
        if not isinstance(resources, list):
            where.problem(sink, f"{key} is not a list")
            continue
        handler(resources, sink, where)
    return found


def _is_json_lines(path: Path) -> bool:
    """JSON lines when the first non-empty line is a complete JSON object on its own."""
    scratch = RowSink()  # decoding problems are reported again when the file is really read
    try:
        for _, text in iter_lines(path, scratch, max_line_bytes=MAX_BATCH_LINE_BYTES):
            if not text.strip():
                continue
            try:
                return isinstance(orjson.loads(text), dict)
            except orjson.JSONDecodeError:
                return False
    except (OSError, EOFError):  # corrupt gzip: the document path reports it as a FormatError
        return False
    return False


def _not_a_request(value: Any) -> str:
    error = value.get("error") if isinstance(value, dict) else None
    if error is not None:  # Jaeger api/v3 streams errors as {"error": {"message": ...}} lines
        message = error.get("message", error) if isinstance(error, dict) else error
        return f"the exporting API reported an error: {str(message)[:200]}"
    return "not an OTLP export request (no resourceSpans, resourceLogs or resourceMetrics)"


def read_otlp_file(path: Path, sink: RowSink, *, spans_by_engine: bool = False) -> None:
    """Read an OTLP/JSON document or JSON-lines file of export requests into the sink.

    With `spans_by_engine` and a store engine, DuckDB reads the span lines it can convert exactly
    (`otlp_engine`); the other lines, or the whole file when DuckDB cannot read it, come here record by record.
    """
    if _is_json_lines(path):
        only: set[int] | None = None
        if spans_by_engine and sink.engine is not None:
            from incidentlens.ingest.otlp_engine import read_spans_with_engine  # it imports the span enums

            only = read_spans_with_engine(path, sink)
            if only is not None and not only:
                return
        lineno = 0
        try:
            for lineno, request in iter_json_lines(path, sink, max_line_bytes=MAX_BATCH_LINE_BYTES, only=only):
                where = Position(str(path), lineno)
                if not add_request(request, sink, where):
                    where.problem(sink, _not_a_request(request))
        except (OSError, EOFError) as exc:  # a gzip stream cut or corrupted part-way: keep what was read
            sink.problem(str(path), f"corrupt gzip data after line {lineno}: {exc}")
        return
    document = load_json_document(path)
    if not add_request(document, sink, Position(str(path))):
        raise FormatError(str(path), "not an OTLP/JSON export: no resourceSpans, resourceLogs or resourceMetrics")


@dataclass(slots=True)  # not frozen: FormatReader declares plain (settable) attributes
class OtlpReader:
    """One registered reader per signal; each reads every signal so mixed exporter files lose nothing."""

    name: str
    signals: tuple[str, ...]
    key: str

    def sniff(self, head: str, path: Path) -> bool:
        return first_signal_key(head) == self.key

    def read(self, path: Path, sink: RowSink) -> None:
        read_otlp_file(path, sink, spans_by_engine=self.key == "resourceSpans")
