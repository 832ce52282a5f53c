"""The only module that runs `git`: argument lists, timeouts, no shell, no system config.

Every failure becomes a `RepositoryError` naming the repository, the command and git's own message.
Revisions and paths can come from telemetry (a deploy event's commit) or users: `rev_arg` refuses any that
would read as an option, and commands put `--end-of-options` (or `--`) before them where git supports it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
_GREP_CHUNK = 200  # needles per `git grep` call: keeps the argument list far below the OS limit


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    ts_ns: int
    subject: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GrepHit:
    """One line `git grep` found: the file, its 1-based line number and the line's text."""

    path: str
    line: int
    text: str


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


def rev_arg(value: str) -> str:
    """`value` as a revision argument; RepositoryError for one git would read as an option (or not a name)."""
    if not value or value.startswith("-") or any(c in value for c in "\0\n\r"):
        raise RepositoryError(f"refused revision {value[:80]!r}: a revision must not start with '-' or hold a newline")
    return value


class Git:
    """A repository handle; build it with `open_repository` so the path is known to be a work tree."""

    def __init__(self, root: Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.root = root
        self.timeout = timeout
        self._pcre: bool | None = None  # whether this git has `grep -P`; learnt on first use

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,), stdin: bytes | None = None) -> str:
        """Run one git command in the repository and return its stdout (decoded, errors replaced)."""
        return run_git(self.root, args, timeout=self.timeout, ok_codes=ok_codes, stdin=stdin)

    def apply_check(self, patch: str) -> str:
        """'' when `patch` applies cleanly to the work tree, else git's reason (`git apply --check`)."""
        proc = _execute(self.root, ("apply", "--check", "-"), timeout=self.timeout, stdin=patch.encode())
        return "" if proc.returncode == 0 else proc.stderr.decode("utf-8", "replace").strip() or "does not apply"

    def commit_all(self, message: str, *, name: str, email: str) -> str:
        """Stage every change in the work tree, commit it as `name <email>`, return the new sha."""
        self.run("add", "-A")
        self.run("-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "-q", "--no-verify", "-m", message)
        return self.run("rev-parse", "HEAD").strip()

    def verify_commit(self, rev: str) -> str | None:
        """The full sha `rev` names as a commit, or None when it names none (refusing option-like values)."""
        out = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev_arg(rev)}^{{commit}}", ok_codes=(0, 1)
        )
        return out.strip() or None

    def commit_of(self, rev: str) -> str:
        """Like `verify_commit`, but a RepositoryError naming the revision when it names no commit."""
        found = self.verify_commit(rev)
        if found is None:
            raise RepositoryError(f"{self.root}: {rev!r} does not name a commit in this repository")
        return found

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
        out = self.run("rev-list", "-1", f"--before={int(ts_ns) // 1_000_000_000}", "--end-of-options", "HEAD").strip()
        return out or None

    def show(self, rev: str, path: str) -> str | None:
        """A file's text at `rev`, or None when it does not exist there."""
        proc = _execute(
            self.root, ("cat-file", "-p", "--end-of-options", f"{rev_arg(rev)}:{path}"), timeout=self.timeout
        )
        if proc.returncode == 0:
            return proc.stdout.decode("utf-8", "replace")
        message = proc.stderr.decode("utf-8", "replace").strip()
        if "does not exist" in message or "not a valid object name" in message or "exists on disk" in message:
            return None
        raise RepositoryError(f"{self.root}: `git cat-file -p {rev}:{path}` failed: {message}")

    def read_many(self, rev: str, paths: Sequence[str]) -> dict[str, str]:
        """Texts of many files at `rev` from one `git cat-file --batch` process; missing files are left out.

        One process instead of one per file: reading a few hundred candidate files stays well under a second.
        """
        wanted = [p for p in dict.fromkeys(paths) if p and "\n" not in p]
        if not wanted:
            return {}
        rev_arg(rev)
        request = "".join(f"{rev}:{p}\n" for p in wanted).encode()
        proc = _execute(self.root, ("cat-file", "--batch"), timeout=self.timeout, stdin=request)
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
            raise RepositoryError(f"{self.root}: `git cat-file --batch` failed: {message}")
        return parse_cat_file_batch(proc.stdout, wanted)

    def grep_fixed(self, needles: Sequence[str], *, rev: str, pathspecs: Sequence[str] = ()) -> list[GrepHit]:
        """Lines at `rev` containing any of `needles` (fixed strings, binary files skipped), in one pass.

        The needles go to git as one escaped PCRE alternation: git tries `-F -e a -e b ...` patterns one
        after another on every line (~7x slower for 100 needles); without PCRE in git it falls back to that.
        """
        usable = [n for n in dict.fromkeys(needles) if n and "\n" not in n and "\0" not in n]
        hits: list[GrepHit] = []
        for start in range(0, len(usable), _GREP_CHUNK):
            chunk = usable[start : start + _GREP_CHUNK]
            tail = [rev_arg(rev), "--", *pathspecs]
            base = ["grep", "-n", "-I", "--null", "--no-color"]
            if self._pcre is not False:
                pattern = "|".join(re.escape(n) for n in chunk)
                proc = _execute(self.root, [*base, "-P", "-e", pattern, *tail], timeout=self.timeout)
                if proc.returncode in (0, 1):
                    self._pcre = True
                    hits.extend(parse_grep(proc.stdout.decode("utf-8", "replace"), rev))
                    continue
                if self._pcre is True or (b"perl" not in proc.stderr.lower() and b"pcre" not in proc.stderr.lower()):
                    message = proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
                    raise RepositoryError(f"{self.root}: `git grep -P` failed: {message}")
                self._pcre = False
            fixed = [*base, "-F"]
            for needle in chunk:
                fixed.extend(["-e", needle])
            hits.extend(parse_grep(self.run(*fixed, *tail, ok_codes=(0, 1)), rev))
        return hits

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
        out = self.run("blame", "--porcelain", "-L", f"{int(start)},{int(end)}", rev_arg(rev), "--", path)
        return parse_blame_porcelain(out)


@contextmanager
def scratch_worktree(git: Git, rev: str, *, branch: str | None = None) -> Iterator[Git]:
    """A temporary work tree of `rev` (detached, or on a new `branch`), removed afterwards.

    The user's checkout and its branches are never touched: only the new work tree changes, and a new
    branch, when asked for, stays after the work tree is removed.
    """
    where = Path(tempfile.mkdtemp(prefix="incidentlens-worktree-"))
    tree = where / "tree"
    head = ("-b", branch) if branch else ("--detach",)
    git.run("worktree", "add", "--quiet", *head, "--", str(tree), rev_arg(rev))
    try:
        yield Git(tree, timeout=git.timeout)
    finally:
        try:
            git.run("worktree", "remove", "--force", str(tree))
        finally:
            shutil.rmtree(where, ignore_errors=True)
            git.run("worktree", "prune")


def _execute(
    root: Path, args: tuple[str, ...] | list[str], *, timeout: float, stdin: bytes | None = None
) -> CompletedProcess[bytes]:
    """Run git with an argument list and no shell; OS-level failures become RepositoryError."""
    cmd = ["git", "--no-pager", "-c", "core.quotepath=off", "-c", "log.showSignature=false", *args]
    try:
        if stdin is not None:
            return subprocess.run(
                cmd, cwd=root, env=_environment(), capture_output=True, timeout=timeout, check=False, input=stdin
            )
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
    stdin: bytes | None = None,
) -> str:
    """Stdout of one git command; any other exit code is a RepositoryError carrying git's message."""
    proc = _execute(root, args, timeout=timeout, stdin=stdin)
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


def parse_cat_file_batch(data: bytes, requested: Sequence[str]) -> dict[str, str]:
    """`git cat-file --batch` output, one `<sha> <type> <size>` header and body (or `missing`) per request."""
    texts: dict[str, str] = {}
    pos = 0
    for path in requested:
        end = data.find(b"\n", pos)
        if end < 0:
            raise RepositoryError(f"`git cat-file --batch` output ended early, before {path}")
        header = data[pos:end].split(b" ")
        pos = end + 1
        if header[-1] in (b"missing", b"ambiguous") or len(header) != 3:
            continue
        size = int(header[2])
        body = data[pos : pos + size]
        pos += size + 1  # the body is followed by a newline
        if header[1] == b"blob":
            texts[path] = body.decode("utf-8", "replace")
    return texts


def parse_grep(text: str, rev: str) -> list[GrepHit]:
    """`git grep -n --null REV` lines: `REV:path\\0line\\0text`."""
    hits: list[GrepHit] = []
    prefix = f"{rev}:"
    for raw in text.split("\n"):
        if not raw:
            continue
        fields = raw.split("\0", 2)
        if len(fields) != 3 or not fields[1].isdigit():
            raise RepositoryError(f"unexpected `git grep` output line: {raw[:120]!r}")
        hits.append(GrepHit(fields[0].removeprefix(prefix), int(fields[1]), fields[2]))
    return hits
