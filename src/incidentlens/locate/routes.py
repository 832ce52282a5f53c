"""Span names and HTTP routes -> the handler that serves them.

* `RouteController.queryByIds`, `oteldemo.AdService/GetAds` (gRPC), `Server.Charge`: the method of that
  class (or Go receiver type), case-insensitively for gRPC's capitalised names.
* `GET /api/v1/routes/{id}` (or `:id`, `<id>`): a route registration whose path, with its class-level
  prefix (Spring `@RequestMapping`), matches; Spring, JAX-RS, Flask/FastAPI, Express, Gin/Echo/chi,
  `net/http` (incl. Go 1.22 `"GET /x/{id}"`) and ASP.NET attributes are read with regexes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from incidentlens.locate.codemodel import SOURCE_SUFFIXES, Hit, SourceFile
from incidentlens.locate.frames import FileIndex
from incidentlens.locate.sources import SourceCache

_HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
_ROUTE_SPAN = re.compile(rf"^(?:(?P<method>{'|'.join(_HTTP_METHODS)})\s+)?(?P<path>/\S*)$", re.I)
_SYMBOL_SPAN = re.compile(r"^(?:[\w.]+\.)?(?P<cls>[A-Za-z_]\w*)[./](?P<method>[A-Za-z_]\w*)$")
_PARAM = re.compile(r"\{[^}]*\}|<[^>]*>|:[A-Za-z_]\w*|\*\w*|\[[^\]]*\]")
_REGISTRATION = re.compile(
    r"""@(?P<spring>Get|Post|Put|Delete|Patch|Request)Mapping\s*\(\s*(?:(?:value|path)\s*=\s*)?\{?\s*"(?P<sp>[^"]*)"
    |@Path\s*\(\s*"(?P<jax>[^"]*)"
    |\[(?:Http(?P<net>Get|Post|Put|Delete|Patch)|Route)\s*\(\s*"(?P<np>[^"]*)"
    |\.(?P<verb>route|get|post|put|delete|patch|GET|POST|PUT|DELETE|PATCH|Get|Post|Put|Delete|Patch|HandleFunc|Handle|api_route)
      \s*\(\s*[rf]?["'`](?P<vp>[^"'`]*)["'`]""",
    re.X,
)
_CLASS_AFTER = re.compile(r"(?:\s*@[\w.]+(?:\([^)]*\))?)*\s*(?:public\s+|final\s+|abstract\s+)*class\b")


def locate_spans(
    cache: SourceCache, index: FileIndex, spans: Sequence[str], *, folder: str | None
) -> dict[str, list[Hit]]:
    """For each span name or route, candidate handlers best first (empty when none is found)."""
    out: dict[str, list[Hit]] = {}
    for span in spans:
        text = span.strip()
        route = _ROUTE_SPAN.match(text)
        if route is not None:
            hits = _route_handlers(cache, route.group("method"), route.group("path"))
        else:
            symbol = _SYMBOL_SPAN.match(text)
            hits = _symbol_handlers(cache, index, symbol.group("cls"), symbol.group("method")) if symbol else []
        if folder:
            hits = [
                h
                if h.path.startswith(folder + "/")
                else Hit(h.path, h.line, h.confidence * 0.75, h.why, h.end_line, h.function)
                for h in hits
            ]
        out[span] = sorted(hits, key=lambda h: (-h.confidence, h.path, h.line))[:5]
    return out


def normalize_route(path: str) -> str:
    """`/api/v1/routes/:id/` -> `/api/v1/routes/{}`: parameters of every framework spelled alike."""
    path = _PARAM.sub("{}", path.split("?", 1)[0]).rstrip("/")
    return "/" + path.lstrip("/") if path else "/"


def _symbol_handlers(cache: SourceCache, index: FileIndex, cls: str, method: str) -> list[Hit]:
    paths = [p for ext in SOURCE_SUFFIXES for p in index.names(cls + ext)]
    needles = [f"class {cls}", f"*{cls}) {method}", f" {cls}) {method}", f"{cls}.prototype.{method}"]
    paths.extend(h.path for h in cache.git.grep_fixed(needles, rev=cache.rev))
    cache.load(paths)
    hits: list[Hit] = []
    for path in dict.fromkeys(paths):
        source = cache.get(path)
        if source is None:
            continue
        for fn in source.functions:
            owner, _, name = fn.name.rpartition(".")
            if owner.rsplit(".", 1)[-1] != cls:
                continue
            if name == method:
                confidence = 0.9
            elif name.lower() == method.lower():
                confidence = 0.8  # gRPC GetAds is Java's getAds
            else:
                continue
            why = f"span `{cls}.{method}` is {fn.name} in {path} (lines {fn.start}-{fn.end})"
            hits.append(Hit(path, fn.start, confidence, why, fn.end, fn.name))
    return hits


def _route_handlers(cache: SourceCache, method: str | None, path: str) -> list[Hit]:
    wanted = normalize_route(path)
    statics = [s for s in wanted.split("/") if s and s != "{}"]
    if not statics:
        return []
    needle = max(statics, key=len)
    files = dict.fromkeys(h.path for h in cache.git.grep_fixed([needle], rev=cache.rev))
    cache.load(files)
    hits: list[Hit] = []
    for file in files:
        text = cache.text(file)
        source = cache.get(file)
        if text is None or source is None:
            continue
        hits.extend(_registrations(file, text, source, method, wanted))
    return hits


def _registrations(file: str, text: str, source: SourceFile, method: str | None, wanted: str) -> list[Hit]:
    prefix = ""
    hits: list[Hit] = []
    for m in _REGISTRATION.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        raw = next(g for g in (m.group("sp"), m.group("jax"), m.group("np"), m.group("vp")) if g is not None)
        verb = (m.group("spring") or m.group("net") or m.group("verb") or "").upper()
        go_method, _, go_path = raw.partition(" ")
        if go_path.startswith("/") and go_method.upper() in _HTTP_METHODS:  # Go 1.22 "GET /x/{id}"
            verb, raw = go_method.upper(), go_path
        is_class_level = bool(_CLASS_AFTER.match(text, m.end() + text[m.end() :].find(")") + 1))
        if is_class_level and (m.group("spring") == "Request" or m.group("jax") is not None):
            prefix = raw.rstrip("/")
            continue
        if not verb or verb in ("REQUEST", "ROUTE", "HANDLE", "HANDLEFUNC", "API_ROUTE"):
            verb = _nearby_method(text, m.start())
        full = normalize_route(prefix + "/" + raw.lstrip("/") if prefix else raw)
        if method and verb and verb != method.upper():
            continue
        if full == wanted:
            confidence = 0.9
        elif wanted.endswith(full) and full.count("/") >= 2:
            confidence = 0.65  # mounted under a prefix we cannot see (router.use("/api", ...))
        else:
            continue
        fn = source.enclosing(line + 1) or source.enclosing(line)
        shown = f"{(method or verb or 'ANY').upper()} {wanted}"
        why = f"route `{shown}` is registered at {file}:{line} as `{m.group().strip()}`"
        if prefix:
            why += f" under the class prefix {prefix}"
        hits.append(Hit(file, fn.start if fn else line, confidence, why, fn.end if fn else line, fn.name if fn else ""))
    return hits


def _nearby_method(text: str, offset: int) -> str:
    """The HTTP method named close to a registration: `methods=["POST"]`, JAX-RS `@GET`."""
    window = text[max(0, offset - 80) : offset + 200]
    for verb in _HTTP_METHODS:
        if f'"{verb}"' in window or f"'{verb}'" in window or f"@{verb}\n" in window or f"@{verb} " in window:
            return verb
    return ""
