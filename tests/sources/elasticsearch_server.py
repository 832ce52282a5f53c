"""A local Elasticsearch / OpenSearch for tests, speaking the real search API on 127.0.0.1 (ephemeral port).

`POST /{index}/_search` and, with a point in time, `POST /_search` answer a `bool.filter` of `range`,
`terms` and `term` clauses with `size`, `sort` (a date field sorts by epoch milliseconds, keyword fields
by value, `_id`, `_shard_doc`), `search_after` and `track_total_hits`, in the real response shape
(`took`, `timed_out`, `_shards`, `hits.total`, `hits.hits[]._index/_id/_score/_source/sort`, `pit_id`).
Flavours differ as the products do: `elasticsearch` (8.x: `POST /{index}/_pit` -> `{"id"}`, an implicit
`_shard_doc` tiebreaker within a PIT, `DELETE /_pit`, sorting on `_id` refused), `opensearch` (2.x:
`POST /{index}/_search/point_in_time` -> `{"pit_id"}`, `DELETE /_search/point_in_time`, no implicit
tiebreaker, no `_shard_doc`) and `legacy` (7.9: no point in time). Errors are the real
`{"error": {"root_cause": [...], "type", "reason"}, "status"}` bodies; basic auth can be required;
failures can be queued, shard failures injected and answers delayed. Every request is recorded.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

MINUTE = 60 * 1_000_000_000
MS = 1_000_000
DATA_STREAM = "logs-shop-default"
BACKING_INDEX = ".ds-logs-shop-default-2026.01.01-000001"
JAVA_TRACE = (
    "java.net.ConnectException: Connection refused\n"
    "\tat java.base/sun.nio.ch.Net.connect0(Native Method)\n"
    "\tat com.shop.payment.GatewayClient.charge(GatewayClient.java:88)\n"
    "\tat com.shop.payment.PaymentService.pay(PaymentService.java:41)\n"
)


@dataclass
class Doc:
    id: str
    index: str
    source: dict[str, Any]
    seq: int  # the document's place in the index: what `_shard_doc` sorts by


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class _Failure:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    only: str = ""  # for the next request whose path ends with this


def iso_ms(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns // MS % 1000:03d}Z"


def generate_docs(
    start_ns: int,
    minutes: int,
    *,
    services: tuple[str, ...] = ("checkout", "cart", "payment"),
    incident_from_minute: int | None = None,
    per_minute: int = 4,
) -> list[Doc]:
    """ECS documents (nested objects, as Filebeat and ecs-logging write them): `per_minute` per service per
    minute, the first of each minute sharing one millisecond across all services (equal sort values at page
    borders); from `incident_from_minute` on, payment logs errors with a trace id and a Java stack trace."""
    docs: list[Doc] = []
    for minute in range(minutes):
        for i in range(per_minute):
            ts = start_ns + minute * MINUTE + i * (MINUTE // per_minute)
            for n, service in enumerate(services):
                failing = incident_from_minute is not None and minute >= incident_from_minute and service == "payment"
                at = ts if i == 0 else ts + n * MS
                source: dict[str, Any] = {
                    "@timestamp": iso_ms(at),
                    "service": {"name": service, "environment": "prod"},
                    "host": {"name": f"node-{n}"},
                    "data_stream": {"type": "logs", "dataset": "shop", "namespace": "default"},
                    "ecs": {"version": "8.11.0"},
                }
                if failing and i % 2 == 0:
                    source["message"] = f"charge failed minute={minute} i={i}"
                    source["log"] = {"level": "ERROR", "logger": "com.shop.payment.PaymentService"}
                    source["trace"] = {"id": f"{minute:08x}{i:08x}{n:016x}"}
                    source["span"] = {"id": f"{minute:08x}{i:08x}"}
                    source["error"] = {"type": "java.net.ConnectException", "stack_trace": JAVA_TRACE}
                else:
                    source["message"] = f"GET /api/{service} 200 minute={minute} i={i}"
                    source["log"] = {"level": "info", "logger": f"com.shop.{service}.Http"}
                doc_id = base64.urlsafe_b64encode(hashlib.sha1(f"{minute}/{i}/{n}".encode()).digest()[:15]).decode()
                docs.append(Doc(doc_id, BACKING_INDEX, source, len(docs)))
    return docs


def _get(source: dict[str, Any], name: str) -> Any:
    """A field by its dotted name, through nested objects or as a dotted key."""
    if name in source:
        return source[name]
    head, _, rest = name.partition(".")
    value = source.get(head)
    return _get(value, rest) if rest and isinstance(value, dict) else None


def parse_date_ns(value: Any) -> int | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    text = value.rstrip("Z")
    main, _, frac = text.partition(".")
    try:
        seconds = int(datetime.fromisoformat(main).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None
    return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


class EsError(Exception):
    def __init__(self, status: int, kind: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason, self.extra = status, kind, reason, extra

    def body(self) -> dict[str, Any]:
        cause = {"type": self.kind, "reason": self.reason, **self.extra}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


class ElasticsearchServer:
    """Serve `docs`; use as a context manager, then `url`. Knobs: `flavour`, `user`/`password` (require
    basic auth), `delay` (seconds before each answer), `shard_failure`, `fail(...)` (queue errors)."""

    def __init__(
        self,
        docs: list[Doc],
        *,
        flavour: str = "elasticsearch",
        user: str | None = None,
        password: str | None = None,
        delay: float = 0.0,
        shard_failure: bool = False,
    ) -> None:
        assert flavour in ("elasticsearch", "opensearch", "legacy")
        self.docs = docs
        self.flavour = flavour
        self.user, self.password = user, password
        self.delay = delay
        self.shard_failure = shard_failure
        self.requests: list[Recorded] = []
        self.open_pits: dict[str, list[Doc]] = {}  # live PIT ids -> the documents they froze
        self.closed_pits: list[str] = []
        self._ids = itertools.count(1)
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.es = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ElasticsearchServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def fail(
        self,
        status: int,
        kind: str,
        reason: str,
        *,
        times: int = 1,
        only: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests (whose path ends with `only`) with this error."""
        body = EsError(status, kind, reason).body()
        with self._lock:
            self._failures.extend(_Failure(status, body, headers or {}, only) for _ in range(times))

    def searches(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/_search")]

    # -- answers

    def answer(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(Recorded(method, path, params, headers, body))
            failure = next((f for f in self._failures if path.endswith(f.only)), None)
            if failure is not None:
                self._failures.remove(failure)
        if self.delay:
            self._stop.wait(self.delay)
        if failure is not None:
            return failure.status, failure.body, failure.headers
        try:
            self.authenticate(path, headers)
            with self._lock:
                return 200, self.route(method, path, params, body), {}
        except EsError as exc:
            extra = {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'} if exc.status == 401 else {}
            return exc.status, exc.body(), extra

    def authenticate(self, path: str, headers: dict[str, str]) -> None:
        if self.user is None:
            return
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            raise EsError(401, "security_exception", f"missing authentication credentials for REST request [{path}]")
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        if (user, password) != (self.user, self.password):
            raise EsError(401, "security_exception", f"unable to authenticate user [{user}] for REST request [{path}]")

    def route(self, method: str, path: str, params: dict[str, str], body: Any) -> Any:
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if method == "POST" and segments == ["_search"]:
            return self.search(None, body or {})
        if method in ("GET", "POST") and len(segments) == 2 and segments[1] == "_search":
            return self.search(segments[0], body or {})
        if method == "POST" and len(segments) == 2 and segments[1] == "_pit":
            if self.flavour != "elasticsearch":
                reason = "mapping type name [_pit] can't start with '_' unless it is called [_doc]"
                raise EsError(400, "invalid_type_name_exception", reason)
            return {"id": self.open_pit(segments[0])}
        if method == "POST" and segments[1:] == ["_search", "point_in_time"]:
            if self.flavour != "opensearch":
                raise EsError(405, "method_not_allowed", f"Incorrect HTTP method for uri [{path}] and method [POST]")
            pit = self.open_pit(segments[0])
            return {"pit_id": pit, "_shards": _shards(), "creation_time": 1767225600000}
        if method == "DELETE" and segments == ["_pit"] and self.flavour == "elasticsearch":
            freed = self.close_pit((body or {}).get("id"))
            return {"succeeded": True, "num_freed": freed}
        if method == "DELETE" and segments == ["_search", "point_in_time"] and self.flavour == "opensearch":
            ids = (body or {}).get("pit_id") or []
            return {"pits": [{"pit_id": pit, "successful": bool(self.close_pit(pit))} for pit in ids]}
        raise EsError(400, "illegal_argument_exception", f"no handler found for uri [{path}] and method [{method}]")

    def matching(self, index: str) -> list[Doc]:
        patterns = index.split(",")
        chosen = [d for d in self.docs if any(fnmatch.fnmatch(n, p) for p in patterns for n in (d.index, DATA_STREAM))]
        concrete = [p for p in patterns if "*" not in p]
        if concrete and not chosen:
            name = concrete[0]
            raise EsError(
                404,
                "index_not_found_exception",
                f"no such index [{name}]",
                **{"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name},
            )
        return chosen

    def open_pit(self, index: str) -> str:
        pit = base64.b64encode(f"pit-{next(self._ids)}-{index}".encode()).decode()
        self.open_pits[pit] = list(self.matching(index))
        return pit

    def close_pit(self, pit: Any) -> int:
        if pit in self.open_pits:
            del self.open_pits[pit]
            self.closed_pits.append(pit)
            return 1
        return 0

    def search(self, index: str | None, body: dict[str, Any]) -> dict[str, Any]:
        pit = body.get("pit")
        if pit is not None:
            if index is not None:
                reason = "[indices] cannot be used with point in time. Do not specify any index with point in time."
                raise EsError(400, "illegal_argument_exception", reason)
            pit_id = pit.get("id")
            if pit_id not in self.open_pits:
                raise EsError(404, "search_context_missing_exception", f"No search context found for id [{pit_id}]")
            docs = self.open_pits.pop(pit_id)
            pit_id = base64.b64encode(f"pit-{next(self._ids)}".encode()).decode()  # ids may change: use the latest
            self.open_pits[pit_id] = docs
        else:
            docs = self.matching(index or "*")
        size = int(body.get("size", 10))
        if size > 10_000:
            reason = f"Result window is too large, from + size must be less than or equal to: [10000] but was [{size}]."
            raise EsError(400, "illegal_argument_exception", reason)
        selected = [d for d in docs if self.matches(d, body.get("query"))]
        sort = self.sort_spec(body.get("sort"), pit is not None)
        keyed = sorted(((self.sort_values(d, sort), d) for d in selected), key=lambda x: _order_key(x[0], sort))
        after = body.get("search_after")
        if after is not None:
            if len(after) != len(sort):
                raise EsError(
                    400,
                    "illegal_argument_exception",
                    f"search_after has {len(after)} value(s) but sort has {len(sort)}.",
                )
            keyed = [x for x in keyed if _order_key(x[0], sort) > _order_key(after, sort)]
        page = keyed[:size]
        hits: dict[str, Any] = {
            "max_score": None,
            "hits": [
                {"_index": d.index, "_id": d.id, "_score": None, "_source": d.source, "sort": values}
                for values, d in page
            ],
        }
        track = body.get("track_total_hits", 10_000)
        if track is True:
            hits["total"] = {"value": len(selected), "relation": "eq"}
        elif track is not False:
            hits["total"] = {
                "value": min(len(selected), 10_000),
                "relation": "eq" if len(selected) <= 10_000 else "gte",
            }
        answer: dict[str, Any] = {"took": 2, "timed_out": False, "_shards": _shards(self.shard_failure), "hits": hits}
        if pit is not None:
            answer = {"pit_id": pit_id, **answer}
        return answer

    def matches(self, doc: Doc, query: Any) -> bool:
        if query is None or query == {"match_all": {}}:
            return True
        if set(query) != {"bool"} or set(query["bool"]) - {"filter"}:
            raise EsError(400, "parsing_exception", f"unknown query [{next(iter(query), '')}]", line=1, col=30)
        for clause in query["bool"].get("filter", []):
            ((kind, spec),) = clause.items()
            ((name, condition),) = spec.items()
            value = _get(doc.source, name)
            if kind == "range":
                ns = parse_date_ns(value)
                for op, bound in condition.items():
                    if op == "format":
                        continue
                    limit = parse_date_ns(bound)
                    if limit is None:
                        raise EsError(400, "parse_exception", f"failed to parse date field [{bound}]")
                    if (
                        ns is None
                        or not {"gte": ns >= limit, "gt": ns > limit, "lt": ns < limit, "lte": ns <= limit}[op]
                    ):
                        return False
            elif kind == "terms":
                if value not in condition:
                    return False
            elif kind == "term":
                if value != (condition.get("value") if isinstance(condition, dict) else condition):
                    return False
            else:
                raise EsError(400, "parsing_exception", f"unknown query [{kind}]", line=1, col=30)
        return True

    def sort_spec(self, sort: Any, with_pit: bool) -> list[tuple[str, str]]:
        spec: list[tuple[str, str]] = []
        for item in sort or []:
            if isinstance(item, str):
                spec.append((item, "asc"))
                continue
            ((name, how),) = item.items()
            spec.append((name, how if isinstance(how, str) else how.get("order", "asc")))
        for name, _ in spec:
            if name == "_id" and self.flavour == "elasticsearch":
                reason = (
                    "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic "
                    "cluster setting: indices.id_field_data.enabled"
                )
                raise EsError(400, "illegal_argument_exception", reason)
            if name == "_shard_doc" and (self.flavour != "elasticsearch" or not with_pit):
                raise EsError(400, "query_shard_exception", "No mapping found for [_shard_doc] in order to sort on")
        if with_pit and self.flavour == "elasticsearch" and all(n != "_shard_doc" for n, _ in spec):
            spec.append(("_shard_doc", "asc"))  # Elasticsearch's implicit tiebreaker within a PIT
        return spec

    def sort_values(self, doc: Doc, spec: list[tuple[str, str]]) -> list[Any]:
        values: list[Any] = []
        for name, _ in spec:
            if name == "_id":
                values.append(doc.id)
            elif name in ("_shard_doc", "_doc"):
                values.append(doc.seq)
            else:
                value = _get(doc.source, name)
                ns = parse_date_ns(value)
                values.append(ns // MS if ns is not None else value)
        return values


def _order_key(values: list[Any], spec: list[tuple[str, str]]) -> tuple[Any, ...]:
    key: list[Any] = []
    for value, (_, order) in zip(values, spec, strict=True):
        if isinstance(value, int | float):
            key.append((0, -value if order == "desc" else value))
        else:
            text = "" if value is None else str(value)
            key.append((1, tuple(-ord(c) for c in text) if order == "desc" else text))
    return tuple(key)


def _shards(failed: bool = False) -> dict[str, Any]:
    if not failed:
        return {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
    failure = {
        "shard": 1,
        "index": BACKING_INDEX,
        "node": "n1",
        "reason": {"type": "node_not_connected_exception", "reason": "[n1][127.0.0.1:9300] Node not connected"},
    }
    return {"total": 2, "successful": 1, "skipped": 0, "failed": 1, "failures": [failure]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    es: ElasticsearchServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is what the slow tests are about


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def handle_any(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body, extra = self.server.es.answer(self.command, parts.path, params, headers, raw)
        payload = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = handle_any

    def log_message(self, format: str, *args: Any) -> None:
        pass
