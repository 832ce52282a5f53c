"""Stack-trace parser: printed Python, Java, Go, Node and .NET traces -> StackTrace records.

Pure text in, records out. `find_stacktrace` locates a trace inside a longer log message;
`parse_stacktrace` reads text that is a trace (a `stack_trace` field) and also accepts a bare
exception header without frames. Neither raises on any input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from incidentlens.analyze.stackframes import GO_LOC, PY_FRAME, at_frame, go_frame, python_frame
from incidentlens.model.stack import Frame, Language, StackTrace

__all__ = ["FoundTrace", "find_stacktrace", "parse_stacktrace"]

_PY_TB = "Traceback (most recent call last):"
_PY_LINKS = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_PY_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")
_GO_HEAD = re.compile(r"^(?P<kind>panic|fatal error): (?P<msg>.*)$")
_GO_GOROUTINE = re.compile(r"^goroutine \d+ \[[^\]]*\]:\s*$")
_HEADER = re.compile(
    r'^\s*(?P<thread>Exception in thread "[^"]*"\s+)?(?:Unhandled [Ee]xception[.:]\s+|Uncaught\s+)?'
    r"(?P<type>[A-Za-z_$][\w$`]*(?:[.$][A-Za-z_$][\w$`]*)*)(?:\s*\[[\w.-]+\])?(?::\s?(?P<msg>.*))?\s*$"
)
_EXC_LIKE = re.compile(r"(?:Error|Exception|Exit|Interrupt|Failure|Fault|Throwable|Panic|Rejection)$")
_MORE = re.compile(r"^\s*\.\.\. \d+ (?:more|common frames omitted)\s*$")
_BACKSCAN = 20
_MAX_LINES = 5000  # a trace longer than this is cut: bounded work on hostile input


@dataclass(frozen=True, slots=True)
class FoundTrace:
    """A trace located in a longer text; `start` is the character offset where it begins."""

    trace: StackTrace
    start: int


def parse_stacktrace(text: str) -> StackTrace | None:
    """The trace in `text`, or a frame-less trace from a lone exception header, or None."""
    found = find_stacktrace(text)
    if found is not None:
        return found.trace
    for line in text.splitlines()[:3]:
        if line.strip():
            return _header_only(line)
    return None


def find_stacktrace(text: str) -> FoundTrace | None:
    """The first stack trace inside `text` (needs frames or a Traceback/panic/thread marker)."""
    lines = text.splitlines()[:_MAX_LINES]
    start = _locate(lines)
    if start is None:
        return None
    index, kind = start
    trace: StackTrace | None
    if kind is Language.PYTHON:
        trace = _parse_python(lines, index)
    elif kind is Language.GO:
        trace = _parse_go(lines, index)
    else:
        trace = _parse_at(lines, index)
    if trace is None or (not trace.frames and not trace.exception_type):
        return None
    offset = sum(len(line) + 1 for line in lines[:index])
    offset = text.find(lines[index], max(0, offset - index))  # \r\n line ends make offsets drift
    return FoundTrace(trace, max(offset, 0))


def _locate(lines: list[str]) -> tuple[int, Language | None] | None:
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if _PY_TB in line:
            return i, Language.PYTHON
        if stripped.startswith(("panic: ", "fatal error: ")) or _GO_GOROUTINE.match(stripped):
            return i, Language.GO
        if stripped.startswith('Exception in thread "') and _HEADER.match(line):
            return i, None
        if stripped.startswith("at ") and at_frame(line) is not None:
            return _header_before(lines, i), None
        if i > 0 and line[:1] in ("\t", " ") and GO_LOC.match(line) and lines[i - 1][:1] not in ("\t", " "):
            return i - 1, Language.GO
    return None


def _header_before(lines: list[str], i: int) -> int:
    """Where an at-style trace begins: the nearest exception-like header above its first frame."""
    for j in range(i - 1, max(-1, i - 1 - _BACKSCAN), -1):
        m = _HEADER.match(lines[j])
        if m and (m["thread"] or "." in m["type"] or _EXC_LIKE.search(m["type"])):
            return j
    if i > 0 and _HEADER.match(lines[i - 1]):
        return i - 1
    return i


def _header_only(line: str) -> StackTrace | None:
    m = _HEADER.match(line)
    if not m or not (m["thread"] or _EXC_LIKE.search(m["type"])):
        return None
    return StackTrace(_guess_language(m["type"], line), m["type"], (m["msg"] or "").strip(), ())


def _guess_language(exc_type: str, line: str) -> Language:
    """Language of a frame-less header: .NET namespaces are capitalised, Java packages lowercase."""
    if "--->" in line or exc_type.startswith(("System.", "Microsoft.")):
        return Language.DOTNET
    if "." in exc_type:
        return Language.DOTNET if exc_type[:1].isupper() else Language.JAVA
    return Language.NODE


# --- Python --------------------------------------------------------------------------------------------


def _parse_python(lines: list[str], i: int) -> StackTrace | None:
    traces: list[StackTrace] = []
    n = len(lines)
    while i < n and _PY_TB in lines[i]:
        frames: list[Frame] = []
        i += 1
        while i < n:
            m = PY_FRAME.match(lines[i])
            if m:
                frames.append(python_frame(m))
            elif not (lines[i][:1] in (" ", "\t") and lines[i].strip()):
                break  # source lines, caret lines and "[Previous line repeated]" are indented
            i += 1
        exc_type, message = "", ""
        if i < n and lines[i].strip() and _PY_TB not in lines[i] and lines[i] not in _PY_LINKS:
            m = _PY_EXC.match(lines[i].strip())
            exc_type, message = (m["type"], (m["msg"] or "")) if m else ("", lines[i].strip())
            i += 1
            extra: list[str] = []
            while i < n and lines[i].strip() and lines[i] not in _PY_LINKS and _PY_TB not in lines[i]:
                if len(extra) < 20:
                    extra.append(lines[i])
                i += 1
            message = "\n".join([message, *extra]) if extra else message
        cause = traces[-1] if traces else None
        traces.append(StackTrace(Language.PYTHON, exc_type, message, tuple(frames), cause))
        while i < n and not lines[i].strip():
            i += 1
        if i < n and lines[i].strip() in _PY_LINKS:
            i += 1
            while i < n and not lines[i].strip():
                i += 1
        else:
            break
    return traces[-1] if traces else None


# --- Go ------------------------------------------------------------------------------------------------


def _parse_go(lines: list[str], i: int) -> StackTrace | None:
    """The panicking goroutine only: other goroutines (GOTRACEBACK=all) are not part of the failure."""
    kind, messages = "", []
    n = len(lines)
    while i < n:
        stripped = lines[i].strip()
        head = _GO_HEAD.match(stripped)
        if head:
            kind = kind or head["kind"]
            messages.append(head["msg"].removesuffix(" [recovered]"))
        elif _GO_GOROUTINE.match(stripped):
            i += 1
            break
        elif stripped and not stripped.startswith("[signal "):
            break  # a frame without a header (zap "stacktrace" field)
        i += 1
    frames: list[Frame] = []
    while i + 1 < n:
        loc = GO_LOC.match(lines[i + 1])
        if not lines[i].strip() or loc is None:
            break
        frames.append(go_frame(lines[i], loc))
        i += 2
    if not kind and not frames:
        return None
    message = messages[-1] if messages else ""
    return StackTrace(Language.GO, kind, message.strip(), tuple(frames))  # no header: type unknown


# --- Java, .NET, Node ("at ..." frames) ----------------------------------------------------------------


@dataclass(slots=True)
class _Exc:
    header: list[str]
    blocks: list[list[Frame]] = field(default_factory=lambda: [[]])
    cause: _Exc | None = None
    suppressed: list[_Exc] = field(default_factory=list)

    def has_frames(self) -> bool:
        return any(self.blocks)


def _parse_at(lines: list[str], i: int) -> StackTrace | None:
    votes: dict[Language, int] = {}
    root = cur = _Exc([])
    levels: dict[int, _Exc] = {0: root}
    for line in lines[i:]:
        stripped = line.strip()
        hit = at_frame(line) if stripped.startswith("at ") else None
        if hit is not None:
            votes[hit[0]] = votes.get(hit[0], 0) + 1
            cur.blocks[-1].append(hit[1])
            continue
        depth = len(line) - len(line.lstrip("\t"))
        if stripped.startswith(("Caused by: ", "[cause]: ")):
            parent = levels.get(depth, cur)
            while parent.cause is not None:
                parent = parent.cause
            cur = parent.cause = _Exc([stripped.split(": ", 1)[1]])
        elif stripped.startswith("Suppressed: "):
            parent = levels.get(depth - 1, root)
            cur = _Exc([stripped.removeprefix("Suppressed: ")])
            parent.suppressed.append(cur)
            levels[depth] = cur
        elif stripped.startswith("--- End of inner exception stack trace"):
            cur.blocks.append([])
        elif _MORE.match(line) or stripped.startswith("--- End of stack trace from previous location"):
            continue
        elif not stripped or cur.has_frames():
            if cur.has_frames() or root.has_frames():
                break
            if not stripped:
                continue
            cur.header.append(stripped)
        else:
            cur.header.append(stripped)
    if not root.has_frames() and root.cause is None:
        return None
    language = max(votes, key=lambda k: votes[k]) if votes else Language.JAVA
    return _build(root, language)


def _build(exc: _Exc, language: Language) -> StackTrace:
    if language is Language.DOTNET:
        return _build_dotnet(exc)
    exc_type, message = _split_header("\n".join(exc.header))
    frames = tuple(f for block in exc.blocks for f in block)
    cause = _build(exc.cause, language) if exc.cause else None
    suppressed = tuple(_build(s, language) for s in exc.suppressed)
    return StackTrace(language, exc_type, message, frames, cause, suppressed)


def _build_dotnet(exc: _Exc) -> StackTrace:
    """`A: m ---> B: m2` headers; frame blocks print innermost first, split by End-of-inner markers."""
    segments = [s for s in re.split(r"\s*---> ", "\n".join(exc.header)) if s.strip()] or [""]
    blocks = exc.blocks
    trace: StackTrace | None = None
    for depth in range(len(segments) - 1, -1, -1):  # innermost segment first
        block_index = len(blocks) - 1 - depth
        frames = tuple(blocks[block_index]) if block_index >= 0 else ()
        if depth == 0 and len(blocks) > len(segments):  # unmatched extra blocks belong to the outer one
            frames = tuple(f for b in blocks[: len(blocks) - len(segments) + 1] for f in b)
        exc_type, message = _split_header(segments[depth])
        trace = StackTrace(Language.DOTNET, exc_type, message, frames, trace)
    assert trace is not None
    return trace


def _split_header(text: str) -> tuple[str, str]:
    first, _, rest = text.partition("\n")
    m = _HEADER.match(first)
    if not m:
        return "", text.strip()
    message = (m["msg"] or "").strip()
    return m["type"], f"{message}\n{rest}".strip() if rest else message
