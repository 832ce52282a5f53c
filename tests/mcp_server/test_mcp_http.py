"""`incidentlens mcp --transport http` in a subprocess on a free loopback port, driven by the SDK's client:
bearer tokens, the change tools as the token's user through the same roles, policy and gate, and no tool
that approves or executes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from typer.testing import CliRunner

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'incidentlens[mcp]')")
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

import incidentlens.cli.main  # noqa: F401 - registers every command
from incidentlens.cli.app import app
from incidentlens.errors import PolicyError
from incidentlens.store.database import open_database
from incidentlens.workflow.audit import audit_trail
from incidentlens.workflow.config import load_settings
from incidentlens.workflow.fix_context import execute_approved

T = TypeVar("T")
CHANGE_TOOLS = {"acknowledge_incident", "confirm_hypothesis", "refute_hypothesis", "propose_fixes"}
NEVER = ("approve", "reject", "execute", "validate")


def _support() -> ModuleType:
    """`mcp_workspace.py` beside this file, shared with conftest.py (one module object per session)."""
    if "mcp_workspace" in sys.modules:
        return sys.modules["mcp_workspace"]
    spec = importlib.util.spec_from_file_location("mcp_workspace", Path(__file__).with_name("mcp_workspace.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mcp_workspace"] = module
    spec.loader.exec_module(module)
    return module


support = _support()


@pytest.fixture(scope="module")
def template(mcp_template: Any) -> Any:
    return mcp_template


def _serve(space: Any) -> Iterator[str]:
    port = support.free_port()
    log_path = space.root / "mcp.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            space.argv("--transport", "http", "--port", str(port)),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=support.env(),
            cwd=str(space.root),
        )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the MCP server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def changes_space(template: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    space = template.copy(tmp_path_factory.mktemp("changes"))
    space.write_config(allow_changes=True, tokens=True)
    return space


@pytest.fixture(scope="module")
def server(changes_space: Any) -> Iterator[str]:
    yield from _serve(changes_space)


def session(url: str, token: str | None, script: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client,
        ):
            return await script(client)

    return anyio.run(main)


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert "Traceback" not in text
    return text


def test_a_bearer_token_is_required_once_users_have_tokens(server: str) -> None:
    missing = httpx.post(server, json={}, timeout=5)
    wrong = httpx.post(server, json={}, headers={"Authorization": "Bearer not-a-token"}, timeout=5)
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "incidentlens users token" in response.json()["detail"]


def test_no_tool_approves_or_executes_whoever_calls(server: str) -> None:
    async def script(client: Client) -> set[str]:
        return {t.name for t in (await client.list_tools()).tools}

    for user in ("agent", "boss"):  # boss holds admin and approver: still no such tool
        names = session(server, support.TOKENS[user], script)
        assert names >= CHANGE_TOOLS and "list_incidents" in names
        assert not [n for n in names if any(word in n for word in NEVER)]


def test_changes_act_as_the_token_user_through_roles_ledger_and_gate(server: str, changes_space: Any) -> None:
    async def as_watcher(client: Client) -> tuple[dict[str, Any], str]:
        read = data(await client.call_tool("show_incident", {"incident_id": "INC-0002"}))
        denied = error_text(await client.call_tool("acknowledge_incident", {"incident_id": "INC-0002"}))
        return read, denied

    read, denied = session(server, support.TOKENS["watcher"], as_watcher)
    assert read["status"] == "investigating"
    assert "PermissionDeniedError" in denied and "'watcher' needs the role responder or admin" in denied

    async def as_agent(client: Client) -> dict[str, Any]:
        ledger = data(await client.call_tool("show_ledger", {"incident_id": "INC-0002"}))["hypotheses"]
        first, second = ledger[0]["id"], ledger[1]["id"]
        got: dict[str, Any] = {"ids": (first, second)}
        got["ack"] = data(await client.call_tool("acknowledge_incident", {"incident_id": "INC-0002", "note": "on it"}))
        got["confirm"] = data(
            await client.call_tool(
                "confirm_hypothesis", {"incident_id": "INC-0002", "hypothesis_id": first, "comment": "trace matches"}
            )
        )
        got["refute_bare"] = error_text(
            await client.call_tool(
                "refute_hypothesis", {"incident_id": "INC-0002", "hypothesis_id": second, "comment": ""}
            )
        )
        got["refute"] = data(
            await client.call_tool(
                "refute_hypothesis", {"incident_id": "INC-0002", "hypothesis_id": second, "comment": "a victim"}
            )
        )
        got["again"] = error_text(
            await client.call_tool("confirm_hypothesis", {"incident_id": "INC-0002", "hypothesis_id": first})
        )
        got["proposed"] = data(await client.call_tool("propose_fixes", {"incident_id": "INC-0002"}))
        got["fix"] = data(await client.call_tool("show_fix", {"proposal_id": got["proposed"]["new"][0]}))
        got["ledger"] = data(await client.call_tool("show_ledger", {"incident_id": "INC-0002", "status": "confirmed"}))
        got["recorded"] = data(await client.call_tool("investigate", {"sources": ["demo"], "record": True}))
        return got

    got = session(server, support.TOKENS["agent"], as_agent)
    first, second = got["ids"]
    assert got["ack"] == {"incident": "INC-0002", "status": "investigating", "actor": "agent"}  # a milestone
    assert got["confirm"]["decision"] == "confirmed" and got["confirm"]["marked_understood"] is True
    assert "needs a comment" in got["refute_bare"]
    assert got["refute"]["decision"] == "refuted" and got["refute"]["actor"] == "agent"
    assert "already confirmed by agent" in got["again"]
    assert [h["id"] for h in got["ledger"]["hypotheses"]] == [first]
    assert got["proposed"]["new"] and all(f["status"] == "proposed" for f in got["proposed"]["fixes"])
    assert got["fix"]["label"] == "SUGGESTION" and got["fix"]["diff"]
    assert got["recorded"]["recorded_as"] == "INC-0002"  # same alert: onto the open incident, as the agent

    db = open_database(workspace=changes_space.ws)
    try:
        trail = audit_trail(db, incident_id="INC-0002")
        by_agent = {(e.action, e.entity_id) for e in trail if e.actor == "agent"}
        assert {("ack", "INC-0002"), ("confirm", f"INC-0002/{first}"), ("refute", f"INC-0002/{second}")} <= by_agent
        # The gate saw no person's approval: an executor cannot run on anything the agent proposed.
        settings = load_settings(changes_space.ws / "config.yaml", workspace=changes_space.ws)
        for proposal_id in got["proposed"]["new"]:
            with pytest.raises(PolicyError):
                execute_approved(db, proposal_id=proposal_id, executor="git_branch", settings=settings, actor="agent")
        assert not [
            e for e in audit_trail(db, incident_id="INC-0002") if e.action in ("approve", "execute", "executed")
        ]
    finally:
        db.dispose()


def test_without_tokens_loopback_only_and_read_only(template: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    space = template.copy(tmp_path_factory.mktemp("open"))
    space.write_config(allow_changes=False)
    refused = CliRunner().invoke(
        app, ["--workspace", str(space.ws), "mcp", "--transport", "http", "--host", "0.0.0.0"], env=support.env()
    )
    assert refused.exit_code == 2
    assert "reachable from other machines" in refused.output and "bind to 127.0.0.1" in refused.output

    async def script(client: Client) -> tuple[set[str], dict[str, Any]]:
        names = {t.name for t in (await client.list_tools()).tools}
        return names, data(await client.call_tool("list_incidents", {"limit": 5}))

    for url in _serve(space):
        names, listed = session(url, None, script)
        assert not names & CHANGE_TOOLS
        assert [i["id"] for i in listed["incidents"]] == ["INC-0002", "INC-0001"]
