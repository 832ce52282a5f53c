"""Prometheus HTTP API responses (`query_range`, `query`) -> metric rows.

Accepted encodings: one response document, a JSON list of responses, or JSON lines of responses.
Each sample becomes one row: `name` is the series' `__name__`, or `"value"` when the series has none
(the result of `rate(...)`, `sum by (...)` and other expressions), so every row has a queryable name;
`labels` is the label set without `__name__`; `service` comes from `service_from_labels`.
Sample values are strings: `"NaN"` is stored as NULL, `"+Inf"`/`"-Inf"` as infinities. Native histogram
samples become `<name>_count` and `<name>_sum` rows. A `status: "error"` response is a FormatError when
the file holds nothing else, and a reported problem next to valid responses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Container, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson

from incidentlens.errors import FormatError
from incidentlens.ingest.common import (
    HEAD_BYTES,
    MAX_BATCH_LINE_BYTES,
    MAX_TIME_NS,
    dumps,
    iter_json_lines,
    load_json_document,
    read_head,
)
from incidentlens.ingest.sink import RowSink

# A call-edge series (service mesh, servicegraph) describes the service that serves the call: Istio's and
# Linkerd's destination labels, the OpenTelemetry servicegraph connector's `server`. They come before the
# scrape's `job`, which names the proxy's scrape job, not the service.
SERVICE_LABELS = (
    "service",
    "service_name",
    "destination_workload",
    "destination_app",
    "destination_service_name",
    "dst_deployment",
    "server",
    "job",
    "app",
    "app_kubernetes_io_name",
    "container",
)
_RESULT_RE = re.compile(r'"resultType"\s*:\s*"(matrix|vector|scalar|string)"')
_ERROR_RE = re.compile(r'"status"\s*:\s*"error"')
# Loki answers with the same envelope; these keys exist only in Loki answers. Prometheus adds "stats"
# only when asked (`stats=all`) and then it always holds "timings", so an empty or Loki-shaped "stats"
# object means Loki.
_LOKI_RE = re.compile(r'"resultType"\s*:\s*"streams"|"encodingFlags"|"ingester"\s*:|"summary"\s*:\s*\{')
_STATS_RE = re.compile(r'"stats"\s*:\s*\{(?!\s*"timings")')

ServiceOf = Callable[[Mapping[str, str]], str]
ResponseAdder = Callable[[Any, Path, str, RowSink], object]


def service_from_labels(labels: Mapping[str, str]) -> str:
    """The service a label set belongs to: the first non-empty well-known label, else derived from `pod`.

    An edge series (`source_workload` -> `destination_workload`, `client` -> `server`) belongs to the callee.

    A Deployment pod `cart-7d9f8c-x2x4z` gives `cart` (the last two `-` parts are the ReplicaSet hash
    and the pod suffix); a StatefulSet pod `kafka-0` gives `kafka`; any other pod name is kept whole.
    """
    for key in SERVICE_LABELS:
        value = labels.get(key)
        if isinstance(value, str) and value:
            return value
    pod = labels.get("pod")
    if not isinstance(pod, str) or not pod:
        return ""
    parts = pod.split("-")
    if len(parts) >= 3:
        return "-".join(parts[:-2])
    if len(parts) == 2 and parts[1].isdigit():
        return parts[0]
    return pod


def looks_like_loki(head: str) -> bool:
    """True when a query response carries a key only Loki emits (shared with the Loki reader)."""
    return bool(_LOKI_RE.search(head) or _STATS_RE.search(head))


def iter_json_documents(path: Path, sink: RowSink, *, only: Container[int] | None = None) -> Iterator[tuple[str, Any]]:
    """(position, value) for each top-level JSON value: the elements of a JSON list, the one document,
    or every line of a JSON-lines file. Position is `#index` for list elements, `:line` for lines.

    JSON lines are recognised by the first non-empty line being a complete JSON value on its own,
    which a pretty-printed document never is; a bad line is then a problem, not an abort. With `only`
    (JSON lines), lines with other numbers are skipped unparsed: they were read another way.
    """
    head = read_head(path)
    if not head.strip() and len(head) < HEAD_BYTES:
        return  # an empty file holds no values; that is not a syntax error
    if first_line_is_json(head):
        for lineno, value in iter_json_lines(path, sink, max_line_bytes=MAX_BATCH_LINE_BYTES, only=only):
            yield f":{lineno}", value
        return
    document = load_json_document(path)
    if isinstance(document, list):
        for index, value in enumerate(document):
            yield f"#{index}", value
    else:
        yield "", document


def first_line_is_json(head: str) -> bool:
    """Whether a file whose first bytes are `head` is read as JSON lines (see `iter_json_documents`)."""
    lines = [line for line in head.split("\n") if line.strip()]
    if len(lines) < 2:
        return False
    try:
        orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        return False
    return True


def sample_time_ns(value: Any) -> int:
    """Prometheus sample times are float seconds; go through Decimal so 1435781430.781 stays exact."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"timestamp {value!r} is not a number")
    try:
        seconds = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        raise ValueError(f"timestamp {value!r} is not a number") from None
    if not seconds.is_finite():
        raise ValueError(f"timestamp {value!r} is not finite")
    ns = int(seconds * 1_000_000_000)
    if not -MAX_TIME_NS <= ns <= MAX_TIME_NS:
        raise ValueError(f"timestamp {value!r} is out of range")
    return ns


def sample_value(value: Any) -> float | None:
    """A sample value string as a float; NaN becomes None (NULL in the store)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"value {value!r} is not a number")
    number = float(value)  # accepts "NaN", "+Inf", "-Inf" as Prometheus writes them
    return None if math.isnan(number) else number


def add_response(
    response: Any, path: Path, position: str, sink: RowSink, service_of: ServiceOf = service_from_labels
) -> int:
    """Metric rows of one successful matrix/vector/scalar response; returns the number of rows added.

    Raises FormatError for an error response or an envelope that is not a query response, so the
    caller decides whether that sinks the file or is one problem among valid responses.
    """
    return add_result(response, f"{path}{position}", sink, service_of=service_of)


def add_result(
    response: Any, where: str, sink: RowSink, *, service_of: ServiceOf = service_from_labels, name: str = ""
) -> int:
    """`add_response` for an answer that did not come from a file (a live query): `where` names it in
    problems and in the rows' `source`; `name`, when given, names every series (a query's own name)."""
    if not isinstance(response, dict):
        raise FormatError(where, "not a query response object")
    status = response.get("status")
    if status == "error":
        raise FormatError(where, f"query failed: {response.get('errorType', 'unknown')}: {response.get('error', '')}")
    data = response.get("data")
    if status != "success" or not isinstance(data, dict):
        raise FormatError(where, f"not a query response (status {status!r}, data {type(data).__name__})")
    result_type = data.get("resultType")
    result = data.get("result")
    if result_type == "scalar":
        return _add_samples(sink, where, name or "value", {}, "", [result], "scalar")
    if result_type == "string":
        sink.problem(where, "string results carry no numeric samples; skipped")
        return 0
    if result_type not in ("matrix", "vector") or not isinstance(result, list):
        raise FormatError(where, f"unsupported resultType {result_type!r}")
    added = 0
    for index, series in enumerate(result):
        series_where = f"{where} result[{index}]"
        if not isinstance(series, dict) or not isinstance(series.get("metric", {}), dict):
            sink.problem(series_where, "series is not an object with a 'metric' label set")
            continue
        metric = {str(k): str(v) for k, v in (series.get("metric") or {}).items()}
        series_name = name or metric.pop("__name__", "") or "value"
        metric.pop("__name__", None)
        service = service_of(metric)
        samples = series.get("values") if result_type == "matrix" else [series.get("value")]
        if samples is not None and samples != [None]:
            added += _add_samples(sink, series_where, series_name, metric, service, samples, "values")
        histograms = series.get("histograms") if result_type == "matrix" else [series.get("histogram")]
        if histograms is not None and histograms != [None]:
            added += _add_histograms(sink, series_where, series_name, metric, service, histograms)
    return added


def _add_samples(
    sink: RowSink,
    where: str,
    name: str,
    labels: dict[str, str],
    service: str,
    samples: Any,
    field: str,
) -> int:
    if not isinstance(samples, list):
        sink.problem(where, f"'{field}' is not a list of [time, value] pairs")
        return 0
    labels_json = dumps(labels)
    source = where.split(" result[")[0]
    added = 0
    for index, pair in enumerate(samples):
        try:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError("sample is not a [time, value] pair")
            ts_ns, value = sample_time_ns(pair[0]), sample_value(pair[1])
        except ValueError as exc:
            sink.problem(where, f"{field}[{index}]: {exc}")
            continue
        sink.metrics.add(ts_ns=ts_ns, service=service, name=name, labels=labels_json, value=value, source=source)
        added += 1
    return added


def _add_histograms(sink: RowSink, where: str, name: str, labels: dict[str, str], service: str, samples: Any) -> int:
    if not isinstance(samples, list):
        sink.problem(where, "'histograms' is not a list of [time, histogram] pairs")
        return 0
    pairs: list[Any] = []
    for index, pair in enumerate(samples):
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], dict):
            sink.problem(where, f"histograms[{index}]: not a [time, histogram] pair")
            continue
        pairs.append([pair[0], pair[1].get("count")])
        pairs.append([pair[0], pair[1].get("sum")])
    counts, sums = pairs[0::2], pairs[1::2]
    added = _add_samples(sink, where, f"{name}_count", labels, service, counts, "histograms")
    return added + _add_samples(sink, where, f"{name}_sum", labels, service, sums, "histograms")


def read_responses(
    path: Path, sink: RowSink, add: ResponseAdder, *, only: Container[int] | None = None, succeeded: int = 0
) -> None:
    """Every response in the file; unusable responses are problems unless nothing else was readable.

    `only` and `succeeded`: the JSON lines still to read, and how many responses were read another way."""
    failures: list[FormatError] = []
    for position, response in iter_json_documents(path, sink, only=only):
        try:
            add(response, path, position, sink)
            succeeded += 1
        except FormatError as exc:
            failures.append(exc)
    if failures and not succeeded:
        raise failures[0]
    for failure in failures:
        sink.problem(failure.path, failure.reason)


class _PrometheusReader:
    name = "prometheus"
    signals = ("metrics",)

    def sniff(self, head: str, path: Path) -> bool:
        text = head.lstrip()
        if not text.startswith(("{", "[")):
            return False
        if _RESULT_RE.search(head):
            return not looks_like_loki(head)
        return bool(_ERROR_RE.search(head) and '"errorType"' in head)

    def read(self, path: Path, sink: RowSink) -> None:
        taken = None
        if sink.engine is not None:
            from incidentlens.ingest.prometheus_engine import read_responses_with_engine  # it imports this module

            taken = read_responses_with_engine(path, sink)
        if taken is None:
            read_responses(path, sink, add_response)
        elif taken.leftover:
            read_responses(path, sink, add_response, only=taken.leftover, succeeded=taken.responses)


READER = _PrometheusReader()
