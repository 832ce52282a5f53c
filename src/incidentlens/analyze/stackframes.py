"""One printed stack frame line -> Frame, per runtime, and which frames are library code.

Library means stdlib, runtime or third-party: code the service's owners did not write. The lists are
prefixes of well-known ecosystems; anything else counts as application code, which errs on the side of
pointing an investigator at a frame rather than hiding it.
"""

from __future__ import annotations

import re

from incidentlens.model.stack import Frame, Language

PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+?))?\s*$')
GO_LOC = re.compile(r"^\s+(?P<file>\S+\.(?:go|s)):(?P<line>\d+)(?: \+0x[0-9a-fA-F]+)?\s*$")
JAVA_FRAME = re.compile(r"^\s*at (?:[^\s()/]*/){0,2}(?P<sym>[^\s()/]+)\((?P<src>[^()]*)\)(?:\s*~?\[[^\]]*\])?\s*$")
_JAVA_SRC = re.compile(r"^(?:(?P<file>[^:\s]+)(?::(?P<line>\d+))?|Native Method|Unknown Source)$")
DOTNET_FRAME = re.compile(
    r"^\s*at (?P<sym>[^\s(]+)\((?P<args>[^)]*)\)(?: in (?P<file>.+?)(?::line (?P<line>\d+))?)?\s*$"
)
NODE_FRAME = re.compile(r"^\s*at (?:(?P<func>.+?) \((?P<loc>[^()]*(?:\([^()]*\)[^()]*)*)\)|(?P<bare>\S+))\s*$")
_NODE_LOC = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)$")
_DOTNET_ASYNC = re.compile(r"^(?P<owner>.*)\.<(?P<name>[^>]+)>d__\d+$")

_PY_LIBRARY = re.compile(r"[/\\](?:site|dist)-packages[/\\]|[/\\]lib[/\\]python\d[\d.]*[/\\]|^<frozen |[/\\]Lib[/\\]")
_JAVA_LIBRARY = (
    "java.", "javax.", "jakarta.", "sun.", "com.sun.", "jdk.", "kotlin.", "kotlinx.", "scala.",
    "org.springframework.", "org.apache.", "io.grpc.", "io.netty.", "org.hibernate.", "com.fasterxml.",
    "reactor.", "io.micrometer.", "io.opentelemetry.", "org.junit.", "okhttp3.", "com.google.",
    "org.eclipse.jetty.", "io.undertow.", "feign.", "com.zaxxer.", "org.postgresql.", "com.mysql.",
    "io.lettuce.", "redis.clients.", "org.slf4j.", "ch.qos.logback.", "io.vertx.", "io.quarkus.",
)  # fmt: skip
_DOTNET_LIBRARY = (
    "System.", "Microsoft.", "Grpc.", "StackExchange.", "Npgsql.", "Newtonsoft.", "Polly.", "Google.",
    "Amazon.", "Azure.", "MongoDB.", "Dapper.", "Serilog.", "NLog.", "OpenTelemetry.",
)  # fmt: skip
_GO_LIBRARY_DIRS = ("/usr/local/go/", "/usr/lib/go", "/opt/go/", "/usr/share/go")


def python_frame(m: re.Match[str]) -> Frame:
    file = m["file"]
    return Frame(
        file=file,
        line=int(m["line"]),
        function=(m["func"] or "").strip(),
        module=_python_module(file),
        is_library=bool(_PY_LIBRARY.search(file)),
    )


def _python_module(file: str) -> str:
    """Dotted module for installed packages (site-packages/requests/api.py -> requests.api), else stem."""
    norm = file.replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in norm:
            rel = norm.split(marker, 1)[1]
            return rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    return norm.rsplit("/", 1)[-1].removesuffix(".py")


def go_frame(func_line: str, loc: re.Match[str]) -> Frame:
    """A Go frame from its function line (args stripped) and the tab-indented file:line after it."""
    text = func_line.strip()
    created = text.startswith("created by ")
    text = text.removeprefix("created by ")
    text = re.sub(r" in goroutine \d+$", "", text)
    symbol = strip_call_args(text)
    slash = symbol.rfind("/")
    dot = symbol.find(".", slash + 1)
    module = symbol[:dot] if dot > 0 else ""
    function = symbol[dot + 1 :] if dot > 0 else symbol
    file = loc["file"]
    library = (
        "/go/pkg/mod/" in file
        or "/vendor/" in file
        or file.startswith(_GO_LIBRARY_DIRS)
        or module == "runtime"
        or module.startswith("runtime/")
    )
    return Frame(file, int(loc["line"]), ("created by " if created else "") + function, module, None, library)


def strip_call_args(text: str) -> str:
    """`pkg.(*T).M(0xc0, {0x1, 0x2})` -> `pkg.(*T).M`: drop the balanced argument list at the end."""
    if not text.endswith(")"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            depth -= 1
            if depth == 0:
                return text[:i] if i > 0 else text
    return text


def at_frame(line: str) -> tuple[Language, Frame] | None:
    """Classify an `at ...` line as a Java, .NET or Node frame (tried in that order), or None."""
    if "at " not in line[:40]:
        return None
    m = JAVA_FRAME.match(line)
    if m:
        src = _JAVA_SRC.match(m["src"])
        if src:
            return Language.JAVA, _java_frame(m["sym"], src)
    m = DOTNET_FRAME.match(line)
    if m:
        return Language.DOTNET, _dotnet_frame(m)
    m = NODE_FRAME.match(line)
    if m:
        frame = _node_frame(m)
        if frame is not None:
            return Language.NODE, frame
    return None


def _java_frame(sym: str, src: re.Match[str]) -> Frame:
    module, _, function = sym.rpartition(".")
    return Frame(
        file=src["file"] or "",
        line=int(src["line"]) if src["line"] else None,
        function=function,
        module=module,
        is_library=module.startswith(_JAVA_LIBRARY) or src["file"] is None,
    )


def _dotnet_frame(m: re.Match[str]) -> Frame:
    module, _, function = m["sym"].rpartition(".")
    if function == "MoveNext":  # async state machine: Ns.Class.<Method>d__5.MoveNext -> Ns.Class.Method
        a = _DOTNET_ASYNC.match(module)
        if a:
            module, function = a["owner"], a["name"]
    file = m["file"] or ""
    library = module.startswith(_DOTNET_LIBRARY) or file.startswith("/_/")  # /_/ = SourceLink package build
    return Frame(file, int(m["line"]) if m["line"] else None, function, module, None, library)


def _node_frame(m: re.Match[str]) -> Frame | None:
    loc = m["loc"] if m["loc"] is not None else m["bare"]
    func = (m["func"] or "").removeprefix("async ")
    func = re.sub(r" \[as [^\]]+\]$", "", func)
    lm = _NODE_LOC.match(loc)
    if lm:
        file, line, col = lm["file"].removeprefix("file://"), int(lm["line"]), int(lm["col"])
    elif m["loc"] is not None and (loc in ("<anonymous>", "native") or loc.startswith("index ")):
        file, line, col = loc, None, None
    else:
        return None
    library = "node_modules/" in file or file.startswith(("node:", "internal/")) or line is None
    return Frame(file, line, func, "", col, library)
