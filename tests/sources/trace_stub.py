"""What the Jaeger and Tempo test servers share: a real HTTP server on 127.0.0.1 (an ephemeral port) in a
thread, the Authorization header it requires, canned answers (failures, recorded bodies), slowness, and a log
of the requests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

Answer = tuple[int, str, bytes]  # status, content type, body


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


def json_answer(status: int, body: Any) -> Answer:
    return status, "application/json", orjson.dumps(body)


def text_answer(status: int, body: str) -> Answer:
    return status, "text/plain; charset=utf-8", body.encode()


def _covers(prefix: str, path: str) -> bool:
    return path.startswith(prefix) if prefix.endswith("/") else path == prefix


class StubServer:
    """Subclasses implement `route(path, params, headers)`; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.authorization: str | None = None  # the exact header value required, when set
        self.delay_seconds = 0.0
        self._canned: list[tuple[str, Answer]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # a short poll interval: shutdown() waits for the serving loop to look (0.5 s by default)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer_next(self, path_prefix: str, answer: Answer, times: int = 1) -> None:
        """The next `times` requests to `path_prefix` get `answer` (a prefix ending in "/" covers what is under it)."""
        with self._lock:
            self._canned += [(path_prefix, answer)] * times

    def paths(self, prefix: str = "") -> list[str]:
        return [r.path for r in self.requests if r.path.startswith(prefix)]

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Answer:
        raise NotImplementedError

    def unauthorized(self) -> Answer:
        return text_answer(401, "Unauthorized")

    def _answer(self, raw_path: str, headers: dict[str, str]) -> Answer:
        parts = urlsplit(raw_path)
        path, params = unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.requests.append(Request(path, params, headers))
            canned = next((c for c in self._canned if _covers(c[0], path)), None)
            if canned is not None:
                self._canned.remove(canned)
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        if self.authorization is not None and headers.get("authorization") != self.authorization:
            return self.unauthorized()
        if canned is not None:
            return canned[1]
        return self.route(path, params, headers)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real servers
            disable_nagle_algorithm = True  # headers and body leave in two writes: no delayed-ACK stall

            def do_GET(self) -> None:  # the http.server hook name
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, content_type, body = stub._answer(self.path, headers)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def log_message(self, format: str, *args: Any) -> None:  # silence the default log
                pass

        return Handler
