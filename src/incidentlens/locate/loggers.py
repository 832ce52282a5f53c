"""Logger names with line numbers -> files and lines.

* Java logback/log4j `%logger{15}#%line`: `c.s.ContactsServiceImpl#31` is class `ContactsServiceImpl` in a
  package whose segments start with `c` and `s` (`contacts.service`). It is resolved against the classes
  that exist in the repository, reading each candidate's `package` declaration (never guessing packages
  from the abbreviation); a package longer than the abbreviation matches on its trailing segments
  (log4j `%c{2}` drops leading ones), with less confidence. Equal candidates in several services are
  settled by the service's folder.
* Python `module:lineno` (`payment.charge:42`, `charge:42`) and `pathname:lineno` (`/app/x/charge.py:42`).
* Go `file.go:123` (`checkout/main.go:23`), and any `path.ext:line` of a language we read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from incidentlens.locate.codemodel import SOURCE_SUFFIXES, Hit
from incidentlens.locate.frames import FileIndex
from incidentlens.locate.sources import SourceCache

_JVM_EXTS = (".java", ".kt", ".scala", ".groovy")
_EXTS = "|".join(re.escape(s.lstrip(".")) for s in (*SOURCE_SUFFIXES, ".scala", ".groovy"))
_PATH_REF = re.compile(rf"(?<![\w/.-])(?P<name>[\w./\\-]*[\w-]\.(?:{_EXTS})):(?P<line>\d+)\b")
_JAVA_REF = re.compile(r"(?<![\w.$])(?P<name>(?:[A-Za-z_$][\w$~]*\.)*[A-Z][\w$]*)(?:#|:)(?P<line>\d+)\b")
_PY_REF = re.compile(r"(?<![\w./-])(?P<name>[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*):(?P<line>\d+)\b")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;?", re.M)
OUTSIDE_FOLDER = 0.7


class RefKind(StrEnum):
    PATH = "path"  # a file path or name with a source extension
    JAVA = "java"  # a (possibly abbreviated) JVM class name
    PYTHON = "python"  # a dotted Python module name


@dataclass(frozen=True, slots=True)
class LoggerRef:
    kind: RefKind
    name: str
    line: int
    text: str


def parse_logger_ref(text: str) -> LoggerRef | None:
    """The one reference `text` is (`c.s.Impl#31`, `payment.charge:42`, `main.go:7`), or None."""
    refs = find_logger_refs(text.strip())
    return refs[0] if refs else None


def find_logger_refs(text: str) -> list[LoggerRef]:
    """Every logger/location reference inside a log line, paths first."""
    refs: list[LoggerRef] = []
    taken: list[tuple[int, int]] = []
    for kind, regex in ((RefKind.PATH, _PATH_REF), (RefKind.JAVA, _JAVA_REF), (RefKind.PYTHON, _PY_REF)):
        for m in regex.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            line = int(m.group("line"))
            if line == 0:
                continue
            taken.append((m.start(), m.end()))
            refs.append(LoggerRef(kind, m.group("name"), line, m.group()))
    return refs


def resolve_logger(ref: LoggerRef, *, index: FileIndex, cache: SourceCache, folder: str | None) -> list[Hit]:
    """Candidate locations for one reference, best first (several when it stays ambiguous)."""
    if ref.kind is RefKind.JAVA:
        scored = _java_candidates(ref, index, cache)
    elif ref.kind is RefKind.PYTHON:
        scored = _module_candidates(ref, index)
    else:
        scored = _path_candidates(ref.name, index)
    return _rank(ref, scored, folder, cache)


def _java_candidates(ref: LoggerRef, index: FileIndex, cache: SourceCache) -> list[tuple[float, str, str]]:
    *abbrev, cls = ref.name.split(".")
    cls = cls.split("$", 1)[0]
    paths = [p for ext in _JVM_EXTS for p in index.names(cls + ext)]
    cache.load(paths)
    found: list[tuple[float, str, str]] = []
    for path in paths:
        text = cache.text(path)
        declared = _PACKAGE.search(text or "")
        package = declared.group(1).split(".") if declared else []
        quality = abbreviation_match(abbrev, package)
        if quality is None:
            continue
        pkg = ".".join(package) or "(default package)"
        how = "exactly" if quality == 1.0 else "on its trailing segments" if abbrev else "by class name only"
        found.append((0.95 * quality, path, f"`{ref.name}` abbreviates {pkg}.{cls} ({how}), declared in {path}"))
    return found


def abbreviation_match(abbrev: Sequence[str], package: Sequence[str]) -> float | None:
    """How well logback/log4j abbreviated segments fit a package: 1.0 segment for segment, 0.85 on the
    trailing segments (leading ones dropped), 0.6 when only the class name was printed; None if not."""
    if not abbrev:
        return 0.6
    if len(abbrev) > len(package):
        return None
    tail = package[len(package) - len(abbrev) :]
    for short, full in zip(abbrev, tail, strict=True):
        stem = short.rstrip("~")
        if not stem or not full.startswith(stem):
            return None
    return 1.0 if len(abbrev) == len(package) else 0.85


def _module_candidates(ref: LoggerRef, index: FileIndex) -> list[tuple[float, str, str]]:
    parts = ref.name.split(".")
    found: list[tuple[float, str, str]] = []
    for candidate in ("/".join(parts) + ".py", "/".join([*parts, "__init__.py"])):
        wanted = len(candidate.split("/"))
        for matched, path in index.matches(candidate):
            if matched >= wanted - (1 if candidate.endswith("__init__.py") else 0):
                share = min(matched, len(parts)) / len(parts)
                why = f"module `{ref.name}` is {path}"
                found.append((0.6 + 0.35 * share, path, why))
    return found


def _path_candidates(name: str, index: FileIndex) -> list[tuple[float, str, str]]:
    wanted = [p for p in name.replace("\\", "/").split("/") if p and p != "."]
    found: list[tuple[float, str, str]] = []
    for matched, path in index.matches(name):
        share = matched / max(len(wanted), 1)
        found.append((0.55 + 0.4 * share, path, f"`{name}` matches {path} on {matched} trailing path component(s)"))
    return found


def _rank(ref: LoggerRef, scored: list[tuple[float, str, str]], folder: str | None, cache: SourceCache) -> list[Hit]:
    if not scored:
        return []
    inside = f"{folder}/" if folder else None
    adjusted: list[tuple[float, str, str]] = []
    for score, path, why in scored:
        if inside and not path.startswith(inside):
            score *= OUTSIDE_FOLDER
            why += f"; outside the service folder {folder}/"
        elif inside:
            why += f"; inside the service folder {folder}/"
        adjusted.append((score, path, why))
    adjusted.sort(key=lambda t: (-t[0], t[1]))
    top = adjusted[0][0]
    ties = sum(1 for s, _, _ in adjusted if abs(s - top) < 1e-9)
    hits: list[Hit] = []
    for score, path, why in adjusted[:5]:
        if ties > 1 and abs(score - top) < 1e-9:
            score /= ties
            why += f"; {ties} classes/files fit equally"
        source = cache.get(path)
        fn = source.enclosing(ref.line) if source is not None else None
        hits.append(Hit(path, ref.line, round(score, 3), f"logger {ref.text}: {why}", function=fn.name if fn else ""))
    return hits
