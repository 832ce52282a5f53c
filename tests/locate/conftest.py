"""Fixtures for locate tests: real git repositories written into tmp folders."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

MakeRepo = Callable[[Mapping[str, str]], Path]


def commit_files(repo: Path, files: Mapping[str, str], message: str = "import") -> str:
    """Write `files` into `repo`, commit them with a fixed identity and date, and return the commit sha."""
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="alice",
        GIT_AUTHOR_EMAIL="alice@shop.example",
        GIT_COMMITTER_NAME="alice",
        GIT_COMMITTER_EMAIL="alice@shop.example",
        GIT_AUTHOR_DATE="2026-01-01T10:00:00+00:00",
        GIT_COMMITTER_DATE="2026-01-01T10:00:00+00:00",
        GIT_CONFIG_NOSYSTEM="1",
    )
    for rel, text in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def git(*args: str) -> str:
        cmd = ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
        return subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()

    if not (repo / ".git").exists():
        git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", message)
    return git("rev-parse", "HEAD")


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """A function that turns {path: text} into a committed git repository."""
    counter = iter(range(1000))

    def _make(files: Mapping[str, str]) -> Path:
        repo = tmp_path / f"repo{next(counter)}"
        repo.mkdir()
        commit_files(repo, files)
        return repo

    return _make
