"""Settings files, identities and role checks: clear errors naming the file and the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentlens.errors import ConfigError, PermissionDeniedError
from incidentlens.model.enums import Role
from incidentlens.workflow.config import CONFIG_ENV, Settings, load_settings
from incidentlens.workflow.identity import Identity, require_role, resolve_actor

GOOD = """
users:
  alice: {roles: [responder, approver]}
  bob: {roles: [approver]}
  carol: {roles: [viewer]}
default_user: alice
executors: {git_branch: {prefix: fix/}}
"""


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def _write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_file_in_workspace_is_read(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    settings = load_settings(None, workspace=tmp_path)
    assert settings.path == tmp_path / "config.yaml"
    assert settings.users["alice"] == Identity("alice", frozenset({Role.RESPONDER, Role.APPROVER}))
    assert settings.default_user == "alice"
    assert settings.section("executors") == {"git_branch": {"prefix": "fix/"}}
    assert settings.section("policy") == {}


def test_missing_default_file_is_empty_but_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    assert load_settings(None, workspace=tmp_path) == Settings()
    with pytest.raises(ConfigError, match=r"nope\.yaml does not exist"):
        load_settings(tmp_path / "nope.yaml", workspace=tmp_path)


def test_explicit_path_beats_environment_which_beats_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "users: {ws: {roles: [viewer]}}")
    env = _write(tmp_path, "users: {env: {roles: [viewer]}}", "env.yaml")
    explicit = _write(tmp_path, "users: {cli: {roles: [viewer]}}", "cli.yaml")
    monkeypatch.setenv(CONFIG_ENV, str(env))
    assert set(load_settings(None, workspace=tmp_path).users) == {"env"}
    assert set(load_settings(explicit, workspace=tmp_path).users) == {"cli"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users: [alice", "not valid YAML"),
        ("- a\n- b", "top level must be a mapping"),
        ("users: {alice: {roles: [responder, wizard]}}", r"'users\.alice\.roles' has unknown role 'wizard'"),
        ("users: {alice: {roles: responder}}", r"'users\.alice\.roles' must be a list"),
        ("users: {alice: {role: [responder]}}", r"'users\.alice' has unknown key\(s\) role"),
        ("users: {alice: [responder]}", r"'users\.alice' must be a mapping"),
        ("users: [alice]", "'users' must be a mapping"),
        ("users: {alice: {roles: []}}\ndefault_user: bob", "'default_user' 'bob' is not one of the configured users"),
        ("executors: [a]", "'executors' must be a mapping"),
    ],
)
def test_bad_settings_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path, workspace=tmp_path).section("executors")
    assert str(path) in str(info.value)


def test_resolve_actor_prefers_as_over_default(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), workspace=tmp_path)
    assert resolve_actor(settings, None).name == "alice"
    assert resolve_actor(settings, "bob").roles == frozenset({Role.APPROVER})
    with pytest.raises(ConfigError, match=r"unknown user 'mallory'.*configured users are alice, bob, carol"):
        resolve_actor(settings, "mallory")


def test_no_users_or_no_acting_user_explains_how_to_configure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"(?s)no users are configured.*users: \{alice: \{roles:"):
        resolve_actor(Settings(), "alice")
    settings = load_settings(_write(tmp_path, "users: {bob: {roles: [approver]}}"), workspace=tmp_path)
    with pytest.raises(ConfigError, match="pass --as USER or set default_user"):
        resolve_actor(settings, None)


def test_require_role_accepts_any_listed_role() -> None:
    carol = Identity("carol", frozenset({Role.VIEWER}))
    admin = Identity("root", frozenset({Role.ADMIN}))
    require_role(admin, Role.RESPONDER, Role.ADMIN)
    with pytest.raises(PermissionDeniedError, match="'carol' needs the role responder or admin \\(has viewer\\)") as e:
        require_role(carol, Role.RESPONDER, Role.ADMIN)
    assert e.value.exit_code == 6
    with pytest.raises(PermissionDeniedError, match="has no roles"):
        require_role(Identity("x", frozenset()), Role.APPROVER)
