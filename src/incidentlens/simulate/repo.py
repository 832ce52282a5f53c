"""Writes the planned history as a real git repository with one `git fast-import` run.

Author and committer dates come from the plan and no user or system configuration is read, so the
commit SHAs depend only on the seed. Without git (`with_repo=False`) stable synthetic SHAs are used.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from incidentlens.errors import RepositoryError
from incidentlens.simulate.history import AUTHORS, History

_TIMEOUT_S = 60


def _env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "HOME": home,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": "shop",
            "GIT_AUTHOR_EMAIL": "shop@shop.example",
            "GIT_COMMITTER_NAME": "shop",
            "GIT_COMMITTER_EMAIL": "shop@shop.example",
        }
    )
    return env


def _git(args: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None = None) -> bytes:
    cmd = ["git", "-c", "core.hooksPath=/dev/null", "-c", "init.defaultBranch=main", *args]
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepositoryError(f"git {args[0]} failed in {cwd}: {exc}") from exc
    if done.returncode != 0:
        raise RepositoryError(f"git {args[0]} failed in {cwd}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_stream(history: History) -> bytes:
    out: list[bytes] = []
    for mark, commit in enumerate(history.commits, start=1):
        who = AUTHORS[commit.author]
        stamp = f"{who.name} <{who.email}> {commit.time_ns // 1_000_000_000} +0000"
        out.append(f"commit refs/heads/main\nmark :{mark}\nauthor {stamp}\ncommitter {stamp}\n".encode())
        out.append(_data(commit.message.encode() + b"\n"))
        if mark > 1:
            out.append(f"from :{mark - 1}\n".encode())
        for path in sorted(commit.files):
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(_data(commit.files[path].encode()))
    out.append(b"done\n")
    return b"".join(out)


def write_repo(history: History, dest: Path) -> dict[str, str]:
    """Create the repository at `dest` (checked out at HEAD); returns commit key -> SHA."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="incidentlens-git-") as home:
        env = _env(home)
        _git(["init", "-q", "."], dest, env)
        marks = Path(home) / "marks"
        _git(
            ["fast-import", "--quiet", "--done", f"--export-marks={marks}"],
            dest,
            env,
            stdin=fast_import_stream(history),
        )
        _git(["reset", "-q", "--hard", "main"], dest, env)
        shas = {}
        for line in marks.read_text().splitlines():
            mark, sha = line.split()
            shas[history.commits[int(mark[1:]) - 1].key] = sha
    return shas


def synthetic_shas(history: History, seed: int) -> dict[str, str]:
    """Stable stand-ins for commit SHAs when no repository is written."""
    return {
        c.key: hashlib.sha1(f"{seed}:{c.key}:{c.time_ns}:{c.message}".encode(), usedforsecurity=False).hexdigest()
        for c in history.commits
    }
