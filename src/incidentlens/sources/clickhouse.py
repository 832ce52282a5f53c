"""ClickHouse as a source that is analysed where the data lives (the OpenTelemetry Collector exporter's schema).

Nothing is copied: `load` checks the tables and counts what the window holds, and `telemetry` hands the
investigation a `ClickHouseQueries` that answers every analysis question by SQL in ClickHouse, so only
aggregates, exemplar traces and sample log lines cross the wire. The URL is `http(s)://host:8123[/database]`
for a server (the `clickhouse-connect` client) or `chdb:PATH` for an embedded database directory (`chdb`);
both come with `pip install 'incidentlens[clickhouse]'`.

```yaml
sources:
  otel: {kind: clickhouse, url: http://clickhouse:8123/otel, username: reader, password_env: CH_PASSWORD}
```
Options: `traces_table`, `logs_table`, `metrics_tables` (the exporter's names by default, `db.table` allowed),
`settings` (ClickHouse query settings, e.g. `{max_memory_usage: 2000000000}`), `max_message_variants` (a
message shape with more distinct messages crosses as one row, default 50, at most 100) and `sample_traces_above`
(past this many spans in the window, default 500,000, self time, call gaps and the call graph read a
deterministic sample of whole traces, counts scaled up, said in the brief; `null` reads every trace).
"""

from __future__ import annotations

import re
import time
from typing import Any

from incidentlens.errors import SourceError
from incidentlens.ingest.sink import RowSink
from incidentlens.model import TimeRange
from incidentlens.sources.config import SourceConfig
from incidentlens.sources.http import redact_url
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport
from incidentlens.telemetry.clickhouse_connection import ClickHouseConnection, connect, literal
from incidentlens.telemetry.clickhouse_queries import ClickHouseQueries
from incidentlens.telemetry.clickhouse_schema import OtelSchema, OtelTables
from incidentlens.telemetry.logqueries import MAX_MESSAGE_VARIANTS
from incidentlens.telemetry.protocol import TelemetryQueries

_OPTIONS = frozenset(
    {"traces_table", "logs_table", "metrics_tables", "settings", "max_message_variants", "sample_traces_above"}
)
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?\Z")
_SETTING = re.compile(r"^[a-z_][a-z0-9_]*\Z")
DEFAULT_MAX_MESSAGE_VARIANTS = MAX_MESSAGE_VARIANTS
# Past this many spans in the window, self time, call gaps and the call graph read a sample of whole traces.
DEFAULT_SAMPLE_TRACES_ABOVE = 500_000


class ClickHouseSource:
    kind = "clickhouse"
    signals = ("logs", "spans", "metrics")
    live = True

    def __init__(self, config: SourceConfig) -> None:
        config.check_options(_OPTIONS)
        if not config.url:
            raise config.option_error("'url' is required (http://clickhouse:8123/otel, or chdb:/path/to/db)")
        options = config.options
        traces = _table(config, "traces_table", options.get("traces_table", "otel_traces"))
        logs = _table(config, "logs_table", options.get("logs_table", "otel_logs"))
        metrics = options.get("metrics_tables", list(OtelTables().metrics))
        if not isinstance(metrics, list):
            raise config.option_error("'metrics_tables' must be a list of table names")
        self.tables = OtelTables(traces, logs, tuple(_table(config, "metrics_tables", m) for m in metrics))
        settings = options.get("settings", {})
        if not isinstance(settings, dict) or not all(
            isinstance(k, str) and _SETTING.match(k) and isinstance(v, str | int | float) and not isinstance(v, bool)
            for k, v in settings.items()
        ):
            raise config.option_error("'settings' must map ClickHouse setting names to numbers or strings")
        self.settings = ", ".join(f"{k} = {literal(v)}" for k, v in settings.items())
        variants = options.get("max_message_variants", DEFAULT_MAX_MESSAGE_VARIANTS)
        if isinstance(variants, bool) or not isinstance(variants, int) or not 1 <= variants <= 100:
            raise config.option_error("'max_message_variants' must be a whole number from 1 to 100")
        self.max_message_variants = variants
        above = options.get("sample_traces_above", DEFAULT_SAMPLE_TRACES_ABOVE)
        if above is not None and (isinstance(above, bool) or not isinstance(above, int) or above < 1000):
            raise config.option_error("'sample_traces_above' must be a number of spans (1000 or more) or null")
        self.sample_traces_above: int | None = above
        self.config = config
        self.name = config.name
        self._conn: ClickHouseConnection | None = None
        self._schema: OtelSchema | None = None

    @property
    def target(self) -> str:
        url = self.config.url
        return url if url.startswith("chdb:") else redact_url(url)

    def connection(self) -> tuple[ClickHouseConnection, OtelSchema]:
        if self._conn is None or self._schema is None:
            c = self.config
            self._conn = connect(
                c.url,
                username=c.username,
                password=c.password,
                timeout_seconds=c.timeout_seconds,
                verify=c.tls_verify,
            )
            self._schema = OtelSchema.detect(self._conn, self.tables)
        return self._conn, self._schema

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        """Nothing is copied: count what the window holds, so the brief can say what was analysed in place."""
        started = time.perf_counter()
        report = SourceReport(self.name, self.kind, self.target)
        try:
            schema = self.connection()[1]
        except SourceError as exc:
            raise SourceError(f"clickhouse source {self.name!r}: {exc}") from None
        missing = [
            name
            for name, present in ((self.tables.traces, schema.has_traces), (self.tables.logs, schema.has_logs))
            if not present
        ] + [t for t in self.tables.metrics if t not in schema.metric_tables]
        if not schema.has_traces and not schema.has_logs and not schema.metric_tables:
            raise SourceError(
                f"clickhouse source {self.name!r}: none of the tables {', '.join(missing)} exist at {self.target}"
            )
        if missing:
            report.notes.append(f"tables not found (read as empty): {', '.join(missing)}")
        progress(f"{self.name}: counting the window in ClickHouse")
        queries = self.telemetry(query, None)
        counts = queries.counts()
        for table in ("spans", "logs", "metrics"):
            report.add_rows(table, counts[table])
        bounds = queries.bounds()
        if bounds is not None:
            report.saw_time(bounds.start_ns)
            report.saw_time(bounds.end_ns)
        report.services = sorted(set().union(*queries.services_by_signal().values()) or ())
        report.notes.append("analysed in ClickHouse: only aggregates, exemplar traces and sample lines were fetched")
        if query.services:
            report.notes.append(
                "the service filter does not narrow an analysis in place: callers and callees of every service count"
            )
        sampling = queries.sampling_note()
        if sampling:
            report.notes.append(sampling)
        report.requests = 3
        report.seconds = time.perf_counter() - started
        return report

    def telemetry(self, query: SourceQuery, local: TelemetryQueries | None) -> ClickHouseQueries:
        """The analysis questions for `query.window`, answered in ClickHouse; alerts and changes from `local`."""
        conn, schema = self.connection()
        return ClickHouseQueries(
            conn,
            schema,
            TimeRange(query.window.start_ns, query.window.end_ns),
            local=local,
            settings=self.settings,
            max_message_groups=self.max_message_variants,
            max_family_spans=self.sample_traces_above,
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn, self._schema = None, None


def _table(config: SourceConfig, key: str, value: Any) -> str:
    if not isinstance(value, str) or not _TABLE.match(value):
        raise config.option_error(f"'{key}' must be a table name such as otel_traces or otel.otel_traces")
    return value
