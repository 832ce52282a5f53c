"""Times on the command line: RFC 3339 (`2026-12-03T02:10:00Z`), epoch seconds or ns, `now`, or relative
to now (`-15m`, `-2h`, `-1d`, `-90s`)."""

from __future__ import annotations

import re
import time

from incidentlens.errors import InputError
from incidentlens.ingest.common import parse_time_ns

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT_NS = {"s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000}


def parse_cli_time(option: str, value: str | None, *, now_ns: int | None = None) -> int | None:
    """Unix ns for a `--since/--until/--onset` value; an InputError naming the option when unreadable."""
    if value is None:
        return None
    text = value.strip()
    now = now_ns if now_ns is not None else time.time_ns()
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        return now - int(float(relative.group(1)) * _UNIT_NS[relative.group(2)])
    ns = parse_time_ns(text)
    if ns is None:
        raise InputError(
            f"{option} {value!r}: not a time (use RFC 3339 like 2026-12-03T02:10:00Z, epoch seconds, "
            "'now', or relative like -15m, -2h, -1d)"
        )
    return ns
