"""ClickHouse's HTTP interface served from chDB (embedded ClickHouse): a real engine behind a small local server.

Enough of the protocol for `clickhouse-connect`: the statement in the `query` parameter and/or the POST body,
the output format taken from the statement's own FORMAT clause (the client asks for Native), errors as HTTP 500
with ClickHouse's `Code: N. DB::Exception: ...` text and `X-ClickHouse-Exception-Code`. chDB allows one
session per process, so statements run one at a time. Run alone (`python chdb_http_server.py DB_DIR PORT`)
it serves until killed, printing `ready PORT` once listening; the scale benchmark uses it that way to keep
the engine's memory out of the IncidentLens process.
"""

from __future__ import annotations

import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chdb import session

_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_CODE = re.compile(r"Code: (\d+)")


class ChdbHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, path: str, port: int = 0, *, shared: Any = None) -> None:
        """Serve the database directory `path`, or the already open chDB session `shared` (one per process)."""
        self.owned = shared is None
        self.session: Any = session.Session(path) if shared is None else shared
        self.lock = threading.Lock()
        self.queries: list[str] = []
        self.sent_bytes = 0  # response bodies: what crossed the wire
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def run(self, sql: str, database: str | None) -> bytes:
        match = _FORMAT.search(sql)
        fmt = match.group(1) if match else "TabSeparated"
        statement = sql[: match.start()] if match else sql
        with self.lock:
            self.queries.append(statement)
            if database and database != "default":
                self.session.query(f"USE `{database}`")
            result = self.session.query(statement, fmt)
        return bytes(result.bytes()) if hasattr(result, "bytes") else bytes(result)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        if self.owned:
            self.session.close()


class _Handler(BaseHTTPRequestHandler):
    server: ChdbHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return

    def do_GET(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(length) if length else b"")

    def _answer(self, body: bytes) -> None:
        params = parse_qs(urlsplit(self.path).query)
        if urlsplit(self.path).path == "/ping":
            return self._send(200, b"Ok.\n", {})
        sql = " ".join([*params.get("query", []), body.decode()]).strip()
        if not sql:
            return self._send(200, b"Ok.\n", {})
        try:
            out = self.server.run(sql, (params.get("database") or [None])[0])
        except Exception as exc:
            text = str(exc)
            code = _CODE.search(text)
            return self._send(500, text.encode(), {"X-ClickHouse-Exception-Code": code.group(1) if code else "1"})
        self.server.sent_bytes += len(out)
        self._send(200, out, {"X-ClickHouse-Summary": "{}"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def serve(path: str, port: int) -> None:
    server = ChdbHttpServer(path, port)
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
