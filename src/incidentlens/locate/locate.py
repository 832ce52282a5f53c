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
from incidentlens.locate.catalog import CATALOG_FILE, Catalog, parse_catalog
from incidentlens.locate.codeowners import CODEOWNERS_LOCATIONS, Codeowners, parse_codeowners
from incidentlens.locate.frames import FileIndex, FrameLike, is_library_frame
from incidentlens.locate.git import DEFAULT_TIMEOUT_S, Git, open_repository
from incidentlens.locate.owners import dedupe_owners, owners_for_path
from incidentlens.locate.services import ServiceFolder, folder_for_service, service_for_path
from incidentlens.locate.suspects import NS_PER_HOUR, LineSpan, Window, find_suspects
from incidentlens.model.enums import OwnerSource
from incidentlens.model.records import CodeLocation, Owner, SuspectCommit

MAX_LOCATIONS = 8  # each location costs a blame; deeper frames add little
SNIPPET_CONTEXT = 2
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
        self.catalog = self._catalog()
        self.codeowners = self._codeowners()
        self._texts: dict[tuple[str, str], list[str] | None] = {}

    def _catalog(self) -> Catalog | None:
        if CATALOG_FILE not in self.file_set:
            return None
        text = self.git.show(self.head, CATALOG_FILE) or ""
        try:
            return parse_catalog(text, source=CATALOG_FILE)
        except ConfigError as exc:
            raise ConfigError(f"{self.git.root}/{exc}") from exc

    def _codeowners(self) -> Codeowners | None:
        for candidate in CODEOWNERS_LOCATIONS:
            if candidate in self.file_set:
                parsed = parse_codeowners(self.git.show(self.head, candidate) or "", source=candidate)
                self.notes.extend(parsed.problems)
                return parsed
        return None

    def lines(self, rev: str, path: str) -> list[str] | None:
        key = (rev, path)
        if key not in self._texts:
            text = self.git.show(rev, path)
            self._texts[key] = None if text is None else text.splitlines()
        return self._texts[key]


def locate(
    repo: Path,
    *,
    service: str | None,
    frames: Sequence[FrameLike],
    onset_ns: int | None,
    lookback_hours: float = 72,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> LocateResult:
    """Find where in `repo` the frames point, which recent commits changed that code, and who owns it."""
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

    locations, library = _locations(ctx, frames, rev, folder)
    if library:
        notes.append(f"set aside {library} library/runtime frame(s) (site-packages, node_modules, JDK, GOROOT)")
    if not locations and frames:
        notes.append("no application frame matched a tracked file")

    window = _window(ctx, onset_ns, lookback_hours)
    spans = [LineSpan(loc.path, loc.line, loc.end_line or loc.line, loc.commit) for loc in locations if loc.line > 0]
    log_paths = list(dict.fromkeys(loc.path for loc in locations))
    if not log_paths and folder is not None:
        log_paths = [folder.path]
        notes.append(f"no code location: suspect commits are those touching {folder.path}/ ({folder.why})")
    suspects: tuple[SuspectCommit, ...] = ()
    if spans or log_paths:
        suspects, suspect_notes = find_suspects(git, spans=spans, paths=log_paths, window=window, shallow=shallow)
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
    folder = folder_for_service(service, catalog=ctx.catalog, files=ctx.files)
    if folder is None:
        ctx.notes.append(f"service {service!r} has no catalog entry and no folder named after it")
    return folder


def _locations(
    ctx: _Context, frames: Sequence[FrameLike], rev: str, folder: ServiceFolder | None
) -> tuple[list[CodeLocation], int]:
    index = FileIndex(ctx.files)
    library = 0
    seen: set[tuple[str, int]] = set()
    found: list[CodeLocation] = []
    for frame in frames:
        module = str(getattr(frame, "module", "") or "")
        if frame.is_library or is_library_frame(frame.file, frame.function, module):
            library += 1
            continue
        match = index.resolve(frame.file, frame.function, module)
        if match is None:
            ctx.notes.append(f"frame {frame.file}:{frame.line} ({frame.function}) matches no tracked file")
            continue
        line = frame.line or 0
        if (match.path, line) in seen or len(found) >= MAX_LOCATIONS:
            continue
        seen.add((match.path, line))
        why = [f"frame {frame.file}:{line or '?'} in {frame.function or '?'}"]
        why.append(f"matches {match.path} on {match.matched} trailing path component(s)")
        if match.ambiguous:
            why.append(f"{match.ambiguous} other file(s) matched as well")
        confidence = match.confidence
        if folder is not None and not match.path.startswith(folder.path + "/"):
            confidence *= 0.7
            owner = service_for_path(match.path, catalog=ctx.catalog)
            why.append(
                f"outside {folder.service}'s folder {folder.path}/" + (f" (in {owner.service})" if owner else "")
            )
        used_rev = rev
        text = ctx.lines(rev, match.path)
        if text is None:
            used_rev, text = ctx.head, ctx.lines(ctx.head, match.path)
        snippet = ""
        if line and text is not None:
            if line > len(text):
                ctx.notes.append(f"{match.path} has {len(text)} lines at {used_rev[:12]}, frame says {line}")
                line = 0
            else:
                snippet = _snippet(text, line)
        found.append(
            CodeLocation(
                path=match.path,
                line=line,
                end_line=line or None,
                function=frame.function,
                snippet=snippet,
                commit=used_rev,
                why="; ".join(why),
                confidence=round(confidence, 3),
            )
        )
    return found, library


def _snippet(lines: list[str], line: int) -> str:
    """A few numbered lines around `line`, the frame's own line marked with '>'."""
    lo = max(1, line - SNIPPET_CONTEXT)
    hi = min(len(lines), line + SNIPPET_CONTEXT)
    width = len(str(hi))
    return "\n".join(f"{'>' if n == line else ' '} {n:>{width}} | {lines[n - 1]}" for n in range(lo, hi + 1))


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
