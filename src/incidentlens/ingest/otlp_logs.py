"""OTLP/JSON log records and events (`resourceLogs`) -> log rows."""

from __future__ import annotations

from typing import Any

from incidentlens.ingest.common import dumps, normalize_level
from incidentlens.ingest.otlp_common import (
    SPAN_ID_WIDTH,
    TRACE_ID_WIDTH,
    OtlpReader,
    Position,
    RecordError,
    any_value,
    attributes,
    record_id,
    resource_info,
    scopes,
    unix_nano,
)
from incidentlens.ingest.sink import RowSink


def _level(record: dict[str, Any]) -> str:
    """From severityNumber (1-24) when set, else the severityText name."""
    number = record.get("severityNumber")
    if isinstance(number, str) and number.strip().isdecimal():
        number = int(number)
    level = normalize_level(number) if isinstance(number, int) and number > 0 else ""
    return level or normalize_level(record.get("severityText"))


def _body(record: dict[str, Any]) -> str:
    """String bodies as they are; structured bodies (events, maps) as compact JSON."""
    if "body" not in record:
        return ""
    value = any_value(record["body"])
    if value is None:
        return ""
    return value if isinstance(value, str) else dumps(value)


def _trace_context(record: dict[str, Any], sink: RowSink, where: Position, index: int) -> tuple[str, str]:
    """(trace_id, span_id); a malformed id is reported and dropped, the record is still worth keeping."""
    ids = []
    for key, width in (("traceId", TRACE_ID_WIDTH), ("spanId", SPAN_ID_WIDTH)):
        try:
            ids.append(record_id(record, key, width, required=False))
        except RecordError as exc:
            where.problem(sink, f"log record #{index}: {exc}; id dropped, record kept")
            ids.append("")
    return ids[0], ids[1]


def convert_log(record: Any, service: str, logger: str, resource_attrs: dict[str, Any]) -> dict[str, Any]:
    """Log row columns (without ids and source) of one log record; raises RecordError when unusable."""
    if not isinstance(record, dict):
        raise RecordError("log record is not an object")
    ts = unix_nano(record, "timeUnixNano") or unix_nano(record, "observedTimeUnixNano")
    attrs = {**resource_attrs, **attributes(record.get("attributes"))}
    event_name = record.get("eventName")
    if isinstance(event_name, str) and event_name:
        attrs.setdefault("event.name", event_name)
    exception_type = attrs.get("exception.type")
    row = {
        "ts_ns": ts,
        "service": service,
        "level": _level(record),
        "body": _body(record),
        "logger": logger,
        "exception_type": "" if exception_type is None else str(exception_type),
        # Stack frames stay empty here: the stack-trace parser fills them from exception.stacktrace.
        "frames": "[]",
        "attributes": dumps(attrs),
    }
    return row


def add_resource_logs(resources: list[Any], sink: RowSink, where: Position) -> None:
    """Append every log record of a `resourceLogs` list; bad records become problems."""
    for resource in resources:
        if not isinstance(resource, dict):
            where.problem(sink, "resource entry is not an object")
            continue
        service, resource_attrs = resource_info(resource)
        for scope in scopes(resource, "scopeLogs"):
            records = scope.get("logRecords")
            if not isinstance(records, list):
                continue
            scope_info = scope.get("scope") or scope.get("instrumentationLibrary")
            # Log bridges name the instrumentation scope after the logger (e.g. a Java class name).
            logger = scope_info.get("name") if isinstance(scope_info, dict) else None
            for record in records:
                index = where.next_index("log")
                try:
                    row = convert_log(record, service, logger if isinstance(logger, str) else "", resource_attrs)
                except RecordError as exc:
                    where.problem(sink, f"log record #{index}: {exc}")
                    continue
                trace_id, span_id = _trace_context(record, sink, where, index)
                sink.logs.add(**row, trace_id=trace_id, span_id=span_id, source=where.source(index))


READER = OtlpReader(name="otlp-logs", signals=("logs",), key="resourceLogs")
