"""The only module that runs `git`: argument lists, timeouts, no shell, no system config.

Every failure becomes a `RepositoryError` naming the repository, the command and git's own message.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

from incidentlens.errors import RepositoryError

DEFAULT_TIMEOUT_S = 30.0
_FIELD = "\x1f"
_RECORD = "\x1e"
# %ct is the committer time: `--since/--until` filter on it, so windows and timestamps agree.
_LOG_FORMAT = f"{_RECORD}%H{_FIELD}%an{_FIELD}%ae{_FIELD}%ct{_FIELD}%s"
# Keyed by (top-level, HEAD sha): a repository's file list only changes when HEAD does.
_LS_FILES_CACHE: dict[tuple[str, str], tuple[str, ...]] = {}
_LS_FILES_CACHE_MAX = 32


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    ts_ns: int
    subject: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BlameLine:
    """Which commit last changed one line; `boundary` means history stops there (shallow clone or root)."""

    line: int
    sha: str
    author: str
    email: str
    ts_ns: int
    subject: str
    boundary: bool


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",  # read-only commands must not take index locks
            "LC_ALL": "C",
        }
    )
    return env


class Git:
    """A repository handle; build it with `open_repository` so the path is known to be a work tree."""

    def __init__(self, root: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.root = root
        self.timeout = timeout

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> str:
        """Run one git command in the repository and return its stdout (decoded, errors replaced)."""
        return run_git(self.root, args, timeout=self.timeout, ok_codes=ok_codes)

    def head(self) -> str | None:
        """HEAD's sha, or None in a repository without commits."""
        out = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok_codes=(0, 1)).strip()
        return out or None

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").strip() == "true"

    def ls_files(self) -> tuple[str, ...]:
        """Tracked files at HEAD, computed once per HEAD sha in this process."""
        head = self.head() or ""
        key = (str(self.root), head)
        cached = _LS_FILES_CACHE.get(key)
        if cached is not None:
            return cached
        out = self.run("ls-files", "-z", "--full-name")
        files = tuple(sorted(p for p in out.split("\0") if p))
        if len(_LS_FILES_CACHE) >= _LS_FILES_CACHE_MAX:
            _LS_FILES_CACHE.pop(next(iter(_LS_FILES_CACHE)))
        _LS_FILES_CACHE[key] = files
        return files

    def rev_before(self, ts_ns: int) -> str | None:
        """The newest commit on HEAD's history committed at or before `ts_ns` (what was likely deployed)."""
        out = self.run("rev-list", "-1", f"--before={ts_ns // 1_000_000_000}", "HEAD").strip()
        return out or None

    def show(self, rev: str, path: str) -> str | None:
        """A file's text at `rev`, or None when it does not exist there."""
        proc = _execute(self.root, ("cat-file", "-p", f"{rev}:{path}"), timeout=self.timeout)
        if proc.returncode == 0:
            return proc.stdout.decode("utf-8", "replace")
        message = proc.stderr.decode("utf-8", "replace").strip()
        if "does not exist" in message or "not a valid object name" in message or "exists on disk" in message:
            return None
        raise RepositoryError(f"{self.root}: `git cat-file -p {rev}:{path}` failed: {message}")

    def log(
        self,
        paths: tuple[str, ...],
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        max_count: int = 200,
    ) -> list[CommitInfo]:
        """Commits on HEAD touching `paths` inside the window, newest first, with the files they touched."""
        args = ["log", f"--format={_LOG_FORMAT}", "--name-only", "--no-renames", f"--max-count={max_count}"]
        if since_ns is not None:
            args.append(f"--since={since_ns // 1_000_000_000}")
        if until_ns is not None:
            args.append(f"--until={until_ns // 1_000_000_000}")
        args.extend(["HEAD", "--", *paths])
        return parse_log(self.run(*args))

    def blame(self, path: str, start: int, end: int, *, rev: str = "HEAD") -> list[BlameLine]:
        """`git blame --porcelain -L start,end rev -- path` parsed into one record per line."""
        out = self.run("blame", "--porcelain", "-L", f"{start},{end}", rev, "--", path)
        return parse_blame_porcelain(out)


def _execute(root: Path, args: tuple[str, ...] | list[str], *, timeout: float) -> CompletedProcess[bytes]:
    """Run git with an argument list and no shell; OS-level failures become RepositoryError."""
    cmd = ["git", "--no-pager", "-c", "core.quotepath=off", "-c", "log.showSignature=false", *args]
    try:
        return subprocess.run(
            cmd,
            cwd=root,
            env=_environment(),
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise RepositoryError("the `git` executable was not found on PATH; install git to locate code") from exc
    except subprocess.TimeoutExpired as exc:
        raise RepositoryError(f"{root}: `git {' '.join(args)}` timed out after {timeout:g} s") from exc
    except NotADirectoryError as exc:
        raise RepositoryError(f"{root}: not a directory") from exc


def run_git(
    root: Path,
    args: tuple[str, ...] | list[str],
    *,
    timeout: float,
    ok_codes: tuple[int, ...] = (0,),
) -> str:
    """Stdout of one git command; any other exit code is a RepositoryError carrying git's message."""
    proc = _execute(root, args, timeout=timeout)
    if proc.returncode not in ok_codes:
        message = proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
        raise RepositoryError(f"{root}: `git {' '.join(args)}` failed: {message}")
    return proc.stdout.decode("utf-8", "replace")


def open_repository(path: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> Git:
    """A handle on the work tree containing `path`; a clear RepositoryError when it is not one."""
    if not path.exists():
        raise RepositoryError(f"{path}: repository path does not exist")
    if not path.is_dir():
        raise RepositoryError(f"{path}: repository path is not a directory")
    try:
        top = run_git(path, ("rev-parse", "--show-toplevel"), timeout=timeout).strip()
    except RepositoryError as exc:
        if "not a git repository" in str(exc).lower():
            raise RepositoryError(
                f"{path}: not a git repository (nor inside one); point --repo at a clone of the service code"
            ) from exc
        raise
    if not top:
        raise RepositoryError(f"{path}: is a bare repository or a .git directory; a work tree is needed")
    return Git(Path(top), timeout=timeout)


def parse_log(text: str) -> list[CommitInfo]:
    """Parse `_LOG_FORMAT` records followed by `--name-only` file lists."""
    commits: list[CommitInfo] = []
    for record in text.split(_RECORD):
        if not record.strip():
            continue
        header, _, rest = record.partition("\n")
        fields = header.split(_FIELD)
        if len(fields) != 5:
            raise RepositoryError(f"unexpected `git log` output record: {header[:120]!r}")
        sha, author, email, ts, subject = fields
        files = tuple(line for line in rest.splitlines() if line.strip())
        commits.append(CommitInfo(sha, author, email, int(ts) * 1_000_000_000, subject, files))
    return commits


def parse_blame_porcelain(text: str) -> list[BlameLine]:
    """Parse `git blame --porcelain`: commit headers appear once, later lines only name the sha."""
    meta: dict[str, dict[str, str]] = {}
    lines: list[BlameLine] = []
    current: str | None = None
    final_line = 0
    for raw in text.split("\n"):
        if raw.startswith("\t"):
            if current is None:
                raise RepositoryError("unexpected `git blame --porcelain` output: content before header")
            info = meta[current]
            lines.append(
                BlameLine(
                    line=final_line,
                    sha=current,
                    author=info.get("author", ""),
                    email=info.get("author-mail", "").strip("<>"),
                    ts_ns=int(info.get("committer-time", info.get("author-time", "0"))) * 1_000_000_000,
                    subject=info.get("summary", ""),
                    boundary="boundary" in info,
                )
            )
            current = None
            continue
        parts = raw.split(" ")
        if current is None and len(parts) >= 3 and len(parts[0]) >= 40 and parts[1].isdigit():
            current = parts[0]
            final_line = int(parts[2])
            meta.setdefault(current, {})
        elif current is not None and raw:
            key, _, value = raw.partition(" ")
            meta[current][key] = value
    return lines
