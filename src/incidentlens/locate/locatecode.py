"""Evidence -> code locations at one revision: frames, log templates, log lines, logger names, span names.

No blame and no owners here (that is `locate.locate`); this is the fast part the benchmark times and the
`incidentlens locate` command prints. Every location says why it was chosen and how sure we are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from incidentlens.errors import ConfigError
from incidentlens.locate.catalog import CATALOG_FILE, Catalog, parse_catalog
from incidentlens.locate.codemodel import Hit
from incidentlens.locate.frames import FileIndex, FrameLike, is_library_frame
from incidentlens.locate.git import DEFAULT_TIMEOUT_S, Git, open_repository
from incidentlens.locate.logcalls import CallMatch, match_queries, query_pieces
from incidentlens.locate.loggers import RefKind, find_logger_refs, parse_logger_ref, resolve_logger
from incidentlens.locate.manifests import infer_service_folders, manifest_paths
from incidentlens.locate.routes import locate_spans
from incidentlens.locate.services import ServiceFolder, folder_for_service
from incidentlens.locate.sources import SourceCache
from incidentlens.model.records import CodeLocation

SNIPPET_CONTEXT = 2
MAX_PER_QUERY = 5


class QueryKind(StrEnum):
    FRAME = "frame"
    TEMPLATE = "template"
    LOG_LINE = "log-line"
    LOGGER = "logger"
    SPAN = "span"


@dataclass(frozen=True, slots=True)
class Located:
    """One piece of evidence and where it points, best first (empty when nothing matched)."""

    kind: QueryKind
    query: str
    locations: tuple[CodeLocation, ...] = ()


@dataclass(frozen=True, slots=True)
class CodeMatches:
    queries: tuple[Located, ...] = ()
    notes: tuple[str, ...] = ()
    library_frames: int = 0

    def of_kind(self, kind: QueryKind) -> list[Located]:
        return [q for q in self.queries if q.kind is kind]

    def ranked(self) -> tuple[CodeLocation, ...]:
        """Every location once (by path and line), highest confidence first."""
        best: dict[tuple[str, int], CodeLocation] = {}
        for query in self.queries:
            for loc in query.locations:
                key = (loc.path, loc.line)
                if key not in best or loc.confidence > best[key].confidence:
                    best[key] = loc
        return tuple(sorted(best.values(), key=lambda loc: (-loc.confidence, loc.path, loc.line)))


@dataclass
class CodeView:
    """The repository at the revision being read (and HEAD, for files added after it)."""

    git: Git
    rev: str
    head: str
    files: tuple[str, ...]
    folder: ServiceFolder | None = None
    use_tree_sitter: bool | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = FileIndex(self.files)
        self.cache = SourceCache(self.git, self.rev, use_tree_sitter=self.use_tree_sitter)
        self.head_cache = self.cache if self.head == self.rev else SourceCache(self.git, self.head)

    def finish(self, hit: Hit) -> CodeLocation:
        """A hit with its snippet, the revision it was read at and, when known, its enclosing function."""
        rev, cache = self.rev, self.cache
        lines = cache.lines(hit.path)
        if lines is None:
            rev, cache, lines = self.head, self.head_cache, self.head_cache.lines(hit.path)
        line, snippet, function = hit.line, "", hit.function
        if line and lines is not None:
            if line > len(lines):
                self.notes.append(f"{hit.path} has {len(lines)} lines at {rev[:12]}, the evidence says {line}")
                line = 0
            else:
                snippet = snippet_around(lines, line, hit.end_line or line)
                if not function:
                    source = cache.get(hit.path)
                    fn = source.enclosing(line) if source is not None else None
                    function = fn.name if fn is not None else ""
        end = (hit.end_line or line) if line else None
        return CodeLocation(hit.path, line, end, function, snippet, rev, hit.why, round(hit.confidence, 3))


def load_catalog(git: Git, rev: str, files: Sequence[str]) -> Catalog | None:
    """The repository's `incidentlens.yaml` at `rev`, or None; errors name the file inside the repository."""
    if CATALOG_FILE not in files:
        return None
    try:
        return parse_catalog(git.show(rev, CATALOG_FILE) or "", source=CATALOG_FILE)
    except ConfigError as exc:
        raise ConfigError(f"{git.root}/{exc}") from exc


def find_service_folder(
    git: Git, rev: str, files: Sequence[str], service: str, catalog: Catalog | None
) -> ServiceFolder | None:
    """The catalog's folder for `service`; else one its Dockerfile, compose file, Kubernetes or package
    manifest names (read only when needed); else a folder named after it."""
    if catalog is not None and catalog.get(service) is not None:
        return folder_for_service(service, catalog=catalog, files=files)
    hints = infer_service_folders(git.read_many(rev, manifest_paths(files)))
    return folder_for_service(service, catalog=catalog, files=files, inferred=hints)


def snippet_around(lines: list[str], line: int, end_line: int | None = None) -> str:
    """Numbered lines around `line`..`end_line`, the located ones marked with '>'."""
    end = max(line, end_line or line)
    lo, hi = max(1, line - SNIPPET_CONTEXT), min(len(lines), end + SNIPPET_CONTEXT)
    width = len(str(hi))
    return "\n".join(f"{'>' if line <= n <= end else ' '} {n:>{width}} | {lines[n - 1]}" for n in range(lo, hi + 1))


def locate_code(
    repo: Path,
    *,
    frames: Sequence[FrameLike] = (),
    templates: Sequence[str] = (),
    log_lines: Sequence[str] = (),
    loggers: Sequence[str] = (),
    spans: Sequence[str] = (),
    service: str | None = None,
    rev: str | None = None,
    use_tree_sitter: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> CodeMatches:
    """Open `repo` and locate every piece of evidence at `rev` (default HEAD), preferring `service`'s folder."""
    git = open_repository(repo, timeout=timeout)
    head = git.head()
    if head is None:
        return CodeMatches(notes=(f"{git.root}: repository has no commits yet; nothing to locate",))
    files = git.ls_files()
    notes: list[str] = []
    folder = None
    if service:
        folder = find_service_folder(git, head, files, service, load_catalog(git, head, files))
        if folder is None:
            notes.append(f"service {service!r} has no catalog entry and no folder named after it")
    view = CodeView(git, rev or head, head, files, folder, use_tree_sitter, notes)
    return locate_in(view, frames=frames, templates=templates, log_lines=log_lines, loggers=loggers, spans=spans)


def locate_in(
    view: CodeView,
    *,
    frames: Sequence[FrameLike] = (),
    templates: Sequence[str] = (),
    log_lines: Sequence[str] = (),
    loggers: Sequence[str] = (),
    spans: Sequence[str] = (),
) -> CodeMatches:
    """Locate evidence in an already opened view; results keep the input order within each kind."""
    found: list[Located] = []
    library = 0
    view.cache.load(m.path for f in frames if (m := view.index.resolve(f.file, f.function, _module(f))) is not None)
    for frame in frames:
        located, is_library = _frame(view, frame)
        library += is_library
        if located is not None:
            found.append(located)
    folder = view.folder.path if view.folder else None
    messages = [*templates, *log_lines]
    calls = match_queries(view.cache, messages, folder=folder, limit=MAX_PER_QUERY) if messages else {}
    for text in templates:
        found.append(_from_calls(view, QueryKind.TEMPLATE, text, calls.get(text, [])))
    for text in log_lines:
        found.append(_log_line(view, text, calls.get(text, [])))
    for text in loggers:
        ref = parse_logger_ref(text)
        if ref is None:
            view.notes.append(f"`{text}` is not a logger reference (Class#line, module:line or file.ext:line)")
            found.append(Located(QueryKind.LOGGER, text))
            continue
        hits = resolve_logger(ref, index=view.index, cache=view.cache, folder=folder)
        found.append(Located(QueryKind.LOGGER, text, tuple(view.finish(h) for h in hits)))
    for text, hits in locate_spans(view.cache, view.index, spans, folder=folder).items():
        found.append(Located(QueryKind.SPAN, text, tuple(view.finish(h) for h in hits)))
    for item in found:
        if not item.locations and item.kind is not QueryKind.FRAME:
            view.notes.append(f"no code found for {item.kind.value} `{item.query[:80]}`")
    return CodeMatches(tuple(found), tuple(dict.fromkeys(view.notes)), library)


def _module(frame: FrameLike) -> str:
    return str(getattr(frame, "module", "") or "")


def _frame(view: CodeView, frame: FrameLike) -> tuple[Located | None, bool]:
    module = _module(frame)
    label = f"{frame.file}:{frame.line or '?'} in {frame.function or '?'}"
    if frame.is_library or is_library_frame(frame.file, frame.function, module):
        return None, True
    match = view.index.resolve(frame.file, frame.function, module)
    if match is None:
        view.notes.append(f"frame {frame.file}:{frame.line} ({frame.function}) matches no tracked file")
        return Located(QueryKind.FRAME, label), False
    why = [f"frame {label}", f"matches {match.path} on {match.matched} trailing path component(s)"]
    if match.ambiguous:
        why.append(f"{match.ambiguous} other file(s) matched as well")
    confidence = match.confidence
    if view.folder is not None and not match.path.startswith(view.folder.path + "/"):
        confidence *= 0.7
        why.append(f"outside {view.folder.service}'s folder {view.folder.path}/")
    hit = Hit(match.path, frame.line or 0, confidence, "; ".join(why), function=frame.function)
    return Located(QueryKind.FRAME, label, (view.finish(hit),)), False


def _from_calls(view: CodeView, kind: QueryKind, text: str, matches: Sequence[CallMatch]) -> Located:
    hits = [
        Hit(m.path, m.call.line, m.score, m.why, m.call.end_line, m.function.name if m.function else "")
        for m in matches
    ]
    return Located(kind, text, tuple(view.finish(h) for h in hits))


def _log_line(view: CodeView, text: str, matches: Sequence[CallMatch]) -> Located:
    """A printed line: the call that prints its message, confirmed (or replaced) by a logger reference."""
    folder = view.folder.path if view.folder else None
    refs = [
        r
        for r in find_logger_refs(text)
        if r.kind is RefKind.PATH or (r.kind is RefKind.JAVA and ("." in r.name or "#" in r.text))
    ]
    ref_hits = [h for r in refs for h in resolve_logger(r, index=view.index, cache=view.cache, folder=folder)[:1]]
    hits: list[Hit] = []
    for m in matches:
        agree = any(h.path == m.path and m.call.line <= h.line <= m.call.end_line for h in ref_hits)
        score = min(1.0, m.score + 0.2) if agree else m.score
        why = m.why + ("; the line's logger reference points at the same call" if agree else "")
        hits.append(Hit(m.path, m.call.line, score, why, m.call.end_line, m.function.name if m.function else ""))
    for h in ref_hits:
        if not any(x.path == h.path and x.line <= h.line <= (x.end_line or x.line) for x in hits):
            hits.append(h)
    hits.sort(key=lambda h: -h.confidence)
    if not query_pieces(text):
        view.notes.append("an empty log line locates nothing")
    return Located(QueryKind.LOG_LINE, text, tuple(view.finish(h) for h in hits[:MAX_PER_QUERY]))
