"""Helpers every reader shares: time and id normalisation, safe file reading with positions."""

from __future__ import annotations

import base64
import binascii
import gc
import gzip
import json
import math
import re
import zlib
from collections.abc import Container, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from incidentlens.errors import FormatError
from incidentlens.ingest.sink import RowSink

MAX_LINE_BYTES = 1 << 20  # longer lines are reported, not loaded: a 10 MB "line" is almost never a log record
MAX_BATCH_LINE_BYTES = 256 << 20  # one line of an exporter file holds a whole batch of spans or points
MAX_DOCUMENT_BYTES = 512 << 20
HEAD_BYTES = 64 << 10

_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_LEVELS = {
    "trace": "TRACE",
    "verbose": "TRACE",
    "finest": "TRACE",
    "debug": "DEBUG",
    "dbug": "DEBUG",
    "fine": "DEBUG",
    "info": "INFO",
    "information": "INFO",
    "notice": "INFO",
    "warn": "WARN",
    "warning": "WARN",
    "error": "ERROR",
    "err": "ERROR",
    "eror": "ERROR",
    "severe": "ERROR",
    "critical": "FATAL",
    "crit": "FATAL",
    "fatal": "FATAL",
    "panic": "FATAL",
    "emerg": "FATAL",
    "alert": "FATAL",
}

LEVEL_NAMES = _LEVELS  # the engine reader maps the same names in SQL


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection during bulk work: it makes millions of short-lived acyclic objects, and each
    full collection would walk every live one (14-33 % of ingest time measured). Nests; restores the state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def normalize_level(value: Any) -> str:
    """Map level names (any case) and numbers (OTel severity 1-24, pino 10-60, bunyan, syslog) to one scale."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        n = int(value)
        if 1 <= n <= 24:  # OpenTelemetry SeverityNumber
            return ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")[(n - 1) // 4]
        if n >= 10 and n % 10 == 0 and n <= 60:  # pino / bunyan
            return {10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}[n]
        if n >= 1000:  # logback level_value: 5000 TRACE .. 40000 ERROR
            return {5000: "TRACE", 10000: "DEBUG", 20000: "INFO", 30000: "WARN", 40000: "ERROR"}.get(n, "")
        return ""
    text = str(value).strip().lower()
    return _LEVELS.get(text, "")


MAX_TIME_NS = (1 << 63) - 1


def parse_time_ns(value: Any) -> int | None:
    """Unix nanoseconds from an int/float (s, ms, us or ns by magnitude) or an RFC 3339 / ISO 8601 string.

    Values that do not fit a signed 64-bit nanosecond count are not times: None.
    """
    ns = _parse_time_ns(value)
    if ns is None or not (-MAX_TIME_NS <= ns <= MAX_TIME_NS):
        return None
    return ns


def _parse_time_ns(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _epoch_to_ns(float(value)) if isinstance(value, float) else _int_epoch_to_ns(value)
    text = str(value).strip()
    if not text:
        return None
    if text.isdecimal():
        return _int_epoch_to_ns(int(text))
    try:
        return _epoch_to_ns(float(text))
    except ValueError:
        pass
    return _iso_to_ns(text)


def _int_epoch_to_ns(n: int) -> int:
    if n >= 10**17:
        return n
    if n >= 10**14:
        return n * 1_000
    if n >= 10**11:
        return n * 1_000_000
    return n * 1_000_000_000


def _epoch_to_ns(x: float) -> int | None:
    if not math.isfinite(x) or abs(x) >= 1e19:
        return None
    if x >= 1e17:
        return int(x)
    if x >= 1e14:
        return int(x * 1e3)
    if x >= 1e11:
        return int(x * 1e6)
    return round(x * 1e9)


_ISO_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2}|UTC)?$"
)


def _iso_to_ns(text: str) -> int | None:
    m = _ISO_RE.match(text)
    if not m:
        return None
    date, clock, frac, tz = m.groups()
    if len(clock) == 5:
        clock += ":00"
    tz = tz or "+00:00"
    if tz in ("Z", "z", "UTC"):
        tz = "+00:00"
    elif ":" not in tz:
        tz = tz[:3] + ":" + tz[3:]
    try:
        dt = datetime.fromisoformat(f"{date}T{clock}{tz}")
    except ValueError:
        return None
    if dt.year <= 1:  # Alertmanager's zero time "0001-01-01T00:00:00Z" means "not set"
        return 0
    seconds = int(dt.timestamp())
    nanos = int((frac or "0").ljust(9, "0"))
    return seconds * 1_000_000_000 + nanos


def normalize_id(value: Any, *, width: int) -> str:
    """Lowercase hex id of `width` hex digits from hex, base64 or integer input; '' when absent or zero.

    OTLP/JSON uses hex; legacy Tempo/Grafana exports use base64; Jaeger/Zipkin may send 64-bit ids
    (16 hex digits) where 128-bit trace ids are expected, so shorter hex is left-padded.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        text = format(value & ((1 << (width * 4)) - 1), "x")
        return text.rjust(width, "0") if value else ""
    text = str(value).strip()
    if _HEX_RE.match(text) and len(text) <= width and (len(text) % 2 == 0 or len(text) < width):
        text = text.lower().rjust(width, "0")
        return "" if set(text) == {"0"} else text
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"id {text[:40]!r} is neither hex nor base64") from None
    if len(raw) * 2 > width:
        raise ValueError(f"id {text[:40]!r} is longer than {width // 2} bytes")
    hexed = raw.hex().rjust(width, "0")
    return "" if set(hexed) == {"0"} else hexed


def dumps(obj: Any) -> str:
    """Compact JSON text for the JSON columns; integers beyond 64 bits fall back to the standard library."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except TypeError:
        return json.dumps(obj, default=str, separators=(",", ":"))


def open_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip; size-capped so a huge file fails clearly."""
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise FormatError(
            str(path), f"file is {size} bytes; documents over {MAX_DOCUMENT_BYTES} bytes are not read whole"
        )
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except EOFError:
            raise FormatError(str(path), "truncated gzip: the compressed data ends early (copy cut short?)") from None
        except (OSError, zlib.error) as exc:
            raise FormatError(str(path), f"corrupt gzip data: {exc}") from None
    return data


def read_head(path: Path) -> str:
    """The first bytes as text (gzip transparent) for content sniffing; binary yields ''."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if head[:2] == b"\x1f\x8b":
        head = _gunzip_head(path)
    if b"\x00" in head[:4096]:
        return ""
    return head.decode("utf-8", errors="replace")


def load_json_document(path: Path) -> Any:
    """Parse a whole-file JSON document; errors name the line and column."""
    data = open_bytes(path)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line = data.count(b"\n", 0, exc.pos) + 1
        raise FormatError(str(path), f"invalid JSON: {exc.msg} (column {exc.colno})", line=line) from None


def iter_lines(path: Path, sink: RowSink, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """Numbered text lines; over-long and undecodable lines are reported and skipped, the rest kept."""
    opener: Any = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline(max_line_bytes + 1)
            except (EOFError, OSError, zlib.error) as exc:
                what = "truncated gzip: the compressed data ends early" if isinstance(exc, EOFError) else str(exc)
                if isinstance(exc, zlib.error):
                    what = f"corrupt gzip data: {exc}"
                sink.problem(
                    str(path),
                    f"{what}; rest of file skipped",
                    line=lineno + 1,
                )
                return
            if not raw:
                break
            lineno += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                sink.problem(str(path), f"line longer than {max_line_bytes} bytes skipped", line=lineno)
                while raw and not raw.endswith(b"\n"):  # drain the rest of the line in bounded pieces
                    try:
                        raw = fh.readline(MAX_LINE_BYTES)
                    except (EOFError, OSError, zlib.error):
                        return
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                sink.problem(str(path), f"invalid UTF-8 at column {exc.start + 1}; bytes replaced", line=lineno)
                text = raw.decode("utf-8", errors="replace")
            yield lineno, text.rstrip("\r\n")


def iter_json_lines(
    path: Path, sink: RowSink, *, max_line_bytes: int = MAX_LINE_BYTES, only: Container[int] | None = None
) -> Iterator[tuple[int, Any]]:
    """Parsed JSON values of a JSON-lines file; a bad line is a reported problem, not an abort.

    With `only`, lines with other numbers are skipped unparsed (the rest of the file was read another way).
    """
    for lineno, text in iter_lines(path, sink, max_line_bytes=max_line_bytes):
        if only is not None and lineno not in only:
            continue
        if not text.strip():
            continue
        try:
            yield lineno, orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            sink.problem(str(path), f"invalid JSON: {exc.msg} (column {exc.colno})", line=lineno)


def _gunzip_head(path: Path) -> bytes:
    """The first decompressed bytes of a gzip file, as far as they go even when the file is cut short."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = b""
    try:
        with path.open("rb") as fh:
            while len(out) < HEAD_BYTES:
                chunk = fh.read(65536)
                if not chunk:
                    break
                out += inflater.decompress(chunk, HEAD_BYTES - len(out))
    except zlib.error:
        return out
    return out[:HEAD_BYTES]


def gzip_state(path: Path) -> str:
    """ "" for a whole gzip file (or not gzip), "truncated" when it ends early, "corrupt" otherwise."""
    if not is_gzip(path):
        return ""
    try:
        with gzip.open(path, "rb") as gz:
            while gz.read(1 << 20):
                pass
    except EOFError:
        return "truncated"
    except (OSError, zlib.error):
        return "corrupt"
    return ""


def is_gzip(path: Path) -> bool:
    """By content (the gzip magic bytes), not by name."""
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"
