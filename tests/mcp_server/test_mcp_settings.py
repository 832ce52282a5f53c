"""The `mcp:` settings, paging cursors, the loopback rule and token lookup: plain functions, no SDK needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentlens.errors import ConfigError, InputError
from incidentlens.mcp_server.paging import page, shorten
from incidentlens.mcp_server.settings import McpSettings, mcp_settings_from
from incidentlens.web.settings import hash_token, web_settings_from
from incidentlens.workflow.config import parse_settings

USERS = "users:\n  agent: {roles: [responder]}\n  viewer: {roles: [viewer]}\n"


def _settings(text: str) -> McpSettings:
    parsed = parse_settings(text, path=Path("/etc/il/config.yaml"))
    return mcp_settings_from(web_settings_from(parsed, workspace=Path("/tmp/ws"), database_url=None))


def test_changes_are_off_by_default_and_need_no_identity() -> None:
    settings = _settings(USERS)
    assert settings.allow_changes is False and settings.identity is None
    assert settings.tokens_required is False


def test_allowed_changes_act_as_the_named_identity_or_the_default_user() -> None:
    named = _settings(USERS + "mcp: {allow_changes: true, identity: viewer}\n")
    assert named.identity.name == "viewer"
    default = _settings(USERS + "default_user: agent\nmcp: {allow_changes: true}\n")
    assert default.identity.name == "agent"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("mcp: {allow_changes: yes-please}", "'mcp.allow_changes' must be true or false"),
        ("mcp: {identity: mallory}", "'mcp.identity' 'mallory' is not a configured user (configured: agent, viewer)"),
        ("mcp: {approve: true}", "'mcp' has unknown key(s) approve (allowed: allow_changes, identity)"),
        ("mcp: {allow_changes: true}", "'mcp.allow_changes' is on, so the agent needs an identity"),
        ("mcp: [allow_changes]", "'mcp' must be a mapping"),
    ],
)
def test_mistakes_name_the_file_and_key(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(USERS + section + "\n")
    assert message in str(caught.value)


def test_tokens_are_the_web_servers() -> None:
    text = f"users:\n  agent: {{roles: [responder], token_sha256: {hash_token('t')}}}\n"
    assert _settings(text).tokens_required is True


def test_paging_walks_every_item_once_and_rejects_foreign_cursors() -> None:
    items = list(range(7))
    seen: list[int] = []
    cursor = None
    while True:
        chunk, paging = page(items, limit=3, cursor=cursor)
        seen.extend(chunk)
        assert paging["total"] == 7
        cursor = paging["next_cursor"]
        if cursor is None:
            break
    assert seen == items
    for bad in ("3", "o99", "ox"):
        with pytest.raises(InputError, match="not one this tool returned"):
            page(items, limit=3, cursor=bad)
    with pytest.raises(InputError, match="limit must be from 1 to 100"):
        page(items, limit=0, cursor=None)


def test_shorten_says_how_much_it_left_out() -> None:
    assert shorten("abc", 5) == "abc"
    assert shorten("abcdefgh", 3) == "abc… [5 more characters]"


def test_loopback_rule_and_token_lookup() -> None:
    pytest.importorskip("mcp", reason="the mcp extra is not installed")
    from incidentlens.mcp_server.transport_http import check_binding, is_loopback, user_for_token

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("example.org")
    open_settings = _settings(USERS)
    check_binding(open_settings, "127.0.0.1")
    with pytest.raises(ConfigError, match="reachable from other machines"):
        check_binding(open_settings, "0.0.0.0")
    hashes = {hash_token("a-token"): "agent", hash_token("b-token"): "viewer"}
    assert user_for_token(hashes, "b-token") == "viewer"
    assert user_for_token(hashes, "c-token") is None
