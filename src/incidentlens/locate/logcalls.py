"""Log templates and log lines -> the logging call that emits them.

A query's literal parts (text between `<*>` placeholders, or a whole log line) are matched against the
literal fragments of logging calls (`log.info("... {} ...")`, f-strings, `%s`, `fmt.Errorf`, ...).
A fast pre-filter keeps large repositories quick: one `git grep -F` pass for the distinctive pieces of all
queries picks the candidate files, and only those are read and parsed (`sources.SourceCache`).

Score = 0.55 x (share of the call's literal text found, in order, in the query)
      + 0.45 x (share of the query's literal text the call explains), times 0.95 for raised messages and
0.75 outside the service's folder. Ties go to the longer (more specific) literal.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from incidentlens.locate.codemodel import SOURCE_SUFFIXES, CallKind, FunctionSpan, LogCall
from incidentlens.locate.git import GrepHit
from incidentlens.locate.sources import SourceCache
from incidentlens.locate.vendored import GREP_EXCLUDES, is_vendored

MIN_CALL_COVERAGE = 0.6
MIN_MATCHED_CHARS = 4
MAX_FILES_PER_QUERY = 12
KEEP_SHARE_OF_BEST = 0.8
OUTSIDE_FOLDER = 0.75
_KIND_WEIGHT = {CallKind.LOG: 1.0, CallKind.RAISE: 0.95, CallKind.FORMAT: 0.9}
# Drain-style `<*>`, named masks (`<NUM>`, `<IP>`), and `{}`-free wildcards left by other template miners.
_QUERY_HOLE = re.compile(r"<\*>|<[A-Z][A-Z0-9_]*>")
# Where runtime values usually sit in a printed line: digits, quotes, escapes; needles never span them.
_VALUE_BREAK = re.compile(r"[\d\"'\\`]+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z_-]{3,}")
_MAX_NEEDLE = 48


@dataclass(frozen=True, slots=True)
class CallMatch:
    """A logging call that can print the query; `function` is the enclosing function, when known."""

    path: str
    call: LogCall
    function: FunctionSpan | None
    score: float
    why: str


def query_pieces(query: str) -> tuple[str, ...]:
    """The literal text of a template between its placeholders; a plain log line is one piece."""
    return tuple(p for p in _QUERY_HOLE.split(query) if p.strip())


def needles_for(query: str, *, words: bool = False) -> tuple[str, ...]:
    """Distinctive fixed strings, one of which the emitting source line most likely contains.

    First round: the longest literal run free of value-like characters (what sits between placeholders
    in the source literal). Second round (`words=True`), for queries the first missed, e.g. whole log
    lines with a prefix: the three longest words.
    """
    pieces = query_pieces(query)
    if words:
        found = sorted(set(_WORD.findall(" ".join(pieces))), key=lambda w: (-len(w), w))
        return tuple(found[:3])
    segments: list[str] = []
    for piece in pieces:
        segments.extend(s.strip() for s in _VALUE_BREAK.split(piece) if len(s.strip()) >= MIN_MATCHED_CHARS)
    segments.sort(key=len, reverse=True)
    picked = [s[:_MAX_NEEDLE].strip() for s in segments[: 1 if segments and len(segments[0]) >= 12 else 2]]
    return tuple(dict.fromkeys(p for p in picked if p))


def score_call(call: LogCall, pieces: Sequence[str]) -> tuple[float, int] | None:
    """(score, matched characters) when the call's literal fragments appear in order in the query."""
    text = "\x00".join(pieces)
    total_query = sum(len(p.strip()) for p in pieces)
    total_call = call.literal_chars
    if not total_call or not total_query:
        return None
    matched = 0
    pos = 0
    for part in call.parts:
        needle = part.strip()
        if not needle:
            continue
        found = text.find(needle, pos)
        if found >= 0:
            matched += len(needle)
            pos = found + len(needle)
    if matched < MIN_MATCHED_CHARS or matched / total_call < MIN_CALL_COVERAGE:
        return None
    score = 0.55 * (matched / total_call) + 0.45 * min(1.0, matched / total_query)
    return score * _KIND_WEIGHT[call.kind], matched


def match_queries(
    cache: SourceCache,
    queries: Sequence[str],
    *,
    folder: str | None = None,
    limit: int = 5,
) -> dict[str, list[CallMatch]]:
    """For each query, up to `limit` calls that can print it, best first (an empty list when none)."""
    results: dict[str, list[CallMatch]] = {q: [] for q in queries}
    pending = list(dict.fromkeys(q for q in queries if query_pieces(q)))
    for words in (False, True):
        if not pending:
            break
        needles = {q: needles_for(q, words=words) for q in pending}
        candidates = _prefilter(cache, needles, folder)
        cache.load(p for files in candidates.values() for p in files)
        for query in pending:
            results[query] = _best_calls(cache, query, candidates[query], folder, limit)
        pending = [q for q in pending if not results[q]]
    return results


def _prefilter(cache: SourceCache, needles: dict[str, tuple[str, ...]], folder: str | None) -> dict[str, list[str]]:
    """One `git grep` for every needle of every query -> each query's candidate files.

    A file ranks by its best hit line: how much of the query's literal text that line holds (the
    emitting literal usually sits on one line), then by being in the service's folder.
    """
    all_needles = sorted({n for ns in needles.values() for n in ns})
    if not all_needles:
        return {q: [] for q in needles}
    pathspecs = [*(f"*{s}" for s in SOURCE_SUFFIXES), *GREP_EXCLUDES]
    hits = [h for h in cache.git.grep_fixed(all_needles, rev=cache.rev, pathspecs=pathspecs) if not is_vendored(h.path)]
    lines_by_needle: dict[str, list[GrepHit]] = defaultdict(list)
    finder = re.compile("|".join(re.escape(n) for n in sorted(all_needles, key=len, reverse=True)))
    for hit in hits:
        for found in set(finder.findall(hit.text)):
            lines_by_needle[found].append(hit)
    inside = f"{folder}/" if folder else None
    out: dict[str, list[str]] = {}
    for query, query_needles in needles.items():
        segments = _segments(query)
        best: dict[str, int] = {}
        for needle in query_needles:
            for hit in lines_by_needle.get(needle, ()):
                held = sum(len(s) for s in segments if s in hit.text)
                if held > best.get(hit.path, -1):
                    best[hit.path] = held
        top = max(best.values(), default=0)
        # Files whose best line holds much less of the query than the best file's are not worth parsing.
        ranked = sorted(
            (p for p in best if best[p] >= KEEP_SHARE_OF_BEST * top),
            key=lambda p: (-best[p], not (inside and p.startswith(inside)), p),
        )
        out[query] = ranked[:MAX_FILES_PER_QUERY]
    return out


def _segments(query: str) -> list[str]:
    return [s.strip() for p in query_pieces(query) for s in _VALUE_BREAK.split(p) if s.strip()]


def _best_calls(
    cache: SourceCache, query: str, files: Sequence[str], folder: str | None, limit: int
) -> list[CallMatch]:
    pieces = query_pieces(query)
    scored: list[tuple[float, int, CallMatch]] = []
    for path in files:
        source = cache.get(path)
        if source is None:
            continue
        for call in source.calls:
            result = score_call(call, pieces)
            if result is None:
                continue
            score, matched = result
            why = [f'{call.kind.value} call `{call.method}("{_short(call.text)}")` matches {matched} literal chars']
            if folder and not path.startswith(folder + "/"):
                score *= OUTSIDE_FOLDER
                why.append(f"outside the service folder {folder}/")
            why.append(f"parsed with {source.parser}")
            match = CallMatch(path, call, source.enclosing(call.line), round(score, 3), "; ".join(why))
            scored.append((match.score, matched, match))
    scored.sort(key=lambda t: (-t[0], -t[1], t[2].path, t[2].call.line))
    return [m for _, _, m in scored[:limit]]


def _short(text: str, width: int = 60) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."
