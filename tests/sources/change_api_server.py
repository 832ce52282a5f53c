"""The plumbing the fake Kubernetes, Argo CD and GitHub servers share: a threaded HTTP(S) server on 127.0.0.1
with an ephemeral port, recorded requests, slowness and queued failures. Each backend module answers its
own paths with its own bodies (`handle`)."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]


@dataclass
class Answer:
    status: int
    body: Any  # JSON-able
    headers: dict[str, str] = field(default_factory=dict)


class ApiServer:
    """Subclasses implement `handle`; `fail_next` answers queued (status, body, headers) before it."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.delay_seconds = 0.0
        self.fail_next: list[Answer] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.scheme = "http"

    def handle(self, request: Request) -> Answer:
        raise NotImplementedError

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self, *, tls: tuple[Path, Path] | None = None, client_ca: Path | None = None) -> ApiServer:
        """Serve HTTP, or HTTPS with `tls` (certificate, key); with `client_ca` a client certificate is required."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                request = Request(
                    "GET", parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}
                )
                api.requests.append(request)
                if api.delay_seconds and api._stopping.wait(api.delay_seconds):
                    return
                answer = api.fail_next.pop(0) if api.fail_next else api.handle(request)
                data = orjson.dumps(answer.body)
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # clients that hung up
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            if client_ca is not None:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(str(client_ca))
            server.socket = context.wrap_socket(server.socket, server_side=True)
            self.scheme = "https"
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ApiServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
