"""Per-service JSON log files in the shape each service's logging library really writes.

python-json-logger and structlog for the Python services, zap (frontend) and slog (checkout) for Go,
logstash-logback-encoder for the Java ad service. Lines are buffered per file and flushed in batches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

from incidentlens.simulate.clock import epoch_seconds, iso_offset, rfc3339

Shape = Callable[[str, int, str, str, str, str, str, str, dict[str, Any]], dict[str, Any]]

_JAVA_LEVEL = {"DEBUG": 10000, "INFO": 20000, "WARNING": 30000, "ERROR": 40000}


def _python_json(
    service: str, t: int, level: str, logger: str, msg: str, tid: str, sid: str, exc: str, f: dict[str, Any]
) -> dict[str, Any]:
    rec: dict[str, Any] = {"timestamp": iso_offset(t), "level": level, "logger": logger, "message": msg}
    rec["service.name"] = service
    if tid:
        rec["trace_id"], rec["span_id"] = tid, sid
    rec.update(f)
    if exc:
        rec["exc_info"] = exc
    return rec


def _structlog(
    service: str, t: int, level: str, logger: str, msg: str, tid: str, sid: str, exc: str, f: dict[str, Any]
) -> dict[str, Any]:
    rec: dict[str, Any] = {"event": msg, **f, "level": level.lower(), "logger": logger}
    rec["service.name"] = service
    if tid:
        rec["trace_id"], rec["span_id"] = tid, sid
    if exc:
        rec["exc_info"] = exc
    rec["timestamp"] = rfc3339(t, 6)
    return rec


def _zap(
    service: str, t: int, level: str, logger: str, msg: str, tid: str, sid: str, exc: str, f: dict[str, Any]
) -> dict[str, Any]:
    # `logger` carries the zap caller ("frontend/handlers.go:42") for Go services.
    rec: dict[str, Any] = {"level": "warn" if level == "WARNING" else level.lower(), "ts": epoch_seconds(t)}
    rec["caller"] = logger
    rec["msg"] = msg
    rec["service.name"] = service
    if tid:
        rec["trace_id"], rec["span_id"] = tid, sid
    rec.update(f)
    if exc:
        rec["stacktrace"] = exc
    return rec


def _slog(
    service: str, t: int, level: str, logger: str, msg: str, tid: str, sid: str, exc: str, f: dict[str, Any]
) -> dict[str, Any]:
    rec: dict[str, Any] = {"time": rfc3339(t, 9), "level": "WARN" if level == "WARNING" else level}
    rec["msg"] = msg
    rec["service.name"] = service
    if tid:
        rec["trace_id"], rec["span_id"] = tid, sid
    rec.update(f)
    return rec


def _logstash(
    service: str, t: int, level: str, logger: str, msg: str, tid: str, sid: str, exc: str, f: dict[str, Any]
) -> dict[str, Any]:
    rec: dict[str, Any] = {"@timestamp": iso_offset(t, 3), "@version": "1", "message": msg}
    rec["logger_name"] = logger
    rec["thread_name"] = f"grpc-default-executor-{t // 1_000_000 % 7}"
    rec["level"] = "WARN" if level == "WARNING" else level
    rec["level_value"] = _JAVA_LEVEL.get(level, 20000)
    rec["service.name"] = service
    if tid:
        rec["trace_id"], rec["span_id"] = tid, sid
    rec.update(f)
    if exc:
        rec["stack_trace"] = exc
    return rec


SHAPES: dict[str, Shape] = {
    "frontend": _zap,
    "checkout": _slog,
    "ad": _logstash,
    "recommendation": _structlog,
    "accounting": _structlog,
}


class LogWriter:
    """One JSONL file per service under `logs/`; buffered, flushed every `batch` lines per file."""

    def __init__(self, directory: Path, services: list[str], *, batch: int = 2000) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[bytes]] = {s: (directory / f"{s}.jsonl").open("wb") for s in services}
        self._buffers: dict[str, list[bytes]] = {s: [] for s in services}
        self._batch = batch
        self.count = 0

    def log(
        self,
        service: str,
        t_ns: int,
        level: str,
        logger: str,
        message: str,
        *,
        trace_id: str = "",
        span_id: str = "",
        exc: str = "",
        fields: dict[str, Any] | None = None,
    ) -> None:
        shape = SHAPES.get(service, _python_json)
        record = shape(service, t_ns, level, logger, message, trace_id, span_id, exc, fields or {})
        buffer = self._buffers[service]
        buffer.append(orjson.dumps(record))
        self.count += 1
        if len(buffer) >= self._batch:
            self._flush(service)

    def _flush(self, service: str) -> None:
        buffer = self._buffers[service]
        if buffer:
            self._files[service].write(b"\n".join(buffer) + b"\n")
            buffer.clear()

    def close(self) -> None:
        for service, fh in self._files.items():
            self._flush(service)
            fh.close()
