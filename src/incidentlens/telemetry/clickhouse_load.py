"""Copy a DuckDB telemetry store into the exporter's ClickHouse tables, as the collector would have written it.

For the equivalence tests and demos: a simulated incident read from files lands in `otel_traces`, `otel_logs`
and `otel_metrics_gauge` with the exporter's spellings (`Server`, `Error`, SeverityText/SeverityNumber),
attributes as Maps, the logger as `logger.name` and the exception type as `exception.type` (where the
OpenTelemetry log bridges put them). Rows travel as Parquet files read by ClickHouse's `file()`, so the
target must see this machine's files (chdb, or a local server).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from incidentlens.telemetry.clickhouse_connection import ClickHouseConnection, identifier, literal
from incidentlens.telemetry.clickhouse_schema import OtelTables
from incidentlens.telemetry.store import TelemetryStore

# A JSON object's members as Map(String, String): strings unquoted, anything else as its JSON text.
_JSON_MAP = (
    "mapFromArrays(arrayMap(x -> x.1, JSONExtractKeysAndValuesRaw({col})),"
    " arrayMap(x -> if(startsWith(x.2, '\"'), JSONExtractString(x.2), x.2), JSONExtractKeysAndValuesRaw({col})))"
)
_SEVERITY = (
    "multiIf(level = 'TRACE', 1, level = 'DEBUG', 5, level = 'INFO', 9, level = 'WARN', 13, level = 'ERROR', 17,"
    " level = 'FATAL', 21, 0)"
)
_KIND = (
    "multiIf(kind = 'SERVER', 'Server', kind = 'CLIENT', 'Client', kind = 'PRODUCER', 'Producer',"
    " kind = 'CONSUMER', 'Consumer', kind = 'INTERNAL', 'Internal', 'Unspecified')"
)
_STATUS = "multiIf(status = 'ERROR', 'Error', status = 'OK', 'Ok', 'Unset')"


def copy_store(store: TelemetryStore, conn: ClickHouseConnection, tables: OtelTables | None = None) -> dict[str, int]:
    """Insert every span, log line and metric point of `store`; returns rows per exporter table."""
    tables = tables or OtelTables()
    with tempfile.TemporaryDirectory(prefix="incidentlens-ch-") as tmp:
        paths = {name: Path(tmp) / f"{name}.parquet" for name in ("spans", "logs", "metrics")}
        for name, path in paths.items():
            store.rows(f"COPY (SELECT * FROM {name}) TO {literal(str(path))} (FORMAT parquet)")
        attrs = _JSON_MAP.format(col="if(attributes = '', '{}', attributes)")
        conn.command(
            f"INSERT INTO {identifier(tables.traces)} (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind,"
            " ServiceName, ResourceAttributes, SpanAttributes, Duration, StatusCode, StatusMessage,"
            " `Links.TraceId`, `Links.SpanId`, `Links.TraceState`, `Links.Attributes`)"
            f" SELECT fromUnixTimestamp64Nano(start_ns, 'UTC'), trace_id, span_id, parent_span_id, name, {_KIND},"
            f" service, map('service.name', service), {attrs}, toUInt64(greatest(end_ns - start_ns, 0)), {_STATUS},"
            " status_message, arrayMap(x -> x.1, lk), arrayMap(x -> x.2, lk), arrayMap(x -> '', lk),"
            " arrayMap(x -> map(), lk) FROM (SELECT *, JSONExtract(if(links = '', '[]', links),"
            " 'Array(Tuple(trace_id String, span_id String))') AS lk FROM"
            f" file({literal(str(paths['spans']))}, Parquet))"
        )
        log_attrs = _JSON_MAP.format(col="if(attributes = '', '{}', attributes)")
        conn.command(
            f"INSERT INTO {identifier(tables.logs)} (Timestamp, TraceId, SpanId, SeverityText, SeverityNumber,"
            " ServiceName, Body, ResourceAttributes, LogAttributes)"
            f" SELECT fromUnixTimestamp64Nano(ts_ns, 'UTC'), trace_id, span_id, level, {_SEVERITY}, service, body,"
            f" map('service.name', service), mapUpdate({log_attrs},"
            " mapFilter((k, v) -> v != '', map('logger.name', logger, 'exception.type', exception_type)))"
            f" FROM file({literal(str(paths['logs']))}, Parquet)"
        )
        gauge = tables.metrics[0]
        labels = _JSON_MAP.format(col="if(labels LIKE '{%', labels, '{}')")
        conn.command(
            f"INSERT INTO {identifier(gauge)} (ServiceName, MetricName, Attributes, TimeUnix, Value,"
            " ResourceAttributes)"
            f" SELECT service, name, {labels},"
            " fromUnixTimestamp64Nano(ts_ns, 'UTC'), ifNull(value, nan), map('service.name', service)"
            f" FROM file({literal(str(paths['metrics']))}, Parquet)"
        )
    counts = store.counts()
    return {tables.traces: counts["spans"], tables.logs: counts["logs"], gauge: counts["metrics"]}
