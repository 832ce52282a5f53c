"""The regex fallback for Java, Kotlin, Go, JavaScript/TypeScript and C# (used when tree-sitter is absent).

One lexing pass blanks strings and comments (keeping offsets and newlines), so braces and parentheses can be
matched on the blanked text: a `{` whose header ends in `name(...)` opens a function, one whose header
names a class opens a scope. Logging calls are `.info(`, `.Errorf(`, `.LogError(`, ... with at least one
string literal among their arguments; raised messages are `new XException("...")`, `fmt.Errorf`,
`errors.New`, `panic(`. Known limits: JS regex literals containing quotes, and macros/preprocessor tricks,
can confuse it; functions without braces (Kotlin `= expr`, arrow expressions) are not spans.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from incidentlens.locate.codemodel import CallKind, FunctionSpan, LogCall, SourceFile, SourceLanguage, split_format

_HOLE = "\x00"
_BRACKETS = re.compile(r"[()\[\]{}]")
_DELIMITERS = re.compile(r"[;{}]")
_NEWLINE = re.compile(r"\n")
_MAX_ARGS_CHARS = 4000  # an argument list longer than this is not a logging call we can read
_TOKENS = {
    SourceLanguage.GO: re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|`[^`]*`|\'(?:\\.|[^\'\\\n])*\'', re.S),
    SourceLanguage.CSHARP: re.compile(
        r'//[^\n]*|/\*.*?\*/|\$?@"(?:""|[^"])*"|@?\$"(?:\\.|[^"\\\n])*"|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
        re.S,
    ),
}
_DEFAULT_TOKENS = re.compile(
    r'//[^\n]*|/\*.*?\*/|"""(?:.|\n)*?"""|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`(?:\\.|[^`\\])*`', re.S
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "`": "`", "0": "\0"}
_ESCAPE_RE = re.compile(r"\\(.)", re.S)

LOG_METHODS = frozenset(
    [
        "trace",
        "debug",
        "info",
        "warn",
        "warning",
        "error",
        "fatal",
        "critical",
        "severe",
        "log",
        "Trace",
        "Debug",
        "Info",
        "Warn",
        "Warning",
        "Error",
        "Fatal",
        "Panic",
        "Print",
        "Printf",
        "Println",
        "Tracef",
        "Debugf",
        "Infof",
        "Warnf",
        "Warningf",
        "Errorf",
        "Fatalf",
        "Panicf",
        "Debugw",
        "Infow",
        "Warnw",
        "Errorw",
        "Fatalw",
        "DebugContext",
        "InfoContext",
        "WarnContext",
        "ErrorContext",
        "Log",
        "LogTrace",
        "LogDebug",
        "LogInformation",
        "LogWarning",
        "LogError",
        "LogCritical",
        "Msg",
        "Msgf",
    ]
)
_DOT_CALL = re.compile(r"([A-Za-z_$][\w$]*)?\s*(?:\(\s*\))?\s*\.\s*([A-Za-z_]\w*)\s*(?:<[^<>()]*>)?\s*\(")
EXCEPTION_NAME = re.compile(r"(?:Exception|Error|Fault|Failure)$")
_NEW_CALL = re.compile(r"\bnew\s+((?:[\w$]+\.)*[\w$]*(?:Exception|Error|Fault|Failure))\s*\(")
_PANIC = re.compile(r"(?<![\w.])panic\s*\(")
FORMAT_CALLS = {("String", "format"), ("fmt", "Sprintf"), ("string", "Format"), ("util", "format")}
RAISE_CALLS = {("fmt", "Errorf"), ("errors", "New"), ("errors", "Errorf"), ("xerrors", "Errorf")}

_CLASS = re.compile(r"\b(?:class|interface|enum|record|struct|object|trait)\s+([A-Za-z_$][\w$]*)")
_GO_FUNC = re.compile(r"\bfunc\s*(?:\(\s*\w*\s*\*?\s*([A-Za-z_]\w*)[^)]*\)\s*)?([A-Za-z_]\w*)\s*[\[(]")
_JS_FUNC = re.compile(r"\bfunction\b\s*\*?\s*([A-Za-z_$][\w$]*)")
_JS_ASSIGNED = re.compile(
    r"([A-Za-z_$][\w$]*)\s*[=:]\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*(?::[^=]+)?=>|\w+\s*=>)"
)
_KEYWORDS = frozenset(
    [
        "if",
        "for",
        "while",
        "switch",
        "catch",
        "synchronized",
        "using",
        "lock",
        "foreach",
        "fixed",
        "return",
        "new",
        "when",
        "else",
        "do",
        "try",
        "finally",
        "function",
        "await",
        "typeof",
        "sizeof",
        "checked",
        "unchecked",
        "nameof",
        "super",
        "this",
        "throw",
    ]
)
_TRAILER = re.compile(r"\)\s*(?:throws\s+[\w$.,\s<>]+|:\s*[^(){};]+|where\s+[^{]+|const|override|async)?\s*$")


@dataclass(frozen=True, slots=True)
class _Lexed:
    masked: str
    starts: list[int]  # string literal start offsets, ascending
    strings: list[tuple[int, int, str]]  # (start, end, decoded content)
    newlines: list[int]
    pairs: dict[int, int]

    def line_of(self, offset: int) -> int:
        return bisect_right(self.newlines, offset - 1) + 1 if offset > 0 else 1


def parse_clike(path: str, text: str, language: SourceLanguage) -> SourceFile:
    """Functions and logging calls of one C-like source file, read with regexes over a blanked copy."""
    lexed = _lex(text, language)
    functions = _functions(lexed, language)
    calls = _calls(lexed)
    return SourceFile(path, language, functions=functions, calls=calls, parser="regex")


def _lex(text: str, language: SourceLanguage) -> _Lexed:
    chunks: list[str] = []
    strings: list[tuple[int, int, str]] = []
    pos = 0
    for m in _TOKENS.get(language, _DEFAULT_TOKENS).finditer(text):
        token = m.group()
        chunks.append(text[pos : m.start()])
        if token.startswith(("//", "/*")):
            chunks.append(re.sub(r"[^\n]", " ", token))
        else:
            quote = token.index(token.lstrip("$@")[0])
            body = token[quote:]
            width = 3 if body.startswith('"""') else 1
            chunks.append(token[: quote + width] + re.sub(r"[^\n]", " ", body[width:-width]) + body[-width:])
            strings.append((m.start(), m.end(), decode_literal(body[width:-width], raw=body[0] == "`" or "@" in token)))
        pos = m.end()
    chunks.append(text[pos:])
    masked = "".join(chunks)
    newlines = [m.start() for m in _NEWLINE.finditer(text)]
    return _Lexed(masked, [s[0] for s in strings], strings, newlines, _bracket_pairs(masked))


def decode_literal(body: str, *, raw: bool) -> str:
    if raw:
        return body.replace('""', '"')
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _bracket_pairs(masked: str) -> dict[int, int]:
    """Offset of each opening bracket -> offset of its closing one, in one pass (unbalanced ones dropped)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACKETS.finditer(masked):
        if m.group() in "([{":
            stack.append(m.start())
        elif stack:
            pairs[stack.pop()] = m.start()
    return pairs


def _functions(lexed: _Lexed, language: SourceLanguage) -> tuple[FunctionSpan, ...]:
    masked = lexed.masked
    scopes: list[tuple[int, str]] = []  # (close offset, name) of the enclosing named blocks
    spans: list[FunctionSpan] = []
    prev = 0
    for m in _DELIMITERS.finditer(masked):
        i = m.start()
        while scopes and scopes[-1][0] < i:
            scopes.pop()
        if m.group() != "{":
            prev = i + 1
            continue
        raw = masked[prev:i]
        header = raw.strip()
        header_start = prev + len(raw) - len(raw.lstrip())
        if language is SourceLanguage.GO:
            header_start += header.rfind("\nfunc") + 1
        prev = i + 1
        kind, name = _classify(header, language)
        close = lexed.pairs.get(i, -1)
        if kind is None or close < 0:
            continue
        qualified = ".".join([*(n for _, n in scopes), name])
        if kind == "function":
            spans.append(FunctionSpan(qualified, lexed.line_of(header_start), lexed.line_of(close)))
        scopes.append((close, name))
    return tuple(sorted(spans, key=lambda f: (f.start, -f.end)))


def _classify(header: str, language: SourceLanguage) -> tuple[str | None, str]:
    """("class", name), ("function", name) or (None, "") for the text before a `{`."""
    if not header:
        return None, ""
    if language is SourceLanguage.GO:
        header = header[header.rfind("\nfunc") + 1 :]  # `package main\n\nfunc main()`: no `;` between them
        m = _GO_FUNC.search(header)
        if m is not None and header.startswith("func"):
            return "function", f"{m.group(1)}.{m.group(2)}" if m.group(1) else m.group(2)
        return None, ""
    cls = _CLASS.search(header)
    before = header[: cls.start()] if cls is not None else ""
    if cls is not None and before.count("(") == before.count(")"):  # annotations before `class` are fine
        return "class", cls.group(1)
    if language in (SourceLanguage.JAVASCRIPT, SourceLanguage.TYPESCRIPT):
        for regex in (_JS_FUNC, _JS_ASSIGNED):
            m = regex.search(header)
            if m is not None and m.group(1):
                return "function", m.group(1)
    trailer = _TRAILER.search(header)
    if trailer is None:
        return None, ""
    close = trailer.start()
    depth = 0
    for j in range(close, -1, -1):
        if header[j] == ")":
            depth += 1
        elif header[j] == "(":
            depth -= 1
            if depth == 0:
                before = header[:j].rstrip()
                m = re.search(r"([A-Za-z_$][\w$]*)$", before)
                if m is None or m.group(1) in _KEYWORDS:
                    return None, ""
                lead = before[: m.start()].rstrip()
                js_method = lead == "" and language in (SourceLanguage.JAVASCRIPT, SourceLanguage.TYPESCRIPT)
                if (lead.endswith((".", "new", "=", "return", "(", ",")) or not lead) and not js_method:
                    # `foo.bar(x) {`, `new X() {` and a bare call are not declarations: a declaration has a
                    # modifier or a type before its name (JS class methods excepted).
                    return None, ""
                return "function", m.group(1)
    return None, ""


def _calls(lexed: _Lexed) -> tuple[LogCall, ...]:
    masked = lexed.masked
    found: list[LogCall] = []
    for m in _DOT_CALL.finditer(masked):
        receiver, method = m.group(1) or "", m.group(2)
        pair = (receiver, method)
        if pair in RAISE_CALLS:
            kind = CallKind.RAISE
        elif pair in FORMAT_CALLS:
            kind = CallKind.FORMAT
        elif method in LOG_METHODS:
            kind = CallKind.LOG
        else:
            continue
        call = _call_at(lexed, m.start(), m.end() - 1, kind, method)
        if call is not None:
            found.append(call)
    for regex in (_NEW_CALL, _PANIC):
        for m in regex.finditer(masked):
            method = m.group(1).rsplit(".", 1)[-1] if m.groups() else "panic"
            call = _call_at(lexed, m.start(), m.end() - 1, CallKind.RAISE, method)
            if call is not None:
                found.append(call)
    found.sort(key=lambda c: (c.line, c.kind))
    return tuple(found)


def _call_at(lexed: _Lexed, start: int, paren: int, kind: CallKind, method: str) -> LogCall | None:
    close = lexed.pairs.get(paren, -1)
    if close < 0 or close - paren > _MAX_ARGS_CHARS:
        return None
    literal = _first_literal_argument(lexed, paren, close)
    if literal is None:
        return None
    parts = tuple(p for piece in literal.split(_HOLE) for p in split_format(piece))
    if not any(p.strip() for p in parts):
        return None
    return LogCall(lexed.line_of(start), lexed.line_of(close), kind, method, parts, literal.replace(_HOLE, "{}"))


def _first_literal_argument(lexed: _Lexed, paren: int, close: int) -> str | None:
    """The strings of the first argument holding any (`ctx, "msg"` and `ex, "msg {Id}"` skip the first)."""
    masked = lexed.masked
    bounds = [paren]
    depth = 0
    for i in range(paren, close):
        ch = masked[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 1:
            bounds.append(i)
    bounds.append(close)
    for lo, hi in itertools.pairwise(bounds):
        first = bisect_left(lexed.starts, lo)
        inside = [s for s in lexed.strings[first:] if s[0] < hi]
        if inside:
            return _HOLE.join(s[2] for s in inside)
    return None
