"""Entry point of `locate/`: stack frames and a service name -> code locations, suspect commits and owners.

A path that is not a git work tree raises RepositoryError (the caller asked about code we cannot read);
shallow clones, missing onset times and unresolvable frames degrade to a result with `notes`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from incidentlens.errors import ConfigError
from incidentlens.locate.codeowners import CODEOWNERS_LOCATIONS, Codeowners, parse_codeowners
from incidentlens.locate.frames import FrameLike
from incidentlens.locate.git import DEFAULT_TIMEOUT_S, Git, open_repository
from incidentlens.locate.locatecode import (
    CodeMatches,
    CodeView,
    QueryKind,
    find_service_folder,
    load_catalog,
    locate_in,
)
from incidentlens.locate.owners import dedupe_owners, owners_for_path
from incidentlens.locate.services import ServiceFolder
from incidentlens.locate.suspects import NS_PER_HOUR, LineSpan, Window, find_suspects
from incidentlens.model.enums import OwnerSource
from incidentlens.model.records import CodeLocation, Owner, SuspectCommit

MAX_LOCATIONS = 8  # each location costs a blame; deeper frames add little
OWNER_PATHS = 3
RECENT_COMMITS_FOR_OWNERS = 20
_SOURCE_PRIORITY = {OwnerSource.CODEOWNERS: 0, OwnerSource.CATALOG: 1, OwnerSource.COMMITTERS: 2}


@dataclass(frozen=True, slots=True)
class LocateResult:
    """`locations` in frame order; line 0 means the frame had no line number (file-level location)."""

    locations: tuple[CodeLocation, ...] = ()
    suspect_commits: tuple[SuspectCommit, ...] = ()
    owners: tuple[Owner, ...] = ()
    notes: tuple[str, ...] = ()
    service_folder: str = ""
    library_frames: int = 0


class _Context:
    """One call's view of the repository: the file list, parsed config, and file texts at one revision."""

    def __init__(self, git: Git, head: str, notes: list[str]) -> None:
        self.git = git
        self.head = head
        self.notes = notes
        self.files = git.ls_files()
        self.file_set = frozenset(self.files)
        self.catalog = load_catalog(git, head, self.files)
        self.codeowners = self._codeowners()

    def _codeowners(self) -> Codeowners | None:
        for candidate in CODEOWNERS_LOCATIONS:
            if candidate in self.file_set:
                parsed = parse_codeowners(self.git.show(self.head, candidate) or "", source=candidate)
                self.notes.extend(parsed.problems)
                return parsed
        return None


def locate(
    repo: Path,
    *,
    service: str | None,
    frames: Sequence[FrameLike],
    onset_ns: int | None,
    lookback_hours: float = 72,
    timeout: float = DEFAULT_TIMEOUT_S,
    templates: Sequence[str] = (),
    log_lines: Sequence[str] = (),
    loggers: Sequence[str] = (),
    spans: Sequence[str] = (),
    use_tree_sitter: bool | None = None,
) -> LocateResult:
    """Find where in `repo` the evidence points (stack frames, log templates and lines, logger names, span
    names and routes), which recent commits changed that code, and who owns it."""
    if lookback_hours <= 0:
        raise ConfigError(f"lookback_hours must be positive, got {lookback_hours}")
    git = open_repository(repo, timeout=timeout)
    notes: list[str] = []
    head = git.head()
    if head is None:
        return LocateResult(notes=(f"{git.root}: repository has no commits yet; nothing to locate",))
    shallow = git.is_shallow()
    if shallow:
        notes.append(
            f"{git.root} is a shallow clone: history is truncated, so suspect commits older than the "
            "clone depth are missing and blame may stop at the boundary commit"
        )
    ctx = _Context(git, head, notes)
    rev = _revision_at_onset(ctx, onset_ns)
    folder = _service_folder(ctx, service)

    view = CodeView(git, rev, head, ctx.files, folder, use_tree_sitter, notes)
    matches = locate_in(view, frames=frames, templates=templates, log_lines=log_lines, loggers=loggers, spans=spans)
    locations, library = _pick_locations(matches), matches.library_frames
    if library:
        notes.append(f"set aside {library} library/runtime frame(s) (site-packages, node_modules, JDK, GOROOT)")
    if not any(q.locations for q in matches.of_kind(QueryKind.FRAME)) and len(frames) > library:
        notes.append("no application frame matched a tracked file")

    window = _window(ctx, onset_ns, lookback_hours)
    line_spans = [
        LineSpan(loc.path, loc.line, loc.end_line or loc.line, loc.commit) for loc in locations if loc.line > 0
    ]
    log_paths = list(dict.fromkeys(loc.path for loc in locations))
    if not log_paths and folder is not None:
        log_paths = [folder.path]
        notes.append(f"no code location: suspect commits are those touching {folder.path}/ ({folder.why})")
    suspects: tuple[SuspectCommit, ...] = ()
    if line_spans or log_paths:
        suspects, suspect_notes = find_suspects(git, spans=line_spans, paths=log_paths, window=window, shallow=shallow)
        notes.extend(suspect_notes)

    owners = _owners(ctx, log_paths[:OWNER_PATHS])
    return LocateResult(
        locations=tuple(locations),
        suspect_commits=suspects,
        owners=owners,
        notes=tuple(dict.fromkeys(notes)),
        service_folder=folder.path if folder is not None else "",
        library_frames=library,
    )


def _revision_at_onset(ctx: _Context, onset_ns: int | None) -> str:
    """Stack line numbers refer to the code that was running: the last commit at or before onset."""
    if onset_ns is None:
        return ctx.head
    rev = ctx.git.rev_before(onset_ns)
    if rev is None:
        ctx.notes.append("every commit is newer than the onset; reading lines at HEAD")
        return ctx.head
    if rev != ctx.head:
        ctx.notes.append(f"lines are read at {rev[:12]}, the last commit before onset (HEAD is newer)")
    return rev


def _service_folder(ctx: _Context, service: str | None) -> ServiceFolder | None:
    if not service:
        return None
    folder = find_service_folder(ctx.git, ctx.head, ctx.files, service, ctx.catalog)
    if folder is None:
        ctx.notes.append(f"service {service!r} has no catalog entry and no folder named after it")
    return folder


def _pick_locations(matches: CodeMatches) -> list[CodeLocation]:
    """Frames innermost first, then the best place of every other piece of evidence, most sure first."""
    frames = [q.locations[0] for q in matches.of_kind(QueryKind.FRAME) if q.locations]
    if frames and all(loc.path.endswith(".py") for loc in frames):
        frames.reverse()  # Python prints the innermost call last; the throwing line matters most
    others = [q.locations[0] for q in matches.queries if q.kind is not QueryKind.FRAME and q.locations]
    others.sort(key=lambda loc: -loc.confidence)
    seen: set[tuple[str, int]] = set()
    picked: list[CodeLocation] = []
    for loc in [*frames, *others]:
        if (loc.path, loc.line) not in seen and len(picked) < MAX_LOCATIONS:
            seen.add((loc.path, loc.line))
            picked.append(loc)
    return picked


def suspects_for_locations(
    repo: Path,
    locations: Sequence[CodeLocation],
    *,
    onset_ns: int | None,
    lookback_hours: float = 72,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> tuple[tuple[SuspectCommit, ...], tuple[str, ...]]:
    """Suspect commits for locations found outside `locate` (a changed SQL statement's line): each line is
    blamed, so the commit that wrote it is reported as such, not as one that merely touched the file."""
    git = open_repository(repo, timeout=timeout)
    head = git.head()
    if head is None or not locations:
        return (), ()
    notes: list[str] = []
    ctx = _Context(git, head, notes)
    window = _window(ctx, onset_ns, lookback_hours)
    spans = [LineSpan(loc.path, loc.line, loc.end_line or loc.line, loc.commit) for loc in locations if loc.line > 0]
    paths = list(dict.fromkeys(loc.path for loc in locations))
    suspects, more = find_suspects(git, spans=spans, paths=paths, window=window, shallow=git.is_shallow())
    return suspects, tuple(dict.fromkeys([*notes, *more]))


def _window(ctx: _Context, onset_ns: int | None, lookback_hours: float) -> Window:
    span = int(lookback_hours * NS_PER_HOUR)
    if onset_ns is not None:
        return Window(onset_ns - span, onset_ns, "onset")
    head_commit = ctx.git.log((), max_count=1)
    until = head_commit[0].ts_ns if head_commit else 0
    ctx.notes.append("no onset time given: the look-back window ends at HEAD's commit time")
    return Window(until - span, until, "HEAD commit time")


def _owners(ctx: _Context, paths: Sequence[str]) -> tuple[Owner, ...]:
    owners: list[Owner] = []
    for path in paths:
        recent = ctx.git.log((path,), max_count=RECENT_COMMITS_FOR_OWNERS)
        found, notes = owners_for_path(
            _owner_probe(ctx, path), codeowners=ctx.codeowners, catalog=ctx.catalog, recent_commits=recent
        )
        owners.extend(found)
        ctx.notes.extend(notes)
    # Source order is the priority order across all paths: CODEOWNERS, then catalog, then committers.
    owners.sort(key=lambda o: _SOURCE_PRIORITY[o.source])
    return dedupe_owners(owners)


def _owner_probe(ctx: _Context, path: str) -> str:
    """A file standing for `path`: CODEOWNERS rules speak about files, so a folder is judged by its
    files, using one that carries the most common deciding rule among them."""
    if path in ctx.file_set or ctx.codeowners is None:
        return path
    inside = [f for f in ctx.files if f.startswith(path + "/")]
    if not inside:
        return path
    codeowners = ctx.codeowners
    by_rule = Counter(getattr(codeowners.match(f), "line", 0) for f in inside)
    common = by_rule.most_common(1)[0][0]
    return next(f for f in inside if getattr(codeowners.match(f), "line", 0) == common)
