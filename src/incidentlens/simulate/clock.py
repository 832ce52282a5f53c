"""Time helpers: the seed-derived base date and the timestamp spellings of each log library."""

from __future__ import annotations

from datetime import UTC, datetime

_NS = 1_000_000_000


def base_time_ns(seed: int) -> int:
    """Start of the generated window: a fixed November 2026 date and hour derived from the seed."""
    day = 1 + seed % 9
    hour = 9 + (seed // 9) % 8
    return int(datetime(2026, 11, day, hour, 0, tzinfo=UTC).timestamp()) * _NS


def _parts(t_ns: int) -> tuple[str, int]:
    seconds, frac = divmod(t_ns, _NS)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"), frac


def rfc3339(t_ns: int, digits: int = 3) -> str:
    """RFC 3339 UTC with `digits` fractional digits and a Z suffix (0 digits: whole seconds)."""
    head, frac = _parts(t_ns)
    if digits == 0:
        return head + "Z"
    return f"{head}.{frac // 10 ** (9 - digits):0{digits}d}Z"


def iso_offset(t_ns: int, digits: int = 6) -> str:
    """ISO 8601 with a +00:00 offset, as Python's isoformat() and logback write it."""
    head, frac = _parts(t_ns)
    return f"{head}.{frac // 10 ** (9 - digits):0{digits}d}+00:00"


def epoch_seconds(t_ns: int) -> float:
    return round(t_ns / _NS, 6)
