"""A local Loki for tests, speaking the real HTTP API v1 on 127.0.0.1 (an ephemeral port).

`GET /loki/api/v1/query_range` answers log queries (a stream selector with `=`, `!=`, `=~`, `!~` matchers,
then `|=`, `!=`, `|~` line filters) with `resultType: streams`: at most `limit` entries, the oldest first
for `direction=forward` and the newest first for `backward` (Loki's default), `start` inclusive and `end`
exclusive, entries with structured metadata as a third element. `GET /loki/api/v1/labels` and
`/loki/api/v1/label/NAME/values` list what the window holds. Errors are Loki's plain-text bodies with its
statuses (400 parse errors, the max_entries_limit_per_query error, 401 "no org id" for a multi-tenant
server without X-Scope-OrgID). Failures can be queued and every answer delayed, to test retries and
time-outs; every request is recorded.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

MINUTE = 60 * 1_000_000_000


@dataclass(frozen=True)
class LokiLine:
    ts_ns: int
    labels: dict[str, str]
    line: str
    metadata: dict[str, str] | None = None


@dataclass
class Recorded:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Failure:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def generate_lines(
    start_ns: int,
    minutes: int,
    *,
    services: tuple[str, ...] = ("checkout", "cart", "payment"),
    incident_from_minute: int | None = None,
    label: str = "service_name",
    per_minute: int = 4,
) -> list[LokiLine]:
    """Lines for each service: `per_minute` per minute plus a heartbeat; the first line and the heartbeat
    of each minute share one timestamp across all services (equal timestamps at page borders); from
    `incident_from_minute` on, payment logs errors carrying a trace id in structured metadata."""
    lines: list[LokiLine] = []
    for minute in range(minutes):
        for i in range(per_minute):
            ts = start_ns + minute * MINUTE + i * (MINUTE // per_minute)
            for n, service in enumerate(services):
                failing = incident_from_minute is not None and minute >= incident_from_minute and service == "payment"
                labels = {label: service, "namespace": "shop", "job": f"shop/{service}"}
                if failing and i % 2 == 0:
                    trace = f"{minute:08x}{i:08x}{n:016x}"
                    text = f'level=error msg="charge failed: connection refused" minute={minute} i={i}'
                    lines.append(LokiLine(ts, labels, text, {"trace_id": trace}))
                else:
                    text = f'level=info msg="GET /api/{service} 200" minute={minute} i={i}'
                    lines.append(LokiLine(ts + (0 if i == 0 else n), labels, text))
                if i == 0:  # a second line of the same stream at the same instant
                    lines.append(LokiLine(ts, labels, f'level=debug msg="heartbeat" minute={minute}'))
    return lines


# --- a small LogQL subset -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>=~|!~|!=|\|=|\|~|=|\{|\}|,)"
    r"""|(?P<str>"(?:[^"\\]|\\.)*"|`[^`]*`))"""
)
_EMPTY_MATCHERS = (
    "queries require at least one regexp or equality matcher that does not have an empty-compatible value. "
    'For instance, app=~".*" does not meet this requirement, but app=~".+" will'
)


class LogQLError(Exception):
    pass


@dataclass
class Selector:
    matchers: list[tuple[str, str, str]]
    filters: list[tuple[str, str]]

    def matches(self, line: LokiLine) -> bool:
        for name, op, value in self.matchers:
            actual = line.labels.get(name, "")
            ok = {
                "=": actual == value,
                "!=": actual != value,
                "=~": re.fullmatch(value, actual) is not None,
                "!~": re.fullmatch(value, actual) is None,
            }[op]
            if not ok:
                return False
        for op, value in self.filters:
            ok = {
                "|=": value in line.line,
                "!=": value not in line.line,
                "|~": re.search(value, line.line) is not None,
            }[op]
            if not ok:
                return False
        return True


def _unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_logql(query: str) -> Selector:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(query.rstrip()):
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:
            raise LogQLError(f"parse error at line 1, col {pos + 1}: syntax error: unexpected {query[pos : pos + 1]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    it = iter(tokens)

    def expect(kind: str, value: str | None = None) -> str:
        tok = next(it, None)
        if tok is None:
            raise LogQLError("parse error at line 1, col 1: syntax error: unexpected $end")
        if tok[0] != kind or (value is not None and tok[1] != value):
            want = value or kind.upper()
            raise LogQLError(
                f"parse error at line 1, col {tok[2]}: syntax error: unexpected {tok[1]}, expecting {want}"
            )
        return tok[1]

    expect("op", "{")
    matchers: list[tuple[str, str, str]] = []
    while True:
        name = expect("name")
        op = expect("op")
        if op not in ("=", "!=", "=~", "!~"):
            raise LogQLError(
                f"parse error at line 1, col 1: syntax error: unexpected {op}, expecting = or != or =~ or !~"
            )
        value = _unquote(expect("str"))
        try:
            if op in ("=~", "!~"):
                re.compile(value)
        except re.error as exc:
            raise LogQLError(f"parse error : error parsing regexp: {exc}") from None
        matchers.append((name, op, value))
        sep = expect("op")
        if sep == "}":
            break
        if sep != ",":
            raise LogQLError(f"parse error at line 1, col 1: syntax error: unexpected {sep}, expecting , or }}")
    filters: list[tuple[str, str]] = []
    for kind, value, col in it:
        if kind != "op" or value not in ("|=", "!=", "|~"):
            raise LogQLError(f"parse error at line 1, col {col}: syntax error: unexpected {value}")
        filters.append((value, _unquote(expect("str"))))
    if all(_matches_empty(op, value) for _, op, value in matchers):
        raise LogQLError(_EMPTY_MATCHERS)
    return Selector(matchers, filters)


def _matches_empty(op: str, value: str) -> bool:
    return {
        "=": value == "",
        "!=": value != "",
        "=~": re.fullmatch(value, "") is not None,
        "!~": re.fullmatch(value, "") is None,
    }[op]


# --- the server -----------------------------------------------------------------------------------------


class LokiServer:
    """Serve `lines`; use as a context manager, then `url`. Knobs: `max_entries` (the tenant's
    max_entries_limit_per_query), `org_id` (require this X-Scope-OrgID), `bearer` (require this token,
    as a gateway in front of Loki would), `delay` (seconds before each answer), `fail(...)` (queue errors)."""

    def __init__(
        self,
        lines: list[LokiLine],
        *,
        max_entries: int = 5000,
        org_id: str | None = None,
        bearer: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.lines = sorted(lines, key=lambda x: x.ts_ns)
        self.max_entries = max_entries
        self.org_id = org_id
        self.bearer = bearer
        self.delay = delay
        self.requests: list[Recorded] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.loki = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LokiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def fail(self, status: int, body: str, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests with this status and plain-text body."""
        with self._lock:
            self._failures.extend(_Failure(status, body, headers or {}) for _ in range(times))

    def query_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/query_range")]

    # -- answers

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.requests.append(Recorded(path, params, headers))
            failure = self._failures.pop(0) if self._failures else None
        if self.delay:
            self._stop.wait(self.delay)
        if failure is not None:
            return failure.status, failure.body, failure.headers
        if self.bearer is not None and headers.get("authorization") != f"Bearer {self.bearer}":
            return 401, "Unauthorized\n", {}
        if self.org_id is not None:
            if "x-scope-orgid" not in headers:
                return 401, "no org id\n", {}
            if headers["x-scope-orgid"] != self.org_id:
                return self.answer_empty(path)
        if path == "/loki/api/v1/query_range":
            return self.query_range(params)
        if path == "/loki/api/v1/labels":
            lines = self.window(params)
            return 200, {"status": "success", "data": sorted({k for x in lines for k in x.labels})}, {}
        m = re.fullmatch(r"/loki/api/v1/label/([^/]+)/values", path)
        if m:
            values = {x.labels[m.group(1)] for x in self.window(params) if m.group(1) in x.labels}
            return 200, {"status": "success", "data": sorted(values)}, {}
        return 404, "404 page not found\n", {}

    def answer_empty(self, path: str) -> tuple[int, Any, dict[str, str]]:
        if path == "/loki/api/v1/query_range":
            return 200, {"status": "success", "data": {"resultType": "streams", "result": [], "stats": {}}}, {}
        return 200, {"status": "success", "data": []}, {}

    def window(self, params: dict[str, str]) -> Iterator[LokiLine]:
        start = int(params.get("start", "0"))
        end = int(params.get("end", str(2**63 - 1)))
        return (x for x in self.lines if start <= x.ts_ns < end)

    def query_range(self, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        query = params.get("query", "")
        if re.match(r"^\s*[a-z_]+\s*\(", query):  # a metric query: an (empty) matrix
            data = {"resultType": "matrix", "result": [], "stats": {}}
            return 200, {"status": "success", "data": data}, {}
        try:
            selector = parse_logql(query)
        except LogQLError as exc:
            return 400, str(exc), {}
        try:
            limit = int(params.get("limit", "100"))
            start, end = int(params["start"]), int(params["end"])
        except (KeyError, ValueError) as exc:
            return 400, f"invalid parameter: {exc}", {}
        if limit > self.max_entries:
            limits = f"limit > max_entries_limit_per_query ({limit} > {self.max_entries})"
            return 400, f"max entries limit per query exceeded, {limits}", {}
        if end <= start:
            return 400, "end timestamp must not be before or equal to start time", {}
        direction = params.get("direction", "backward")
        if direction not in ("forward", "backward"):
            return 400, f"invalid direction '{direction}'", {}
        chosen = [x for x in self.window(params) if selector.matches(x)]
        if direction == "backward":
            chosen.reverse()
        chosen = chosen[:limit]
        streams: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
        for x in chosen:
            entry: list[Any] = [str(x.ts_ns), x.line] + ([x.metadata] if x.metadata else [])
            streams.setdefault(tuple(sorted(x.labels.items())), []).append(entry)
        result = [{"stream": dict(key), "values": values} for key, values in streams.items()]
        stats = {"summary": {"totalEntriesReturned": len(chosen), "execTime": 0.001, "queueTime": 0}}
        return 200, {"status": "success", "data": {"resultType": "streams", "result": result, "stats": stats}}, {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    loki: LokiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is what the slow tests are about


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body, extra = self.server.loki.answer(parts.path, params, headers)
        if isinstance(body, str):
            payload, ctype = body.encode(), "text/plain; charset=utf-8"
        else:
            payload, ctype = orjson.dumps(body), "application/json; charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass
