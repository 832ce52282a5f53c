"""Slack incoming-webhook messages, checked by a local HTTP receiver speaking the real protocol."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from incidentlens.web.notify import NotificationError, SlackMessage, message_from_brief, post_slack


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.status = 200
        self.answer = b"ok"


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            assert self.headers["Content-Type"] == "application/json"
            state.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    server.shutdown()
    server.server_close()


MESSAGE = SlackMessage(
    incident_id="INC-0007",
    title="HighErrorRate on checkout",
    summary="HYPOTHESIS (confidence 0.81): payment <@U123> raises & fails",
    hypothesis="payment raises <!channel> NullPointerException",
    confidence=0.81,
    link="https://incidents.example.com/incidents/INC-0007",
)


def test_message_has_summary_hypothesis_and_link_with_untrusted_text_escaped(receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    post_slack(url, MESSAGE)
    body = state.bodies[0]
    assert body["text"].startswith("INC-0007")
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds[:4] == ["header", "section", "section", "actions"]
    summary, top = body["blocks"][1]["text"]["text"], body["blocks"][2]["text"]["text"]
    assert "&lt;@U123&gt;" in summary and "&amp;" in summary and "<@" not in summary
    assert "confidence 0.81" in top and "&lt;!channel&gt;" in top
    assert body["blocks"][3]["elements"][0]["url"] == MESSAGE.link


def test_refusal_is_an_error_that_does_not_leak_the_webhook_url(receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    state.status, state.answer = 404, b"no_service"
    with pytest.raises(NotificationError) as caught:
        post_slack(url, MESSAGE)
    assert "HTTP 404 no_service" in str(caught.value) and "XXXX" not in str(caught.value)


def test_unreachable_webhook_fails_fast_with_a_clear_error() -> None:
    with pytest.raises(NotificationError, match="failed: ConnectError"):
        post_slack("http://127.0.0.1:9/hook", MESSAGE)


def test_message_from_a_stored_brief_says_not_enough_evidence_when_abstained() -> None:
    brief = {"title": "t", "summary": "s", "abstained": True, "hypotheses": [{"claim": "c", "confidence": 0.2}]}
    message = message_from_brief(brief, incident_id="INC-0001", base_url="http://h/")
    assert message.hypothesis is None and message.link == "http://h/incidents/INC-0001"
    brief["abstained"] = False
    assert message_from_brief(brief, incident_id="INC-0001", base_url="http://h").confidence == 0.2
