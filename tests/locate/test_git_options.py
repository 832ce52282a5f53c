"""Values that reach `git` from telemetry or users never act as options (issue 16, item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.locate.conftest import MakeRepo

from incidentlens.errors import RepositoryError
from incidentlens.locate.git import open_repository, rev_arg, scratch_worktree


def test_a_revision_that_looks_like_an_option_is_refused_everywhere(make_repo: MakeRepo, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret-outside-the-repository\n")
    git = open_repository(make_repo({"app.py": "print('hi')\n"}))
    option = f"--contents={secret}"
    # Before the fix `git blame --porcelain -L 1,1 --contents=FILE -- app.py` read a file outside the repository.
    with pytest.raises(RepositoryError, match="must not start with '-'"):
        git.blame("app.py", 1, 1, rev=option)
    with pytest.raises(RepositoryError, match="must not start with '-'"):
        git.show(option, "app.py")
    with pytest.raises(RepositoryError, match="must not start with '-'"):
        git.read_many(option, ["app.py"])
    with pytest.raises(RepositoryError, match="must not start with '-'"):
        git.grep_fixed(["print"], rev=option)
    with pytest.raises(RepositoryError, match="must not start with '-'"):
        git.verify_commit(f"--output={tmp_path / 'written'}")
    with pytest.raises(RepositoryError, match="must not start with '-'"), scratch_worktree(git, "--lock"):
        pass
    assert not (tmp_path / "written").exists()


def test_ordinary_revisions_still_work(make_repo: MakeRepo) -> None:
    git = open_repository(make_repo({"app.py": "print('hi')\n"}))
    head = git.commit_of("HEAD")
    assert git.verify_commit(head[:12]) == head
    assert git.verify_commit("no-such-branch") is None
    assert git.show(head, "app.py") == "print('hi')\n"
    assert [b.line for b in git.blame("app.py", 1, 1, rev=head)] == [1]
    with pytest.raises(RepositoryError, match="does not name a commit"):
        git.commit_of("no-such-branch")


@pytest.mark.parametrize("value", ["", "-x", "--all", "main\n", "a\0b"])
def test_rev_arg_refuses_options_and_control_characters(value: str) -> None:
    with pytest.raises(RepositoryError):
        rev_arg(value)
