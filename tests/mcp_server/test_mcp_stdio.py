"""`incidentlens mcp` over stdio, driven by the SDK's own client in a subprocess: every read-only tool,
paging, errors as tool errors, and the change tools absent by default."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import anyio
import pytest

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'incidentlens[mcp]')")
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

T = TypeVar("T")


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
READ_TOOLS = {
    "list_incidents",
    "show_incident",
    "show_ledger",
    "investigate",
    "list_evidence",
    "get_evidence",
    "locate_code",
    "search_memory",
    "show_audit",
    "list_fixes",
    "show_fix",
}


@pytest.fixture(scope="module")
def space(mcp_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    built = mcp_template.copy(tmp_path_factory.mktemp("mcp-stdio"))
    built.write_config(allow_changes=False)
    return built


def session(space: Any, script: Callable[[Client], Awaitable[T]]) -> T:
    """Start `incidentlens mcp` as a stdio subprocess, run `script` with a connected client, stop it."""
    argv = space.argv()
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=support.env(), cwd=str(space.root))

    async def main() -> T:
        async with Client(params, read_timeout_seconds=60) as client:
            return await script(client)

    return anyio.run(main)


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert "Traceback" not in text and 'File "' not in text
    return text


def test_read_only_by_default(space: Any) -> None:
    async def script(client: Client) -> tuple[Any, CallToolResult]:
        listed = await client.list_tools()
        refused = await client.call_tool("acknowledge_incident", {"incident_id": "INC-0002"})
        return listed, refused

    listed, refused = session(space, script)
    names = {t.name for t in listed.tools}
    assert names == READ_TOOLS
    assert all(t.annotations is not None and t.annotations.read_only_hint for t in listed.tools)
    assert "acknowledge_incident" in error_text(refused)


def test_incidents_ledger_evidence_audit_fixes_with_paging(space: Any) -> None:
    async def script(client: Client) -> dict[str, Any]:
        calls = {
            "incidents": ("list_incidents", {"limit": 1}),
            "incidents_open": ("list_incidents", {"status": "investigating"}),
            "incident": ("show_incident", {"incident_id": "INC-0002"}),
            "ledger": ("show_ledger", {"incident_id": "INC-0002", "limit": 2}),
            "evidence": ("list_evidence", {"incident_id": "INC-0002", "limit": 5}),
            "audit": ("show_audit", {"incident_id": "INC-0001", "limit": 2, "verify": True}),
            "fixes": ("list_fixes", {"incident_id": "INC-0002"}),
            "traces": ("list_evidence", {"incident_id": "INC-0002", "kind": "trace_error", "service": "cart"}),
        }
        got = {key: data(await client.call_tool(name, args)) for key, (name, args) in calls.items()}
        got["incidents_2"] = data(
            await client.call_tool("list_incidents", {"limit": 1, "cursor": got["incidents"]["next_cursor"]})
        )
        got["ledger_2"] = data(
            await client.call_tool(
                "show_ledger", {"incident_id": "INC-0002", "limit": 2, "cursor": got["ledger"]["next_cursor"]}
            )
        )
        pages = [got["evidence"]]
        while pages[-1]["next_cursor"]:
            args = {"incident_id": "INC-0002", "limit": 5, "cursor": pages[-1]["next_cursor"]}
            pages.append(data(await client.call_tool("list_evidence", args)))
        got["evidence_pages"] = pages
        first_ids = [e["id"] for e in got["evidence"]["evidence"][:2]]
        got["full"] = data(
            await client.call_tool(
                "get_evidence",
                {"incident_id": "INC-0002", "evidence_ids": [*first_ids, "ev-nope"], "excerpt_chars": 20},
            )
        )
        return got

    got = session(space, script)
    assert [i["id"] for i in got["incidents"]["incidents"]] == ["INC-0002"]
    assert got["incidents"]["total"] == 2 and got["incidents"]["next_cursor"]
    assert [i["id"] for i in got["incidents_2"]["incidents"]] == ["INC-0001"]
    assert got["incidents_2"]["next_cursor"] is None
    assert [i["id"] for i in got["incidents_open"]["incidents"]] == ["INC-0002"]

    incident = got["incident"]
    assert incident["id"] == "INC-0002" and incident["status"] == "investigating"
    top = incident["top_hypotheses"][0]
    assert top["service"] == "cart" and top["supporting"]["ids"]
    assert incident["evidence_total"] == sum(len(p["evidence"]) for p in got["evidence_pages"])

    ledger_ids = [h["id"] for h in got["ledger"]["hypotheses"] + got["ledger_2"]["hypotheses"]]
    assert len(ledger_ids) == len(set(ledger_ids)) == min(4, got["ledger"]["total"])

    # paging visits every evidence record once, strongest first, and stops with next_cursor null
    seen = [e["id"] for page in got["evidence_pages"] for e in page["evidence"]]
    assert len(seen) == len(set(seen)) == got["evidence"]["total"] > 5
    scores = [e["score"] for page in got["evidence_pages"] for e in page["evidence"]]
    assert scores == sorted(scores, reverse=True)
    assert set(top["supporting"]["ids"]) <= set(seen)
    traces = got["traces"]["evidence"]
    assert traces and all(e["kind"] == "trace_error" and e["service"] == "cart" for e in traces)

    full = got["full"]
    assert [e["id"] for e in full["evidence"]] == seen[:2] and full["missing"] == ["ev-nope"]
    assert all(len(e["excerpt"]) <= 20 or "more characters]" in e["excerpt"] for e in full["evidence"])

    audit = got["audit"]
    assert [e["action"] for e in audit["entries"]][:1] == ["open"] and audit["next_cursor"]
    assert audit["chain"]["ok"] is True
    assert got["fixes"] == {"incident": "INC-0002", "fixes": []}  # listing generates nothing


def test_investigate_then_evidence_memory_and_code(space: Any) -> None:
    async def script(client: Client) -> dict[str, Any]:
        got: dict[str, Any] = {"run": data(await client.call_tool("investigate", {"sources": ["demo"]}))}
        run_id = got["run"]["run_id"]
        top = got["run"]["hypotheses"][0]
        got["evidence"] = data(
            await client.call_tool("get_evidence", {"run_id": run_id, "evidence_ids": top["supporting"]["ids"][:1]})
        )
        got["memory_run"] = data(await client.call_tool("search_memory", {"run_id": run_id}))
        got["memory_incident"] = data(await client.call_tool("search_memory", {"incident_id": "INC-0002"}))
        got["frame"] = data(
            await client.call_tool(
                "locate_code",
                {"frame": 'File "/app/services/cart/store.py", line 21, in get_cart', "repository": "shop"},
            )
        )
        got["log_line"] = data(
            await client.call_tool(
                "locate_code", {"log_line": "cart operation failed", "incident_id": "INC-0002", "service": "cart"}
            )
        )
        got["recorded"] = await client.call_tool("investigate", {"sources": ["demo"], "record": True})
        got["incidents"] = data(await client.call_tool("list_incidents", {}))
        return got

    got = session(space, script)
    run = got["run"]
    assert run["run_id"].startswith("RUN-") and run["recorded_as"] is None
    assert run["hypotheses"][0]["service"] == "cart" and not run["abstained"]
    assert run["evidence_total"] >= len(run["hypotheses"][0]["supporting"]["ids"])
    assert run["seen_before"] == ["INC-0001"]  # the resolved incident in the memory
    evidence = got["evidence"]["evidence"][0]
    assert evidence["id"] == run["hypotheses"][0]["supporting"]["ids"][0] and evidence["excerpt"]
    for found in (got["memory_run"], got["memory_incident"]):
        assert found["matches"][0]["incident_id"] == "INC-0001" and found["matches"][0]["seen_before"] is True
    assert got["frame"]["locations"][0]["path"] == "services/cart/store.py"
    assert got["log_line"]["locations"][0]["path"] == "services/cart/server.py"
    assert "allow_changes" in error_text(got["recorded"])  # recording is a change: off by default
    assert got["incidents"]["total"] == 2


def test_mistakes_are_tool_errors_with_a_clear_message(space: Any) -> None:
    async def script(client: Client) -> list[str]:
        calls = [
            ("show_incident", {"incident_id": "INC-0404"}),
            ("list_incidents", {"status": "sleeping"}),
            ("list_incidents", {"cursor": "bogus"}),
            ("get_evidence", {"evidence_ids": ["x"]}),
            ("get_evidence", {"run_id": "RUN-99", "evidence_ids": ["x"]}),
            ("investigate", {"sources": ["nope"]}),
            ("locate_code", {"log_line": "x", "repository": "elsewhere"}),
            ("locate_code", {"repository": "shop"}),
            ("show_fix", {"proposal_id": "INC-0002-F9"}),
            ("list_incidents", {"limit": 1000}),
        ]
        return [error_text(await client.call_tool(name, args)) for name, args in calls]

    texts = session(space, script)
    expected = [
        "no incident 'INC-0404'",
        "Input should be 'detected', 'opened'",
        "cursor 'bogus' is not one this tool returned",
        "give either incident_id",
        "no investigation run 'RUN-99'",
        "unknown source(s) nope; configured: demo",
        "unknown repository 'elsewhere'; configured: shop",
        "give exactly one of frame",
        "INC-0002-F9",
        "limit",
    ]
    for text, wanted in zip(texts, expected, strict=True):
        assert wanted in text, (wanted, text)
