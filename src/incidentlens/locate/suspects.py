"""Suspect commits: what changed the located lines and files shortly before the incident began.

Ranking: the commit that last changed a suspect line, inside the look-back window, first; then commits that
touched a located file inside the window; then line-blamed commits older than the window. Each says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from incidentlens.locate.git import BlameLine, CommitInfo, Git
from incidentlens.model.records import SuspectCommit

NS_PER_HOUR = 3_600_000_000_000
MAX_SUSPECTS = 10


@dataclass(frozen=True, slots=True)
class LineSpan:
    """Lines of a file, as they were at `rev`, whose last change is a suspect."""

    path: str
    start: int
    end: int
    rev: str


@dataclass(frozen=True, slots=True)
class Window:
    since_ns: int
    until_ns: int
    reference: str  # "onset" or "HEAD commit time": what `until_ns` is

    @property
    def hours(self) -> float:
        return (self.until_ns - self.since_ns) / NS_PER_HOUR

    def contains(self, ts_ns: int) -> bool:
        return self.since_ns <= ts_ns <= self.until_ns


@dataclass(slots=True)
class _Candidate:
    sha: str
    author: str
    ts_ns: int
    subject: str
    rank: int
    blamed_lines: list[str] = field(default_factory=list)
    files: set[str] = field(default_factory=set)


def _ago(window: Window, ts_ns: int) -> str:
    hours = (window.until_ns - ts_ns) / NS_PER_HOUR
    amount = f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
    return f"{amount} before {window.reference}"


def _why(c: _Candidate, window: Window) -> str:
    when = _ago(window, c.ts_ns)
    lines = ", ".join(c.blamed_lines[:5]) + (" ..." if len(c.blamed_lines) > 5 else "")
    if c.rank == 3:
        return f"last changed suspect line(s) {lines} (blame), {when}, inside the {window.hours:g} h window"
    if c.rank == 2:
        touched = ", ".join(sorted(c.files)[:5])
        return f"touched {touched} {when}, inside the {window.hours:g} h window (none of its lines blamed)"
    return f"last changed suspect line(s) {lines} (git blame), but {when}: older than the look-back window"


def find_suspects(
    git: Git,
    *,
    spans: Sequence[LineSpan],
    paths: Sequence[str],
    window: Window,
    shallow: bool = False,
) -> tuple[tuple[SuspectCommit, ...], tuple[str, ...]]:
    """Rank commits for the located lines and files; returns the suspects and notes on degraded evidence."""
    notes: list[str] = []
    candidates: dict[str, _Candidate] = {}
    for span in spans:
        for blamed in git.blame(span.path, span.start, span.end, rev=span.rev):
            _add_blame(candidates, blamed, span.path, window)
            if blamed.boundary and shallow:
                notes.append(
                    f"{span.path}:{blamed.line} is blamed on the shallow-clone boundary {blamed.sha[:12]}: "
                    "the commit that really introduced it may be older and is not in this clone"
                )
    if paths:
        for commit in git.log(tuple(paths), since_ns=window.since_ns, until_ns=window.until_ns):
            _add_touch(candidates, commit, set(paths))
    ranked = sorted(candidates.values(), key=lambda c: (-c.rank, -len(c.blamed_lines), -c.ts_ns))
    suspects = tuple(
        SuspectCommit(
            sha=c.sha,
            author=c.author,
            ts_ns=c.ts_ns,
            subject=c.subject,
            files=tuple(sorted(c.files)),
            why=_why(c, window),
        )
        for c in ranked[:MAX_SUSPECTS]
    )
    if not suspects:
        notes.append(f"no commit touched the located code in the {window.hours:g} h before {window.reference}")
    return suspects, tuple(dict.fromkeys(notes))


def _add_blame(candidates: dict[str, _Candidate], blamed: BlameLine, path: str, window: Window) -> None:
    rank = 3 if window.contains(blamed.ts_ns) else 1
    author = f"{blamed.author} <{blamed.email}>" if blamed.email else blamed.author
    c = candidates.setdefault(blamed.sha, _Candidate(blamed.sha, author, blamed.ts_ns, blamed.subject, rank))
    c.rank = max(c.rank, rank)
    c.blamed_lines.append(f"{path}:{blamed.line}")
    c.files.add(path)


def _add_touch(candidates: dict[str, _Candidate], commit: CommitInfo, located: set[str]) -> None:
    author = f"{commit.author} <{commit.email}>" if commit.email else commit.author
    c = candidates.setdefault(commit.sha, _Candidate(commit.sha, author, commit.ts_ns, commit.subject, 2))
    c.rank = max(c.rank, 2)
    touched = {f for f in commit.files if f in located or any(f.startswith(p + "/") for p in located)}
    c.files.update(touched or set(commit.files))
