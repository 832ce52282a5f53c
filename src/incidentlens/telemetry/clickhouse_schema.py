"""The OpenTelemetry Collector ClickHouse exporter's tables, seen as the store's `spans`, `logs`, `metrics`.

Each function returns a subquery over the exporter's columns that yields the columns the DuckDB store has
(times in Unix ns, kinds and statuses on one scale, levels normalised as the ingest readers do) and 64-bit
hashes of the trace, span and parent ids (`tk`, `sk`, `pk`) that joins use instead of the hex text, restricted to
a time range in its WHERE so ClickHouse prunes partitions and granules before anything else. The queries
in `clickhouse_queries.py` are written over these, so they read like their DuckDB twins. Exporter versions
differ in status and kind spellings (`Error` / `STATUS_CODE_ERROR`) and in which metric tables exist: the
table list is read at connect time (`OtelSchema.detect`).
"""

from __future__ import annotations

from dataclasses import dataclass

from incidentlens.telemetry.clickhouse_connection import ClickHouseConnection, column_names, identifier, literal

# Labels that name one process rather than the series, as in the DuckDB queries.
# Where a log record keeps its logger, exception type and stack trace (the ingest readers' keys first).
LOGGER_KEYS = ("logger.name", "logger", "logger_name", "code.namespace")
EXCEPTION_TYPE_KEYS = ("exception.type", "error.type", "err.type", "error.kind", "exc_type", "err.name")
STACK_KEYS = ("exception.stacktrace", "stack_trace", "stacktrace", "exc_info", "error.stack_trace", "error.stack")
PEER_KEYS = ("peer.service", "db.system", "messaging.system", "server.address", "net.peer.name")


@dataclass(frozen=True, slots=True)
class OtelTables:
    """Table names (optionally `database.table`); the exporter's defaults."""

    traces: str = "otel_traces"
    logs: str = "otel_logs"
    metrics: tuple[str, ...] = ("otel_metrics_gauge", "otel_metrics_sum")


@dataclass(frozen=True, slots=True)
class OtelSchema:
    """Which of the configured tables exist (a missing one answers as empty)."""

    tables: OtelTables
    has_traces: bool
    has_logs: bool
    metric_tables: tuple[str, ...]
    log_has_scope: bool = True

    @classmethod
    def detect(cls, conn: ClickHouseConnection, tables: OtelTables) -> OtelSchema:
        traces = column_names(conn, tables.traces)
        logs = column_names(conn, tables.logs)
        metrics = tuple(t for t in tables.metrics if column_names(conn, t))
        return cls(tables, bool(traces), bool(logs), metrics, "ScopeName" in logs)

    def spans(
        self, lo_ns: int, hi_ns: int, *, trace_id: str | None = None, sample: tuple[int, int] | None = None
    ) -> str:
        """Spans starting in `[lo_ns, hi_ns]` with the store's span columns plus peer, exception type,
        db statement and link ids; only one trace's, or the traces of a deterministic sample (kept, out of)."""
        if not self.has_traces:
            return (
                "(SELECT '' AS trace_id, '' AS span_id, '' AS parent_span_id, toUInt64(0) AS tk, toUInt64(0) AS sk,"
                " toUInt64(0) AS pk, '' AS service, '' AS name,"
                " '' AS kind, toInt64(0) AS start_ns, toInt64(0) AS end_ns, '' AS status, '' AS status_message,"
                " '' AS peer, '' AS exc, '' AS stmt, CAST([], 'Array(UInt64)') AS link_traces,"
                " CAST([], 'Array(UInt64)') AS link_spans FROM system.one WHERE 0)"
            )
        peer = _first_nonempty([f"SpanAttributes[{literal(k)}]" for k in PEER_KEYS])
        exc = _first_nonempty(
            [
                "SpanAttributes['exception.type']",
                "Events.Attributes[indexOf(Events.Name, 'exception')]['exception.type']",
            ]
        )
        return (
            "(SELECT TraceId AS trace_id, SpanId AS span_id, ParentSpanId AS parent_span_id,"
            " cityHash64(TraceId) AS tk, cityHash64(SpanId) AS sk, cityHash64(ParentSpanId) AS pk,"
            " toString(ServiceName) AS service, toString(SpanName) AS name,"
            " upper(replaceRegexpOne(toString(SpanKind), '^(?i:SPAN_KIND_|SpanKind)', '')) AS kind_raw,"
            " if(kind_raw IN ('SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER', 'INTERNAL'), kind_raw, 'UNSPECIFIED')"
            " AS kind, toUnixTimestamp64Nano(Timestamp) AS start_ns, start_ns + toInt64(Duration) AS end_ns,"
            " upper(replaceRegexpOne(toString(StatusCode), '^(?i:STATUS_CODE_)', '')) AS status_raw,"
            " if(status_raw IN ('ERROR', 'OK'), status_raw, 'UNSET') AS status, StatusMessage AS status_message,"
            f" {peer} AS peer, {exc} AS exc, SpanAttributes['db.statement'] AS stmt,"
            " arrayMap(x -> cityHash64(x), Links.TraceId) AS link_traces,"
            " arrayMap(x -> cityHash64(x), Links.SpanId) AS link_spans"
            f" FROM {identifier(self.tables.traces)} WHERE {_between('Timestamp', lo_ns, hi_ns)}"
            + (f" AND TraceId = {literal(trace_id)}" if trace_id is not None else "")
            + (f" AND cityHash64(TraceId) % {int(sample[1])} < {int(sample[0])}" if sample else "")
            + ")"
        )

    def logs(self, lo_ns: int, hi_ns: int) -> str:
        """Log records in `[lo_ns, hi_ns]` with the store's log columns plus the stack trace text."""
        if not self.has_logs:
            return (
                "(SELECT toInt64(0) AS ts_ns, '' AS service, '' AS level, '' AS body, '' AS trace_id,"
                " '' AS span_id, toUInt64(0) AS tk, toUInt64(0) AS sk, '' AS logger, '' AS exception_type, '' AS stack"
                " FROM system.one WHERE 0)"
            )
        logger_parts = [f"LogAttributes[{literal(k)}]" for k in LOGGER_KEYS]
        if self.log_has_scope:
            logger_parts.append("ScopeName")
        logger = _first_nonempty(logger_parts)
        exc = _first_nonempty([f"LogAttributes[{literal(k)}]" for k in EXCEPTION_TYPE_KEYS])
        stack = _first_nonempty(
            [f"LogAttributes[{literal(k)}]" for k in STACK_KEYS] + ["if(position(Body, '\\n') > 0, Body, '')"]
        )
        return (
            "(SELECT toUnixTimestamp64Nano(Timestamp) AS ts_ns, toString(ServiceName) AS service,"
            f" {_LEVEL_SQL} AS level, Body AS body, TraceId AS trace_id, SpanId AS span_id,"
            " cityHash64(TraceId) AS tk, cityHash64(SpanId) AS sk,"
            f" {logger} AS logger, {exc} AS exception_type, {stack} AS stack"
            f" FROM {identifier(self.tables.logs)} WHERE {_between('Timestamp', lo_ns, hi_ns)})"
        )

    def metrics(self, lo_ns: int, hi_ns: int) -> str:
        """Gauge and sum points in `[lo_ns, hi_ns]`: ts_ns, service, name, labels (a Map), value (finite)."""
        if not self.metric_tables:
            return (
                "(SELECT toInt64(0) AS ts_ns, '' AS service, '' AS name,"
                " CAST(map(), 'Map(String, String)') AS labels, toFloat64(0) AS value FROM system.one WHERE 0)"
            )
        parts = [
            "SELECT toUnixTimestamp64Nano(TimeUnix) AS ts_ns, toString(ServiceName) AS service,"
            " toString(MetricName) AS name, CAST(Attributes, 'Map(String, String)') AS labels, Value AS value"
            f" FROM {identifier(t)} WHERE {_between('TimeUnix', lo_ns, hi_ns)} AND isFinite(Value)"
            for t in self.metric_tables
        ]
        return "(" + " UNION ALL ".join(parts) + ")"


def _between(column: str, lo_ns: int, hi_ns: int) -> str:
    lo, hi = max(int(lo_ns), 0), min(int(hi_ns), 2**62)
    return (
        f"{column} >= fromUnixTimestamp64Nano(toInt64({lo}), 'UTC')"
        f" AND {column} <= fromUnixTimestamp64Nano(toInt64({hi}), 'UTC')"
    )


def _first_nonempty(parts: list[str]) -> str:
    """The first non-empty of several string expressions (ClickHouse has no nullif on '' chains)."""
    expr = "''"
    for part in reversed(parts):
        expr = f"if(({part}) != '', ({part}), {expr})"
    return expr


# The ingest readers' level scale (`ingest.common.normalize_level`): names first, then SeverityNumber.
_LEVEL_SQL = (
    "multiIf(lower(SeverityText) IN ('trace', 'verbose', 'finest'), 'TRACE',"
    " lower(SeverityText) IN ('debug', 'dbug', 'fine'), 'DEBUG',"
    " lower(SeverityText) IN ('info', 'information', 'notice'), 'INFO',"
    " lower(SeverityText) IN ('warn', 'warning'), 'WARN',"
    " lower(SeverityText) IN ('error', 'err', 'eror', 'severe'), 'ERROR',"
    " lower(SeverityText) IN ('critical', 'crit', 'fatal', 'panic', 'emerg', 'alert'), 'FATAL',"
    " SeverityNumber BETWEEN 1 AND 24, ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR',"
    " 'FATAL'][intDiv(SeverityNumber - 1, 4) + 1],"
    " '')"
)
