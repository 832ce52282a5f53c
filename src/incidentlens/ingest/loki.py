"""Loki HTTP API responses (`query_range`, `query`) and push payloads -> log rows and metric rows.

`resultType: "streams"` (and a push body `{"streams": [...]}`) gives one log row per entry: the line is
the body, stream labels plus any structured metadata / parsed labels (the optional third element of an
entry) are the attributes. `service` is the first of service_name, service, app, job, container;
`level` comes from the `level` / `detected_level` label, else from a `level=` key or a bare level word
near the start of the line. `resultType: "matrix"`/`"vector"` gives metric rows exactly as Prometheus
(name `"value"` unless the series has `__name__`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from incidentlens.errors import FormatError
from incidentlens.ingest.common import dumps, normalize_id, normalize_level
from incidentlens.ingest.prometheus import add_response, looks_like_loki, read_responses
from incidentlens.ingest.sink import RowSink

_SERVICE_LABELS = ("service_name", "service", "app", "job", "container")
_LEVEL_LABELS = ("level", "detected_level", "severity", "lvl")
_TRACE_LABELS = ("trace_id", "traceID", "traceId")
_SPAN_LABELS = ("span_id", "spanID", "spanId")
_RESULT_RE = re.compile(r'"resultType"\s*:\s*"(streams|matrix|vector)"')
_PUSH_RE = re.compile(r'^\s*\{\s*"streams"\s*:\s*\[\s*\{\s*"stream"\s*:')
# `level=warn`, `"level":"warn"`, `[WARN]`, ` ERROR ` within the first 120 characters of a line.
# Bare words must be upper case: "no error found" is not an ERROR line.
_LINE_LEVEL_RE = re.compile(
    r"""(?:\b(?i:level)"?\s*[=:]\s*"?(\w+))|(?:(?<![\w.-])(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)(?![\w.-]))"""
)


def service_from_stream(labels: Mapping[str, str]) -> str:
    """The service of a Loki stream: the first non-empty of service_name, service, app, job, container."""
    for key in _SERVICE_LABELS:
        value = labels.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def level_from_line(line: str) -> str:
    """A level named in the first 120 characters of a log line, or '' when none is recognisable."""
    for match in _LINE_LEVEL_RE.finditer(line[:120]):
        level = normalize_level(match.group(1) or match.group(2))
        if level:
            return level
    return ""


def _first(labels: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = labels.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _entry_metadata(extra: Any) -> dict[str, str]:
    """Structured metadata of an entry: a flat label map, or categorised {structuredMetadata, parsed}."""
    if not isinstance(extra, dict):
        return {}
    flat: dict[str, str] = {}
    categorised = {"structuredMetadata", "parsed"} & extra.keys()
    groups = [extra[key] for key in sorted(categorised)] if categorised else [extra]
    for group in groups:
        if isinstance(group, dict):
            flat.update({str(k): str(v) for k, v in group.items()})
    return flat


def _safe_id(value: str, width: int) -> str:
    try:
        return normalize_id(value, width=width)
    except ValueError:
        return ""  # the raw value stays visible in attributes


def add_streams(streams: Any, path: Path, position: str, sink: RowSink) -> int:
    """One log row per stream entry; returns rows added, reports malformed entries with their index."""
    where = f"{path}{position}"
    if not isinstance(streams, list):
        raise FormatError(where, "'result' of a streams response is not a list")
    added = 0
    for s_index, stream in enumerate(streams):
        if not isinstance(stream, dict) or not isinstance(stream.get("stream", {}), dict):
            sink.problem(where, f"result[{s_index}] is not an object with a 'stream' label set")
            continue
        labels = {str(k): str(v) for k, v in (stream.get("stream") or {}).items()}
        values = stream.get("values")
        if not isinstance(values, list):
            sink.problem(where, f"result[{s_index}].values is not a list")
            continue
        for v_index, entry in enumerate(values):
            if (
                not isinstance(entry, list)
                or len(entry) not in (2, 3)
                or not isinstance(entry[0], str | int)
                or not str(entry[0]).isdigit()
                or not isinstance(entry[1], str)
            ):
                sink.problem(where, f"result[{s_index}].values[{v_index}] is not a [ns-string, line] entry")
                continue
            attributes = {**labels, **_entry_metadata(entry[2] if len(entry) == 3 else None)}
            line = entry[1]
            sink.logs.add(
                ts_ns=int(entry[0]),
                service=service_from_stream(attributes),
                level=normalize_level(_first(attributes, _LEVEL_LABELS)) or level_from_line(line),
                body=line,
                trace_id=_safe_id(_first(attributes, _TRACE_LABELS), 32),
                span_id=_safe_id(_first(attributes, _SPAN_LABELS), 16),
                attributes=dumps(attributes),
                source=f"{where}#{s_index}.{v_index}",
            )
            added += 1
    return added


def _add_loki_response(response: Any, path: Path, position: str, sink: RowSink) -> None:
    if isinstance(response, dict) and isinstance(response.get("streams"), list):  # push payload
        add_streams(response["streams"], path, position, sink)
        return
    data = response.get("data") if isinstance(response, dict) else None
    if (
        isinstance(response, dict)
        and response.get("status") == "success"
        and isinstance(data, dict)
        and data.get("resultType") == "streams"
    ):
        add_streams(data.get("result"), path, position, sink)
        return
    add_response(response, path, position, sink, service_from_stream)


class _LokiReader:
    name = "loki"
    signals = ("logs", "metrics")

    def sniff(self, head: str, path: Path) -> bool:
        if _PUSH_RE.search(head):
            return True
        if not head.lstrip().startswith(("{", "[")):
            return False
        match = _RESULT_RE.search(head)
        if match is None:
            return False
        return match.group(1) == "streams" or looks_like_loki(head)

    def read(self, path: Path, sink: RowSink) -> None:
        read_responses(path, sink, _add_loki_response)


READER = _LokiReader()
