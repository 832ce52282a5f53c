"""Issue 16, item 2: webhook bodies are never read before authentication or past the size limit.

A real uvicorn server on 127.0.0.1 and a raw socket: the request announces a body and sends none of it; the
answer must come at once (before the fix the server waited for the whole body before checking anything).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import uvicorn

from incidentlens.web.app import create_app
from incidentlens.web.settings import load_web_settings
from incidentlens.web.webhooks import MAX_BODY_BYTES, SECRET_HEADER

AM = "/api/v1/webhooks/alertmanager"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "c.yaml").write_text("web: {webhook_secrets: {alertmanager: am-secret, pagerduty: pd-secret}}\n")
    settings = load_web_settings(config=tmp_path / "c.yaml", workspace=tmp_path, database_url=None)
    app = create_app(settings, run_worker=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _status_after_headers(port: int, headers: dict[str, str], body: bytes = b"", *, wait: float = 3.0) -> int:
    """Send the request head (and `body`, possibly far short of Content-Length); the status of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as conn:
        head = f"POST {AM} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        conn.sendall(head.encode() + b"\r\n" + body)
        try:
            answer = conn.recv(4096)
        except TimeoutError:
            pytest.fail(f"no answer within {wait} s: the server is waiting for the body")
    return int(answer.split(b" ", 2)[1])


def test_unauthenticated_webhook_is_refused_before_its_body_is_read(server: int) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(MAX_BODY_BYTES - 10)}
    assert _status_after_headers(server, headers) == 401
    huge = {"Content-Type": "application/json", "Content-Length": str(100_000_000)}
    assert _status_after_headers(server, huge) in (401, 413)


def test_oversized_content_length_is_refused_at_once_even_when_authenticated(server: int) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(100_000_000), SECRET_HEADER: "am-secret"}
    assert _status_after_headers(server, headers) == 413


def test_chunked_body_is_cut_off_at_the_limit(server: int) -> None:
    chunk = b"[" + b"1," * 200_000
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked", SECRET_HEADER: "am-secret"}
    body = b""
    for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
        body += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    assert _status_after_headers(server, headers, body) == 413


def test_a_normal_payload_still_passes(server: int) -> None:
    payload = orjson.dumps(
        {
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "X", "service": "cart"},
                    "startsAt": "2026-01-01T00:00:00Z",
                }
            ]
        }
    )
    headers = {"Content-Type": "application/json", "Content-Length": str(len(payload)), SECRET_HEADER: "am-secret"}
    assert _status_after_headers(server, headers, payload) == 202
