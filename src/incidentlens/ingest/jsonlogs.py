"""JSON-lines logs in the common shapes (OTel, ECS, logstash-logback, zap, slog, pino, Serilog CLEF,
python-json-logger, structlog), plain or inside Docker json-file / CRI container wrappers.

Each object is flattened (nested and dotted keys are the same field), well-known keys fill the columns
and everything else goes to `attributes`. Non-JSON application lines inside container wrappers go
through the plain-text assembler so multi-line traces stay one record. Lines that are neither JSON
objects nor container lines (including `#` comments) are reported as problems: a JSON-lines file has
no comment syntax, so they are most likely damage.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from incidentlens.analyze.stacktraces import find_stacktrace, parse_stacktrace
from incidentlens.ingest.common import dumps, iter_lines, normalize_id, normalize_level, parse_time_ns
from incidentlens.ingest.container import PartialJoiner, Piece, Unwrapped, parse_cri, parse_docker, service_from_path
from incidentlens.ingest.jsonlogs_engine import (
    EXC_TYPE_KEYS,
    LEVEL_KEYS,
    LOGGER_KEYS,
    MESSAGE_KEYS,
    OTLP_KEYS,
    SERVICE_KEYS,
    SPAN_KEYS,
    STACK_KEYS,
    TIME_KEYS,
    TRACE_KEYS,
    read_with_engine,
)
from incidentlens.ingest.sink import RowSink
from incidentlens.ingest.textheader import Clock
from incidentlens.ingest.textlogs import TextAssembler, mtime_clock

_TIME_KEYS = TIME_KEYS
_LEVEL_KEYS = LEVEL_KEYS
_MESSAGE_KEYS = MESSAGE_KEYS
_SERVICE_KEYS = SERVICE_KEYS
_TRACE_KEYS = TRACE_KEYS
_SPAN_KEYS = SPAN_KEYS
_LOGGER_KEYS = LOGGER_KEYS
_STACK_KEYS = STACK_KEYS
_EXC_TYPE_KEYS = EXC_TYPE_KEYS
_OTLP_KEYS = OTLP_KEYS
_TEMPLATE_HOLE = re.compile(r"\{\{|\}\}|\{[@$]?([\w.]+)(?:[,:][^}]*)?\}")
_MAX_DEPTH = 8
SNIFF_RATIO = 0.8
_MIN_NS, _MAX_NS = -(2**63), 2**63 - 1  # the ts_ns column is BIGINT


def flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """{"log": {"level": "x"}} -> {"log.level": "x"}; lists and scalars stay values."""
    if not any(isinstance(v, dict) for v in obj.values()):
        return obj
    out: dict[str, Any] = {}
    _flatten_into(obj, "", out, 0)
    return out


def _flatten_into(obj: dict[str, Any], prefix: str, out: dict[str, Any], depth: int) -> None:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < _MAX_DEPTH:
            _flatten_into(value, name + ".", out, depth + 1)
        else:
            out[name] = value


def looks_like_log(obj: dict[str, Any]) -> bool:
    """A message-like key and a time- or level-like key (or a Docker wrapper)."""
    if parse_docker(obj) is not None:
        return True
    flat = flatten(obj)
    has_message = any(k in flat for k in _MESSAGE_KEYS) or "@mt" in flat
    return has_message and any(k in flat for k in (*_TIME_KEYS, *_LEVEL_KEYS))


def render_template(template: str, props: dict[str, Any]) -> str:
    """Serilog message template `{Name}` / `{@Name}` / `{Name:fmt}` filled from the record's properties."""

    def fill(m: re.Match[str]) -> str:
        if m[0] in ("{{", "}}"):
            return m[0][0]
        value = props.get(m[1])
        if value is None:
            return m[0]
        return value if isinstance(value, str) else dumps(value)

    return _TEMPLATE_HOLE.sub(fill, template)


def add_json_log(
    obj: dict[str, Any],
    sink: RowSink,
    *,
    src: str,
    line: int | None = None,
    source: str | None = None,
    service: str = "",
    ts_fallback: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """One JSON log object (any shape this module reads, nested or flat) -> one logs row in `sink`.

    Problems are reported under `src` (and `line`); the row's `source` is `source`, else `src:line`.
    `service` is the fallback when the object names none, `ts_fallback` when it has no usable time.
    Returns the row added (column -> value), or None when the object is not a log record.
    """
    if any(k in obj for k in _OTLP_KEYS):
        sink.problem(src, "OTLP/JSON envelope in a JSON-lines log; read it as OTLP", line=line)
        return None
    flat = flatten(obj)
    used: set[str] = set()

    def pick(keys: tuple[str, ...]) -> tuple[str, Any]:
        for key in keys:
            value = flat.get(key)
            if value is not None and value != "" and not isinstance(value, list | dict):
                return key, value
        return "", None

    ts_ns = None
    for key in _TIME_KEYS:
        if key in flat:
            ts_ns = parse_time_ns(flat[key])
            if ts_ns is None and isinstance(flat[key], int | float) and not isinstance(flat[key], bool):
                ts_ns = _MAX_NS + 1  # numeric but beyond the column's range: report it below
            if ts_ns is not None and not _MIN_NS <= ts_ns <= _MAX_NS:
                sink.problem(src, f"{key} {flat[key]!r} is out of range; kept in attributes", line=line)
                ts_ns = None
                break
            if ts_ns is not None:
                used.add(key)
                break
    level = ""
    for key in _LEVEL_KEYS:
        if key in flat:
            level = normalize_level(flat[key])
            if level:
                used.update(k for k in (key, "level_value") if k in flat)  # logback repeats it as a number
                break
    if not level and "@t" in flat:
        level = "INFO"  # CLEF omits @l for Information
    msg_key, body = pick(_MESSAGE_KEYS)
    if body is None and isinstance(flat.get("@mt"), str):
        body = render_template(flat["@mt"], flat)
    body = "" if body is None else body if isinstance(body, str) else dumps(body)
    svc_key, named_service = pick(_SERVICE_KEYS)
    log_key, logger = pick(_LOGGER_KEYS)
    if logger is None and "levelname" in flat:
        log_key, logger = pick(("name",))  # python-json-logger: `name` is the logger
    used.update(k for k in (msg_key, svc_key, log_key) if k)
    trace_id = _id(sink, src, line, flat, _TRACE_KEYS, 32, used)
    span_id = _id(sink, src, line, flat, _SPAN_KEYS, 16, used)
    exception_type, frames, attrs_extra = _exception(flat, body)
    attrs = {k: v for k, v in flat.items() if k not in used}
    if extra:
        attrs.update(extra)
    attrs.update(attrs_extra)
    row = {
        "ts_ns": ts_ns if ts_ns is not None else (ts_fallback or 0),
        "service": str(named_service) if named_service is not None else service,
        "level": level,
        "body": body,
        "trace_id": trace_id,
        "span_id": span_id,
        "logger": str(logger) if logger is not None else "",
        "exception_type": exception_type,
        "frames": frames,
        "attributes": dumps(attrs),
        "source": source if source is not None else f"{src}:{line}",
    }
    sink.logs.add(**row)
    return row


def _id(
    sink: RowSink, src: str, line: int | None, flat: dict[str, Any], keys: tuple[str, ...], width: int, used: set[str]
) -> str:
    for key in keys:
        value = flat.get(key)
        if value is None or value == "":
            continue
        try:
            normalized = normalize_id(value, width=width)
        except ValueError as exc:
            sink.problem(src, f"{key}: {exc}; kept in attributes", line=line)
            return ""
        used.add(key)
        return normalized
    return ""


_PARSED_KEPT = 10_000


def _exception(flat: dict[str, Any], body: str) -> tuple[str, str, dict[str, Any]]:
    """Exception type, frames JSON and extra attributes from a stack field or the message."""
    trace = None
    for key in _STACK_KEYS:
        value = flat.get(key)
        if isinstance(value, str) and value.strip():
            trace = parse_stacktrace(value)
            if trace is not None:
                break
    if trace is None and "\n" in body:
        found = find_stacktrace(body)
        trace = found.trace if found else None
    declared = next((str(flat[k]) for k in _EXC_TYPE_KEYS if flat.get(k)), "")
    if trace is None:
        return declared, "[]", {}
    extra = {"exception.root_cause_type": trace.root_cause().exception_type} if trace.cause else {}
    return trace.exception_type or declared, dumps(trace.frames_json()), extra


class _Reading:
    """State of reading one file: where rows go, container partials, text assemblers per stream."""

    def __init__(self, path: Path, sink: RowSink) -> None:
        self.path, self.sink, self.src = path, sink, str(path)
        self.service = service_from_path(path)
        self.clock: Clock = mtime_clock(path)
        self.joiner = PartialJoiner()
        self.assemblers: dict[str, TextAssembler] = {}

    def line(self, lineno: int, text: str) -> None:
        stripped = text.strip()
        if not stripped:
            return
        if stripped[0] == "{":
            try:
                obj = orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                self.sink.problem(self.src, f"invalid JSON: {exc.msg} (column {exc.colno})", line=lineno)
                return
            piece = parse_docker(obj)
            if piece is not None:
                self.piece(lineno, piece)
            else:
                self.record(lineno, obj, None, None)
            return
        piece = parse_cri(text)
        if piece is not None:
            self.piece(lineno, piece)
            return
        what = "a comment line" if stripped[0] == "#" else "not a JSON object"
        self.sink.problem(self.src, f"{what} in a JSON-lines log: {stripped[:60]!r}", line=lineno)

    def piece(self, lineno: int, piece: Piece) -> None:
        whole, capped = self.joiner.add(lineno, piece)
        if capped:
            self.sink.problem(self.src, f"{piece.wrapper} partial line too long; split", line=lineno)
        if whole is not None:
            self.unwrapped(whole)

    def unwrapped(self, whole: Unwrapped) -> None:
        extra = {"log.iostream": whole.stream} if whole.stream else {}
        inner = whole.text.strip()
        if inner[:1] == "{":
            try:
                obj = orjson.loads(inner)
            except orjson.JSONDecodeError:
                obj = None  # application text that happens to start with "{": keep it as text
            if isinstance(obj, dict):
                self.record(whole.line, obj, whole.ts_ns, extra)
                return
        assembler = self.assemblers.get(whole.stream)
        if assembler is None:
            assembler = TextAssembler(self.path, self.sink, service=self.service, clock=self.clock, headed=None)
            self.assemblers[whole.stream] = assembler
        assembler.feed(whole.line, whole.text, ts_ns=whole.ts_ns, extra=extra)

    def finish(self) -> None:
        for whole in self.joiner.flush():
            self.unwrapped(whole)
        for assembler in self.assemblers.values():
            assembler.close()

    def record(self, lineno: int, obj: dict[str, Any], ts_fallback: int | None, extra: dict[str, Any] | None) -> None:
        """One JSON log object -> one logs row."""
        add_json_log(
            obj, self.sink, src=self.src, line=lineno, service=self.service, ts_fallback=ts_fallback, extra=extra
        )


class _JsonLogsReader:
    """FormatReader for JSON-lines logs; conservative so envelope formats reach their own readers."""

    name = "jsonlogs"
    signals: tuple[str, ...] = ("logs",)

    def sniff(self, head: str, path: Path) -> bool:
        lines = head.splitlines()
        if len(lines) > 1 and not head.endswith("\n"):
            lines = lines[:-1]  # the head may end mid-line
        total = structured = text = 0
        for line in lines[:200]:
            stripped = line.strip()
            if not stripped or stripped[0] == "#":
                continue
            if stripped[0] == "{":
                try:
                    obj = orjson.loads(stripped)
                except orjson.JSONDecodeError:
                    continue  # a damaged object: neither for nor against JSON lines
                total += 1
                if isinstance(obj, dict) and any(k in obj for k in _OTLP_KEYS):
                    return False
                structured += isinstance(obj, dict) and looks_like_log(obj)
                continue
            total += 1
            if (piece := parse_cri(line)) is not None:
                inner = piece.text.strip()
                if inner[:1] == "{":
                    try:
                        obj = orjson.loads(inner)
                    except orjson.JSONDecodeError:
                        obj = None
                    if isinstance(obj, dict) and looks_like_log(obj):
                        structured += 1
                        continue
                text += 1
        return structured > 0 and (structured + text) >= SNIFF_RATIO * total

    def read(self, path: Path, sink: RowSink) -> None:
        reading = _Reading(path, sink)
        # DuckDB reads the records SQL can convert exactly; the rest (or a damaged file) come line by line.
        engine = read_with_engine(path, sink, reading.service) if sink.engine is not None else None
        lines = engine.leftover if engine is not None else iter_lines(path, sink)
        for lineno, text in lines:
            reading.line(lineno, text)
        reading.finish()
        parsed: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for row, exception_keys in engine.unfinished if engine is not None else ():
            finish_row(row, exception_keys, sink, parsed)


def finish_row(
    row: dict[str, Any], exception_keys: str, sink: RowSink, parsed: dict[str, tuple[str, str, dict[str, Any]]]
) -> None:
    """A row DuckDB converted but for its exception columns, which come from `_exception` as for any
    record: `exception_keys` is the JSON object of the record's stack trace and exception type keys.

    The same exception repeats over many lines, so each distinct one is parsed once (`parsed`, up to
    `_PARSED_KEPT`); the body cannot add a trace here, as SQL converts only one-line messages."""
    found = parsed.get(exception_keys)
    if found is None:
        found = _exception(orjson.loads(exception_keys), row["body"])
        if len(parsed) < _PARSED_KEPT:
            parsed[exception_keys] = found
    exception_type, frames, extra = found
    if extra:  # appended to the attributes, as `add_json_log` does
        attributes = row["attributes"]
        row["attributes"] = attributes[:-1] + ("," if attributes != "{}" else "") + dumps(extra)[1:]
    sink.logs.add(**row, exception_type=exception_type, frames=frames)


READER = _JsonLogsReader()
