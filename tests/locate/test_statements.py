"""A statement first seen in the incident is traced to the code holding its changed part, in a real git repo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from incidentlens.locate.statements import NewStatement, changed_fragments, locate_statements

OLD = "SELECT id, name FROM products WHERE id = %s"
NEW = "SELECT id, name FROM products WHERE lower(id) = lower(%s)"


def test_changed_fragments_are_the_new_tokens() -> None:
    assert changed_fragments(NEW, [OLD, "SELECT 1"]) == ["lower(%s)", "lower(id)"]
    assert changed_fragments(NEW, []) == []


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_locates_the_line_that_builds_the_new_statement(tmp_path: Path) -> None:
    code = tmp_path / "services" / "catalog"
    code.mkdir(parents=True)
    (code / "db.py").write_text(
        'import logging\n\nSQL = (\n    "SELECT id, name FROM products "\n    "WHERE lower(id) = lower(%s)"\n)\n'
    )
    (tmp_path / "README.md").write_text("lower(id) appears in docs too\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "catalog: case-insensitive lookups")
    statement = NewStatement("SELECT products", NEW, (OLD,))
    locations = locate_statements(tmp_path, [statement], folder="services/catalog", onset_ns=None)
    assert [(loc.path, loc.line) for loc in locations] == [("services/catalog/db.py", 5)]
    assert "lower(" in locations[0].why and locations[0].snippet.startswith('"WHERE')
