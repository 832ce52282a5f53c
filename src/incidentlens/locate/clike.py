"""The regex fallback for Java, Kotlin, Go, JavaScript/TypeScript and C# (used when tree-sitter is absent).

One lexing pass blanks strings and comments (keeping offsets and newlines), so braces and parentheses can be
matched on the blanked text: a `{` whose header ends in `name(...)` opens a function, one whose header
names a class opens a scope. Logging calls are `.info(`, `.Errorf(`, `.LogError(`, ... with at least one
string literal among their arguments; raised messages are `new XException("...")`, `fmt.Errorf`,
`errors.New`, `panic(`. Known limits: JS regex literals containing quotes, and macros/preprocessor tricks,
can confuse it; functions without braces (Kotlin `= expr`, arrow expressions) are not spans.

Every pass is linear in the file's length, also on minified or hostile input (a 5 MB single line): the lexer
scans each token kind with possessive patterns and remembers where an unterminated one failed instead of
rescanning; call and declaration patterns start only at a `.`, a keyword or an identifier's first character
and never backtrack; argument scans are bounded per call and by a budget per file.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from incidentlens.locate.codemodel import CallKind, FunctionSpan, LogCall, SourceFile, SourceLanguage, split_format

_HOLE = "\x00"
_IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$")
_BRACKETS = re.compile(r"[()\[\]{}]")
_DELIMITERS = re.compile(r"[;{}]")
_NEWLINE = re.compile(r"\n")
_BLANK = re.compile(r"[^\n]")
_MAX_ARGS_CHARS = 4000  # an argument list longer than this is not a logging call we can read
_CALL_BUDGET_FACTOR = 4  # argument characters scanned per file: at most this many times its length (+ 100k)
_MAX_HEADER_TAIL = 2000  # a declaration's name, parameters and trailer fit in this many characters before `{`
# Token kinds, tried in this order at each opener. Each pattern matches as far as its token would reach
# (possessive: no backtracking) and its group 1 is the closing delimiter, empty when the token is unterminated.
_LINE_COMMENT = re.compile(r"//[^\n]*+()")
_BLOCK_COMMENT = re.compile(r"/\*(?:[^*]|\*(?!/))*+(\*/)?")
_TRIPLE = re.compile(r'"""(?:[^"]|"(?!""))*+(""")?')
_DOUBLE = re.compile(r'"(?:\\.|[^"\\\n])*+("?)', re.S)
_SINGLE = re.compile(r"'(?:\\.|[^'\\\n])*+('?)", re.S)
_BACKTICK = re.compile(r"`(?:\\.|[^`\\])*+(`?)", re.S)
_GO_RAW = re.compile(r"`[^`]*+(`?)")
_VERBATIM = re.compile(r'\$?@"(?:""|[^"])*+("?)')
_INTERPOLATED = re.compile(r'@?\$"(?:\\.|[^"\\\n])*+("?)', re.S)
_KINDS = {
    SourceLanguage.GO: (_LINE_COMMENT, _BLOCK_COMMENT, _DOUBLE, _GO_RAW, _SINGLE),
    SourceLanguage.CSHARP: (_LINE_COMMENT, _BLOCK_COMMENT, _VERBATIM, _INTERPOLATED, _DOUBLE, _SINGLE),
}
_DEFAULT_KINDS = (_LINE_COMMENT, _BLOCK_COMMENT, _TRIPLE, _DOUBLE, _SINGLE, _BACKTICK)
_OPENERS = {
    SourceLanguage.GO: re.compile(r"/[/*]|[\"'`]"),
    SourceLanguage.CSHARP: re.compile(r"/[/*]|\$?@\"|@?\$\"|[\"']"),
}
_DEFAULT_OPENERS = re.compile(r"/[/*]|[\"'`]")
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
# `.method(` (generic arguments allowed); the receiver is read backwards from the dot (`_receiver`).
_DOT_CALL = re.compile(r"\.\s*+([A-Za-z_]\w*+)\s*+(?:<[^<>()]{0,200}>)?\s*+\(")
EXCEPTION_NAME = re.compile(r"(?:Exception|Error|Fault|Failure)$")
_NEW_CALL = re.compile(r"\bnew\s++((?:[\w$]++\.)*+[\w$]++)\s*+\(")
_PANIC = re.compile(r"(?<![\w.])panic\s*+\(")
FORMAT_CALLS = {("String", "format"), ("fmt", "Sprintf"), ("string", "Format"), ("util", "format")}
RAISE_CALLS = {("fmt", "Errorf"), ("errors", "New"), ("errors", "Errorf"), ("xerrors", "Errorf")}

_CLASS = re.compile(r"\b(?:class|interface|enum|record|struct|object|trait)\s+([A-Za-z_$][\w$]*)")
_GO_FUNC = re.compile(
    r"\bfunc\s*+(?:\(\s*+\w{0,100}\s*+\*?\s*+([A-Za-z_]\w*+)[^)]{0,500}\)\s*+)?([A-Za-z_]\w*+)\s*+[\[(]"
)
_JS_FUNC = re.compile(r"\bfunction\b\s*+\*?\s*+([A-Za-z_$][\w$]*+)")
_JS_ASSIGNED = re.compile(
    r"(?<![\w$])([A-Za-z_$][\w$]*+)\s*+[=:]\s*+(?:async\s++)?"
    r"(?:function\b|\([^()]*+\)\s*+(?::[^=]*+)?=>|\w++\s*+=>)"
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
# What may follow a declaration's parameter list before `{` (matched after the last `)`), and C#'s `where`.
_TRAILER = re.compile(r"\s*+(?:throws\s++[\w$.,\s<>]++|:\s*+[^(){};]++|const|override|async)?\s*+")
_WHERE = re.compile(r"\)\s*+where\s")


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


def _tokens(text: str, language: SourceLanguage) -> Iterator[re.Match[str]]:
    """Comments and string literals, left to right, each token kind tried in order at each opener.

    An unterminated token fails and the scan moves on one character, as a regex alternation would; where it
    failed is remembered per kind, since every opener of that kind up to there fails the same way (it lies
    inside the failed scan, escaped or unpaired), so no stretch of text is scanned twice by one kind.
    """
    kinds = _KINDS.get(language, _DEFAULT_KINDS)
    openers = _OPENERS.get(language, _DEFAULT_OPENERS)
    failed_until = [0] * len(kinds)
    pos = 0
    while True:
        opener = openers.search(text, pos)
        if opener is None:
            return
        start = opener.start()
        for k, kind in enumerate(kinds):
            if failed_until[k] > start:
                continue
            m = kind.match(text, start)
            if m is None:
                continue
            if m.group(1) is None or (m.group(1) == "" and kind is not _LINE_COMMENT):
                failed_until[k] = max(m.end(), start + 1)
                continue
            yield m
            pos = m.end()
            break
        else:
            pos = start + 1


def _lex(text: str, language: SourceLanguage) -> _Lexed:
    chunks: list[str] = []
    strings: list[tuple[int, int, str]] = []
    pos = 0
    for m in _tokens(text, language):
        token = m.group()
        chunks.append(text[pos : m.start()])
        if token.startswith(("//", "/*")):
            chunks.append(_BLANK.sub(" ", token))
        else:
            quote = token.index(token.lstrip("$@")[0])
            body = token[quote:]
            width = 3 if body.startswith('"""') else 1
            chunks.append(token[: quote + width] + _BLANK.sub(" ", body[width:-width]) + body[-width:])
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
    header = header[-_MAX_HEADER_TAIL:]
    close = _parameters_end(header)
    if close < 0:
        return None, ""
    depth = 0
    for j in range(close, -1, -1):
        if header[j] == ")":
            depth += 1
        elif header[j] == "(":
            depth -= 1
            if depth == 0:
                before = header[:j].rstrip()
                name = _identifier_before(before)
                if not name or name in _KEYWORDS:
                    return None, ""
                lead = before[: len(before) - len(name)].rstrip()
                js_method = lead == "" and language in (SourceLanguage.JAVASCRIPT, SourceLanguage.TYPESCRIPT)
                if (lead.endswith((".", "new", "=", "return", "(", ",")) or not lead) and not js_method:
                    # `foo.bar(x) {`, `new X() {` and a bare call are not declarations: a declaration has a
                    # modifier or a type before its name (JS class methods excepted).
                    return None, ""
                return "function", name
    return None, ""


def _parameters_end(header: str) -> int:
    """The `)` closing a declaration's parameters: the first one followed by C#'s `where`, else the last one
    when only a trailer (`throws ...`, `: Type`, `const`, ...) follows it; -1 when there is none."""
    where = _WHERE.search(header)
    if where is not None:
        return where.start()
    last = header.rfind(")")
    if last < 0 or _TRAILER.fullmatch(header, last + 1) is None:
        return -1
    return last


def _identifier_before(text: str) -> str:
    """The identifier `text` ends with ('' when it ends otherwise)."""
    j = len(text)
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_$"):
        j -= 1
    while j < len(text) and text[j] not in _IDENT_START:
        j += 1
    return text[j:]


def _calls(lexed: _Lexed) -> tuple[LogCall, ...]:
    masked = lexed.masked
    found: list[LogCall] = []
    budget = [_CALL_BUDGET_FACTOR * len(masked) + 100_000]  # argument characters left to scan in this file
    for m in _DOT_CALL.finditer(masked):
        (receiver, start), method = _receiver(masked, m.start()), m.group(1)
        pair = (receiver, method)
        if pair in RAISE_CALLS:
            kind = CallKind.RAISE
        elif pair in FORMAT_CALLS:
            kind = CallKind.FORMAT
        elif method in LOG_METHODS:
            kind = CallKind.LOG
        else:
            continue
        call = _call_at(lexed, start, m.end() - 1, kind, method, budget)
        if call is not None:
            found.append(call)
    for m in _NEW_CALL.finditer(masked):
        name = m.group(1)
        if EXCEPTION_NAME.search(name):
            call = _call_at(lexed, m.start(), m.end() - 1, CallKind.RAISE, name.rsplit(".", 1)[-1], budget)
            if call is not None:
                found.append(call)
    for m in _PANIC.finditer(masked):
        call = _call_at(lexed, m.start(), m.end() - 1, CallKind.RAISE, "panic", budget)
        if call is not None:
            found.append(call)
    found.sort(key=lambda c: (c.line, c.kind))
    return tuple(found)


def _receiver(masked: str, dot: int) -> tuple[str, int]:
    """The identifier before `.` (also `name().` and `name ()`), read backwards a bounded distance, and
    where the call starts (the identifier, else the dot)."""
    floor = max(0, dot - 200)
    j = dot
    while j > floor and masked[j - 1].isspace():
        j -= 1
    if j > floor and masked[j - 1] == ")":
        k = j - 1
        while k > floor and masked[k - 1].isspace():
            k -= 1
        if k > floor and masked[k - 1] == "(":
            j = k - 1
            while j > floor and masked[j - 1].isspace():
                j -= 1
    end = j
    while j > floor and (masked[j - 1].isalnum() or masked[j - 1] in "_$"):
        j -= 1
    while j < end and masked[j] not in _IDENT_START:
        j += 1  # an identifier starts with a letter, `_` or `$`
    return (masked[j:end], j) if j < end else ("", dot)


def _call_at(lexed: _Lexed, start: int, paren: int, kind: CallKind, method: str, budget: list[int]) -> LogCall | None:
    close = lexed.pairs.get(paren, -1)
    if close < 0 or close - paren > _MAX_ARGS_CHARS or budget[0] <= 0:
        return None
    budget[0] -= close - paren
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
        inside = lexed.strings[bisect_left(lexed.starts, lo) : bisect_left(lexed.starts, hi)]
        if inside:
            return _HOLE.join(s[2] for s in inside)
    return None
