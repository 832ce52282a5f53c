"""Columns of the telemetry tables: the one definition shared by ingest buffers and the DuckDB store.

Times are Unix nanoseconds (BIGINT, UTC). Ids are lowercase hex strings. `attributes`, `labels`,
`frames` and `links` are JSON text so every source fits one schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    INT = "BIGINT"
    FLOAT = "DOUBLE"
    TEXT = "VARCHAR"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    doc: str


_I, _F, _T = ColumnType.INT, ColumnType.FLOAT, ColumnType.TEXT

TABLES: dict[str, tuple[Column, ...]] = {
    "logs": (
        Column("ts_ns", _I, "event time"),
        Column("service", _T, "service.name or equivalent; empty when unknown"),
        Column("level", _T, "TRACE, DEBUG, INFO, WARN, ERROR or FATAL; empty when unknown"),
        Column("body", _T, "the message, without headers; a multi-line stack trace stays in one record"),
        Column("trace_id", _T, "lowercase hex trace id or empty"),
        Column("span_id", _T, "lowercase hex span id or empty"),
        Column("logger", _T, "logger / class / module name when the source has one"),
        Column("exception_type", _T, "exception class of an attached or embedded stack trace"),
        Column("frames", _T, "JSON list of stack frames {file, line, function, module}"),
        Column("attributes", _T, "JSON object of remaining attributes (resource and record)"),
        Column("source", _T, "file:line of the raw record"),
    ),
    "spans": (
        Column("trace_id", _T, "lowercase hex"),
        Column("span_id", _T, "lowercase hex"),
        Column("parent_span_id", _T, "lowercase hex or empty for roots"),
        Column("service", _T, "service.name of the emitting process"),
        Column("name", _T, "operation name"),
        Column("kind", _T, "SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL or UNSPECIFIED"),
        Column("start_ns", _I, "start time"),
        Column("end_ns", _I, "end time"),
        Column("status", _T, "OK, ERROR or UNSET"),
        Column("status_message", _T, "status description"),
        Column("attributes", _T, "JSON object of span and resource attributes"),
        Column("links", _T, "JSON list of {trace_id, span_id} links (producer/consumer joins)"),
        Column("source", _T, "file:line (or file#index) of the raw record"),
    ),
    "metrics": (
        Column("ts_ns", _I, "sample time"),
        Column("service", _T, "service the series belongs to; empty when unknown"),
        Column("name", _T, "metric name"),
        Column("labels", _T, "JSON object of the series labels"),
        Column("value", _F, "sample value; NaN is stored as NULL"),
        Column("source", _T, "file of the raw series"),
    ),
    "alerts": (
        Column("starts_ns", _I, "when the alert started firing"),
        Column("ends_ns", _I, "when it resolved; 0 when still firing"),
        Column("name", _T, "alert name"),
        Column("service", _T, "service label when present"),
        Column("severity", _T, "critical, high, warning, info or unknown"),
        Column("status", _T, "firing or resolved"),
        Column("fingerprint", _T, "deduplication key from the source"),
        Column("summary", _T, "human summary"),
        Column("labels", _T, "JSON object of labels and annotations"),
        Column("source", _T, "file of the raw alert"),
    ),
    "changes": (
        Column("ts_ns", _I, "when the change took effect"),
        Column("service", _T, "changed service"),
        Column("kind", _T, "deploy, config or feature_flag"),
        Column("description", _T, "what changed"),
        Column("author", _T, "who made it"),
        Column("commit", _T, "deployed commit sha when known"),
        Column("previous", _T, "previous version or value"),
        Column("current", _T, "new version or value"),
        Column("attributes", _T, "JSON object of anything else"),
        Column("source", _T, "file:line of the raw record"),
    ),
}


def create_table_sql(table: str) -> str:
    cols = ", ".join(f'"{c.name}" {c.type.value}' for c in TABLES[table])
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})'
