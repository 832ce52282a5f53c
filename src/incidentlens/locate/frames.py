"""Map stack frames to files tracked in a repository; library frames are recognised and set aside.

Pure code: the file list comes from `git ls-files` via the caller.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# Deployment roots that never exist in the repository; the rest of the path is what we match.
_CONTAINER_PREFIXES = re.compile(
    r"^(?:/usr/src/app|/usr/src|/app|/srv/app|/srv|/opt/app|/workspace|/code|/src|/var/task|/go/src"
    r"|/home/[^/]+(?:/(?:app|src|code|project|repo))?|/Users/[^/]+|/root|[A-Za-z]:)(?=/|$)"
)
_LIBRARY_PATH_MARKERS = (
    "/site-packages/",
    "/dist-packages/",
    "/node_modules/",
    "/vendor/",
    "/go/pkg/mod/",
    "/usr/local/go/src/",
    "/usr/lib/go/src/",
    "/usr/lib/go-",
    "/goroot/src/",
    "/.cargo/registry/",
    "/gems/",
)
_LIBRARY_PATH_RE = re.compile(r"(?:^|/)(?:usr/(?:local/)?lib(?:64)?/python\d[\d.]*|lib/python\d[\d.]*)/")
_LIBRARY_PREFIXES = ("node:", "internal/", "<frozen ", "<string>", "<stdin>", "runtime/", "<anonymous>")
_JDK_MODULES = ("java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "scala.", "System.", "Microsoft.")
_JVM_SUFFIXES = (".java", ".kt", ".scala", ".groovy")
_JAVA_FUNC_RE = re.compile(r"^\s*(?:at\s+)?(?P<qual>[\w$.]+?)\s*(?:\((?P<file>[^:()]+)(?::(?P<line>\d+))?\))?\s*$")


class FrameLike(Protocol):
    """What locate needs from a stack frame (`incidentlens.model.stack.Frame` fits).

    An optional `module` attribute (JVM package and class, as `model.stack.Frame` has) is used when present.
    """

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int | None: ...

    @property
    def function(self) -> str: ...

    @property
    def is_library(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class FileMatch:
    """A repository file for a frame; `matched` of `wanted` trailing path components agreed."""

    path: str
    matched: int
    wanted: int
    ambiguous: int  # how many other files matched equally well

    @property
    def confidence(self) -> float:
        base = 0.55 + 0.4 * (self.matched / max(self.wanted, 1))
        return round(base / (1 + self.ambiguous), 3)


def qualified_name(function: str, module: str = "") -> str:
    """`module` + `function` when a parser split `com.shop.Cart.add` into both; else `function` as given."""
    function = function.strip().removeprefix("at ").lstrip()
    return f"{module}.{function}" if module and not function.startswith(module + ".") else function


def is_library_frame(file: str, function: str = "", module: str = "") -> bool:
    """Third-party or runtime code: site-packages, node_modules, vendor/, GOROOT, JDK packages."""
    norm = "/" + file.replace("\\", "/").lstrip("/")
    if any(marker in norm for marker in _LIBRARY_PATH_MARKERS) or _LIBRARY_PATH_RE.search(norm):
        return True
    if file.startswith(_LIBRARY_PREFIXES) or (file.startswith("<") and file.endswith(">")):
        return True
    # JVM and .NET frames name their package: the runtime's own packages are library code.
    return qualified_name(function, module).startswith(_JDK_MODULES)


def strip_container_prefix(file: str) -> str:
    """`/app/services/x.py` -> `services/x.py`: the deployment root is not part of the repository path."""
    norm = file.replace("\\", "/")
    stripped = _CONTAINER_PREFIXES.sub("", norm, count=1)
    return stripped.removeprefix("./").lstrip("/")


def jvm_source_path(file: str, function: str, module: str = "") -> str | None:
    """`com.shop.Cart.add` + `Cart.java` -> `com/shop/Cart.java`, the path a JVM frame's package implies."""
    name = file.rsplit("/", 1)[-1]
    match = _JAVA_FUNC_RE.match(qualified_name(function, module))
    if match is None:
        return None
    qual = match.group("qual")
    if not name and match.group("file"):
        name = match.group("file")
    if not name.endswith(_JVM_SUFFIXES):
        return None
    parts = qual.split(".")
    if len(parts) < 3:  # need package + Class + method
        return None
    package = [p for p in parts[:-2] if p]
    return "/".join([*package, name]) if package else None


class FileIndex:
    """Repository files indexed by base name, for longest-path-suffix matching."""

    def __init__(self, files: Iterable[str]) -> None:
        self._by_name: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for path in files:
            parts = tuple(path.split("/"))
            self._by_name[parts[-1]].append(parts)

    def resolve(self, file: str, function: str = "", module: str = "") -> FileMatch | None:
        """The tracked file sharing the longest trailing path with the frame's file, or None."""
        candidates = [strip_container_prefix(file)]
        jvm = jvm_source_path(file, function, module)
        if jvm is not None:
            candidates.insert(0, jvm)
        best: FileMatch | None = None
        for candidate in candidates:
            found = self._match(candidate)
            if found is not None and (best is None or found.matched > best.matched):
                best = found
        return best

    def matches(self, candidate: str) -> list[tuple[int, str]]:
        """Every tracked file sharing the base name, with its number of agreeing trailing components."""
        wanted = tuple(p for p in strip_container_prefix(candidate).split("/") if p and p != ".")
        if not wanted:
            return []
        found = [(_common_suffix(parts, wanted), "/".join(parts)) for parts in self._by_name.get(wanted[-1], ())]
        return sorted(found, key=lambda t: (-t[0], len(t[1]), t[1]))

    def names(self, basename: str) -> list[str]:
        """Tracked paths whose file name is exactly `basename`."""
        return ["/".join(parts) for parts in self._by_name.get(basename, ())]

    def _match(self, candidate: str) -> FileMatch | None:
        wanted = tuple(p for p in candidate.split("/") if p and p != ".")
        if not wanted:
            return None
        scored: list[tuple[int, tuple[str, ...]]] = []
        for parts in self._by_name.get(wanted[-1], ()):
            scored.append((_common_suffix(parts, wanted), parts))
        if not scored:
            return None
        top = max(score for score, _ in scored)
        winners = sorted((parts for score, parts in scored if score == top), key=len)
        return FileMatch(path="/".join(winners[0]), matched=top, wanted=len(wanted), ambiguous=len(winners) - 1)


def _common_suffix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
