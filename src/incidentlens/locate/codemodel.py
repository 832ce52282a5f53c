"""What locate knows about one source file: its functions (with line ranges) and its logging/raising calls.

Pure records plus the format-string splitter every language parser shares.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from enum import StrEnum


class SourceLanguage(StrEnum):
    PYTHON = "python"
    JAVA = "java"
    KOTLIN = "kotlin"
    GO = "go"
    JAVASCRIPT = "javascript"
    TYPESCRIPT = "typescript"
    CSHARP = "csharp"


_SUFFIXES: dict[str, SourceLanguage] = {
    ".py": SourceLanguage.PYTHON,
    ".java": SourceLanguage.JAVA,
    ".kt": SourceLanguage.KOTLIN,
    ".go": SourceLanguage.GO,
    ".js": SourceLanguage.JAVASCRIPT,
    ".mjs": SourceLanguage.JAVASCRIPT,
    ".cjs": SourceLanguage.JAVASCRIPT,
    ".jsx": SourceLanguage.JAVASCRIPT,
    ".ts": SourceLanguage.TYPESCRIPT,
    ".tsx": SourceLanguage.TYPESCRIPT,
    ".cs": SourceLanguage.CSHARP,
}
SOURCE_SUFFIXES: tuple[str, ...] = tuple(_SUFFIXES)


class CallKind(StrEnum):
    LOG = "log"  # logger.info(...), console.error(...), slog/zap, fmt.Printf
    RAISE = "raise"  # raise X("..."), throw new X("..."), fmt.Errorf, errors.New: messages that end up logged
    FORMAT = "format"  # String.format / fmt.Sprintf / "...".format(...) outside a logging call


# printf (%s, %-5d, %(name)s, %v, %+v, %w), brace ({} {0} {name} {name:fmt}), JS/Kotlin ${expr}.
_PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[a-zA-Z]|\$\{[^}]*\}|\{[^{}]*\}|\$[A-Za-z_]\w*"
)


def split_format(text: str) -> tuple[str, ...]:
    """Literal fragments of a format string, placeholders removed: "a %s b {} c" -> ("a ", " b ", " c")."""
    text = text.replace("%%", "%").replace("{{", "{").replace("}}", "}")
    return tuple(p for p in _PLACEHOLDER.split(text) if p)


@dataclass(frozen=True, slots=True)
class FunctionSpan:
    """A function or method: qualified name (`Class.method`) and its first and last line."""

    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LogCall:
    """A call whose string literal may appear in logs; `parts` are its literal fragments in order."""

    line: int
    end_line: int
    kind: CallKind
    method: str  # the called name: info, error, Errorf, RuntimeException, ...
    parts: tuple[str, ...]
    text: str  # the literal as written, for display

    @property
    def literal_chars(self) -> int:
        return sum(len(p.strip()) for p in self.parts)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    language: SourceLanguage
    functions: tuple[FunctionSpan, ...] = ()
    calls: tuple[LogCall, ...] = ()
    parser: str = ""  # "ast", "tree-sitter" or "regex": what read it, shown in `why`
    problems: tuple[str, ...] = field(default=())

    def enclosing(self, line: int) -> FunctionSpan | None:
        """The innermost function whose range contains `line`."""
        best: FunctionSpan | None = None
        starts = [f.start for f in self.functions]
        for fn in self.functions[: bisect_right(starts, line)]:
            if fn.start <= line <= fn.end and (best is None or fn.start >= best.start):
                best = fn
        return best

    def find_function(self, name: str) -> list[FunctionSpan]:
        """Functions whose qualified name is `name` or ends with `.name` (case-sensitive)."""
        return [f for f in self.functions if f.name == name or f.name.endswith("." + name)]


def language_for(path: str) -> SourceLanguage | None:
    dot = path.rfind(".")
    return _SUFFIXES.get(path[dot:].lower()) if dot >= 0 else None


@dataclass(frozen=True, slots=True)
class Hit:
    """A place in the repository one piece of evidence points to, before snippets are attached."""

    path: str
    line: int
    confidence: float
    why: str
    end_line: int | None = None
    function: str = ""
