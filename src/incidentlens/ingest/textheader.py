"""The header of one plain-text log line: timestamp, level, logger, service and trace context.

Heuristics, in order (each documented because plain text has no schema):
- Timestamp at the start of the line: ISO 8601 (`2024-01-02T03:04:05.678Z`, `2024-01-02 03:04:05,678`,
  optionally in brackets), syslog (`Jan  2 03:04:05`), ctime in brackets (`[Sun Dec 04 04:47:44 2005]`)
  and time of day only (`03:04:05.678`). Dates that the line lacks come from the file's modification
  time (UTC): syslog gets the mtime's year (the previous year when that would put it over a day after
  the mtime: a file is written before it is modified), time of day gets the mtime's date (the previous
  day when it would be over an hour after the mtime). Zone-less times are UTC.
- Level: among the first four words after the timestamp, a level name that is UPPER case, in brackets,
  or Title case as the first two words (`INFO`, `[error]`, `Info`); lower-case words are message text.
- Logger: after the level, skipping `[thread]`, pids and `---`/`-`/`:`, a dotted name (`c.e.Foo`,
  `t.s.TravelServiceImpl#532`, the `#532` becoming `code.lineno`) or a word ending in `:` (syslog's
  `sshd[42]:`, whose pid goes to attributes). `[x]` after the level is a thread, not a service.
- Service only from `service=`/`service.name=`/`svc=` keys; the reader falls back to the path.
- Trace and span ids from `trace_id=`/`traceId:`/`TraceID:`-style keys (32 or 16 hex digits).
"""

from __future__ import annotations

import re
from calendar import timegm
from dataclasses import dataclass, field
from typing import Any

from incidentlens.ingest.common import normalize_level

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME_ONLY = re.compile(r"(\d{2}):(\d{2}):(\d{2})[.,](\d{1,9})(?=\s)")
_SYSLOG_DATE = re.compile(r"([A-Z][a-z]{2}) ([ \d]\d)")
_SYSLOG_TAIL = re.compile(r"(?:\.(\d{1,9}))?(?=\s)")
_CTIME = re.compile(r"\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\d{4})\]")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DOTTED = re.compile(r"^[A-Za-z_][\w$]*(?:\.[\w$]+)+(?:#(\d+))?:?$")
_PROGRAM = re.compile(r"^(?P<name>[\w./()-]+?)(?:\[(?P<pid>\d+)\])?:$")


def _level_tokens() -> dict[str, str]:
    """Exact header tokens that name a level ("INFO", "[error]", "Warning:", "<ERROR>", ...)."""
    table: dict[str, str] = {}
    words = ("trace", "debug", "info", "notice", "warn", "warning", "error", "err", "severe", "critical",
             "crit", "fatal", "panic", "emerg", "alert", "verbose", "dbug", "eror", "information")  # fmt: skip
    for word in words:
        level = normalize_level(word)
        for form in (word.upper(), word.title()):
            for wrapped in (form, f"[{form}]", f"{form}:", f"<{form}>", f"[{form}]:", f"{form},"):
                table[wrapped] = level
        table[f"[{word}]"] = level
    return table


_LEVEL_TOKENS = _level_tokens()
_SKIP = frozenset({"-", "---", ":", "|", "--"})
_SERVICE = re.compile(r"\b(?:service\.name|service|svc)=\"?([\w.-]+)")
_TRACE = re.compile(r"\btrace[_.-]?id[\"']?\s*[=:]\s*[\"']?([0-9a-f]{32}|[0-9a-f]{16})\b", re.IGNORECASE)
_SPAN = re.compile(r"\bspan[_.-]?id[\"']?\s*[=:]\s*[\"']?([0-9a-f]{16})\b", re.IGNORECASE)


@dataclass(slots=True)
class Header:
    """What the first line of a record says about it; `full_date` is False when the date was guessed."""

    ts_ns: int
    full_date: bool
    level: str = ""
    logger: str = ""
    body: str = ""
    service: str = ""
    trace_id: str = ""
    span_id: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


class Clock:
    """Turns partial timestamps into Unix ns using the file's modification time as the anchor."""

    def __init__(self, reference_ns: int) -> None:
        self.reference_ns = reference_ns
        self._dates: dict[str, int | None] = {}  # "2024-01-02" / "Jan  2" -> day start; bounded below
        self._day_start = reference_ns - reference_ns % _DAY_NS
        self._year = 1970 + int(reference_ns // (365.2425 * _DAY_NS))
        self._days: dict[tuple[int, int, int], int] = {}
        self._year_fix: dict[tuple[int, int], int] = {}

    def day_ns(self, year: int, month: int, day: int) -> int | None:
        key = (year, month, day)
        cached = self._days.get(key)
        if cached is None:
            if not (1 <= month <= 12 and 1 <= day <= 31 and 1678 <= year <= 2261):  # int64 nanoseconds
                return None
            cached = self._days[key] = timegm((year, month, day, 0, 0, 0, 0, 0, 0)) * _NS
        return cached

    def iso_day(self, text: str) -> int | None:
        """Day start of "YYYY-MM-DD", cached: most lines of a file share a handful of dates."""
        if text in self._dates:
            return self._dates[text]
        m = _ISO_DATE.fullmatch(text)
        return self._remember(text, self.day_ns(int(m[1]), int(m[2]), int(m[3])) if m else None)

    def syslog_date(self, text: str) -> int | None:
        """Day start of "Jan  2" in the year the file was written."""
        if text in self._dates:
            return self._dates[text]
        m = _SYSLOG_DATE.fullmatch(text)
        ok = m is not None and m[1] in _MONTHS
        return self._remember(text, self.syslog_day(_MONTHS[m[1]], int(m[2])) if m and ok else None)

    def _remember(self, key: str, value: int | None) -> int | None:
        if len(self._dates) >= 4096:
            self._dates.clear()
        self._dates[key] = value
        return value

    def time_of_day(self, seconds_ns: int) -> int:
        ts = self._day_start + seconds_ns
        return ts - _DAY_NS if ts > self.reference_ns + 3600 * _NS else ts

    def syslog_day(self, month: int, day: int) -> int | None:
        cached = self._year_fix.get((month, day))
        if cached is None:
            this_year = self.day_ns(self._real_year(), month, day)
            if this_year is None:
                return None
            if this_year > self.reference_ns + _DAY_NS:
                this_year = self.day_ns(self._real_year() - 1, month, day) or this_year
            cached = self._year_fix[(month, day)] = this_year
        return cached

    def _real_year(self) -> int:
        # the estimate above can be off by one around New Year: correct it against the real start of year
        year = self._year
        if timegm((year, 1, 1, 0, 0, 0, 0, 0, 0)) * _NS > self.reference_ns:
            year -= 1
        elif timegm((year + 1, 1, 1, 0, 0, 0, 0, 0, 0)) * _NS <= self.reference_ns:
            year += 1
        self._year = year
        return year


def _frac_ns(frac: str | None) -> int:
    return int(frac.ljust(9, "0")[:9]) if frac else 0


def _clock_ns(h: str, m: str, s: str) -> int:
    return (int(h) * 3600 + int(m) * 60 + int(s)) * _NS


_TAIL = re.compile(r"(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?\]?")


def _hms_ns(text: str) -> int | None:
    """ "03:04:05" -> ns since midnight, without a regex: this runs once per line."""
    if text[2:3] != ":" or text[5:6] != ":":
        return None
    h, m, s = text[0:2], text[3:5], text[6:8]
    if not (h.isdigit() and m.isdigit() and s.isdigit()):
        return None
    hi, mi, si = int(h), int(m), int(s)
    if hi > 23 or mi > 59 or si > 60:
        return None
    return (hi * 3600 + mi * 60 + si) * _NS


def parse_timestamp(line: str, clock: Clock) -> tuple[int, bool, int] | None:
    """(ts_ns, full_date, end offset) of a timestamp that starts the line, or None."""
    first = line[:1]
    if first.isdigit() or first == "[":
        o = 1 if first == "[" else 0
        if line[o + 4 : o + 5] == "-" and line[o + 10 : o + 11] in ("T", " "):
            day = clock.iso_day(line[o : o + 10])
            hms = _hms_ns(line[o + 11 : o + 19]) if day is not None else None
            if day is not None and hms is not None:
                tail = _TAIL.match(line, o + 19)
                assert tail is not None  # every part of _TAIL is optional
                frac, tz = tail.groups()
                ts = day + hms + _frac_ns(frac)
                if tz and tz not in ("Z", "+00:00", "+0000"):
                    sign = 1 if tz[0] == "+" else -1
                    ts -= sign * (int(tz[1:3]) * 3600 + int(tz[-2:]) * 60) * _NS
                return ts, True, tail.end()
        if first == "[":
            m = _CTIME.match(line)
            if m and m[1] in _MONTHS:
                day = clock.day_ns(int(m[7]), _MONTHS[m[1]], int(m[2]))
                if day is not None:
                    return day + _clock_ns(m[3], m[4], m[5]) + _frac_ns(m[6]), True, m.end()
            return None
        m = _TIME_ONLY.match(line)
        if m and int(m[1]) < 24 and int(m[2]) < 60:
            return clock.time_of_day(_clock_ns(m[1], m[2], m[3]) + _frac_ns(m[4])), False, m.end()
        return None
    if "A" <= first <= "Z" and line[3:4] == " " and line[9:10] == ":":
        day = clock.syslog_date(line[:6])
        hms = _hms_ns(line[7:15]) if day is not None else None
        if day is not None and hms is not None:
            tail = _SYSLOG_TAIL.match(line, 15)
            if tail is not None:
                return day + hms + _frac_ns(tail[1]), False, tail.end()
    return None


def parse_header(line: str, clock: Clock) -> Header | None:
    """The header of a line that starts with a timestamp, or None (then it may be a continuation)."""
    found = parse_timestamp(line, clock)
    if found is None:
        return None
    ts_ns, full_date, end = found
    header = Header(ts_ns, full_date)
    rest = line[end:]
    _split_rest(rest, header, syslog=not full_date and line[:1].isalpha())
    if "=" in rest:
        m = _SERVICE.search(rest)
        if m:
            header.service = m[1]
    if "race" in rest or "RACE" in rest:
        m = _TRACE.search(rest)
        if m:
            header.trace_id = m[1].lower().rjust(32, "0")
        m = _SPAN.search(rest)
        if m:
            header.span_id = m[1].lower()
    return header


def _split_rest(rest: str, header: Header, *, syslog: bool) -> None:
    """Fill level, logger and body from the text after the timestamp (str.split: this is the hot path)."""
    tokens = rest.split(None, 8)
    body_after = -1  # index of the last header token; the body is what follows it
    level_at = -1
    for k in range(min(4, len(tokens))):
        level = _LEVEL_TOKENS.get(tokens[k])
        if level and (k <= 1 or not tokens[k][1:2].islower()):  # Title case only as one of the first words
            header.level, level_at, body_after = level, k, k
            break
    if level_at >= 0:
        for j in range(level_at + 1, min(level_at + 5, len(tokens) - 1)):
            tok = tokens[j]
            if tok in _SKIP or tok.isdigit():
                continue
            if tok[0] == "[" and tok[-1] == "]":
                header.attributes.setdefault("thread", tok[1:-1])
                continue
            dotted = _DOTTED.match(tok)
            if dotted:
                header.logger = tok.rstrip(":").split("#", 1)[0]
                if dotted[1]:
                    header.attributes["code.lineno"] = int(dotted[1])
                body_after = j
            break
    elif syslog:
        for j in range(min(2, len(tokens))):  # `host program[pid]:` or `program:`
            prog = _PROGRAM.match(tokens[j])
            if prog:
                header.logger = prog["name"]
                if prog["pid"]:
                    header.attributes["pid"] = int(prog["pid"])
                if j:
                    header.attributes["host"] = tokens[0]
                body_after = j
                break
    if body_after < 0:
        body = rest
    else:
        parts = rest.split(None, body_after + 1)
        body = parts[body_after + 1] if len(parts) > body_after + 1 else ""
    header.body = body.lstrip(" \t:-|,")
