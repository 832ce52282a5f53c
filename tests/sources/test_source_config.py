"""The `sources:` settings: validation with clear messages, secrets from the environment, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentlens.errors import ConfigError
from incidentlens.sources.config import parse_sources
from incidentlens.sources.registry import build_source


def test_a_minimal_entry_gets_sane_defaults() -> None:
    config = parse_sources({"prom": {"kind": "prometheus", "url": "http://localhost:9090/"}})["prom"]
    assert config.url == "http://localhost:9090"
    assert config.timeout_seconds > 0 and config.retries >= 1 and config.max_rows > 0
    assert config.options == {}


def test_secrets_come_from_the_environment_and_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROM_TOKEN", "t0ken")
    monkeypatch.setenv("TENANT", "team-a")
    entry = {
        "kind": "loki",
        "url": "http://loki:3100",
        "bearer_token_env": "PROM_TOKEN",
        "headers": {"X-Scope-OrgID": "${TENANT}"},
    }
    config = parse_sources({"loki": entry})["loki"]
    assert config.bearer_token == "t0ken" and config.headers == {"X-Scope-OrgID": "team-a"}
    assert "t0ken" not in repr(config)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": "http://x"}, "'kind' is required"),
        ({"kind": "prometheus", "url": "ftp://x"}, "must start with http"),
        ({"kind": "prometheus", "url": "http://x", "timeout_seconds": -1}, "'timeout_seconds' must be a number"),
        ({"kind": "prometheus", "url": "http://x", "bearer_token_env": "NOT_SET_ANYWHERE"}, "is not set"),
        ({"kind": "prometheus", "url": "http://x", "headers": {"A": "${NOPE_NOT_SET}"}}, "is not set"),
        ({"kind": "prometheus", "url": "http://x", "cert_file": "c.pem"}, "go together"),
        ("not a mapping", "must be a mapping"),
    ],
)
def test_bad_entries_name_the_source_and_the_key(entry: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_sources({"prom": entry}, where="config.yaml")
    assert "config.yaml: sources.prom" in str(info.value)


def test_unknown_kind_lists_the_known_ones() -> None:
    config = parse_sources({"x": {"kind": "nagios", "url": "http://x"}})["x"]
    with pytest.raises(ConfigError, match=r"unknown kind 'nagios' \(known: .*files"):
        build_source(config)


def test_files_source_resolves_paths_against_the_settings_folder(tmp_path: Path) -> None:
    config = parse_sources({"f": {"kind": "files", "paths": ["logs"]}}, base=tmp_path)["f"]
    assert config.paths == (tmp_path / "logs",)
    with pytest.raises(ConfigError, match="unknown key"):
        build_source(parse_sources({"f": {"kind": "files", "paths": ["a"], "pathz": ["b"]}})["f"])
